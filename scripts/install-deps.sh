#!/usr/bin/env bash
# Installs the Debian packages that are missing (and only those). Usage: install-deps.sh build|test
set -euo pipefail
kind=${1:-build}
build=(cmake ninja-build g++ make pkg-config libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
       libsodium-dev libspdlog-dev libfmt-dev libcli11-dev libsqlite3-dev libpq-dev libcurl4-openssl-dev)
test=(googletest libgtest-dev libgmock-dev postgresql clang-format curl sqlite3 procps python3 python3-jsonschema clang libclang-rt-14-dev)
want=("${build[@]}")
[ "$kind" = test ] && want+=("${test[@]}")

missing=()
for p in "${want[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing missing packages: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"

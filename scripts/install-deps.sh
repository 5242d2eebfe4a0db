#!/usr/bin/env bash
# Installs the Debian packages that are missing (and only those). Usage: install-deps.sh build|test
set -euo pipefail
kind=${1:-build}
build=(cmake ninja-build g++ make pkg-config libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libboost-context1.81-dev
       libsodium-dev libspdlog-dev libfmt-dev libcli11-dev libsqlite3-dev libpq-dev libcurl4-openssl-dev zlib1g-dev)
test=(googletest libgtest-dev libgmock-dev libbenchmark-dev nginx wrk postgresql clang-format curl sqlite3 procps python3 python3-jsonschema clang libclang-rt-14-dev)
# Mail: GMime builds src/mail; Dovecot and Postfix are the real IMAP and SMTP servers its tests start.
build+=(libgmime-3.0-dev)
test+=(dovecot-imapd dovecot-lmtpd postfix openssl)
# Browser end-to-end tests (tests/e2e): Debian's Chromium, driven by playwright-core (no browser download).
test+=(chromium)
want=("${build[@]}")
[ "$kind" = test ] && want+=("${test[@]}")
# The OAuth 2 / OpenID provider fixture (tests/support/oidc) runs on Node.js. A node already on PATH (e.g. the
# image's NodeSource build) is kept: Debian's npm package would replace it with Debian's nodejs.
# The web UI (web/) is built with Node.js and npm too, so `make run` needs them as well.
if ! command -v node >/dev/null 2>&1; then want+=(nodejs npm); fi

missing=()
for p in "${want[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing missing packages: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  # The mail tests start their own Dovecot and Postfix: the packages must not start system daemons on ports
  # 25/143/993. A policy-rc.d already in place (as in containers) is left alone.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\ncase "$1" in postfix|dovecot) exit 101;; esac\nexit 0\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
    trap '$sudo rm -f "$policy"' EXIT
  fi
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
[ "$kind" = test ] || exit 0

# The provider's npm packages, exactly as pinned in package-lock.json, when missing or older than the lock.
oidc_dir="$(cd "$(dirname "$0")/.." && pwd)/tests/support/oidc"
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 18) ? 0 : 1)'; then
  echo "tests/support/oidc needs Node.js >= 20.18 (oidc-provider 9), found $(node --version)." >&2
  echo "Install a newer Node.js (Debian bookworm's nodejs is 18), e.g. from NodeSource, and run make test again." >&2
  exit 1
fi
stamp="$oidc_dir/node_modules/.package-lock.json"  # written by npm at the end of every install
if [ ! -f "$stamp" ] || [ "$oidc_dir/package-lock.json" -nt "$stamp" ]; then
  echo "Installing the OIDC test provider's npm packages (npm ci) in $oidc_dir"
  (cd "$oidc_dir" && npm ci --no-audit --no-fund)
fi

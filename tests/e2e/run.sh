#!/usr/bin/env bash
# Browser end-to-end tests of the web UI: builds what is missing, then runs tests/e2e/*.test.mjs with node's test
# runner (playwright-core driving Debian's chromium; a real `switchboard serve`, oidc-provider and a loopback API).
#
# Needs: Node.js >= 20.19 with npm (the registry, only when node_modules are missing), /usr/bin/chromium (Debian's
# `chromium` package; or CHROMIUM_PATH), and the release binary build/switchboard (or SWITCHBOARD_BIN).
# Optional: E2E_TIMEOUT (seconds for the whole run, default 900), E2E_VERBOSE=1 (echo the servers' output),
# SWITCHBOARD_WEB_DIR (default web/dist). Arguments, if any, are the test files to run.
# Screenshots of every page and dialog land in tests/e2e/screenshots/ (FAILED-*.png for a failing step).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
web="$root/web"
oidc="$root/tests/support/oidc"

if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'; then
  echo "tests/e2e needs Node.js >= 20.19 (Vite 7, oidc-provider 9); found $(node --version 2>/dev/null || echo none)" >&2
  exit 1
fi
chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
  echo "chromium not found at $chromium: apt-get install -y chromium (or set CHROMIUM_PATH)" >&2
  exit 1
fi
bin="${SWITCHBOARD_BIN:-$root/build/switchboard}"
if [ ! -x "$bin" ]; then
  echo "$bin is missing: cmake --preset release && cmake --build build (or set SWITCHBOARD_BIN)" >&2
  exit 1
fi

# npm ci in a folder when its node_modules are missing or older than its package-lock.json.
install() {
  local dir="$1" stamp="$1/node_modules/.package-lock.json"
  if [ ! -f "$stamp" ] || [ "$dir/package-lock.json" -nt "$stamp" ]; then
    echo "e2e: npm ci in ${dir#"$root"/}"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}
install "$web"
install "$here"
install "$oidc"

# Build the UI when web/dist is missing or older than any of its sources (or the app catalog it embeds).
dist="${SWITCHBOARD_WEB_DIR:-$web/dist}"
if [ "$dist" = "$web/dist" ]; then
  if [ ! -f "$dist/index.html" ] || [ -n "$(find "$web/src" "$web/index.html" "$web/package-lock.json" "$web/vite.config.js" \
       "$web/tsconfig.json" "$web/scripts" "$root/apps" -newer "$dist/index.html" -print -quit)" ]; then
    echo "e2e: building web/ (npm run build)"
    (cd "$web" && npm run build --silent)
  fi
fi

cd "$here"
if [ "$#" -gt 0 ]; then files=("$@"); else files=(*.test.mjs); fi
export SWITCHBOARD_BIN="$bin" SWITCHBOARD_WEB_DIR="$dist" CHROMIUM_PATH="$chromium"
exec timeout --kill-after=10 "${E2E_TIMEOUT:-900}" \
  node --test --test-concurrency=1 --test-timeout=600000 --test-reporter=spec "${files[@]}"

#!/usr/bin/env bash
# Builds the web UI (web/ → web/dist) when it is missing or older than its sources: npm ci when node_modules is
# missing or older than package-lock.json, then `npm run build`. Needs Node.js >= 20.19 with npm.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
web="$root/web"
if ! command -v node >/dev/null || ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'; then
  echo "build-web: the web UI needs Node.js >= 20.19 with npm (found $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi
stamp="$web/node_modules/.package-lock.json"
if [ ! -f "$stamp" ] || [ "$web/package-lock.json" -nt "$stamp" ]; then
  echo "build-web: npm ci in web/"
  (cd "$web" && npm ci --no-audit --no-fund --loglevel=error)
fi
dist="$web/dist/index.html"
if [ ! -f "$dist" ] || [ -n "$(find "$web/src" "$web/index.html" "$web/package-lock.json" "$web/vite.config.js" \
     "$web/tsconfig.json" "$web/scripts" "$root/apps" -newer "$dist" -print -quit 2>/dev/null)" ]; then
  echo "build-web: npm run build"
  (cd "$web" && npm run build --silent)
fi

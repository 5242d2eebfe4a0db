#!/usr/bin/env bash
# Fails when a C++ file under src/, tests/ or bench/ differs from .clang-format.
set -euo pipefail
cd "$(dirname "$0")/.."
dirs=()
for d in src tests bench; do [ -d "$d" ] && dirs+=("$d"); done
files=$(find "${dirs[@]}" -name '*.cpp' -o -name '*.hpp' | sort)
[ -n "$files" ] || { echo "no C++ files found"; exit 1; }
bad=0
for f in $files; do
  if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
    echo "not formatted: $f (run: make format)"
    bad=1
  fi
done
[ $bad -eq 0 ] && echo "format: $(echo "$files" | wc -l) files ok"
exit $bad

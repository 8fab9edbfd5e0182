#!/usr/bin/env bash
# Builds the dashboard into web/dist (quiet, idempotent: skips when dist is newer than sources).
set -euo pipefail
cd "$(dirname "$0")"
if [[ -f dist/index.html ]] && [[ -z "$(find index.html src package.json package-lock.json vite.config.ts -newer dist/index.html 2>/dev/null | head -1)" ]]; then
  exit 0
fi
../scripts/npm-install .
./node_modules/.bin/vite build --logLevel warn
touch dist/index.html

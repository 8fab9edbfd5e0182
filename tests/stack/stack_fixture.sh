#!/usr/bin/env bash
# The `stack` ctest fixture: `up` starts a fresh stack (data folder wiped) with deploy/stack,
# `down` stops it. Ports, folder and settings come from the environment (tests/stack/CMakeLists.txt).
set -euo pipefail
stack="${STACK_SCRIPT:?}"
dir="${HLSFORGE_STACK_DIR:?}"
case "${1:-}" in
  up)
    "$stack" down >/dev/null 2>&1 || true
    # Wipe the previous run's data (PostgreSQL's files belong to the postgres user).
    rm -rf "$dir"
    start=$(date +%s.%N)
    "$stack" up
    "$stack" status
    echo "stack up in $(echo "$(date +%s.%N) - $start" | bc) s"
    ;;
  down)
    "$stack" down
    ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac

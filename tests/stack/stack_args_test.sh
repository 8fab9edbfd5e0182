#!/usr/bin/env bash
# deploy/stack refuses bad input before touching anything: bad ports, an unknown command or
# component, a non-numeric lifetime. Runs without servers, in a throwaway folder.
set -uo pipefail
stack="$(cd "$(dirname "$0")/../.." && pwd)/deploy/stack"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export HLSFORGE_STACK_DIR="$tmp/stack"
fails=0
expect() {  # WANT_RC DESCRIPTION WORD -- COMMAND...
  local want=$1 what=$2 word=$3
  shift 4
  local out rc
  out=$("$@" 2>&1)
  rc=$?
  if [[ $rc -ne $want ]] || [[ "$out" != *"$word"* ]]; then
    echo "FAIL: $what: rc=$rc (want $want), output: $out"
    fails=$((fails + 1))
  else
    echo "ok: $what"
  fi
}
expect 2 "no command" "deploy/stack up" -- "$stack"
expect 2 "unknown command" "deploy/stack up" -- "$stack" launch
expect 2 "non-numeric port" "bad port 'abc'" -- env HLSFORGE_STACK_S3_PORT=abc "$stack" status
expect 2 "port out of range" "bad port '70000'" -- env HLSFORGE_STACK_PG_PORT=70000 "$stack" status
expect 2 "port with shell" "bad port" -- env 'HLSFORGE_STACK_HTTP_PORT=80;rm -rf /' "$stack" status
expect 2 "bad lifetime" "LIFETIME_S" -- env HLSFORGE_STACK_LIFETIME_S=1h "$stack" status
expect 1 "unknown component" "unknown component 'nope'" -- "$stack" restart nope
expect 1 "stop without a name" "usage" -- "$stack" stop
[[ ! -e "$tmp/stack" ]] || { echo "FAIL: a refused command created the stack folder"; fails=$((fails + 1)); }
expect 1 "status of nothing" "stopped" -- "$stack" status
expect 1 "logs before up" "no logs yet" -- "$stack" logs
expect 0 "env" "HLSFORGE_STATE_URL=postgresql://" -- "$stack" env
expect 0 "down with nothing running" "down" -- "$stack" down
exit $((fails > 0))

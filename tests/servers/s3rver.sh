#!/usr/bin/env bash
# Local S3 API for tests and the dev stack: s3rver (npm, installed by scripts/setup into
# tests/node) on 127.0.0.1 only.
#
#   s3rver.sh start [--fresh] DIR PORT [BUCKET...]   buckets default to: upload hls
#   s3rver.sh stop DIR
#   s3rver.sh status DIR
#
# DIR belongs to this script: DIR/data holds the buckets (kept across restarts unless --fresh),
# DIR/s3rver.pid and DIR/s3rver.log the process. `start` returns once the server answers and
# the buckets exist; `stop` ends only the process recorded in DIR/s3rver.pid. The server also
# stops by itself after S3RVER_LIFETIME_S seconds (default 3600), so an interrupted test run
# leaves nothing behind for long. Credentials: access key id S3RVER, secret S3RVER.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
s3rver_js="$here/node/node_modules/s3rver/bin/s3rver.js"

usage() {
  sed -n '5,7p' "$0" >&2
  exit 2
}

alive() { [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null; }

cmd="${1:-}"
shift || true
case "$cmd" in
  start)
    fresh=0
    if [[ "${1:-}" == "--fresh" ]]; then
      fresh=1
      shift
    fi
    [[ $# -ge 2 ]] || usage
    dir="$1"
    port="$2"
    shift 2
    buckets=("$@")
    ((${#buckets[@]})) || buckets=(upload hls)
    [[ "$port" =~ ^[0-9]+$ ]] || { echo "s3rver.sh: bad port '$port'" >&2; exit 2; }
    if [[ ! -f "$s3rver_js" ]]; then
      echo "s3rver.sh: s3rver is not installed; run scripts/setup (npm ci in tests/node)" >&2
      exit 1
    fi
    command -v node >/dev/null || { echo "s3rver.sh: node not found; run scripts/setup" >&2; exit 1; }
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    # Restart cleanly if a previous run of ours is still there.
    if [[ -f "$dir/s3rver.pid" ]] && alive "$(cat "$dir/s3rver.pid")"; then
      "$0" stop "$dir"
    fi
    if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port/"; then
      echo "s3rver.sh: port $port on 127.0.0.1 is already taken by another server" >&2
      exit 1
    fi
    if ((fresh)); then rm -rf "$dir/data"; fi
    mkdir -p "$dir/data"
    args=(--directory "$dir/data" --address 127.0.0.1 --port "$port")
    [[ -n "${S3RVER_VERBOSE:-}" ]] || args+=(--silent)
    for b in "${buckets[@]}"; do args+=(--configure-bucket "$b"); done
    # s3rver encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3 (Node >= 17)
    # only offers through its legacy provider: without it every second page is a 500.
    node_flags=()
    if node --openssl-legacy-provider -e '' 2>/dev/null; then node_flags+=(--openssl-legacy-provider); fi
    # setsid: not in the caller's process group (ctest, a terminal's Ctrl-C);
    # timeout: stops by itself; it forwards our SIGTERM to node on `stop`.
    setsid timeout --signal=TERM "${S3RVER_LIFETIME_S:-3600}" \
      node "${node_flags[@]}" "$s3rver_js" "${args[@]}" >"$dir/s3rver.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$dir/s3rver.pid"
    for _ in $(seq 1 150); do
      if ! alive "$pid"; then
        echo "s3rver.sh: s3rver exited during start-up; log:" >&2
        tail -20 "$dir/s3rver.log" >&2
        rm -f "$dir/s3rver.pid"
        exit 1
      fi
      code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/${buckets[0]}" || true)"
      if [[ "$code" != "000" ]]; then
        echo "s3rver.sh: s3rver (pid $pid) on http://127.0.0.1:$port, buckets: ${buckets[*]}"
        exit 0
      fi
      sleep 0.1
    done
    echo "s3rver.sh: s3rver did not answer on port $port within 15 s" >&2
    "$0" stop "$dir" || true
    exit 1
    ;;
  stop)
    [[ $# -ge 1 ]] || usage
    dir="$1"
    pidfile="$dir/s3rver.pid"
    [[ -f "$pidfile" ]] || { echo "s3rver.sh: not running (no $pidfile)"; exit 0; }
    pid="$(cat "$pidfile")"
    if alive "$pid"; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do
        alive "$pid" || break
        sleep 0.1
      done
      if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
    fi
    rm -f "$pidfile"
    echo "s3rver.sh: stopped (pid $pid)"
    ;;
  status)
    [[ $# -ge 1 ]] || usage
    if [[ -f "$1/s3rver.pid" ]] && alive "$(cat "$1/s3rver.pid")"; then
      echo "s3rver.sh: running (pid $(cat "$1/s3rver.pid"))"
    else
      echo "s3rver.sh: not running"
      exit 1
    fi
    ;;
  *) usage ;;
esac

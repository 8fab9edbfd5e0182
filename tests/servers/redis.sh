#!/usr/bin/env bash
# A private Redis server for tests and the local stack.
#
#   tests/servers/redis.sh start|stop|restart|status DIR PORT
#
# Binds 127.0.0.1:PORT only, keeps nothing on disk (--save "" --appendonly no), daemonizes with
# its pid file, log and working folder in DIR. Idempotent: `start` on a running server and `stop`
# on a stopped one succeed. `stop` only stops the process named in DIR/redis.pid, and only if it
# is a redis-server. Extra server arguments: HLSFORGE_REDIS_OPTS (e.g. "--appendonly yes").
set -euo pipefail

usage() {
  echo "usage: $0 start|stop|restart|status DIR PORT" >&2
  exit 2
}
[[ $# -ge 3 ]] || usage
action=$1
dir=$2
port=$3
[[ "$port" =~ ^[0-9]+$ ]] && ((port > 0 && port < 65536)) || { echo "redis.sh: bad port '$port'" >&2; exit 2; }
command -v redis-server >/dev/null || { echo "redis.sh: redis-server not found (apt-get install redis-server)" >&2; exit 1; }

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
pidfile="$dir/redis.pid"
log="$dir/redis.log"

our_pid() {
  # Prints the pid from our pid file if that process is alive and is a redis-server.
  [[ -f "$pidfile" ]] || return 1
  local pid
  pid=$(cat "$pidfile" 2>/dev/null || true)
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "redis-server" || return 1
  echo "$pid"
}

ping() {
  [[ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" == "PONG" ]]
}

start() {
  if our_pid >/dev/null; then
    echo "redis.sh: already running (pid $(our_pid))"
  else
    rm -f "$pidfile"
    # shellcheck disable=SC2086
    redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
      --daemonize yes --pidfile "$pidfile" --logfile "$log" --dir "$dir" \
      ${HLSFORGE_REDIS_OPTS:-}
  fi
  local i
  for ((i = 0; i < 100; i++)); do
    ping && break
    sleep 0.1
  done
  if ! ping; then
    echo "redis.sh: redis-server did not answer on 127.0.0.1:$port; log:" >&2
    tail -20 "$log" >&2 || true
    exit 1
  fi
  echo "redis.sh: ready at redis://127.0.0.1:$port"
}

stop() {
  local pid
  if pid=$(our_pid); then
    kill -TERM "$pid"
    local i
    for ((i = 0; i < 100; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
    echo "redis.sh: stopped (pid $pid)"
  else
    rm -f "$pidfile"
    echo "redis.sh: not running ($dir)"
  fi
}

case "$action" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status)
    if our_pid >/dev/null; then echo "running"; else echo "stopped"; exit 3; fi
    ;;
  *) usage ;;
esac

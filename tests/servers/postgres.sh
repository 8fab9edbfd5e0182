#!/usr/bin/env bash
# A private PostgreSQL 15 server for tests and the local stack.
#
#   tests/servers/postgres.sh start|stop|restart|status DIR PORT [DBNAME]
#
# DIR holds everything: data/ (the cluster), run/ (unix socket), postgres.log.
# The server listens on 127.0.0.1:PORT only, with trust auth for local connections (or
# scram-sha-256 when HLSFORGE_PG_PASSWORD is set), and has a database DBNAME (default
# hlsforge_test) owned by the `postgres` role. Connect with
#   postgresql://postgres@127.0.0.1:PORT/DBNAME
# PostgreSQL refuses to run as root, so when run as root the cluster belongs to the `postgres`
# user and initdb/pg_ctl run through `runuser -u postgres --`.
# Idempotent: `start` on a running server and `stop` on a stopped one succeed. `stop` only stops
# the server whose data folder is DIR/data (pg_ctl's own pid file), never anything else.
# Extra server settings: HLSFORGE_PG_OPTS (e.g. "-c fsync=off -c synchronous_commit=off").
set -euo pipefail

usage() {
  echo "usage: $0 start|stop|restart|status DIR PORT [DBNAME]" >&2
  exit 2
}
[[ $# -ge 3 ]] || usage
action=$1
dir=$2
port=$3
db=${4:-hlsforge_test}
[[ "$port" =~ ^[0-9]+$ ]] && ((port > 0 && port < 65536)) || { echo "postgres.sh: bad port '$port'" >&2; exit 2; }
[[ "$db" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || { echo "postgres.sh: bad database name '$db'" >&2; exit 2; }

bindir=${HLSFORGE_PG_BIN:-/usr/lib/postgresql/15/bin}
[[ -x "$bindir/pg_ctl" ]] || { echo "postgres.sh: $bindir/pg_ctl not found (apt-get install postgresql)" >&2; exit 1; }

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
data="$dir/data"
run="$dir/run"
log="$dir/postgres.log"

as_pg() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

running() {
  [[ -f "$data/PG_VERSION" ]] && as_pg "$bindir/pg_ctl" status -D "$data" >/dev/null 2>&1
}

psql_admin() {
  PGPASSWORD=${HLSFORGE_PG_PASSWORD:-} "$bindir/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"
}

init_cluster() {
  [[ -f "$data/PG_VERSION" ]] && return 0
  mkdir -p "$data" "$run"
  if [[ $(id -u) -eq 0 ]]; then
    chown postgres: "$dir" "$data" "$run"
    chmod 700 "$data"
    if ! runuser -u postgres -- test -x "$dir"; then
      echo "postgres.sh: the postgres user cannot reach $dir (a parent folder is not world-searchable)" >&2
      exit 1
    fi
  fi
  local auth=(--auth=trust)
  local pwfile=""
  if [[ -n "${HLSFORGE_PG_PASSWORD:-}" ]]; then
    pwfile="$dir/.pwfile"
    printf '%s\n' "$HLSFORGE_PG_PASSWORD" >"$pwfile"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$pwfile"
    chmod 600 "$pwfile"
    auth=(--auth-host=scram-sha-256 --auth-local=scram-sha-256 --pwfile="$pwfile")
  fi
  if ! as_pg "$bindir/initdb" -D "$data" -U postgres -E UTF8 --locale=C "${auth[@]}" >"$dir/initdb.log" 2>&1; then
    echo "postgres.sh: initdb failed:" >&2
    tail -20 "$dir/initdb.log" >&2
    exit 1
  fi
  [[ -n "$pwfile" ]] && rm -f "$pwfile"
  # Loopback only, our own socket folder: never touch the system's /var/run/postgresql.
  cat >>"$data/postgresql.conf" <<EOF

# hlsforge tests/servers/postgres.sh
listen_addresses = '127.0.0.1'
unix_socket_directories = '$run'
max_connections = 200
EOF
}

start() {
  init_cluster
  if running; then
    echo "postgres.sh: already running ($data)"
  else
    mkdir -p "$run"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$run"
    touch "$log"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$log"
    if ! as_pg "$bindir/pg_ctl" start -D "$data" -l "$log" -w -t 60 \
      -o "-p $port ${HLSFORGE_PG_OPTS:-}" >/dev/null 2>&1; then
      echo "postgres.sh: server did not start on 127.0.0.1:$port; log:" >&2
      tail -20 "$log" >&2
      exit 1
    fi
  fi
  local i
  for ((i = 0; i < 100; i++)); do
    "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" && break
    sleep 0.1
  done
  "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" || {
    echo "postgres.sh: 127.0.0.1:$port is not ready" >&2
    exit 1
  }
  if [[ "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" != "1" ]]; then
    psql_admin -c "CREATE DATABASE \"$db\"" >/dev/null
  fi
  echo "postgres.sh: ready at postgresql://postgres@127.0.0.1:$port/$db"
}

stop() {
  if running; then
    as_pg "$bindir/pg_ctl" stop -D "$data" -m fast -w -t 60 >/dev/null
    echo "postgres.sh: stopped ($data)"
  else
    echo "postgres.sh: not running ($data)"
  fi
}

case "$action" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status)
    if running; then echo "running"; else echo "stopped"; exit 3; fi
    ;;
  *) usage ;;
esac

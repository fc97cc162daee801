#!/usr/bin/env bash
# Start a throwaway PostgreSQL on 127.0.0.1 for the test suite and print its URL.
# Usage: eval "$(scripts/pg_test_server.sh start)"   ...   scripts/pg_test_server.sh stop
# Installs Debian's postgresql when no server is on the machine (needs root, as in CI).
set -euo pipefail
PORT=${HUIQI_PG_PORT:-54329}
DIR=${HUIQI_PG_DIR:-/tmp/huiqi-pg-$PORT}

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

run_as_postgres() {
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi
}

case "${1:-start}" in
  start)
    BIN=$(pg_bin)
    if [ -z "$BIN" ]; then
      echo "installing postgresql (Debian package)" >&2
      apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
      BIN=$(pg_bin)
    fi
    if [ -f "$DIR/postmaster.pid" ]; then
      run_as_postgres "$BIN/pg_ctl -D $DIR stop -m fast" >&2 || true
    fi
    rm -rf "$DIR"
    mkdir -p "$DIR"
    [ "$(id -u)" = 0 ] && chown postgres "$DIR"
    run_as_postgres "$BIN/initdb -D $DIR -A trust -U postgres --no-sync" >/dev/null
    run_as_postgres "$BIN/pg_ctl -D $DIR -l $DIR/server.log -w -o '-c listen_addresses=127.0.0.1 -p $PORT -k $DIR -c fsync=off' start" >&2
    "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres huiqi_test
    echo "export HUIQI_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:$PORT/huiqi_test"
    ;;
  stop)
    BIN=$(pg_bin)
    [ -f "$DIR/postmaster.pid" ] && run_as_postgres "$BIN/pg_ctl -D $DIR stop -m fast" >&2
    rm -rf "$DIR"
    ;;
esac

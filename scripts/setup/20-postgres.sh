#!/usr/bin/env bash
# PostgreSQL for the gateway's shared-database tests (several gateway processes on one database).
# Installs the server from apt when it is missing, creates a throw-away cluster in $SOVRA_PG_DATA
# (default /var/tmp/sovra-pg) and starts it on 127.0.0.1:$SOVRA_PG_PORT (default 55432), trust
# authentication, loopback only. Idempotent: a running server is left as it is.
# The tests find it at the same port (or SOVRA_TEST_PG, a full connection string). Outside CI a
# failure here only warns (those tests then report themselves skipped); in CI (CI=true) it fails.
set -euo pipefail
PORT="${SOVRA_PG_PORT:-55432}"
DATA="${SOVRA_PG_DATA:-/var/tmp/sovra-pg}"

fail() {
  echo "20-postgres: $*" >&2
  if [ "${CI:-}" = "true" ]; then exit 1; fi
  echo "20-postgres: the PostgreSQL tests will be skipped" >&2
  exit 0
}

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

BIN="$(pg_bin)"
if [ -z "$BIN" ] || [ ! -x "$BIN/initdb" ]; then
  command -v apt-get >/dev/null || fail "PostgreSQL is not installed and apt-get is not available"
  if [ "$(id -u)" -ne 0 ]; then fail "PostgreSQL is not installed (run this script as root to install it)"; fi
  echo "20-postgres: installing postgresql from apt"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || fail "apt-get update failed"
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null || fail "apt-get install postgresql failed"
  BIN="$(pg_bin)"
  [ -n "$BIN" ] || fail "postgresql installed but no server binaries found"
fi

if "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then exit 0; fi

# The server refuses to run as root: as root, the cluster belongs to the 'postgres' user.
as_owner() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
  useradd --system --home-dir /var/lib/postgresql --shell /bin/false postgres || fail "cannot create the postgres user"
fi

if [ ! -f "$DATA/PG_VERSION" ]; then
  rm -rf "$DATA"
  mkdir -p "$DATA"
  [ "$(id -u)" -eq 0 ] && chown postgres "$DATA"
  as_owner "$BIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 --no-locale >/dev/null || fail "initdb failed"
  cat >>"$DATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$DATA'
max_connections = 300
CONF
fi
as_owner "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 start >/dev/null || fail "the server did not start (see $DATA/server.log)"
"$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" || fail "the server started but does not answer on 127.0.0.1:$PORT"
echo "20-postgres: PostgreSQL is up on 127.0.0.1:$PORT"

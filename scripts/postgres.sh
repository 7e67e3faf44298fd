#!/usr/bin/env bash
# A private PostgreSQL cluster for the tests (never the system cluster).
#
#   scripts/postgres.sh start   start it (reusing a running one), print the admin DSN
#   scripts/postgres.sh stop    stop it (data is kept for the next start)
#   scripts/postgres.sh env     print `export PLINTH_TEST_POSTGRES_DSN=...`
#   scripts/postgres.sh status  say whether it runs
#
# Settings: PLINTH_PG_DIR (default /tmp/plinth-pg), PLINTH_PG_PORT (default 55432).
# Tuned for tests, not for durability: fsync and synchronous commit are off.
set -euo pipefail

PG_DIR=${PLINTH_PG_DIR:-/tmp/plinth-pg}
PG_PORT=${PLINTH_PG_PORT:-55432}
DATA="$PG_DIR/data"
SOCK="$PG_DIR/sock"
LOG="$PG_DIR/postgres.log"
DSN="postgres://postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable"

say() { echo "postgres.sh: $*" >&2; }

find_bindir() {
	local d
	if command -v pg_config >/dev/null; then
		d=$(pg_config --bindir 2>/dev/null || true)
		if [[ -x "$d/initdb" && -x "$d/pg_ctl" ]]; then
			echo "$d"
			return
		fi
	fi
	# Debian keeps server binaries out of PATH; take the newest major version.
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
	if [[ -n "$d" && -x "$d/initdb" ]]; then
		echo "$d"
		return
	fi
	return 1
}

BIN=$(find_bindir) || {
	say "PostgreSQL server binaries not found (no initdb via pg_config or /usr/lib/postgresql/*/bin)."
	say "Install them with: apt-get update && apt-get install -y postgresql   (.ci/run does this)"
	exit 2
}

# PostgreSQL refuses to run as root: run its tools as the postgres user then.
as_pg() {
	if [[ $(id -u) -eq 0 ]]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

running() { as_pg "$BIN/pg_ctl" status -D "$DATA" >/dev/null 2>&1; }

init_cluster() {
	if [[ $(id -u) -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
		say "no 'postgres' user to run the server as; install Debian's postgresql package"
		exit 2
	fi
	mkdir -p "$PG_DIR" "$SOCK"
	if [[ $(id -u) -eq 0 ]]; then
		chown postgres: "$PG_DIR" "$SOCK"
	fi
	say "initdb in $DATA"
	as_pg "$BIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 --locale=C --no-sync >"$PG_DIR/initdb.log" 2>&1 || {
		cat "$PG_DIR/initdb.log" >&2
		exit 1
	}
	cat >>"$DATA/postgresql.conf" <<EOF

# plinth test settings
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$SOCK'
max_connections = 300
shared_buffers = 128MB
fsync = off
synchronous_commit = off
full_page_writes = off
wal_level = minimal
max_wal_senders = 0
checkpoint_timeout = 30min
max_wal_size = 2GB
EOF
	# Only loopback and the private socket are reachable, so trust is enough here.
	cat >"$DATA/pg_hba.conf" <<EOF
local all all trust
host  all all 127.0.0.1/32 trust
EOF
}

start() {
	if running; then
		say "already running (data $DATA, port $PG_PORT)"
		echo "$DSN"
		return
	fi
	if [[ ! -f "$DATA/PG_VERSION" ]]; then
		rm -rf "$DATA"
		init_cluster
	fi
	say "starting on 127.0.0.1:$PG_PORT (log $LOG)"
	if [[ $(id -u) -eq 0 ]]; then
		touch "$LOG" && chown postgres: "$LOG"
	fi
	if ! as_pg "$BIN/pg_ctl" start -D "$DATA" -l "$LOG" -w -t 60 >/dev/null; then
		say "failed to start; last lines of $LOG:"
		tail -n 20 "$LOG" >&2 || true
		exit 1
	fi
	echo "$DSN"
}

stop() {
	if running; then
		as_pg "$BIN/pg_ctl" stop -D "$DATA" -m fast -w >/dev/null
		say "stopped"
	else
		say "not running"
	fi
}

case "${1:-}" in
start) start ;;
stop) stop ;;
env)
	start >/dev/null
	echo "export PLINTH_TEST_POSTGRES_DSN='$DSN'"
	;;
status)
	if running; then
		echo "running: $DSN"
	else
		echo "not running"
		exit 3
	fi
	;;
*)
	echo "usage: $0 start|stop|env|status" >&2
	exit 64
	;;
esac

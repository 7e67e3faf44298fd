#!/usr/bin/env bash
# Plinth against `mlflow server`, side by side, on SQLite then PostgreSQL, with the
# same Go load generator (bench/cmd/plinth-bench). Prints a markdown table at the end
# and keeps every figure as JSON lines in $BENCH_WORK/results.jsonl.
#
# The servers run one at a time, never together: the machine's cores are shared.
# Per server and backend: start on a fresh database, ingest ×N (peak RSS read after
# it), seed + time search, seed + time get-history, seed + time the model-version
# search by tag, stop.
#
# Settings (env):
#   BENCH_DURATION=30s  BENCH_INGEST_REPS=3  BENCH_CONNS=8   ingest
#   BENCH_REPS=5                                              search/history repetitions
#   BENCH_SEARCH_RUNS=10000  BENCH_HISTORY_STEPS=100000        data sizes
#   BENCH_VERSION_MODELS=1000 (× 20 versions; 0 skips the step)
#   BENCH_STEPS="ingest search history versions"              which steps run (rss goes with ingest)
#   BENCH_BACKENDS="sqlite postgres"  BENCH_SERVERS="plinth mlflow"
#   BENCH_VENV=.venv (falls back to /work/.venv-probe)  BENCH_PLINTH=bin/plinth
#   BENCH_WORK=/tmp/plinth-bench  BENCH_PORT=55101 (mlflow) / BENCH_PORT+1 (plinth)
# A quick smoke run (about a minute or two per server, plus MLflow's slow start-up):
#   BENCH_DURATION=5s BENCH_INGEST_REPS=1 BENCH_REPS=2 BENCH_SEARCH_RUNS=200 \
#   BENCH_HISTORY_STEPS=5000 BENCH_VERSION_MODELS=50 bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

DURATION=${BENCH_DURATION:-30s}
INGEST_REPS=${BENCH_INGEST_REPS:-3}
CONNS=${BENCH_CONNS:-8}
REPS=${BENCH_REPS:-5}
SEARCH_RUNS=${BENCH_SEARCH_RUNS:-10000}
HISTORY_STEPS=${BENCH_HISTORY_STEPS:-100000}
VERSION_MODELS=${BENCH_VERSION_MODELS:-1000}
STEPS=" ${BENCH_STEPS:-ingest search history versions} "
BACKENDS=${BENCH_BACKENDS:-sqlite postgres}
SERVERS=${BENCH_SERVERS:-plinth mlflow}
VENV=${BENCH_VENV:-.venv}
PLINTH=${BENCH_PLINTH:-bin/plinth}
WORK=${BENCH_WORK:-/tmp/plinth-bench}
PORT=${BENCH_PORT:-55101}
# A cluster of its own, apart from the tests' one (scripts/postgres.sh's settings).
export PLINTH_PG_DIR=${PLINTH_PG_DIR:-$WORK/pg}
export PLINTH_PG_PORT=${PLINTH_PG_PORT:-55433}

say() { echo "bench: $*" >&2; }
die() {
	say "$*"
	exit 1
}

if [[ ! -x "$VENV/bin/mlflow" && -x /work/.venv-probe/bin/mlflow ]]; then
	say "no mlflow in $VENV; using /work/.venv-probe"
	VENV=/work/.venv-probe
fi
[[ -x "$VENV/bin/mlflow" ]] || die "no mlflow in $VENV: run scripts/venv.sh first"
if [[ " $SERVERS " == *" plinth "* && ! -x "$PLINTH" ]]; then
	say "WARNING: $PLINTH not found (make build); Plinth's figures stay 'pending'"
	SERVERS=${SERVERS//plinth/}
fi

rm -rf "$WORK"
mkdir -p "$WORK"
RESULTS="$WORK/results.jsonl"
: >"$RESULTS"
BENCH="$WORK/plinth-bench"
go build -o "$BENCH" ./bench/cmd/plinth-bench

SERVER_PGID=""
cleanup() {
	stop_server
	if [[ " $BACKENDS " == *" postgres "* ]]; then
		scripts/postgres.sh stop >/dev/null 2>&1 || true
	fi
}
trap cleanup EXIT

# start_server NAME LOG CMD... starts CMD in a session of its own, so the whole
# process tree (mlflow forks uvicorn workers) can be measured and stopped by its id.
start_server() {
	local name=$1 log=$2 url=$3
	shift 3
	setsid "$@" >"$log" 2>&1 &
	SERVER_PGID=$!
	local t0=$SECONDS
	until curl -sf "$url/health" >/dev/null 2>&1; do
		if ! kill -0 "$SERVER_PGID" 2>/dev/null; then
			tail -n 30 "$log" >&2
			die "$name exited during start-up (log $log)"
		fi
		((SECONDS - t0 < 300)) || die "$name not healthy after 300 s (log $log)"
		sleep 0.5
	done
	say "$name up in $((SECONDS - t0)) s (pid $SERVER_PGID)"
}

stop_server() {
	[[ -n "$SERVER_PGID" ]] || return 0
	kill -TERM -- "-$SERVER_PGID" 2>/dev/null || true
	for _ in $(seq 1 30); do
		kill -0 -- "-$SERVER_PGID" 2>/dev/null || break
		sleep 0.5
	done
	kill -KILL -- "-$SERVER_PGID" 2>/dev/null || true
	wait "$SERVER_PGID" 2>/dev/null || true
	SERVER_PGID=""
}

# peak_rss_mb sums VmHWM (the kernel's own peak RSS) over the server's processes.
peak_rss_mb() {
	local kb=0 pid v
	for pid in $(pgrep -g "$SERVER_PGID"); do
		v=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
		kb=$((kb + ${v:-0}))
	done
	awk -v kb="$kb" 'BEGIN { printf "%.1f", kb / 1024 }'
}

# measure SERVER BACKEND URL runs the whole suite against a server that is up.
measure() {
	local server=$1 backend=$2 url=$3
	local labels=(-url "$url" -server "$server" -backend "$backend")
	if [[ $STEPS == *" ingest "* ]]; then
		for i in $(seq 1 "$INGEST_REPS"); do
			say "$server/$backend: ingest $i/$INGEST_REPS ($DURATION, $CONNS connections)"
			"$BENCH" ingest "${labels[@]}" -c "$CONNS" -d "$DURATION" >>"$RESULTS"
		done
		local rss
		rss=$(peak_rss_mb)
		say "$server/$backend: peak RSS $rss MB ($(pgrep -g "$SERVER_PGID" | wc -l) processes)"
		printf '{"bench":"rss","server":"%s","backend":"%s","value":%s,"unit":"MB","count":%d}\n' \
			"$server" "$backend" "$rss" "$(pgrep -g "$SERVER_PGID" | wc -l)" >>"$RESULTS"
	fi
	if [[ $STEPS == *" search "* ]]; then
		"$BENCH" seed-search "${labels[@]}" -runs "$SEARCH_RUNS" -c "$CONNS" >>"$RESULTS"
		"$BENCH" search "${labels[@]}" -runs "$SEARCH_RUNS" -reps "$REPS" >>"$RESULTS"
	fi
	if [[ $STEPS == *" history "* ]]; then
		"$BENCH" seed-history "${labels[@]}" -steps "$HISTORY_STEPS" >>"$RESULTS"
		"$BENCH" history "${labels[@]}" -steps "$HISTORY_STEPS" -reps "$REPS" >>"$RESULTS"
	fi
	if [[ $STEPS == *" versions "* ]] && ((VERSION_MODELS > 0)); then
		"$BENCH" seed-versions "${labels[@]}" -models "$VERSION_MODELS" -c "$CONNS" >>"$RESULTS"
		"$BENCH" versions "${labels[@]}" -models "$VERSION_MODELS" -reps "$REPS" >>"$RESULTS"
	fi
}

postgres_db() { # postgres_db NAME → a fresh, empty database; prints nothing
	local admin=$1 name=$2
	PGOPTIONS='-c client_min_messages=warning' psql "$admin" -q -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name" >/dev/null
}

say "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GB", $2/1048576}' /proc/meminfo)," \
	"$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
say "mlflow $("$VENV/bin/python" -c 'import mlflow; print(mlflow.__version__)'), servers: $SERVERS, backends: $BACKENDS"

for backend in $BACKENDS; do
	dir="$WORK/$backend"
	mkdir -p "$dir"
	pg_admin=""
	if [[ $backend == postgres ]]; then
		"$VENV/bin/python" -c 'import psycopg' 2>/dev/null ||
			die "psycopg (mlflow's PostgreSQL driver) is missing from $VENV: run scripts/venv.sh"
		pg_admin=$(scripts/postgres.sh start)
	fi
	for server in $SERVERS; do
		case $server in
		mlflow)
			url="http://127.0.0.1:$PORT"
			db="sqlite:///$dir/mlflow.db"
			if [[ $backend == postgres ]]; then
				postgres_db "$pg_admin" bench_mlflow
				# psycopg 3, pinned in python/requirements.txt, is SQLAlchemy 2.1's default driver.
				db="postgresql+psycopg://postgres@127.0.0.1:$PLINTH_PG_PORT/bench_mlflow"
			fi
			# Default server settings (uvicorn, 4 workers), as a user would start it.
			start_server mlflow "$dir/mlflow.log" "$url" \
				"$VENV/bin/mlflow" server --backend-store-uri "$db" \
				--artifacts-destination "$dir/mlflow-artifacts" --serve-artifacts \
				--host 127.0.0.1 --port "$PORT"
			;;
		plinth)
			url="http://127.0.0.1:$((PORT + 1))"
			db="sqlite:$dir/plinth.db"
			if [[ $backend == postgres ]]; then
				postgres_db "$pg_admin" bench_plinth
				db="postgres://postgres@127.0.0.1:$PLINTH_PG_PORT/bench_plinth?sslmode=disable"
			fi
			start_server plinth "$dir/plinth.log" "$url" \
				"$PLINTH" server --host 127.0.0.1 --port "$((PORT + 1))" \
				--db "$db" --artifacts "$dir/plinth-artifacts"
			;;
		*) die "unknown server $server" ;;
		esac
		measure "$server" "$backend" "$url"
		stop_server
	done
done

"$BENCH" report "$RESULTS" | tee "$WORK/results.md"
say "load at the end $(cut -d' ' -f1-3 /proc/loadavg); raw figures: $RESULTS"

#!/usr/bin/env bash
# The web UI end to end: a fresh `plinth server` (SQLite + a local folder in a temporary
# directory, on a free loopback port), seeded through the real mlflow client
# (python/e2e/seed_ui.py), then Playwright's tests (web/e2e) in Debian's Chromium. The server is
# always stopped; the exit code is the tests'. Screenshots of every page land in
# web/test-results/screenshots/.
#
#   PLINTH_BIN=bin/plinth PLINTH_PYTHON=.venv/bin/python scripts/ui-e2e.sh [playwright args…]
#
# Env: PLINTH_BIN (default bin/plinth), PLINTH_PYTHON (default .venv/bin/python),
#      PLINTH_CHROMIUM (default /usr/bin/chromium), PLINTH_E2E_KEEP=1 keeps the temp folder.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

BIN=${PLINTH_BIN:-$ROOT/bin/plinth}
PY=${PLINTH_PYTHON:-$ROOT/.venv/bin/python}
export PLINTH_CHROMIUM=${PLINTH_CHROMIUM:-/usr/bin/chromium}

say() { echo "ui-e2e: $*" >&2; }
die() {
	say "$*"
	exit 1
}

[[ -x $BIN ]] || die "no plinth binary at $BIN (make build)"
[[ -x $PY ]] || die "no Python at $PY (scripts/venv.sh)"
[[ -x $PLINTH_CHROMIUM ]] || die "no Chromium at $PLINTH_CHROMIUM (apt-get install chromium)"
[[ -d web/node_modules/@playwright/test ]] || die "no web/node_modules/@playwright/test (cd web && npm ci)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/plinth-ui-e2e.XXXXXX")
SERVER_PID=""
cleanup() {
	local rc=$?
	if [[ -n $SERVER_PID ]]; then
		kill -TERM "$SERVER_PID" 2>/dev/null || true
		for _ in $(seq 1 50); do
			kill -0 "$SERVER_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	if [[ $rc -ne 0 && -f $WORK/plinth.log ]]; then
		say "server log (last 30 lines of $WORK/plinth.log):"
		tail -n 30 "$WORK/plinth.log" >&2 || true
	fi
	if [[ ${PLINTH_E2E_KEEP:-} == 1 || $rc -ne 0 ]]; then
		say "kept $WORK"
	else
		rm -rf "$WORK"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A free loopback port: bound by the OS, then released for the server (avoiding the ports the
# other test servers and benchmarks use).
PORT=$("$PY" - <<'EOF'
import socket
while True:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        p = s.getsockname()[1]
    if p not in (5000, 5077, 5078, 55501):
        print(p)
        break
EOF
)
URL="http://127.0.0.1:$PORT"

start=$SECONDS
"$BIN" server --host 127.0.0.1 --port "$PORT" \
	--db "sqlite:$WORK/plinth.db" --artifacts "$WORK/artifacts" \
	--predictions "$WORK/predictions" --prediction-log-dir "$WORK/prediction-wal" \
	--model-cache "$WORK/model-cache" --batch-temp "$WORK/batch-temp" \
	--refresh 500ms --prediction-log-flush 1s >"$WORK/plinth.log" 2>&1 &
SERVER_PID=$!
until curl -sf "$URL/health" >/dev/null 2>&1; do
	kill -0 "$SERVER_PID" 2>/dev/null || die "plinth server exited during start-up"
	((SECONDS - start < 60)) || die "plinth server not healthy after 60 s"
	sleep 0.2
done
curl -sf "$URL/" | grep -q '<div id="app">' || die "$URL/ does not serve the UI: build it (make build)"
say "plinth server on $URL (pid $SERVER_PID, data in $WORK)"

say "seeding with the mlflow client (python/e2e/seed_ui.py)"
# The mlflow client is chatty: its output goes to seed.log, shown when seeding fails.
if ! MLFLOW_TRACKING_URI=$URL "$PY" python/e2e/seed_ui.py --work "$WORK/seed" >"$WORK/seed.json" 2>"$WORK/seed.log"; then
	tail -n 40 "$WORK/seed.log" >&2
	die "seeding failed (log $WORK/seed.log)"
fi
grep '^seed \[' "$WORK/seed.log" | sed 's/^/  /' >&2 || true
say "seeded in $((SECONDS - start)) s"

rm -rf web/test-results
set +e
(
	cd web
	PLINTH_E2E_URL=$URL PLINTH_E2E_SEED=$WORK/seed.json npx --no-install playwright test "$@"
)
rc=$?
set -e
n=$(find web/test-results/screenshots -name '*.png' 2>/dev/null | wc -l)
say "playwright exit $rc after $((SECONDS - start)) s; $n screenshots in web/test-results/screenshots/"
exit "$rc"

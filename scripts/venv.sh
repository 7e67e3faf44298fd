#!/usr/bin/env bash
# Creates (or refreshes) the Python venv for the tests in .venv from python/requirements.txt.
# It is rebuilt only when missing or when requirements.txt changed (a stamp holds its hash).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${PLINTH_VENV:-.venv}
REQ=python/requirements.txt
STAMP="$VENV/.requirements.sha256"
want=$(sha256sum "$REQ" | cut -d' ' -f1)

if [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then
	echo "venv: $VENV is up to date"
	exit 0
fi

PY=${PYTHON:-python3}
if ! command -v "$PY" >/dev/null; then
	echo "venv: $PY not found; install Python 3.10+ (apt-get install -y python3 python3-venv)" >&2
	exit 1
fi
if [[ ! -x "$VENV/bin/python" ]]; then
	echo "venv: creating $VENV with $($PY --version 2>&1)"
	"$PY" -m venv "$VENV"
fi
echo "venv: installing $REQ (a few minutes on a fresh machine)"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQ"
echo "$want" >"$STAMP"
echo "venv: ready"

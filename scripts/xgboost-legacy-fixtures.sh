#!/usr/bin/env bash
# Regenerates the golden XGBoost fixtures written by older xgboost releases, so the Go
# evaluator keeps reading the model files those versions wrote (base_score as a scalar,
# no categories container, I64 split_indices, …). Each version gets a throwaway venv under
# /tmp with numpy/pandas/scikit-learn pins it works with on Python 3.11; the output is
# committed under internal/runtime/testdata/fixtures/xgboost/v<version>/ (CI regenerates
# only `current`, from the project's own venv).
#
#   scripts/xgboost-legacy-fixtures.sh            # every version below
#   scripts/xgboost-legacy-fixtures.sh 2.0.3      # only the named ones
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
OUT=internal/runtime/testdata/fixtures/xgboost

# version -> pip requirements. xgboost 1.7/2.0 wheels bundle CUDA (large); 2.1 has a CPU-only
# package. scikit-learn stays below 1.6 (its new estimator tags break these wrappers) and
# numpy below 2 (the 1.7/2.0 wheels are built against numpy 1.x).
pins() {
	case "$1" in
	1.7.6) echo "xgboost==1.7.6 numpy==1.26.4 scipy==1.11.4 pandas==2.0.3 scikit-learn==1.3.2" ;;
	2.0.3) echo "xgboost==2.0.3 numpy==1.26.4 scipy==1.11.4 pandas==2.1.4 scikit-learn==1.4.2" ;;
	2.1.4) echo "xgboost-cpu==2.1.4 numpy==1.26.4 scipy==1.13.1 pandas==2.2.3 scikit-learn==1.5.2" ;;
	*) echo "unknown xgboost version $1 (known: 1.7.6 2.0.3 2.1.4)" >&2; return 1 ;;
	esac
}

versions=("$@")
[[ ${#versions[@]} -gt 0 ]] || versions=(1.7.6 2.0.3 2.1.4)

for v in "${versions[@]}"; do
	reqs=$(pins "$v")
	venv=/tmp/plinth-xgboost-$v
	stamp="$venv/.pins"
	if [[ ! -x "$venv/bin/python" || ! -f "$stamp" || "$(cat "$stamp")" != "$reqs" ]]; then
		echo "xgboost $v: creating $venv ($reqs)"
		rm -rf "$venv"
		"$PY" -m venv "$venv"
		# shellcheck disable=SC2086
		"$venv/bin/python" -m pip install --quiet --disable-pip-version-check $reqs
		echo "$reqs" >"$stamp"
	fi
	got=$("$venv/bin/python" -c 'import xgboost; print(xgboost.__version__)')
	if [[ "$got" != "$v" ]]; then
		echo "xgboost $v: venv has xgboost $got" >&2
		exit 1
	fi
	echo "xgboost $v: writing $OUT/v$v"
	rm -rf "$OUT/v$v"
	"$venv/bin/python" python/fixtures/xgboost_fixtures.py --small --out "$OUT/v$v"
done

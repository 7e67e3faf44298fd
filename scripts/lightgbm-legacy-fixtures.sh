#!/usr/bin/env bash
# Regenerates the golden LightGBM fixtures written by an older lightgbm release (3.3.5, text
# format "version=v3"), so the Go evaluator keeps reading the model files it wrote. The
# version gets a throwaway venv under /tmp with numpy/pandas/scikit-learn pins it works with
# on Python 3.11; the output is committed under
# internal/runtime/testdata/fixtures/lightgbm/v<version>/ (CI regenerates only `current`,
# from the project's own venv).
#
#   scripts/lightgbm-legacy-fixtures.sh            # every version below
#   scripts/lightgbm-legacy-fixtures.sh 3.3.5      # only the named ones
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
OUT=internal/runtime/testdata/fixtures/lightgbm

# version -> pip requirements. lightgbm 3.3.5's wrapper predates numpy 2 and the estimator
# tags of scikit-learn >= 1.6; its wheel is a plain manylinux build that needs libgomp.
pins() {
	case "$1" in
	3.3.5) echo "lightgbm==3.3.5 numpy==1.26.4 scipy==1.11.4 pandas==2.0.3 scikit-learn==1.3.2" ;;
	*) echo "unknown lightgbm version $1 (known: 3.3.5)" >&2; return 1 ;;
	esac
}

versions=("$@")
[[ ${#versions[@]} -gt 0 ]] || versions=(3.3.5)

for v in "${versions[@]}"; do
	reqs=$(pins "$v")
	venv=/tmp/plinth-lightgbm-$v
	stamp="$venv/.pins"
	if [[ ! -x "$venv/bin/python" || ! -f "$stamp" || "$(cat "$stamp")" != "$reqs" ]]; then
		echo "lightgbm $v: creating $venv ($reqs)"
		rm -rf "$venv"
		"$PY" -m venv "$venv"
		# shellcheck disable=SC2086
		"$venv/bin/python" -m pip install --quiet --disable-pip-version-check $reqs
		echo "$reqs" >"$stamp"
	fi
	got=$("$venv/bin/python" -c 'import lightgbm; print(lightgbm.__version__)')
	if [[ "$got" != "$v" ]]; then
		echo "lightgbm $v: venv has lightgbm $got" >&2
		exit 1
	fi
	echo "lightgbm $v: writing $OUT/v$v"
	rm -rf "${OUT:?}/v$v"
	"$venv/bin/python" python/fixtures/lightgbm_fixtures.py --out "$OUT/v$v"
done

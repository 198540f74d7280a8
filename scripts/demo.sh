#!/usr/bin/env bash
# The demo: create .venv, install modelci, run the example pipeline on the embedded
# defaults (a file registry in the example folder) and print where to look.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$(pwd)"
export PIP_DISABLE_PIP_VERSION_CHECK=1
python="${PYTHON:-python3}"

if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$python" -m venv .venv
fi
if ! .venv/bin/python -c "import modelci" 2>/dev/null; then
  echo "==> installing modelci into .venv"
  .venv/bin/python -m pip install --quiet -e ".[parquet]"
fi
modelci="${root}/.venv/bin/modelci"
example="${root}/examples/breast-cancer"
registry="${example}/.modelci/registry"

cd "$example"
echo "==> making the example data (from the data set bundled with scikit-learn)"
"${root}/.venv/bin/python" make_data.py

echo "==> modelci train"
"$modelci" train
echo "==> modelci train --set model.params.C=0.05 (a second, more regularised version)"
"$modelci" train --set model.params.C=0.05

echo "==> modelci registry list"
"$modelci" registry list
latest="$("$modelci" registry list --json | "${root}/.venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["versions"][0]["version"])')"
echo "==> modelci registry alias champion ${latest}"
"$modelci" registry alias champion "$latest"
echo "==> modelci registry events --limit 5"
"$modelci" registry events --limit 5

cat <<MSG

Done. Where to look:
  registry          ${registry}
  a version         .venv/bin/modelci registry show breast-cancer@champion   (run in ${example})
  the history       .venv/bin/modelci registry events
  the pipeline file ${example}/modelci.yaml
MSG

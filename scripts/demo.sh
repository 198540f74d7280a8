#!/usr/bin/env bash
# The demo: create .venv, install modelci, and run the whole pipeline on the example
# (embedded defaults: a file registry and a local environment) three times:
#   1. the example model: trained, gated (first run), served locally, verified, champion;
#   2. a much weaker model: the gate blocks it, nothing is deployed;
#   3. an accurate but far too slow model: it passes the gate, is deployed, fails
#      verification under replayed traffic, and the server AND the registry roll back.
# Then it prints where to look. DEMO_PORT (default 8080) is where the model is served.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$(pwd)"
export PIP_DISABLE_PIP_VERSION_CHECK=1
python="${PYTHON:-python3}"
port="${DEMO_PORT:-8080}"

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  "$python" -m venv .venv
fi
if ! .venv/bin/python -c "import modelci, uvicorn, matplotlib" 2>/dev/null; then
  say "installing modelci into .venv"
  .venv/bin/python -m pip install --quiet -e ".[parquet,serve,report,image]"
fi
modelci="${root}/.venv/bin/modelci"
example="${root}/examples/breast-cancer"
cd "$example"

say "starting from a clean slate (registry, local server and reports of an earlier demo)"
"${root}/.venv/bin/python" - <<'PY'
from pathlib import Path
from modelci.deploy.local import stop
stop(Path(".modelci/local"), "local")
PY
rm -rf .modelci modelci-report

say "making the example data (from the data set bundled with scikit-learn; nothing is downloaded)"
"${root}/.venv/bin/python" make_data.py

run=("$modelci" run --set "environments.local.port=${port}")

say "1/3 modelci run: the example model"
"${run[@]}"

say "2/3 modelci run --set model.params.C=0.001: a much weaker model (the gate must block it)"
if "${run[@]}" --set model.params.C=0.001; then
  echo "unexpected: the gate let a much weaker model through" >&2
  exit 1
fi

say "3/3 modelci run with a 3000-tree forest: accurate, far too slow to serve (verification must roll it back)"
if "${run[@]}" --set model.params.classifier=forest --set model.params.n_estimators=3000; then
  echo "unexpected: verification let a model through that breaks the latency SLO" >&2
  exit 1
fi

say "modelci registry list"
"$modelci" registry list
say "modelci registry events --limit 12"
"$modelci" registry events --limit 12
say "modelci metrics --since 1d"
"$modelci" metrics --since 1d --plot modelci-report/health.png

cat <<MSG

Done: version 1 serves on http://127.0.0.1:${port} and is the champion; version 2 was
blocked by the gate; version 3 was deployed, failed its latency SLO, and both the server
and the registry aliases were rolled back to version 1.

Where to look (in ${example}):
  modelci-report/gate/report.md     the last gate report (tables, Mermaid charts, PNGs, result.json)
  modelci-report/verify/verify.md   the last verification: timeline and the rollback
  modelci-report/health.png         pipeline health (MUS, MTS, MDS, MQ, DORA)
  .modelci/registry                 the registry: ${modelci} registry show breast-cancer@champion
  curl -s -X POST http://127.0.0.1:${port}/invocations -H 'Content-Type: application/json' \\
       -d '{"dataframe_split": {"columns": ["site", "mean_radius"], "data": [["north", 14.0]]}}'
                                    (a 4xx naming the 29 missing columns: inputs are checked)
  curl -s http://127.0.0.1:${port}/version
Stop the server: ${root}/.venv/bin/python -c "from pathlib import Path; from modelci.deploy.local import stop; stop(Path('.modelci/local'), 'local')"
MSG

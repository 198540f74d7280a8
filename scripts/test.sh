#!/usr/bin/env bash
# Everything the tests need, then the tests: system packages, the venv with test tools,
# the services (Docker engine, OCI registry, base image), ruff, mypy, zizmor and pytest.
# Safe to run again: each step returns at once when its work is already done.
# Extra arguments go to pytest (e.g. ./scripts/test.sh -k registry).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$(pwd)"
export PIP_DISABLE_PIP_VERSION_CHECK=1

step() { printf '\n==> %s\n' "$*"; }

step "system packages"
missing=()
for tool in git:git; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing system packages: ${missing[*]}; install them (apt-get install ${missing[*]}) and run again" >&2
    exit 2
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 "${missing[@]}"
fi

step "python environment (.venv)"
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
stamp=.venv/.test-stamp
want="$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".[test]"
  printf '%s' "$want" >"$stamp"
fi
export PATH="${root}/.venv/bin:${PATH}"

if [ -x scripts/services/all.sh ]; then
  step "services"
  scripts/services/all.sh
fi

step "ruff"
ruff check src tests benchmarks examples
step "mypy"
mypy
step "zizmor"
zizmor --offline --config .github/zizmor.yml --min-severity low action.yml actions/ workflows-examples/*.yml

step "pytest"
set +e
pytest "$@"
code=$?
set -e
if [ "$code" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure of the test suite itself" >&2
  exit 1
fi
exit "$code"

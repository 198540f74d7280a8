#!/usr/bin/env bash
# Install modelci from this checkout into an isolated venv under $RUNNER_TEMP, once per job.
#
# Every action runs this first; it returns at once when the venv already holds
# this exact modelci with the requested extras. Inputs (environment):
#   MODELCI_EXTRAS      pip extras, comma separated (e.g. "parquet,serve")
#   MODELCI_PYTHON      interpreter for the venv (default: python3)
#   MODELCI_VENV        venv location (default: $RUNNER_TEMP/modelci-venv)
#   MODELCI_PIP_ARGS    extra pip arguments (e.g. "--find-links /wheels")
# Outputs (to $GITHUB_OUTPUT when set): python, version; the venv's bin goes to $GITHUB_PATH.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${MODELCI_VENV:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}/modelci-venv}"
python="${MODELCI_PYTHON:-python3}"
extras="${MODELCI_EXTRAS:-}"
extras="${extras// /}"

die() {
  local message="$1"
  if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    printf '### :x: modelci setup failed\n\n%s\n' "$message" >>"${GITHUB_STEP_SUMMARY}"
  fi
  printf '::error title=modelci setup failed::%s\n' "${message//$'\n'/%0A}"
  exit "${2:-2}"
}

if [[ -n "$extras" && ! "$extras" =~ ^[a-z0-9,_-]+$ ]]; then
  die "extras '${extras}' is not a comma-separated list of extras (e.g. parquet,serve)."
fi
command -v "$python" >/dev/null 2>&1 || die "no Python interpreter '${python}' on PATH; pass python-version to the setup action."

# The stamp names this checkout (a digest of its sources) and the extras already in the venv:
# a later action of the same job asking for the same or fewer extras installs nothing.
stamp="${venv}/.modelci-stamp"
source_id="$(cd "${root}" && find pyproject.toml src -type f -name '*.py' -o -name pyproject.toml | LC_ALL=C sort | xargs cat | sha256sum | cut -c1-16) $("$python" -c 'import sys; print(sys.version.split()[0])')"
installed=""
if [ -f "$stamp" ] && [ "$(head -n1 "$stamp")" = "$source_id" ]; then
  installed="$(sed -n 2p "$stamp")"
fi
missing=""
for extra in ${extras//,/ }; do
  case ",${installed}," in *",${extra},"*) ;; *) missing="${missing},${extra}" ;; esac
done
if [ ! -f "$stamp" ] || [ "$(head -n1 "$stamp")" != "$source_id" ] || [ -n "$missing" ]; then
  [ -x "${venv}/bin/python" ] || "$python" -m venv "$venv" \
    || die "could not create a virtual environment at ${venv} (is python3-venv installed?)" 3
  extras="$(printf '%s' "${installed}${missing}" | sed 's/^,//')"
  spec="${root}"
  [ -n "$extras" ] && spec="${root}[${extras}]"
  # shellcheck disable=SC2086 # MODELCI_PIP_ARGS is a list of arguments on purpose
  "${venv}/bin/python" -m pip install --disable-pip-version-check --quiet ${MODELCI_PIP_ARGS:-} "$spec" \
    || die "pip could not install modelci from ${root}; see the log above." 3
  printf '%s\n%s\n' "$source_id" "$extras" >"$stamp"
fi

export MODELCI_BIN="${venv}/bin/modelci"
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  # Run as the setup action's step (not sourced by action-run.sh): publish the venv.
  version="$("${MODELCI_BIN}" --version | cut -d' ' -f2)"
  if [ -n "${GITHUB_PATH:-}" ]; then
    printf '%s\n' "${venv}/bin" >>"${GITHUB_PATH}"
  fi
  if [ -n "${GITHUB_OUTPUT:-}" ]; then
    printf 'python=%s\nversion=%s\n' "${venv}/bin/python" "$version" >>"${GITHUB_OUTPUT}"
  fi
  echo "modelci ${version} in ${venv}"
fi

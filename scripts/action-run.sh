#!/usr/bin/env bash
# Run one modelci command from a composite action: set up (idempotent), then exec modelci.
# Inputs arrive as MODELCI_* environment variables, never as interpolated text.
set -euo pipefail
# shellcheck source=scripts/action-setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/action-setup.sh" >/dev/null
exec "${MODELCI_BIN}" "$@"

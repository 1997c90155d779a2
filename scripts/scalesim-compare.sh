#!/usr/bin/env bash
# SCALE-Sim 3.0 side by side with Systole's fast engine.
#   1. creates (or reuses) the venv ${SYSTOLE_CACHE:-<repo>/.cache}/venv-scalesim with the pinned
#      scripts/requirements-scalesim.txt (scalesim 3.0.0, numpy < 2.3: SCALE-Sim 3.0 crashes on
#      newer numpy); idempotent: a stamp holds the sha256 of the requirements file,
#   2. runs scripts/scalesim-compare.py: SCALE-Sim on hw/topologies/ for os/ws/is on a couple of
#      array sizes, its reports into ${SYSTOLE_CACHE:-<repo>/.cache}/scalesim/ (per-layer cycles
#      in cycles.csv), compared by `cargo test -p systole-sim --test scalesim_oracle`.
# Arguments go to the .py (default --set ci, a few minutes on 2 cores; --set full runs ResNet-50
# and MobileNet too; --bench resnet18 --array 32x32 --dataflow ws times both tools).
# Progress goes to stderr. Set PYTHON to choose the interpreter (default python3).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${SYSTOLE_CACHE:-$REPO/.cache}"
VENV="$CACHE/venv-scalesim"
REQ="$REPO/scripts/requirements-scalesim.txt"

# shellcheck source=lib/venv.sh
source "$REPO/scripts/lib/venv.sh"
ensure_venv scalesim "$VENV" "$REQ" "scalesim numpy"
if [[ $VENV_INSTALLED == 1 ]]; then
  "$VENV/bin/python" - >&2 <<'PY'
from importlib.metadata import version
import numpy
print(f"scalesim-compare: scalesim {version('scalesim')}, numpy {numpy.__version__}")
PY
fi

exec "$VENV/bin/python" "$REPO/scripts/scalesim-compare.py" "$@"

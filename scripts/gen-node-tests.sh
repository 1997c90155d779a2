#!/usr/bin/env bash
# Regenerate the ONNX backend node-test corpus from the generators shipped in the onnx wheel
# (onnx/backend/test/case/node/*.py; the wheel ships no node data) into
#   ${SYSTOLE_CACHE:-<repo>/.cache}/onnx-node-tests/node/<case>/model.onnx
#   ${SYSTOLE_CACHE:-<repo>/.cache}/onnx-node-tests/node/<case>/test_data_set_N/{input,output}_K.pb
# (the same layout as onnx's own `backend-test-tools generate-data`), and copy the wheel's
# "light" models (onnx/backend/test/data/light/light_*.onnx + light_*_output_0.pb) into
#   ${SYSTOLE_CACHE:-<repo>/.cache}/onnx-light/
# Runs scripts/setup-oracles.sh first. Idempotent: a stamp holds the onnx version and the
# sha256 of this script and of the requirements; when it matches, nothing is regenerated.
# The corpus path is printed on stdout (one line), progress on stderr.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${SYSTOLE_CACHE:-$REPO/.cache}"
OUT="$CACHE/onnx-node-tests"
LIGHT="$CACHE/onnx-light"
STAMP="$OUT/.systole-stamp"

log() { echo "gen-node-tests: $*" >&2; }

"$REPO/scripts/setup-oracles.sh"
PYBIN="$CACHE/venv/bin/python"

onnx_ver="$("$PYBIN" -c 'import onnx; print(onnx.__version__)')"
want="onnx=$onnx_ver script=$(sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1) req=$(sha256sum "$REPO/scripts/requirements-oracles.txt" | cut -d' ' -f1)"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" && -d "$OUT/node" && -d "$LIGHT" ]]; then
  log "up to date: $(find "$OUT/node" -mindepth 1 -maxdepth 1 -type d | wc -l) node cases in $OUT/node, light models in $LIGHT"
  echo "$OUT"
  exit 0
fi

log "generating node cases with onnx $onnx_ver into $OUT/node"
start=$(date +%s)
rm -rf "$OUT" "$LIGHT"
mkdir -p "$OUT"
"$PYBIN" - "$OUT" "$LIGHT" <<'PY'
import os, shutil, sys, warnings

import onnx
import onnx.backend.test.case.node as node_test
from onnx import TensorProto, numpy_helper

out, light = sys.argv[1], sys.argv[2]
warnings.simplefilter("ignore")


def serialize(value, vinfo):
    t = vinfo.type
    if t.HasField("map_type"):
        return numpy_helper.from_dict(value, vinfo.name)
    if t.HasField("sequence_type"):
        return numpy_helper.from_list(value, vinfo.name)
    if t.HasField("optional_type"):
        return numpy_helper.from_optional(value, vinfo.name)
    if isinstance(value, TensorProto):
        return value
    return numpy_helper.from_array(value, vinfo.name)


cases = node_test.collect_testcases()
n = 0
for case in cases:
    assert case.model is not None and case.data_sets
    d = os.path.join(out, case.kind, case.name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "model.onnx"), "wb") as f:
        f.write(case.model.SerializeToString())
    g = case.model.graph
    for i, (inputs, outputs) in enumerate(case.data_sets):
        ds = os.path.join(d, f"test_data_set_{i}")
        os.makedirs(ds, exist_ok=True)
        for j, v in enumerate(inputs):
            with open(os.path.join(ds, f"input_{j}.pb"), "wb") as f:
                f.write(serialize(v, g.input[j]).SerializeToString())
        for j, v in enumerate(outputs):
            with open(os.path.join(ds, f"output_{j}.pb"), "wb") as f:
                f.write(serialize(v, g.output[j]).SerializeToString())
    n += 1
print(f"gen-node-tests: wrote {n} node cases", file=sys.stderr)

src = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light")
os.makedirs(light, exist_ok=True)
names = sorted(os.listdir(src))
for name in names:
    shutil.copy2(os.path.join(src, name), os.path.join(light, name))
print(f"gen-node-tests: copied {len(names)} files from {src} to {light}", file=sys.stderr)
PY
echo "$want" > "$STAMP"
count=$(find "$OUT/node" -mindepth 1 -maxdepth 1 -type d | wc -l)
log "done: $count node cases in $(( $(date +%s) - start )) s ($(du -sh "$OUT" | cut -f1)); light models in $LIGHT"
echo "$OUT"

#!/usr/bin/env bash
# Mixed precision vs uniform bit widths on the bundled digits models: top-1 on the 360 held-out
# digits with its 95 % (Wilson) interval, and fidelity to the float model on the same samples
# (top-1 agreement, output MSE), which resolves differences top-1 cannot. The table in
# docs/quantization.md ("Mixed precision"). Usage: scripts/mixed-table.sh [OUT_DIR]
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
cargo build --release --quiet
S="$REPO/target/release/systole"
OUT="${1:-$REPO/target/mixed-table}"
mkdir -p "$OUT"
Y=models/data/digits_test_y.npy
row() { # model calib test label quantize-options...
  local m=$1 c=$2 x=$3 label=$4; shift 4
  local f="$OUT/$(basename "$m" .onnx)-$(echo "$*" | tr -c 'a-zA-Z0-9\n' '_').sysq"
  "$S" quantize "$m" --calib "$c" "$@" -o "$f" --write-alloc "$f.ron" --json > "$f.q.json"
  "$S" eval "$f" --data "$x" --labels "$Y" --reference "$m" --json > "$f.e.json"
  python3 - "$f" "$label" "$(basename "$m" .onnx)" <<'PY'
import json, re, sys
f, label, model = sys.argv[1:]
q, e = json.load(open(f + ".q.json")), json.load(open(f + ".e.json"))
alloc = "/".join(re.findall(r'": "([^"]+)"', open(f + ".ron").read()))
lo, hi = e["top1_ci95"]
print(f"| {model} | {label} | {alloc} | {q['avg_bits']:.3f} | {100*e['top1']:.2f} | "
      f"{100*lo:.1f}–{100*hi:.1f} | {100*e['agreement']:.2f} | {e['output_mse']:.2e} |")
PY
}
echo "| model | setting | formats (layer order) | bits/weight | top-1 % | 95 % interval | agreement with float % | output MSE |"
echo "|---|---|---|---|---|---|---|---|"
for spec in "models/digits_mlp.onnx models/data/digits_calib_x.npy models/data/digits_test_x.npy" \
            "models/digits_cnn.onnx models/data/digits_calib_x_img.npy models/data/digits_test_x_img.npy"; do
  set -- $spec
  m=$1 c=$2 x=$3
  for r in "" --gptq; do
    name=${r:-RTN}; name=${name#--}
    row "$m" "$c" "$x" "uniform int3 $name" --weights int3 $r
    for b in 3.5 3.9 4; do row "$m" "$c" "$x" "mixed ≤ $b $name" --budget "avg-bits=$b" $r; done
    row "$m" "$c" "$x" "uniform int4 $name" --weights int4 $r
    row "$m" "$c" "$x" "uniform int5 $name" --weights int5 $r
  done
done

# Hardware budgets on the CNN: DSPs of a layer-parallel design and bit-operations per sample
# (the "Bit allocation" table).
echo
echo "| options | budget | weights (input bits), conv1/conv2/dense | uses | top-1 % |"
echo "|---|---|---|---|---|"
m=models/digits_cnn.onnx c=models/data/digits_calib_x_img.npy x=models/data/digits_test_x_img.npy
hw_row() { # label budget quantize-options...
  local label=$1 b=$2; shift 2
  local f="$OUT/cnn-budget-$(echo "$b" | tr -c 'a-zA-Z0-9\n' '_').sysq"
  if ! "$S" quantize "$m" --calib "$c" "$@" --budget "$b" -o "$f" --write-alloc "$f.ron" --json > "$f.q.json" 2> "$f.err"; then
    printf '| %s | `%s` | %s | | |\n' "$label" "$b" "$(sed -n 's/.*infeasible; //p' "$f.err")"
    return
  fi
  "$S" eval "$f" --data "$x" --labels "$Y" --json > "$f.e.json"
  python3 - "$f" "$label" "$b" <<'PY'
import json, re, sys
f, label, b = sys.argv[1:]
q, e = json.load(open(f + ".q.json")), json.load(open(f + ".e.json"))
alloc = "/".join(f"{l['format']} (in {l['input_bits']})" for l in q["layers"])
print(f"| {label} | `{b}` | {alloc} | {q['budget_used']} | {100*e['top1']:.2f} |")
PY
}
hw_row "--acts int4 --method mse" dsp=0 --acts int4 --method mse
hw_row "--acts int4 --method mse" dsp=20,reuse=16 --acts int4 --method mse
hw_row "int8 acts" dsp=100,reuse=16
hw_row "int8 acts" dsp=100,reuse=16,part=artix7-100t
for b in 1.5M 2M 3M 5M; do hw_row "int8 acts" "bitops=$b"; done
# Activation widths as candidates too (the first layer keeps int8).
hw_row "--act-candidates int4,int8" dsp=100,reuse=16 --act-candidates int4,int8
hw_row "--act-candidates int4,int8" dsp=40,reuse=16 --act-candidates int4,int8
for b in 1.5M 2M; do hw_row "--act-candidates int4,int8" "bitops=$b" --act-candidates int4,int8; done

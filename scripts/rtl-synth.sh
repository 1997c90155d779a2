#!/usr/bin/env bash
# Synthesizes small configurations of the array RTL (hw/rtl/) with Yosys and prints one JSON
# line per run with the cell counts the cost model estimates (hw/src/cost/, docs/cost-models.md):
#   {"target":"xc7","rows":4,"cols":4,"in_w":8,"w_w":8,"acc_w":32,"depth":512,
#    "lut":..,"ff":..,"dsp":..,"bram18":..,"carry":..,"seconds":..}
# Targets: xc7 (synth_xilinx -family xc7 -flatten, -nodsp for <= 4-bit operands: LUT1..6 and
# SRL*, FD*, DSP48E1, RAMB18E1/RAMB36E1 as 1/2 BRAM18) and ice40 (synth_ice40 -dsp -flatten: SB_LUT4, SB_DFF*, SB_MAC16, SB_RAM40_4K).
# The top is scripts/synth/systole_synth_top.v: a WS fold controller and array with its two
# operand memories of DEPTH words.
# Usage: scripts/rtl-synth.sh [CONFIG...]   CONFIG = TARGET:ROWSxCOLS:IN_W:W_W, e.g. xc7:4x4:8:8
# Without arguments it runs the validation set (docs/cost-models.md).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
command -v yosys >/dev/null || { echo "rtl-synth.sh: yosys not found (apt-get install yosys)" >&2; exit 3; }
configs=("$@")
if [ ${#configs[@]} -eq 0 ]; then
  configs=(xc7:2x2:8:8 xc7:4x4:8:8 xc7:8x8:8:8 xc7:4x4:4:4 ice40:2x2:8:8 ice40:4x4:8:8 ice40:4x4:4:4)
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
rtl=("$root/hw/rtl/systole_pe.v" "$root/hw/rtl/systole_array.v" "$root/hw/rtl/systole_fold.v" "$here/synth/systole_synth_top.v")
for c in "${configs[@]}"; do
  IFS=: read -r target shape in_w w_w <<<"$c"
  rows="${shape%x*}"; cols="${shape#*x}"
  acc_w=32; depth=512
  case "$target" in
    xc7)
      # The cost model puts multipliers of <= 4-bit operands in LUTs (hw/src/cost/fpga.rs);
      # Yosys would put them in DSP48E1s, so those configurations are synthesized with -nodsp.
      if [ "$in_w" -le 4 ] && [ "$w_w" -le 4 ]; then nodsp=" -nodsp"; else nodsp=""; fi
      synth="synth_xilinx -family xc7 -flatten$nodsp -top systole_synth_top" ;;
    ice40) synth="synth_ice40 -dsp -flatten -top systole_synth_top" ;;
    *) echo "rtl-synth.sh: unknown target '$target' (xc7, ice40)" >&2; exit 2 ;;
  esac
  t0=$(date +%s.%N)
  yosys -q -l "$work/log" -p "read_verilog ${rtl[*]}; chparam -set ROWS $rows -set COLS $cols -set IN_W $in_w -set W_W $w_w -set ACC_W $acc_w -set DEPTH $depth systole_synth_top; $synth; tee -q -o $work/stat.json stat -json" >/dev/null
  t1=$(date +%s.%N)
  python3 - "$work/stat.json" "$target" "$rows" "$cols" "$in_w" "$w_w" "$acc_w" "$depth" "$t0" "$t1" <<'PY'
import json, sys
stat, target, rows, cols, in_w, w_w, acc_w, depth, t0, t1 = sys.argv[1:]
mods = json.load(open(stat))["modules"]
top = next(v for k, v in mods.items() if k.endswith("systole_synth_top"))
cells = top["num_cells_by_type"]
def n(pred):
    return sum(v for k, v in cells.items() if pred(k))
if target == "xc7":
    lut = n(lambda k: k.startswith("LUT") or k.startswith("SRL"))
    ff = n(lambda k: k.startswith("FD"))
    dsp = n(lambda k: k.startswith("DSP48"))
    bram18 = n(lambda k: k == "RAMB18E1") + 2 * n(lambda k: k == "RAMB36E1")
    carry = n(lambda k: k.startswith("CARRY"))
    lutram = n(lambda k: k.startswith("RAM32") or k.startswith("RAM64") or k.startswith("RAM128"))
else:
    lut = n(lambda k: k == "SB_LUT4")
    ff = n(lambda k: k.startswith("SB_DFF"))
    dsp = n(lambda k: k == "SB_MAC16")
    bram18 = n(lambda k: k.startswith("SB_RAM40_4K"))
    carry = n(lambda k: k == "SB_CARRY")
    lutram = 0
print(json.dumps({"target": target, "rows": int(rows), "cols": int(cols), "in_w": int(in_w),
                  "w_w": int(w_w), "acc_w": int(acc_w), "depth": int(depth), "lut": lut, "ff": ff,
                  "dsp": dsp, "bram": bram18, "carry": carry, "lutram": lutram,
                  "seconds": round(float(t1) - float(t0), 2), "cells": cells}, sort_keys=False))
PY
done

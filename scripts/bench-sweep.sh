#!/usr/bin/env bash
# Sweep benchmark (docs/benchmarks.md): wall time and peak RSS of `systole sweep` on the digits
# CNN for the shipped 1,350-point space and for a 10x smaller and a 10x larger variant of it
# (fewer allocations and buffer sizes; ten clocks), to show that memory stays flat in the number of points.
# Usage: scripts/bench-sweep.sh   (builds the release binary first; SYSTOLE_BENCH_NO_BUILD=1 skips that)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
[ "${SYSTOLE_BENCH_NO_BUILD:-0}" = 1 ] || cargo build --release -p systole >/dev/null
bin="$root/target/release/systole"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
space=hw/sweeps/digits-cnn-1k.ron
# 150 points: one allocation (int8) and one buffer size (8 KiB).
sed -e '/(weights: "int4", acts: "int8"),/d' -e '/(weights: "int2", acts: "int8"),/d' \
    -e 's/buffer_kib: \[2, 8, 32\]/buffer_kib: [8]/' "$space" > "$work/s150.ron"
# 13,500 points: ten clocks.
sed 's/clock_mhz: \[100.0\]/clock_mhz: [50.0, 75.0, 100.0, 125.0, 150.0, 175.0, 200.0, 250.0, 300.0, 400.0]/' "$space" > "$work/s13500.ron"
for s in "$work/s150.ron" "$space" "$work/s13500.ron"; do
  out="$work/out-$(basename "$s" .ron)"
  /usr/bin/time -f "%e %M" -o "$work/time" "$bin" sweep models/digits_cnn.onnx --space "$s" \
    --calib models/data/digits_calib_x_img.npy --data models/data/digits_test_x_img.npy \
    --labels models/data/digits_test_y.npy --part artix7-100t --part zu3eg --part asic:28nm \
    --best --json --out "$out" > "$work/summary.json" || true
  read -r wall rss < "$work/time"
  points=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['points'])" "$work/summary.json")
  echo "$(basename "$s"): $points points, wall ${wall} s, peak RSS $((rss / 1024)) MiB"
done

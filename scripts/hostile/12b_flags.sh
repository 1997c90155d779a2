source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
O=$H/out/flags2; B=$H/base; M=models/digits_mlp.onnx; C=models/data/digits_calib_x.npy; X=$H/in/x2.npy
printf '{"version":"1.0","model":{"type":"WordLevel","vocab":{"[UNK]":0,"hi":1},"unk_token":"[UNK]"}}' > $O/tok.json
g() { t "$1" "$2" $S "${@:3}"; echo "[$1 $2] $LAST_RC $(echo "$LAST_ERR"|head -2|tr '\n' ' '|cut -c1-200)"; }
g quantize split-tok quantize $M --calib $C -o $O/q.sysq --calib-split eval --tokenizer $O/tok.json
g quantize seq-tok quantize $M --calib $C -o $O/q.sysq --seq 16 --tokenizer $O/tok.json
g quantize limit-tok quantize $M --calib $C -o $O/q.sysq --calib-limit 3 --tokenizer $O/tok.json
g quantize calib-limit0 quantize $M --calib $C -o $O/q.sysq --calib-limit 0
g quantize calib-limit-big quantize $M --calib $C -o $O/q.sysq --calib-limit 100000000
g quantize calib-twice quantize $M --calib $C --calib $C -o $O/q.sysq
g quantize sentences-and-calib quantize $M --calib $C --calib-sentences models/text/sentences.tsv --tokenizer $O/tok.json -o $O/q.sysq
g simulate input-twice simulate $B/mlp.sysq --hw edge-8x8 --input $X --input $X --fast
g verify input-twice verify $B/build-mlp --input $X --input $X --rtl none
g eval data-twice eval $B/mlp.sysq --data $X --data $X --labels models/data/digits_test_y.npy
g profile calib-twice profile $M --calib $C --calib $C -o $O/p
g simulate batch-eq simulate $B/mlp.sysq --hw edge-8x8 --input $X --batch 2
g simulate batch-3-fast simulate $B/mlp.sysq --hw edge-8x8 --input $X --batch 3 --fast
g verify batch-big verify $B/build-mlp --input $X --rtl none --batch 5
g compile batch-vs-input compile $B/mlp.sysq --hw edge-8x8 -o $O/cb --batch 5
g simulate build-batch-over simulate $B/build-mlp --input $X --batch 3
g simulate vcd-pes-fast simulate $B/mlp.sysq --hw edge-8x8 --input $X --vcd-pes all --fast
g simulate vcd-pes-empty simulate $B/mlp.sysq --hw edge-8x8 --input $X --vcd $O/v.vcd --vcd-pes ""
g simulate vcd-pes-corners simulate $B/mlp.sysq --hw edge-8x8 --input $X --vcd $O/v.vcd --vcd-pes corners
g simulate vcd-pes-neg simulate $B/mlp.sysq --hw edge-8x8 --input $X --vcd $O/v.vcd --vcd-pes "-1,0"
g simulate vcd-pes-dup simulate $B/mlp.sysq --hw edge-8x8 --input $X --vcd $O/v.vcd --vcd-pes "0,0;0,0"
g simulate maxas-8-ok --max-array-side 8 simulate $B/mlp.sysq --hw edge-8x8 --input $X --fast
g simulate maxas-16 --max-array-side 7 simulate $B/build-mlp --input $X --fast
g compile maxas-7 --max-array-side 7 compile $B/mlp.sysq --hw edge-8x8 -o $O/cm
g verify maxas-7 --max-array-side 7 verify $B/build-mlp --input $X --rtl none
g sweep maxas-4 --max-array-side 4 sweep $B/cnn.sysq --space hw/sweeps/digits-cnn-small.ron --out $O/sw
g sweep maxas-2 --max-array-side 2 sweep $B/cnn.sysq --space hw/sweeps/digits-cnn-small.ron --out $O/sw2
g scalesim maxas-32 --max-array-side 32 scalesim --config hw/topologies/scale-32x32-ws.cfg --topology hw/topologies/mobilenet_v1.csv
g scalesim maxas-31-w --max-array-side 31 scalesim --config hw/topologies/scale-32x32-ws.cfg --topology hw/topologies/mobilenet_v1.csv --gemm
for n in div_zero bn_negvar gemm_hugew mp_pads_ge_kernel gemm_alpha_nan; do
  f=$H/in/onnx/$n.onnx; x=$H/in/onnx/$n.x.npy
  g run nan-repeat-$n run $f --input $x --repeat 3
  g run nan-profile-$n run $f --input $x --profile
  g eval nan-$n eval $f --data $x --labels $O/lab.npy
  g profile nan-$n profile $f --calib $x -o $O/pr-$n
  g inspect nan-$n inspect $f --optimized --verify
done

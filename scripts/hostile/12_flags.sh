source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
O=$H/out/flags; rm -rf $O; mkdir -p $O
B=$H/base; M=models/digits_mlp.onnx; C=models/data/digits_calib_x.npy; X=$H/in/x2.npy
q() { t quantize "$1" $S quantize $M --calib $C -o $O/q.sysq "${@:2}"; echo "[q $1] $LAST_RC $(echo "$LAST_ERR"|head -1|cut -c1-200)"; }
q calib-limit-alone --calib-limit 5
q tokenizer-alone --tokenizer /etc/hostname
q calib-split-alone --calib-split eval
q seq-alone --seq 16
q smooth-alone --smooth-alpha 0.5
q smooth-nan --smooth-alpha NaN
for m in minmax percentile:99.9 percentile:100 percentile:0 percentile:101 percentile:NaN percentile:-1 mse kl foo "" percentile: ; do q method-$m --method "$m"; done
for w in int1 int2 int8 int16 int32 int64 int0 int-1 pow2:0 pow2:4 pow2:99 fp8e4m3 fp8e5m2 kmeans:0 kmeans:1 kmeans:16 kmeans:99 "ap_fixed<8,3>" "ap_fixed<0,0>" "ap_fixed<64,80>" "ap_fixed<8,-3>" int4:g0 int4:g64 int4:g7 "" ; do q w-$w --weights "$w"; done
for a in int2 int8 int16 int32 uint8 fp8e4m3 "ap_fixed<16,6>" "ap_ufixed<8,0>" int1 pow2:4; do q a-$a --acts "$a"; done
for r in RND TRN RND_CONV RND_ZERO RND_INF RND_MIN_INF foo; do q r-$r --rounding $r; done
for p in 0 0.5 1 1.0 -0.1 NaN 2:4 1:2 0:4 4:4 1:257 255:256 2:0 "" 0.999999; do q prune-$p --prune "$p"; done
for b in avg-bits=0 avg-bits=1 avg-bits=4 avg-bits=NaN avg-bits=1e30 avg-bits=-1 weight-bytes=0 weight-bytes=1 weight-bytes=18446744073709551615 bitops=0 dsp=0 dsp=1 dsp=5,part=zu9eg dsp=5,part=nope dsp=100,reuse=0 dsp=100,reuse=18446744073709551615 foo=1 ""; do q budget-$b --budget "$b"; done
q budget-cands --budget avg-bits=4 --candidates int2,int2,int8
q budget-cands-empty --budget avg-bits=4 --candidates ""
q budget-actc --budget avg-bits=4 --act-candidates int4,int8
q budget-maxdrop --budget avg-bits=2 --max-drop 0
q maxdrop-neg --max-drop -1
q maxdrop-101 --max-drop 101
q gptq-adaround --gptq --adaround
q gptq-pc --gptq --per-tensor
q adaround-pow2 --adaround --weights pow2:4
q biascorr-prune --bias-correction --prune 2:4 --gptq
q dynamic-hls --dynamic --hls4ml-config /etc/hostname
q dynamic-fp8 --dynamic --acts fp8e4m3
q dyn --dynamic
q pc-pt --per-channel --per-tensor
printf 'MatMul: "int4"\n' > $O/alloc-bad.ron; q alloc-bad --alloc $O/alloc-bad.ron
printf '{"MatMul": "int4", "Nope": "int8"}\n' > $O/alloc-unknown.ron; q alloc-unknown --alloc $O/alloc-unknown.ron
printf '{"MatMul": "int0"}\n' > $O/alloc-int0.ron; q alloc-int0 --alloc $O/alloc-int0.ron
printf '{}\n' > $O/alloc-empty.ron; q alloc-empty --alloc $O/alloc-empty.ron
q hls-missing --hls4ml-config /nonexistent
printf '{"Model": {"Precision": "ap_fixed<0,0>"}}' > $O/hls.json; q hls-bad --hls4ml-config $O/hls.json
printf '{"Model": {"Precision": "ap_fixed<16,6>", "ReuseFactor": 0}, "LayerName": {"MatMul": {"Precision": {"weight": "ap_fixed<99,200>"}}}}' > $O/hls2.json; q hls-bad2 --hls4ml-config $O/hls2.json
q dump --dump
# eval
e() { t eval "$1" $S eval "${@:2}"; echo "[eval $1] $LAST_RC $(echo "$LAST_ERR"|head -1|cut -c1-200)"; }
e ref-sysq $B/mlp.sysq --data models/data/digits_test_x.npy --labels models/data/digits_test_y.npy --reference $B/mlp.sysq
e ref-cnn $B/mlp.sysq --data models/data/digits_test_x.npy --labels models/data/digits_test_y.npy --reference models/digits_cnn.onnx
e onnx-ref-onnx $M --data models/data/digits_test_x.npy --labels models/data/digits_test_y.npy --reference $M
e nolabels $M --data models/data/digits_test_x.npy
# run
r() { t run "$1" $S run "${@:2}"; echo "[run $1] $LAST_RC $(echo "$LAST_ERR"|head -1|cut -c1-200)"; }
for n in 0 -1 1 18446744073709551615 abc 100000000; do TO=20 r repeat-$n $M --input $X --repeat $n; done
r input-named-wrong $M --input nope=$X
r input-twice $M --input $X --input $X
r input-named-twice $M --input input=$X --input input=$X
r output-named-wrong $M --input $X --output nope=$O/o.npy
r sysq-profile $B/mlp.sysq --input $X --profile
r onnx-profile $M --input $X --profile
r sysq-nopasses $B/mlp.sysq --input $X --no-passes
# inspect
i() { t inspect "$1" $S inspect "${@:2}"; echo "[inspect $1] $LAST_RC $(echo "$LAST_ERR"|head -1|cut -c1-200)"; }
i dump-bad $M --dump-after nope
i stop-bad $M --stop-after nope
i dump-import $M --dump-after import
i stop-import $M --stop-after import --optimized
i bind-none $M --bind N=1
i bind-neg $M --bind N=-1
i bind-zero models/digits_cnn.onnx --bind N=0
i bind-huge models/digits_cnn.onnx --bind N=18446744073709551615
i bind-huge2 models/digits_cnn.onnx --bind N=4294967296
i bind-noeq $M --bind N
i bind-empty $M --bind =3
i bind-sysq $B/mlp.sysq
# simulate
s() { t simulate "$1" $S simulate "${@:2}"; echo "[sim $1] $LAST_RC $(echo "$LAST_ERR"|head -1|cut -c1-200)"; }
s both-engines $B/mlp.sysq --hw edge-8x8 --input $X --exact --fast
s batch0 $B/mlp.sysq --hw edge-8x8 --input $X --batch 0
s batch-big $B/mlp.sysq --hw edge-8x8 --input $X --batch 1000
s batch-max $B/mlp.sysq --hw edge-8x8 --input $X --batch 18446744073709551615
s vcd-pes-bad $B/mlp.sysq --hw edge-8x8 --input $X --vcd $O/v.vcd --vcd-pes "99,99"
s vcd-pes-junk $B/mlp.sysq --hw edge-8x8 --input $X --vcd $O/v.vcd --vcd-pes "a;b"
s vcd-pes-all $B/mlp.sysq --hw edge-8x8 --input $X --vcd $O/v.vcd --vcd-pes all
s vcd-pes-novcd $B/mlp.sysq --hw edge-8x8 --input $X --vcd-pes all
s vcd-fast $B/mlp.sysq --hw edge-8x8 --input $X --vcd $O/v2.vcd --fast
s build-hw $B/build-mlp --hw edge-8x8 --input $X
s build-batch $B/build-mlp --input $X --batch 5
s text-mlp $B/mlp.sysq --hw edge-8x8 --text hello
s sentences-mlp $B/mlp.sysq --hw edge-8x8 --sentences models/text/sentences.tsv
s noinput $B/mlp.sysq --hw edge-8x8
s nohw $B/mlp.sysq --input $X
s hw-preset-case $B/mlp.sysq --hw EDGE-8x8 --input $X
s hw-empty $B/mlp.sysq --hw "" --input $X
# compile
c() { t compile "$1" $S compile "${@:2}"; echo "[compile $1] $LAST_RC $(echo "$LAST_ERR"|head -1|cut -c1-200)"; }
for b in 0 1 65536 65537 18446744073709551615 -1; do rm -rf $O/cb; c batch-$b $B/mlp.sysq --hw edge-8x8 -o $O/cb --batch $b; done
for a in 0 1 8 32 33 64; do rm -rf $O/ca; c romaddr-$a $B/cnn.sysq --hw edge-8x8 -o $O/ca --rom-addr-bits $a; done
rm -rf $O/cd; c dyn-compile $O/q.sysq --hw edge-8x8 -o $O/cd
t quantize dynq $S quantize $M --calib $C -o $O/dyn.sysq --dynamic; c dynamic $O/dyn.sysq --hw edge-16x16 -o $O/cdyn
c build-as-input $B/build-mlp --hw edge-8x8 -o $O/cbi
# verify
v() { t verify "$1" $S verify "${@:2}"; echo "[verify $1] $LAST_RC $(echo "$LAST_ERR"|head -1|cut -c1-200)"; }
v rtl-bad $B/build-mlp --input $X --rtl foo
v sysq-not-build $B/mlp.sysq --input $X
v rtl-iverilog-work-file $B/build-mlp --input $X --rtl iverilog --work $X
# limits
l() { t "$1" "$2" $S "${@:3}"; echo "[limit $2] $LAST_RC $(echo "$LAST_ERR"|head -1|cut -c1-200)"; }
l inspect maxnodes0 --max-nodes 0 inspect $M
l inspect maxte0 --max-tensor-elements 0 inspect $M
l run maxte-sysq --max-tensor-elements 10 run $B/mlp.sysq --input $X
l simulate maxte-sysq --max-tensor-elements 10 simulate $B/mlp.sysq --hw edge-8x8 --input $X
l compile maxte-sysq --max-tensor-elements 10 compile $B/mlp.sysq --hw edge-8x8 -o $O/lim
l run maxfb-small --max-file-bytes 100 run $M --input $X
l simulate maxfb-hw --max-file-bytes 10 simulate $B/mlp.sysq --hw hw/presets/edge-8x8.ron --input $X
l simulate maxas-1 --max-array-side 1 simulate $B/mlp.sysq --hw edge-8x8 --input $X
l simulate maxas-0 --max-array-side 0 simulate $B/mlp.sysq --hw edge-8x8 --input $X
l simulate maxmem-1 --max-memory-bytes 1 simulate $B/mlp.sysq --hw edge-8x8 --input $X
l compile maxmem-1 --max-memory-bytes 1 compile $B/mlp.sysq --hw edge-8x8 -o $O/lim2
l simulate maxmem-build --max-memory-bytes 1 simulate $B/build-mlp --input $X
l sweep maxsp-1 --max-sweep-points 1 sweep $B/cnn.sysq --space hw/sweeps/digits-cnn-small.ron --out $O/swl
l inspect maxnodes-neg --max-nodes -1 inspect $M
l inspect maxnodes-junk --max-nodes 1e3 inspect $M
l inspect maxfb-0 --max-file-bytes 0 inspect $M
l run maxte-run --max-tensor-elements 100 run $M --input models/data/digits_test_x.npy
l eval maxte-eval --max-tensor-elements 100 eval $B/mlp.sysq --data models/data/digits_test_x.npy --labels models/data/digits_test_y.npy
l quantize maxte-q --max-tensor-elements 100 quantize $M --calib $C -o $O/lq.sysq
l scalesim maxas-ss --max-array-side 8 scalesim --config hw/topologies/scale-32x32-ws.cfg --topology hw/topologies/mobilenet_v1.csv
l profile maxmem-prof --max-memory-bytes 1 profile $M --calib $C -o $O/lp

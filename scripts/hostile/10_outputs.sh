source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
O=$H/out/outp; rm -rf $O; mkdir -p $O/existdir; export CWD=$O
B=$H/base
cp $B/mlp.sysq $O/in.sysq; cp $REPO/models/digits_mlp.onnx $O/in.onnx; cp $H/in/x2.npy $O/x.npy
ln -sf $O/in.onnx $O/link-to-model; ln -sf $O/x.npy $O/link-to-x; ln -sf $O/in.sysq $O/link-to-sysq; ln -sf $O/nothere/zz $O/dangling
LONG=$O/$(printf 'a%.0s' $(seq 300))
sum0=$(sha256sum $O/in.sysq $O/in.onnx $O/x.npy)
for tgt in same-model same-x link-model link-x link-sysq missing-parent devfull devnull dangling existdir trailing empty long hardlink-x; do
  case $tgt in
    same-model) P=$O/in.onnx;; same-x) P=$O/x.npy;; link-model) P=$O/link-to-model;; link-x) P=$O/link-to-x;; link-sysq) P=$O/link-to-sysq;;
    missing-parent) P=$O/no/such/dir/f;; devfull) P=/dev/full;; devnull) P=/dev/null;; dangling) P=$O/dangling;; existdir) P=$O/existdir;;
    trailing) P=$O/newfile/;; empty) P="";; long) P=$LONG;; hardlink-x) rm -f $O/hl; ln $O/x.npy $O/hl; P=$O/hl;;
  esac
  t run out-$tgt $S run $O/in.onnx --input $O/x.npy --output "$P"
  t run out-sysq-$tgt $S run $O/in.sysq --input $O/x.npy --output "$P"
  t quantize out-$tgt $S quantize $O/in.onnx --calib $O/x.npy -o "$P"
  t quantize walloc-$tgt $S quantize $O/in.onnx --calib $O/x.npy -o $O/q.sysq --write-alloc "$P" --budget avg-bits=6
  t simulate out-$tgt $S simulate $O/in.sysq --hw edge-8x8 --input $O/x.npy --fast --output "$P"
  t simulate csv-$tgt $S simulate $O/in.sysq --hw edge-8x8 --input $O/x.npy --fast --csv "$P"
  t simulate sched-$tgt $S simulate $O/in.sysq --hw edge-8x8 --input $O/x.npy --fast --schedule "$P"
  t simulate vcd-$tgt $S simulate $O/in.sysq --hw edge-8x8 --input $O/x.npy --vcd "$P"
  t simulate plot-$tgt $S simulate $O/in.sysq --hw edge-8x8 --input $O/x.npy --fast --plot-dir "$P"
  t profile out-$tgt $S profile $O/in.onnx --calib $O/x.npy -o "$P"
  t scalesim out-$tgt $S scalesim --config $REPO/hw/topologies/scale-32x32-ws.cfg --topology $REPO/hw/topologies/mobilenet_v1.csv -o "$P"
  t compile out-$tgt $S compile $O/in.sysq --hw edge-8x8 -o "$P"
  t sweep out-$tgt $S sweep $B/cnn.sysq --space $REPO/hw/sweeps/digits-cnn-small.ron --out "$P"
  t sweep-merge out-$tgt $S sweep merge $H/out/swrec/s0 $H/out/swrec/s1 --out "$P"
  t verify work-$tgt $S verify $B/build-mlp --input $O/x.npy --rtl none --work "$P"
  sum1=$(sha256sum $O/in.sysq $O/in.onnx $O/x.npy)
  if [ "$sum0" != "$sum1" ]; then echo "INPUT CHANGED after $tgt"; echo "INPUT CHANGED after $tgt" >> $LOG; cp $B/mlp.sysq $O/in.sysq; cp $REPO/models/digits_mlp.onnx $O/in.onnx; cp $H/in/x2.npy $O/x.npy; fi
  [ -L $O/link-to-model ] || echo "LINK REPLACED link-to-model after $tgt"
  rm -rf $O/no $O/newfile $LONG $O/q.sysq
  [ -e $O/existdir ] && [ ! -d $O/existdir ] && { echo "existdir became a file after $tgt"; rm -f $O/existdir; mkdir $O/existdir; }
done
# two outputs same path
t simulate two-same $S simulate $O/in.sysq --hw edge-8x8 --input $O/x.npy --fast --csv $O/a.txt --schedule $O/a.txt
t simulate two-same-vcd $S simulate $O/in.sysq --hw edge-8x8 --input $O/x.npy --output $O/b.npy --vcd $O/b.npy
t simulate two-same-plot $S simulate $O/in.sysq --hw edge-8x8 --input $O/x.npy --fast --csv $O/pd/cycles.svg --plot-dir $O/pd
t simulate two-same-link $S simulate $O/in.sysq --hw edge-8x8 --input $O/x.npy --fast --csv $O/c.csv --output $O/c-link; 
ln -sf $O/c.csv $O/c-link2; t simulate two-same-link2 $S simulate $O/in.sysq --hw edge-8x8 --input $O/x.npy --fast --csv $O/c.csv --output $O/c-link2
t run two-out $S run $O/in.onnx --input $O/x.npy --output $O/r.npy --output $O/r.npy
t quantize same-walloc $S quantize $O/in.onnx --calib $O/x.npy -o $O/qq --write-alloc $O/qq --budget avg-bits=6
t quantize alloc-is-out $S quantize $O/in.onnx --calib $O/x.npy -o $O/al.ron --alloc $O/al.ron
t profile out-inside-input $S profile $O/in.onnx --calib $O/x.npy -o $O
git -C $REPO status --porcelain | head

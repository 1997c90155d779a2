source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
O=$H/out/fz; rm -rf $O; mkdir -p $O
B=$H/base
for f in $H/in/fz/*.onnx; do n=$(basename $f .onnx)
  t inspect fz:$n $S inspect $f
  case $n in digits_mlp*) x=$H/in/x2.npy;; *) x=$H/in/xi2.npy;; esac
  t run fz:$n $S run $f --input $x
  [ $LAST_RC = 0 ] && t quantize fz:$n $S quantize $f --calib $x -o $O/$n.sysq
done
for f in $H/in/fz/space_*.ron; do n=$(basename $f .ron)
  t sweep $n $S sweep $B/cnn.sysq --space $f --out $O/$n
  echo "[$n] $LAST_RC $(echo "$LAST_ERR"|head -1|cut -c1-160)"
done
t sweep onnx-nocalib $S sweep models/digits_cnn.onnx --space hw/sweeps/digits-cnn-small.ron --out $O/x1; echo "[onnx-nocalib] $LAST_RC"
for p in nope asic:0nm asic:-5nm asic:28nm asic:1000000nm artix7-100t ""; do t sweep part-$p $S sweep $B/cnn.sysq --space hw/sweeps/digits-cnn-small.ron --part "$p" --out $O/p-$p; echo "[part $p] $LAST_RC $(echo "$LAST_ERR"|head -1|cut -c1-120)"; done
for s in 0/0 1/1 3/2 -1/2 0/18446744073709551615 a/b 0; do t sweep shard-$s $S sweep $B/cnn.sysq --space hw/sweeps/digits-cnn-small.ron --shard "$s" --out $O/s-${s//\//_}; echo "[shard $s] $LAST_RC $(echo "$LAST_ERR"|head -1|cut -c1-120)"; done
for o in latency throughput energy area foo; do t sweep obj-$o $S sweep $B/cnn.sysq --space hw/sweeps/digits-cnn-small.ron --objective $o --out $O/o-$o --best; echo "[obj $o] $LAST_RC"; done
t sweep-merge none $S sweep merge --out $O/m0; echo "[merge none] $LAST_RC $(echo "$LAST_ERR"|head -1)"
t sweep-merge self $S sweep merge $H/out/swrec/s0 --out $H/out/swrec/s0; echo "[merge into own shard] $LAST_RC $(echo "$LAST_ERR"|head -1)"
t sweep-merge notdir $S sweep merge /etc/hostname --out $O/m1; echo "[merge file] $LAST_RC $(echo "$LAST_ERR"|head -1)"
# embed
t embed mlp $S embed models/digits_mlp.onnx --tokenizer /etc/hostname --text hi; echo "[embed mlp] $LAST_RC $(echo "$LAST_ERR"|head -1)"
t embed nothing $S embed models/digits_mlp.onnx; echo "[embed none] $LAST_RC $(echo "$LAST_ERR"|head -1)"
printf '{"version":"1.0","model":{"type":"WordLevel","vocab":{"[UNK]":0,"hi":1},"unk_token":"[UNK]"}}' > $O/tok.json
t embed tok-mlp $S embed models/digits_mlp.onnx --tokenizer $O/tok.json --text hi -o $O/e.npy; echo "[embed tok mlp] $LAST_RC $(echo "$LAST_ERR"|head -1)"
t embed tok-sysq $S embed models/digits_mlp.onnx --tokenizer $O/tok.json --text hi --sysq $B/mlp.sysq; echo "[embed sysq] $LAST_RC $(echo "$LAST_ERR"|head -1)"
t embed seq0 $S embed models/digits_mlp.onnx --tokenizer $O/tok.json --text hi --seq 0 --batch 0; echo "[embed seq0] $LAST_RC $(echo "$LAST_ERR"|head -1)"
# FIFO inputs
mkfifo $O/fifo.npy $O/fifo.ron
TO=10 t run fifo $S run models/digits_mlp.onnx --input $O/fifo.npy; echo "[fifo npy] $LAST_RC $(echo "$LAST_ERR"|head -1)"
TO=10 t simulate fifo $S simulate $B/mlp.sysq --hw $O/fifo.ron --input $H/in/x2.npy; echo "[fifo hw] $LAST_RC $(echo "$LAST_ERR"|head -1)"

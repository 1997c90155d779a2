source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
O=$H/out/onnx2; rm -rf $O; mkdir -p $O
for f in $H/in2/onnx/*.onnx; do
  n=$(basename $f .onnx); x=$H/in2/onnx/$n.x.npy
  t inspect $n $S inspect $f; i="$LAST_RC $(echo "$LAST_ERR"|head -1|cut -c1-110)"
  t inspect $n-opt $S inspect $f --optimized --verify; io=$LAST_RC
  t run $n $S run $f --input $x --output $O/$n.y.npy; r="$LAST_RC $(echo "$LAST_ERR"|head -1|cut -c1-110)"
  t quantize $n $S quantize $f --calib $x -o $O/$n.sysq; qq=$LAST_RC
  echo "[$n] inspect=$i | opt=$io | run=$r | q=$qq"
done

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
O=$H/out/onnx; rm -rf $O; mkdir -p $O
for f in $H/in/onnx/*.onnx; do
  n=$(basename $f .onnx); x=$H/in/onnx/$n.x.npy
  t inspect $n $S inspect $f
  t inspect $n-opt $S inspect $f --optimized --verify
  t run $n $S run $f --input $x --output $O/$n.y.npy
  [ $LAST_RC = 0 ] && $PY -c "import numpy as np,sys; a=np.load('$O/$n.y.npy'); print('RUNOUT $n', a.dtype, a.shape, 'nonfinite' if (a.dtype.kind=='f' and not np.isfinite(a).all()) else 'finite')" >> $H/runouts.txt 2>&1
  t run $n-nopass $S run $f --input $x --no-passes
  t quantize $n $S quantize $f --calib $x -o $O/$n.sysq
  t profile $n $S profile $f --calib $x -o $O/prof-$n
done

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
O=$H/out/npy; rm -rf $O; mkdir -p $O
B=$H/base; M=models/digits_mlp.onnx; Y=models/data/digits_test_y.npy
for f in $H/in/npy/x_*.npy $H/in/npy/h_*.npy; do
  n=$(basename $f .npy)
  t run $n $S run $M --input $f --output $O/$n.run.npy
  t run $n-sysq $S run $B/mlp.sysq --input $f
  t eval $n-onnx $S eval $M --data $f --labels $Y
  t eval $n-sysq $S eval $B/mlp.sysq --data $f --labels $Y
  t eval $n-ref $S eval $B/mlp.sysq --data $f --labels $Y --reference $M
  t quantize $n $S quantize $M --calib $f -o $O/$n.sysq
  t simulate $n $S simulate $B/mlp.sysq --hw edge-8x8 --input $f --fast
  t simulate $n-exact $S simulate $B/mlp.sysq --hw edge-8x8 --input $f --batch 2
  t verify $n $S verify $B/build-mlp --input $f --rtl none
done
for f in $H/in/npy/y_*.npy; do
  n=$(basename $f .npy)
  t eval $n-onnx $S eval $M --data models/data/digits_test_x.npy --labels $f
  t eval $n-ref $S eval $B/mlp.sysq --data models/data/digits_test_x.npy --labels $f --reference $M
  t run $n $S run $M --input models/data/digits_test_x.npy --labels $f
  t sweep $n $S sweep $B/cnn.sysq --space hw/sweeps/digits-cnn-small.ron --data models/data/digits_test_x_img.npy --labels $f --out $O/sw-$n
done
for f in $H/in/npy/xi_*.npy; do
  n=$(basename $f .npy)
  t eval $n-onnx $S eval models/digits_cnn.onnx --data $f --labels $Y
  t eval $n-sysq $S eval $B/cnn.sysq --data $f --labels $Y
  t eval $n-ref $S eval $B/cnn.sysq --data $f --labels $Y --reference models/digits_cnn.onnx
  t sweep $n $S sweep $B/cnn.sysq --space hw/sweeps/digits-cnn-small.ron --data $f --labels $Y --out $O/swx-$n
  t profile $n $S profile models/digits_cnn.onnx --calib $f -o $O/prof-$n
done

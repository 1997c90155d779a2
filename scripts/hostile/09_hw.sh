source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
O=$H/out/hw; rm -rf $O; mkdir -p $O
B=$H/base
for f in $H/in/hw/*.ron; do
  n=$(basename $f .ron)
  t simulate hw:$n-mlp $S simulate $B/mlp.sysq --hw $f --input $H/in/x2.npy --fast
  t simulate hw:$n-mlp-exact $S simulate $B/mlp.sysq --hw $f --input $H/in/x2.npy
  t simulate hw:$n-cnn $S simulate $B/cnn.sysq --hw $f --input $H/in/xi2.npy --fast
  t compile hw:$n-cnn $S compile $B/cnn.sysq --hw $f -o $O/b-$n
  if [ $LAST_RC = 0 ]; then
    t verify hw:$n $S verify $O/b-$n --input $H/in/xi2.npy --rtl none
    t simulate hw:$n-build $S simulate $O/b-$n --input $H/in/xi2.npy
  fi
  rm -rf $O/b-$n
done

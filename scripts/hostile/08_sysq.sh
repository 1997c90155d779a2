source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
O=$H/out/sysq; rm -rf $O; mkdir -p $O
ls $H/in/sysq/*.sysq | shuf --random-source=<(yes) | head -380 > $H/sysq_sample.txt
i=0
while read f; do
  n=$(basename $f .sysq); i=$((i+1))
  case $n in mlp*) x=$H/in/x2.npy;; *) x=$H/in/xi2.npy;; esac
  t run sq:$n $S run $f --input $x
  t simulate sq:$n $S simulate $f --hw edge-8x8 --input $x --fast
  [ $((i%3)) = 0 ] && t simulate sq-exact:$n $S simulate $f --hw edge-8x8 --input $x
  t compile sq:$n $S compile $f --hw edge-8x8 -o $O/b-$i
  rm -rf $O/b-$i
done < $H/sysq_sample.txt

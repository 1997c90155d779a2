source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
O=$H/out/lockkill; rm -rf $O; mkdir -p $O
B=$H/base
# reference build for comparison
t compile ref $S compile $B/cnn.sysq --hw edge-8x8 --batch 512 -o $O/ref
(cd $O/ref && find . -type f | sort | xargs sha256sum) > $O/ref.sums
for delay in 0.05 0.1 0.2 0.3 0.4 0.6 0.8 1.0 1.3; do
  d=$O/k-$delay
  # first: a previous older build (mlp) in place for half of them
  case $delay in 0.1|0.3|0.6|1.0) t compile prev $S compile $B/mlp.sysq --hw edge-8x8 -o $d ;; esac
  ( cd $REPO; exec $S compile $B/cnn.sysq --hw edge-8x8 --batch 512 -o $d --force >/dev/null 2>&1 ) &
  p=$!; sleep $delay; kill -9 $p 2>/dev/null; wait $p 2>/dev/null; echo "killed at $delay rc=$?"
  echo "compile|kill9|137|" >> $H/summary.tsv
  ls -A $O | grep "k-$delay" | tr '\n' ' '; echo
  # is the build consistent? if manifest exists, simulate must succeed
  if [ -f $d/manifest.json ]; then t simulate postkill $S simulate $d --input models/data/digits_test_x_img.npy --fast; echo " manifest present; simulate rc=$LAST_RC $(echo "$LAST_ERR"|head -2)"; fi
  # rerun without --force
  t compile rerun $S compile $B/cnn.sysq --hw edge-8x8 --batch 512 -o $d
  echo " rerun rc=$LAST_RC $(echo "$LAST_ERR"|head -2)"
  (cd $d && find . -type f | sort | xargs sha256sum) > $O/k.sums
  if cmp -s $O/ref.sums $O/k.sums; then echo " identical tree"; else echo " TREE DIFFERS"; diff $O/ref.sums $O/k.sums | head -5; fi
  ls -A $O | grep -E "staging|lock" 
done

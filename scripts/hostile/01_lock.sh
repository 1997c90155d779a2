source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
O=$H/out/lock; rm -rf $O; mkdir -p $O
B=$H/base
# three concurrent compiles into one new dir, CNN batch 256 (slow-ish)
for trial in 1 2 3 4 5; do
  d=$O/c3-$trial
  for i in 1 2 3; do
    ( cd $REPO; timeout 120 $S compile $B/cnn.sysq --hw edge-8x8 --batch 256 -o $d > $O/c3-$trial.$i.out 2> $O/c3-$trial.$i.err; echo $? > $O/c3-$trial.$i.rc ) &
  done
  wait
  echo "trial $trial rcs: $(cat $O/c3-$trial.*.rc | tr '\n' ' ')"
  for i in 1 2 3; do echo "compile|concurrent3|$(cat $O/c3-$trial.$i.rc)|" >> $H/summary.tsv; grep -h . $O/c3-$trial.$i.err | head -2; done
  ls -A $O | grep -v '^c3-.*\.\(out\|err\|rc\)$' | tr '\n' ' '; echo
  # check the build verifies via simulate (manifest check)
  t simulate lock-check$trial $S simulate $d --input models/data/digits_test_x_img.npy --fast
  echo "simulate rc $LAST_RC $LAST_ERR" | head -3
done

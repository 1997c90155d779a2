source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
O=$H/out/killrand; rm -rf $O; mkdir -p $O
B=$H/base
ref=$H/out/lockkill/ref.sums
for n in $(seq 1 8); do
  delay=$(awk -v s=$n 'BEGIN{srand(s*7); printf "%.2f", 0.4+rand()*1.4}')
  d=$O/k-$n
  if [ $((n%2)) = 0 ]; then t compile prev $S compile $B/cnn.sysq --hw edge-8x8 --batch 16 -o $d; fi
  ( cd $REPO; exec $S compile $B/cnn.sysq --hw edge-8x8 --batch 512 -o $d >/dev/null 2>&1 ) &
  p=$!; sleep $delay; kill -9 $p 2>/dev/null; wait $p 2>/dev/null; rc=$?
  echo "compile|kill9-rand|$rc|" >> $H/summary.tsv
  state="absent"
  if [ -d $d ]; then
    if [ -f $d/manifest.json ]; then
      t verify postkill $S verify $d --input models/data/digits_test_x_img.npy --rtl none
      state="manifest verify-rc=$LAST_RC $(echo "$LAST_ERR"|head -1)"
    else state="dir-without-manifest: $(ls -A $d | head -5 | tr '\n' ' ')"; fi
  fi
  extra=$(ls -A $O | grep -E "^\.k-$n\." | tr '\n' ' ')
  t compile rerun $S compile $B/cnn.sysq --hw edge-8x8 --batch 512 -o $d
  rr="$LAST_RC $(echo "$LAST_ERR"|head -1)"
  (cd $d && find . -type f | sort | xargs sha256sum) > $O/k.sums
  cmp -s $ref $O/k.sums && same=identical || same=DIFFERS
  left=$(ls -A $O $d | grep -E "staging|lock|pending|tmp" | tr '\n' ' ')
  echo "n=$n delay=$delay rc=$rc state=[$state] siblings=[$extra] rerun=[$rr] $same left=[$left]"
done

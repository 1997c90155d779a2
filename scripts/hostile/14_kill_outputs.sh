source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
O=$H/out/killo; rm -rf $O; mkdir -p $O
B=$H/base
cd $REPO
# references
$S quantize models/digits_cnn.onnx --calib models/data/digits_calib_x_img.npy -o $O/new.sysq >/dev/null 2>&1
$S run models/digits_cnn.onnx --input models/data/digits_test_x_img.npy --output $O/new.npy >/dev/null 2>&1
$S simulate $B/cnn.sysq --hw edge-8x8 --input models/data/digits_test_x_img.npy --batch 8 --csv $O/new.csv --output $O/newsim.npy >/dev/null 2>&1
old=$(sha256sum < $B/mlp.sysq); newq=$(sha256sum < $O/new.sysq); newr=$(sha256sum < $O/new.npy); newc=$(sha256sum < $O/new.csv)
echo "old content" > $O/old.txt; oldt=$(sha256sum < $O/old.txt)
bad=0; tot=0
for n in $(seq 1 15); do
  d=$(awk -v s=$n 'BEGIN{srand(s*13); printf "%.2f", 0.1+rand()*1.5}')
  cp $B/mlp.sysq $O/q.sysq
  $S quantize models/digits_cnn.onnx --calib models/data/digits_calib_x_img.npy -o $O/q.sysq >/dev/null 2>&1 & p=$!; sleep $d; kill -9 $p 2>/dev/null; wait $p; rc=$?
  h=$(sha256sum < $O/q.sysq); tot=$((tot+1)); echo "quantize|kill|$rc|" >> $H/summary.tsv
  [ "$h" = "$old" ] || [ "$h" = "$newq" ] || { echo "quantize kill $d: HALF-WRITTEN"; bad=$((bad+1)); }
  cp $O/old.txt $O/r.npy
  $S run models/digits_cnn.onnx --input models/data/digits_test_x_img.npy --output $O/r.npy >/dev/null 2>&1 & p=$!; sleep $d; kill -9 $p 2>/dev/null; wait $p; rc=$?
  h=$(sha256sum < $O/r.npy); tot=$((tot+1)); echo "run|kill|$rc|" >> $H/summary.tsv
  [ "$h" = "$oldt" ] || [ "$h" = "$newr" ] || { echo "run kill $d: HALF-WRITTEN"; bad=$((bad+1)); }
  cp $O/old.txt $O/c.csv
  $S simulate $B/cnn.sysq --hw edge-8x8 --input models/data/digits_test_x_img.npy --batch 8 --csv $O/c.csv --output $O/s.npy >/dev/null 2>&1 & p=$!; sleep $d; kill -9 $p 2>/dev/null; wait $p; rc=$?
  h=$(sha256sum < $O/c.csv); tot=$((tot+1)); echo "simulate|kill|$rc|" >> $H/summary.tsv
  [ "$h" = "$oldt" ] || [ "$h" = "$newc" ] || { echo "simulate csv kill $d: HALF-WRITTEN $(head -c 80 $O/c.csv)"; bad=$((bad+1)); }
  rm -rf $O/p; mkdir -p $O/p
  $S profile models/digits_mlp.onnx --calib models/data/digits_calib_x.npy -o $O/p >/dev/null 2>&1 & p=$!; sleep $d; kill -9 $p 2>/dev/null; wait $p; rc=$?
  echo "profile|kill|$rc|" >> $H/summary.tsv
  for f in $O/p/*.svg; do [ -f "$f" ] && { tail -c 10 "$f" | grep -q "</svg>" || { echo "profile kill $d: truncated $f"; bad=$((bad+1)); }; }; done
  ls -A $O/p | grep -v "\.svg$\|\.csv$" | sed "s/^/profile leftover: /"
  ls -A $O | grep -i "tmp\|systole" | sed "s/^/leftover: /"
done
echo "kills: $tot file checks, bad=$bad"
# sweep kill + resume equals full
for n in 1 2 3 4 5 6; do
  d=$(awk -v s=$n 'BEGIN{srand(s*17); printf "%.2f", 0.3+rand()*1.2}')
  rm -rf $O/sw
  $S sweep models/digits_cnn.onnx --space hw/sweeps/digits-cnn-1k.ron --calib models/data/digits_calib_x_img.npy --out $O/sw >/dev/null 2>&1 & p=$!; sleep $d; kill -9 $p 2>/dev/null; wait $p; rc=$?
  echo "sweep|kill|$rc|" >> $H/summary.tsv
  lines=$(wc -l < $O/sw/points.jsonl 2>/dev/null)
  t sweep kill-resume $S sweep models/digits_cnn.onnx --space hw/sweeps/digits-cnn-1k.ron --calib models/data/digits_calib_x_img.npy --out $O/sw --resume
  echo "sweep kill at $d (lines $lines): resume rc=$LAST_RC $(echo "$LAST_ERR"|head -1) total=$(wc -l < $O/sw/points.jsonl) uniq=$(grep -o '"index":[0-9]*' $O/sw/points.jsonl | sort -u | wc -l)"
done

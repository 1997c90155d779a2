source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
O=$H/out/swrec; B=$H/base; SP=hw/sweeps/digits-cnn-small.ron
mk() { rm -rf $O/$1; cp -r $O/$2 $O/$1; }
edit() { mk $1 $2; python3 - "$O/$1/points.jsonl" "$3" <<'PY'
import json,sys
p=sys.argv[1]; L=[json.loads(x) for x in open(p) if x.strip()]
exec(sys.argv[2])
open(p,'w').write(''.join(json.dumps(r)+'\n' for r in L))
PY
}
while IFS='|' read n e; do
  edit f-$n full "$e"
  t sweep resume-$n $S sweep $B/cnn.sysq --space $SP --out $O/f-$n --resume --best
  a="$LAST_RC $(echo "$LAST_ERR"|head -1|cut -c1-150)"
  edit g-$n full "$e"
  t sweep-merge merge-$n $S sweep merge $O/g-$n --out $O/go-$n --best
  echo "[$n] resume=$a | merge=$LAST_RC $(echo "$LAST_ERR"|head -1|cut -c1-150)"
done <<'LIST'
util-neg|L[3]["utilization"]=-0.5
util-nan|L[3]["utilization"]=float("nan")
ips|L[3]["inferences_per_s"]=1e12
cycles-consistent|L[3]["cycles"]=1; L[3]["latency_s"]=1e-8; L[3]["inferences_per_s"]=1e8
dram|L[3]["dram_bytes"]=0
energy|L[3]["targets"][0]["energy_uj"]=-5
feasible|L[3]["targets"][0]["feasible"]=True; L[3]["targets"][0]["resource_utilization"]=99.0
lut|L[3]["targets"][0]["lut"]=10**12
target-name|L[3]["targets"][0]["target"]="zu9eg"
bits-other|L[3]["bits"]="wint4/aint4"; L[3]["input_bits"]=4; L[3]["weight_bits"]=4
inbits|L[3]["input_bits"]=64
dataflow|L[3]["dataflow"]="is"
clock|L[3]["clock_mhz"]=1000.0
accuracy|L[3]["accuracy"]=1.5
error|L[3]["error"]="boom"
extra-field|L[3]["zzz"]=1
missing-field|del L[3]["dram_bytes"]
index-str|L[3]["index"]="3"
index-neg|L[3]["index"]=-1
latency-nan|L[3]["latency_s"]=float("nan")
cycles-neg|L[3]["cycles"]=-1
LIST

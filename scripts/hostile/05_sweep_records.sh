source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
O=$H/out/swrec; rm -rf $O; mkdir -p $O
B=$H/base
SP=hw/sweeps/digits-cnn-small.ron
sw() { t sweep "$1" $S sweep $B/cnn.sysq --space $SP "${@:2}"; echo "[$1] rc=$LAST_RC $(echo "$LAST_ERR"|head -3)"; }
mg() { t sweep-merge "$1" $S sweep merge "${@:2}"; echo "[$1] rc=$LAST_RC $(echo "$LAST_ERR"|head -3)"; }
sw full --out $O/full
for i in 0 1 2; do sw shard$i --shard $i/3 --out $O/s$i; done
sw shard0of2 --shard 0/2 --out $O/h0
sw shard1of2 --shard 1/2 --out $O/h1
mg merge-3 $O/s0 $O/s1 $O/s2 --out $O/m3
mg merge-overlap-agree $O/s0 $O/s1 $O/s2 $O/h0 $O/h1 --out $O/m5
mg merge-overlap-full $O/full $O/s1 --out $O/m6
# compare merged points with full
for m in m3 m5 m6; do if [ -f $O/$m/points.jsonl ]; then sort $O/full/points.jsonl > $O/a; sort $O/$m/points.jsonl > $O/b; cmp -s $O/a $O/b && echo "$m points == full" || echo "$m points DIFFER"; fi; done
python3 - <<PY
import json
a=json.load(open("$O/full/summary.json")); b=json.load(open("$O/m3/summary.json"))
for k in ["feasible","pareto","best","infeasible","points"]:
    print(k, "same" if a.get(k)==b.get(k) else "DIFF")
PY
# cut last line
mk() { rm -rf $O/$1; cp -r $O/$2 $O/$1; }
mk cut s0; f=$O/cut/points.jsonl; sz=$(stat -c %s $f); truncate -s $((sz-40)) $f
mg merge-cut-last $O/cut $O/s1 $O/s2 --out $O/mcut; grep -o '"missing":[0-9]*' $O/mcut/summary.json
sw resume-cut --shard 0/3 --out $O/cut --resume; wc -l < $O/cut/points.jsonl
mk cutmid s0; f=$O/cutmid/points.jsonl; python3 -c "
l=open('$f').read().split('\n'); l[2]=l[2][:50]; open('$f','w').write('\n'.join(l))"
mg merge-cut-mid $O/cutmid $O/s1 $O/s2 --out $O/mcutmid
sw resume-cut-mid --shard 0/3 --out $O/cutmid --resume
# resume with edited records
edit() { # name src python-expr-on-list-of-dicts
  mk $1 $2; python3 - "$O/$1/points.jsonl" "$3" <<'PY'
import json,sys
p=sys.argv[1]; L=[json.loads(x) for x in open(p) if x.strip()]
exec(sys.argv[2])
open(p,'w').write(''.join(json.dumps(r)+'\n' for r in L))
PY
}
edit r-bigindex full 'L[0]["index"]=99999'
sw resume-bigindex --out $O/r-bigindex --resume
edit r-bigindex2 full 'L[0]["index"]=2**63'
sw resume-bigindex2 --out $O/r-bigindex2 --resume
edit r-dup full 'L.append(dict(L[0]))'
sw resume-dup-same --out $O/r-dup --resume
edit r-dupdiff full 'd=dict(L[0]); d["cycles"]=1; L.append(d)'
sw resume-dup-diff --out $O/r-dupdiff --resume
edit r-otherhsard s0 'd=dict(L[0]); d["index"]=1; L.append(d)'
sw resume-othershard --shard 0/3 --out $O/r-otherhsard --resume
edit r-lat full 'L[3]["latency_s"]=1e308'
sw resume-lat1e308 --out $O/r-lat --resume
edit r-neglat full 'L[3]["latency_s"]=-1.0; L[3]["cycles"]=0'
sw resume-neglat --out $O/r-neglat --resume
edit r-notargets full 'L[3]["targets"]=[]'
sw resume-notargets --out $O/r-notargets --resume
edit r-manytargets full 'L[3]["targets"]=L[3]["targets"]*3'
sw resume-manytargets --out $O/r-manytargets --resume
edit r-rows full 'L[3]["rows"]=4096; L[3]["cycles"]=1; L[3]["latency_s"]=1e-9'
sw resume-forged-rows --out $O/r-rows --resume
edit r-bits full 'L[3]["bits"]="zzz\"\n,"'
sw resume-bits --out $O/r-bits --resume --best
edit r-util full 'L[3]["utilization"]=7.5'
sw resume-util --out $O/r-util --resume
for n in r-bigindex r-dup r-otherhsard r-lat r-notargets r-manytargets r-rows r-util r-neglat; do :; done
# merge with same edits
for n in r-bigindex r-bigindex2 r-dup r-dupdiff r-lat r-neglat r-notargets r-manytargets r-rows r-bits r-util; do
  edit mm-$n full "$(case $n in r-bigindex) echo 'L[0]["index"]=99999';; r-bigindex2) echo 'L[0]["index"]=2**63';; r-dup) echo 'L.append(dict(L[0]))';; r-dupdiff) echo 'd=dict(L[0]); d["cycles"]=1; L.append(d)';; r-lat) echo 'L[3]["latency_s"]=1e308';; r-neglat) echo 'L[3]["latency_s"]=-1.0';; r-notargets) echo 'L[3]["targets"]=[]';; r-manytargets) echo 'L[3]["targets"]=L[3]["targets"]*3';; r-rows) echo 'L[3]["rows"]=4096; L[3]["cycles"]=1; L[3]["latency_s"]=1e-9';; r-bits) echo 'L[3]["bits"]="zzz"';; r-util) echo 'L[3]["utilization"]=7.5';; esac)"
  mg merge-$n $O/mm-$n --out $O/mo-$n --best
done

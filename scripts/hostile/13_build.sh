source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
O=$H/out/build; rm -rf $O; mkdir -p $O
B=$H/base; X=$H/in/x2.npy
k=0
mut() { # name python-code (operates on dir d)
  k=$((k+1)); d=$O/$1; rm -rf $d; cp -r $B/build-mlp $d
  ( cd $d && $PY -c "$2" ) 2>/dev/null
  t verify bd:$1 $S verify $d --input $X --rtl none
  a="$LAST_RC $(echo "$LAST_ERR"|head -1|cut -c1-150)"
  t simulate bd:$1 $S simulate $d --input $X --fast
  b="$LAST_RC"
  t compile bd:$1 $S compile $B/mlp.sysq --hw edge-8x8 -o $d
  c="$LAST_RC $(echo "$LAST_ERR"|head -1|cut -c1-120)"
  echo "[$1] verify=$a | sim=$b | recompile=$c"
}
J='import json,hashlib,os
m=json.load(open("manifest.json"))
def rehash():
    for f in m["files"]:
        if os.path.isfile(f["path"]):
            b=open(f["path"],"rb").read(); f["sha256"]=hashlib.sha256(b).hexdigest(); f["bytes"]=len(b)
def save(): json.dump(m,open("manifest.json","w"))
'
head -c 600 $B/build-mlp/manifest.json; echo
mut rm-manifest 'import os; os.remove("manifest.json")'
mut manifest-empty 'open("manifest.json","w").write("")'
mut manifest-null 'open("manifest.json","w").write("null")'
mut manifest-ver99 "$J
m['version']=99; save()"
mut manifest-files-dup "$J
m['files'].append(m['files'][0]); save()"
mut manifest-path-escape "$J
m['files'].append(dict(m['files'][0], path='../../../../etc/passwd')); save()"
mut manifest-path-abs "$J
m['files'][0]['path']='/etc/hostname'; save()"
mut manifest-bytes-huge "$J
m['files'][0]['bytes']=2**63; save()"
mut manifest-sha-bad "$J
m['files'][0]['sha256']='zz'; save()"
mut manifest-batch0 "$J
m['batch']=0; save()"
mut manifest-batch-huge "$J
m['batch']=2**40; save()"
mut rm-rom 'import os,glob; os.remove(sorted(glob.glob("rom/*"))[0])'
mut extra-file 'open("extra.txt","w").write("hi")'
mut program-swapped "import shutil; shutil.copy('$B/cnn.sysq','program.sysq')"
mut program-swapped-rehash "$J
import shutil; shutil.copy('$B/cnn.sysq','program.sysq'); rehash(); save()"
mut hwron-swapped-rehash "$J
open('hw.ron','w').write(open('$REPO/hw/presets/edge-16x16.ron').read()); rehash(); save()"
mut hwron-bad-rehash "$J
open('hw.ron','w').write('(name: 5)'); rehash(); save()"
mut sched-bad-rehash "$J
open('schedule.json','w').write('{}'); rehash(); save()"
mut sched-trunc-rehash "$J
b=open('schedule.json').read(); open('schedule.json','w').write(b[:len(b)//2]); rehash(); save()"
mut symlink-program "import os; os.remove('program.sysq'); os.symlink('$H/base/mlp.sysq','program.sysq')"
mut symlink-rom-devzero "import os,glob; r=sorted(glob.glob('rom/*'))[0]; os.remove(r); os.symlink('/dev/zero', r)"
mut fifo-schedule "import os; os.remove('schedule.json'); os.mkfifo('schedule.json')"
mut dir-as-program "import os; os.remove('program.sysq'); os.mkdir('program.sysq')"
mut journal-garbage 'open(".systole-pending.json","w").write("garbage")'
mut journal-claims-all 'import json; json.dump({"files":["../../../..$H/victim"],"old":["../../victim2"]}, open(".systole-pending.json","w"))'
mut staging-leftover 'import os; os.makedirs(".systole-staging-99999/rom"); open(".systole-staging-99999/x","w").write("x")'
# does compile --force with journal listing escape paths delete outside files?
echo victim > $H/victim; echo victim2 > $O/../victim2 2>/dev/null
d=$O/jesc; rm -rf $d; cp -r $B/build-mlp $d; printf '{"files":["../../../victim"],"old":["../../../victim","../victim2"]}' > $d/.systole-pending.json
t compile journal-escape $S compile $B/cnn.sysq --hw edge-8x8 -o $d; echo "[journal-escape] $LAST_RC $(echo "$LAST_ERR"|head -1)"; ls -la $H/victim $O/../victim2 2>&1
d=$O/mesc; rm -rf $d; cp -r $B/build-mlp $d; $PY -c "
import json; m=json.load(open('$d/manifest.json')); m['files'].append(dict(m['files'][0], path='../../../victim')); json.dump(m,open('$d/manifest.json','w'))"
t compile manifest-escape $S compile $B/cnn.sysq --hw edge-8x8 -o $d --force; echo "[manifest-escape] $LAST_RC $(echo "$LAST_ERR"|head -1)"; ls -la $H/victim 2>&1

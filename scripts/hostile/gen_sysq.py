import os
import json, random, copy, os, sys
random.seed(3)
D=os.environ.get("HOSTILE_DIR", "/tmp/hostile") + "/in/sysq"
os.makedirs(D, exist_ok=True)
vals=[0,-1,1,2**31,2**31-1,-2**31,2**32,2**53,2**63-1,2**64-1,-2**63,1e30,-1e30,1e-300,None,"x",True,[],{}]
def leaves(o,p=()):
    if isinstance(o,dict):
        for k,v in o.items(): yield from leaves(v,p+(k,))
    elif isinstance(o,list):
        if o and all(isinstance(x,(int,float)) and not isinstance(x,bool) for x in o):
            yield p,'numlist'
        else:
            for i,v in enumerate(o): yield from leaves(v,p+(i,))
    else: yield p,'scalar'
def setp(o,p,v):
    for k in p[:-1]: o=o[k]
    o[p[-1]]=v
def getp(o,p):
    for k in p: o=o[k]
    return o
def delp(o,p):
    for k in p[:-1]: o=o[k]
    del o[p[-1]]
n=0
for base in ["mlp","cnn"]:
    src=json.load(open(os.environ.get("HOSTILE_DIR", "/tmp/hostile") + f"/base/{base}.sysq"))
    L=list(leaves(src))
    for p,kind in L:
        if kind=='scalar':
            choices=random.sample(vals,4)+(["del"] if isinstance(p[-1],str) else [])
        else:
            choices=["trunc","empty","huge","nanstr","double"]
        for c in choices:
            d=copy.deepcopy(src)
            try:
                if c=="del": delp(d,p)
                elif c=="trunc": setp(d,p,getp(d,p)[:max(0,len(getp(d,p))//2)])
                elif c=="empty": setp(d,p,[])
                elif c=="huge": l=getp(d,p); l[len(l)//2]=2**63-1
                elif c=="nanstr": l=getp(d,p); l[0]="NaN"
                elif c=="double": setp(d,p,getp(d,p)*2)
                else: setp(d,p,c)
            except Exception as e: continue
            name=f"{base}__{'.'.join(map(str,p))}__{str(c)[:12]}".replace('/','_').replace(' ','')
            json.dump(d,open(f"{D}/{name}.sysq","w"))
            n+=1
# raw byte mutations
for base in ["mlp","cnn"]:
    b=open(os.environ.get("HOSTILE_DIR", "/tmp/hostile") + f"/base/{base}.sysq","rb").read()
    for i in range(40):
        bb=bytearray(b); r=random.Random(i)
        for _ in range(r.randint(1,4)):
            pos=r.randrange(len(bb)); bb[pos]=r.choice(b"0123456789-.e,:{}[]\" ")
        open(f"{D}/{base}__bytes{i}.sysq","wb").write(bb); n+=1
    open(f"{D}/{base}__half.sysq","wb").write(b[:len(b)//2]); n+=1
print(n)

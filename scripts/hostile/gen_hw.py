import os
import itertools, os
D=os.environ.get("HOSTILE_DIR", "/tmp/hostile") + "/in/hw"
os.makedirs(D, exist_ok=True)
T='''(
    name: "{name}",
    rows: {rows},
    cols: {cols},
    dataflow: {df},
    clock_mhz: {clk},
    input_bits: {ib},
    weight_bits: {wb},
    acc_bits: {ab},
    buffers: Separate(
        ifmap: (size_kib: {isz}, banks: {banks}, word_bits: {iw}, ports: {ports}),
        filter: (size_kib: {fsz}, word_bits: 64, ports: 2),
        ofmap: (size_kib: 8, word_bits: {ow}, ports: 2),
    ),
    dram: (bytes_per_cycle: {bpc}, latency_cycles: {lat}),
    vector: (lanes: {lanes}, ops: [{ops}], cycles_per_op: {cpo}),
)
'''
base=dict(name="h",rows=8,cols=8,df="WeightStationary",clk="200.0",ib=8,wb=8,ab=32,isz=16,banks=1,iw=64,ports=2,fsz=16,ow=256,bpc="8.0",lat=50,lanes=8,ops="Relu, MaxPool, Add, Requantize",cpo=1)
muts={
 "rows":[0,1,3,4096,4097,2**32,2**64,-1],"cols":[0,1,7,4096,2**63],
 "df":["OutputStationary","InputStationary","RowStationary","0"],
 "clk":["0.0","-1.0","1e308","NaN","inf","1.0","10000.0","1e-320","0.5"],
 "ib":[0,1,2,4,16,31,32,33,64,255,2**32],"wb":[0,1,4,64,2**31],"ab":[0,1,8,16,17,31,64,65,128,2**31],
 "isz":[0,1,2**40,2**63,2**64],"banks":[0,3,2**31,1024],"iw":[0,1,7,8,9,2**31,2**20],"ports":[0,1,3,2**31],
 "fsz":[0,1,2**50],"ow":[0,8,31,2**31],"bpc":["0.0","1e-300","-8.0","NaN","65536.0","65537.0","1e308","0.0009765625"],
 "lat":[0,2**31,2**32-1],"lanes":[0,1,2**31,2**32-1],"ops":["","Relu","Relu, Relu","Foo","RowMax, Softmax, LayerNorm, Gelu"],"cpo":[0,2**31,2**32-1],
 "name":["", "a/b", "../../x", "x"*70000],
}
n=0
for k,vs in muts.items():
    for v in vs:
        d=dict(base); d[k]=v
        open(f"{D}/{k}_{str(v)[:20].replace('/','_').replace(' ','').replace(',','_')}.ron","w").write(T.format(**d)); n+=1
# syntax mutations
good=T.format(**base)
for i,(a,b) in enumerate([("(","["),("rows: 8","rows: 8, rows: 9"),("ports: 2)","ports: 2, extra: 1)"),("Separate","Unified"),(")\n",""),("name","nam")]):
    open(f"{D}/syn{i}.ron","w").write(good.replace(a,b,1)); n+=1
open(f"{D}/empty.ron","w").write(""); open(f"{D}/nested.ron","w").write("("*100000); open(f"{D}/nested_small.ron","w").write("["*5000+"]"*5000)
open(f"{D}/unified_acc.ron","w").write(good.replace('''Separate(
        ifmap: (size_kib: 16, banks: 1, word_bits: 64, ports: 2),
        filter: (size_kib: 16, word_bits: 64, ports: 2),
        ofmap: (size_kib: 8, word_bits: 256, ports: 2),
    )''','Unified(shared: (size_kib: 1, word_bits: 64, ports: 1), accumulator: Some((size_kib: 0, word_bits: 0, ports: 0)))'))
open(f"{D}/opcycles.ron","w").write(good.replace("cycles_per_op: 1","cycles_per_op: 1, op_cycles: {Relu: 4294967295, MaxPool: 0}"))
print(n)

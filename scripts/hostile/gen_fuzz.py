import os
import random
D=os.environ.get("HOSTILE_DIR", "/tmp/hostile") + "/in/fz"
os.makedirs(D, exist_ok=True)
for base in ["digits_mlp","digits_cnn"]:
    b=open(os.environ["REPO"] + f"/models/{base}.onnx","rb").read()
    for i in range(60):
        r=random.Random(i*31+len(base)); bb=bytearray(b)
        kind=i%4
        if kind==0: bb=bb[:r.randrange(len(bb))]
        elif kind==1:
            for _ in range(r.randint(1,8)): bb[r.randrange(len(bb))]^=1<<r.randrange(8)
        elif kind==2:
            for _ in range(r.randint(1,4)):
                p=r.randrange(len(bb)-4); bb[p:p+4]=r.choice([b"\xff\xff\xff\x7f",b"\xff\xff\xff\xff",b"\x00\x00\x00\x00",b"\x80\x80\x80\x80"])
        else:
            p=r.randrange(len(bb)); bb[p:p]=bytes(r.randrange(256) for _ in range(r.randint(1,64)))
        open(f"{D}/{base}_{i}.onnx","wb").write(bb)
sp=open(os.environ["REPO"] + "/hw/sweeps/digits-cnn-small.ron").read()
muts={"rows0":("rows: [4, 8]","rows: [0]"),"rowsbig":("rows: [4, 8]","rows: [4097]"),"rowsempty":("rows: [4, 8]","rows: []"),"rowsdup":("rows: [4, 8]","rows: [4, 4]"),
 "clk0":("clock_mhz: [100.0]","clock_mhz: [0.0]"),"clknan":("clock_mhz: [100.0]","clock_mhz: [NaN]"),"clkinf":("clock_mhz: [100.0]","clock_mhz: [inf]"),
 "bpc-neg":("dram_bytes_per_cycle: [8.0]","dram_bytes_per_cycle: [-8.0]"),"buf0":("buffer_kib: [1, 16]","buffer_kib: [0]"),"bufhuge":("buffer_kib: [1, 16]","buffer_kib: [18446744073709551615]"),
 "lanes0":("vector_lanes: 8","vector_lanes: 0"),"lat-huge":("dram_latency_cycles: 50","dram_latency_cycles: 4294967295"),"batch0":("vector_lanes: 8","vector_lanes: 8, batch: 0"),
 "batchhuge":("vector_lanes: 8","vector_lanes: 8, batch: 4294967295"),"bits-sysq":("vector_lanes: 8",'vector_lanes: 8, bits: [(weights: "int4", acts: "int8")]'),
 "name-empty":('name: "digits-cnn-small"','name: ""'),"name-slash":('name: "digits-cnn-small"','name: "a/b"'),"unknown":("vector_lanes: 8","vector_lanes: 8, foo: 1"),
 "manypoints":("rows: [4, 8]","rows: ["+",".join(str(i) for i in range(1,4097))+"]"),"df-empty":("dataflow: [WeightStationary, OutputStationary, InputStationary]","dataflow: []")}
for k,(a,b) in muts.items(): open(f"{D}/space_{k}.ron","w").write(sp.replace(a,b))

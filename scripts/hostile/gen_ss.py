import os,re
D=os.environ.get("HOSTILE_DIR", "/tmp/hostile") + "/in/ss"
os.makedirs(D, exist_ok=True)
cfg=open(os.environ["REPO"] + "/hw/topologies/scale-32x32-ws.cfg").read()
n=0
def w(name,txt): 
    global n; open(f"{D}/{name}","w").write(txt); n+=1
for key,vals in {"ArrayHeight":["0","1","4096","4097","-1","99999999999999999999","1e3","0x10",""],"ArrayWidth":["0","65536","18446744073709551615"],
  "IfmapSramSzkB":["0","-5","1e30","18446744073709551615"],"Dataflow":["rs","WS","",  "os", "is"],"Bandwidth":["0","-1","nan"],"MemoryBanks":["0","4294967296"],
  "InterfaceBandwidth":["USER","calc",""],"SparsitySupport":["true","maybe"],"IfmapOffset":["-1","18446744073709551616"]}.items():
    for v in vals:
        w(f"cfg_{key}_{v[:12]}.cfg", re.sub(rf"({key}\s*:\s*)[^\n]*", lambda m: m.group(1)+v, cfg, count=1))
w("cfg_dupkey.cfg", cfg.replace("ArrayWidth:     32","ArrayWidth:     32\nArrayWidth: 64"))
w("cfg_nosection.cfg", cfg.replace("[architecture_presets]",""))
w("cfg_empty.cfg",""); w("cfg_binary.cfg","\x00\x01\x02"*100)
w("cfg_longline.cfg", cfg.replace("run_name = systole_32x32_ws","run_name = "+"x"*200000))
w("cfg_runname_slash.cfg", cfg.replace("run_name = systole_32x32_ws","run_name = ../../../tmp/x"))
H="Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
rows={"zero_ifmap":"c,0,0,3,3,3,8,1,","filter_bigger":"c,4,4,9,9,3,8,1,","stride0":"c,8,8,3,3,3,8,0,","huge":"c,100000,100000,3,3,1000,1000,1,",
 "huge2":"c,4294967296,4294967296,1,1,4294967296,4294967296,1,","neg":"c,-8,8,3,3,3,8,1,","float":"c,8.5,8,3,3,3,8,1,","missingcol":"c,8,8,3,3,3,",
 "extracol":"c,8,8,3,3,3,8,1,9,9,9","dp_huge":"c_DP,100000,100000,3,3,100000,1,1,","u64max":"c,18446744073709551615,1,1,1,1,1,1,",
 "quoted":'"c,d",8,8,3,3,3,8,1,',"empty_name":",8,8,3,3,3,8,1,","stride_huge":"c,8,8,3,3,3,8,4294967296,","nan":"c,NaN,8,3,3,3,8,1,","ch0":"c,8,8,3,3,0,8,1,","nf0":"c,8,8,3,3,3,0,1,"}
for k,v in rows.items(): w(f"topo_{k}.csv", H+v+"\n")
w("topo_headeronly.csv",H); w("topo_empty.csv",""); w("topo_noheader.csv","c,8,8,3,3,3,8,1,\n")
w("topo_many.csv", H+"".join(f"L{i},8,8,3,3,3,8,1,\n" for i in range(200000)))
w("topo_crlf.csv", (H+"c,8,8,3,3,3,8,1,\n").replace("\n","\r\n"))
w("topo_bom.csv", "\ufeff"+H+"c,8,8,3,3,3,8,1,\n")
G="Layer, M, N, K,\n"
for k,v in {"ok":"g,16,16,16,","zero":"g,0,16,16,","huge":"g,40000,64,40000,","huge2":"g,4294967296,4294967296,4294967296,","k0":"g,16,16,0,","neg":"g,-1,2,3,"}.items():
    w(f"gemm_{k}.csv", G+v+"\n")
print(n)

#!/usr/bin/env python3
"""Writes `x -> Gemm -> Relu x N -> y` as ONNX (protobuf encoded by hand, no onnx package):
the long chain of docs/benchmarks.md (graph passes on 10^4-10^5 nodes).
Usage: scripts/gen-relu-chain.py N OUT.onnx"""
import struct, sys
def varint(n):
    out=b''
    while True:
        b=n&0x7f; n>>=7
        if n: out+=bytes([b|0x80])
        else: return out+bytes([b])
def key(f,w): return varint(f<<3|w)
def ld(f,b): return key(f,2)+varint(len(b))+b
def vi(f,n): return key(f,0)+varint(n)
def s(f,t): return ld(f,t.encode())
def node(op,name,ins,outs): return ld(1, b''.join(s(1,i) for i in ins)+b''.join(s(2,o) for o in outs)+s(3,name)+s(4,op))
def vinfo(name,dims):
    shape=b''.join(ld(1,vi(1,d)) for d in dims)
    return s(1,name)+ld(2, ld(1, vi(1,1)+ld(2,shape)))
n=int(sys.argv[1])
nm=lambda i: 'y' if i==n else f'v{i}'
nodes=node('Gemm','fc',['x','w'],['v0'])+b''.join(node('Relu',f'r{i}',[nm(i)],[nm(i+1)]) for i in range(n))
w=vi(1,4)+vi(1,4)+vi(2,1)+ld(4,b''.join(struct.pack('<f',i-8.0) for i in range(16)))+s(8,'w')

graph=nodes+s(2,'chain')+ld(5,w)+ld(11,vinfo('x',[1,4]))+ld(12,vinfo('y',[1,4]))
model=vi(1,8)+ld(8,s(1,'')+vi(2,17))+ld(7,graph)
open(sys.argv[2],'wb').write(model)

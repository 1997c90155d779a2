import os
import numpy as np, os, struct
D=os.environ.get("HOSTILE_DIR", "/tmp/hostile") + "/in/npy"; M=os.environ["REPO"] + "/models/data/"
os.makedirs(D, exist_ok=True)
x=np.load(M+"digits_test_x.npy"); xi=np.load(M+"digits_test_x_img.npy"); y=np.load(M+"digits_test_y.npy")
print(x.dtype,x.shape,xi.shape,y.dtype,y.shape)
np.save(D+"/x_f64.npy", x.astype(np.float64)); np.save(D+"/xi_f64.npy", xi.astype(np.float64))
np.save(D+"/x_f16.npy", x.astype(np.float16)); np.save(D+"/x_i64.npy", (x*16).astype(np.int64)); np.save(D+"/x_u8.npy", (x*16).astype(np.uint8))
np.save(D+"/x_bool.npy", x>0.5); np.save(D+"/x_c64.npy", x.astype(np.complex64))
np.save(D+"/x_fortran.npy", np.asfortranarray(x)); np.save(D+"/x_be.npy", x.astype('>f4'))
np.save(D+"/x_1d.npy", x[0]); np.save(D+"/x_3d.npy", x[:,None,:]); np.save(D+"/x_scalar.npy", np.float32(1.0))
np.save(D+"/x_one.npy", x[:1]); np.save(D+"/x_empty.npy", x[:0]); np.save(D+"/x_wrongw.npy", x[:,:63])
np.save(D+"/x_huge.npy", np.full((2,64),3e38,np.float32)); np.save(D+"/x_sub.npy", np.full((2,64),1e-45,np.float32))
np.save(D+"/x_neg0.npy", np.full((2,64),-0.0,np.float32))
np.save(D+"/x_obj.npy", np.array([[1,2]],dtype=object), allow_pickle=True)
np.save(D+"/x_struct.npy", np.zeros(3,dtype=[('a','<f4'),('b','<i4')]))
np.save(D+"/x_str.npy", np.array(["a","b"]))
# trailing bytes
b=open(M+"digits_test_x.npy","rb").read(); open(D+"/x_trailing.npy","wb").write(b+b"\0"*7)
open(D+"/x_trailing1.npy","wb").write(b+b"\n")
open(D+"/x_short1.npy","wb").write(b[:-1])
open(D+"/x_hdronly.npy","wb").write(b[:128])
# header edits
def hdr(shape, descr="<f4", fortran=False, ver=(1,0), data=b"", pad=True, raw=None):
    d=raw if raw is not None else "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }"%(descr, fortran, shape)
    hb=d.encode()
    if ver[0]==1:
        tot=10+len(hb)+1; padn=(64-tot%64)%64; hb=hb+b" "*padn+b"\n"
        return b"\x93NUMPY"+bytes(ver)+struct.pack("<H",len(hb))+hb+data
    else:
        tot=12+len(hb)+1; padn=(64-tot%64)%64; hb=hb+b" "*padn+b"\n"
        return b"\x93NUMPY"+bytes(ver)+struct.pack("<I",len(hb))+hb+data
w=lambda n,c: open(D+"/"+n,"wb").write(c)
w("h_negdim.npy", hdr("(-1, 64)"))
w("h_bigdim.npy", hdr("(4611686018427387904, 64)"))
w("h_claim_big.npy", hdr("(100000000, 64)", data=b"\0"*256))
w("h_zero_dim.npy", hdr("(0, 64)"))
w("h_rank0.npy", hdr("()", data=b"\0"*4))
w("h_rank33.npy", hdr("("+"1, "*33+")", data=b"\0"*4))
w("h_descr_bad.npy", hdr("(2, 64)", descr="<q9", data=b"\0"*512))
w("h_descr_f8_short.npy", hdr("(2, 64)", descr="<f8", data=b"\0"*512))
w("h_fortran_true.npy", hdr("(2, 64)", fortran=True, data=b"\0"*512))
w("h_ver3.npy", hdr("(2, 64)", ver=(3,0), data=b"\0"*512))
w("h_ver9.npy", hdr("(2, 64)", ver=(9,9), data=b"\0"*512))
w("h_garbage.npy", hdr(None, raw="{'descr': '<f4', 'fortran_order': False, 'shape': (2, 64), 'evil': __import__('os')}", data=b"\0"*512))
w("h_notdict.npy", hdr(None, raw="[1,2,3]", data=b"\0"*512))
w("h_missing_shape.npy", hdr(None, raw="{'descr': '<f4', 'fortran_order': False}", data=b"\0"*512))
w("h_shape_float.npy", hdr("(2.5, 64)", data=b"\0"*512))
w("h_shape_str.npy", hdr("('a', 64)", data=b"\0"*512))
w("h_nan_data.npy", hdr("(2, 64)", data=struct.pack("<f",float('nan'))*128))
w("h_hdrlen_huge.npy", b"\x93NUMPY\x01\x00\xff\xff"+b"{"*100)
w("h_v2_hdrlen_huge.npy", b"\x93NUMPY\x02\x00\xff\xff\xff\xff"+b"{"*100)
w("h_magic_only.npy", b"\x93NUMPY")
w("h_nested.npy", hdr(None, raw="{'descr': '<f4', 'fortran_order': False, 'shape': ((2,), 64), }", data=b"\0"*512))
w("h_dupkey.npy", hdr(None, raw="{'descr': '<f4', 'descr': '<f8', 'fortran_order': False, 'shape': (2, 64), }", data=b"\0"*512))
w("h_unicode.npy", hdr(None, raw="{'descr': '<f4', 'fortran_order': False, 'shape': (2, 64), } \u00e9", data=b"\0"*512))
# labels
np.save(D+"/y_f64.npy", y.astype(np.float64)); np.save(D+"/y_i32.npy", y.astype(np.int32)); np.save(D+"/y_u8.npy", y.astype(np.uint8))
np.save(D+"/y_neg.npy", np.where(np.arange(len(y))==3,-1,y)); np.save(D+"/y_short.npy", y[:100]); np.save(D+"/y_long.npy", np.concatenate([y,y]))
np.save(D+"/y_2d.npy", y[:,None]); np.save(D+"/y_onehot.npy", np.eye(10,dtype=np.float32)[y]); np.save(D+"/y_bool.npy", y>4)
np.save(D+"/y_f16.npy", y.astype(np.float16)); np.save(D+"/y_i8neg.npy", (y-128).astype(np.int8) if False else np.full(len(y),-128,np.int8))
yt=open(M+"digits_test_y.npy","rb").read(); open(D+"/y_trailing.npy","wb").write(yt+b"\0\0\0\0\0\0\0\0")
np.save(D+"/y_fortran2d.npy", np.asfortranarray(np.stack([y,y],1)))
np.save(D+"/xi_nchw_bad.npy", xi.transpose(0,2,3,1)); np.save(D+"/xi_f64_nan.npy", np.where(np.arange(xi.size).reshape(xi.shape)==7, np.nan, xi.astype(np.float64)))
np.save(D+"/x_f64_big.npy", np.full((2,64),1e300)); np.save(D+"/x_f64_tiny.npy", np.full((2,64),1e-320))
print(len(os.listdir(D)))

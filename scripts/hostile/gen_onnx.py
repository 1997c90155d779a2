import os
import onnx, numpy as np, sys, os
from onnx import helper as h, TensorProto as T, numpy_helper as nh
D=os.environ.get("HOSTILE_DIR", "/tmp/hostile") + "/in/onnx"
os.makedirs(D, exist_ok=True)
def save(name, nodes, inputs, outputs, inits=[], opset=17, check=False):
    g=h.make_graph(nodes, name, inputs, outputs, inits)
    m=h.make_model(g, opset_imports=[h.make_opsetid("",opset)])
    m.ir_version=8
    onnx.save(m, f"{D}/{name}.onnx")
vi=h.make_tensor_value_info
f32=T.FLOAT
# Slice variants
def slice_model(name, starts, ends, axes, steps, shape=[2,8]):
    inits=[nh.from_array(np.array(starts,np.int64),"st"),nh.from_array(np.array(ends,np.int64),"en")]
    ins=["x","st","en"]
    if axes is not None: inits.append(nh.from_array(np.array(axes,np.int64),"ax")); ins.append("ax")
    else: ins.append("")
    if steps is not None: inits.append(nh.from_array(np.array(steps,np.int64),"sp")); ins.append("sp")
    save(name,[h.make_node("Slice",ins,["y"],name="sl")],[vi("x",f32,shape)],[vi("y",f32,None)],inits)
slice_model("slice_axis9",[0],[1],[9],None)
slice_model("slice_axisneg9",[0],[1],[-9],None)
slice_model("slice_step0",[0],[4],[1],[0])
slice_model("slice_dupaxes",[0,0],[1,1],[1,1],None)
slice_model("slice_lenmismatch",[0,0],[1],[1],None)
slice_model("slice_stepmin",[7],[-2**63],[1],[-2**63])
slice_model("slice_bigstart",[2**62],[2**63-1],[1],[2**62])
# LayerNorm
def ln(name, eps, axis=-1, scale=None, shape=[2,8]):
    sc = scale if scale is not None else np.ones(8,np.float32)
    save(name,[h.make_node("LayerNormalization",["x","s","b"],["y"],name="ln",epsilon=eps,axis=axis)],
         [vi("x",f32,shape)],[vi("y",f32,shape)],[nh.from_array(sc.astype(np.float32),"s"),nh.from_array(np.zeros(8,np.float32),"b")])
ln("ln_negeps",-1e30); ln("ln_eps_neg_tiny",-1e-12); ln("ln_eps_nan",float('nan')); ln("ln_eps_inf",float('inf')); ln("ln_eps0",0.0)
ln("ln_scale_nan",1e-5,scale=np.full(8,np.nan)); ln("ln_axis_neg3",1e-5,axis=-3)
# Gemm/MatMul with NaN weights (float path)
def gemm(name, W, b=None, x=[1,8], attrs={}):
    inits=[nh.from_array(W.astype(np.float32),"W")]; ins=["x","W"]
    if b is not None: inits.append(nh.from_array(b.astype(np.float32),"B")); ins.append("B")
    save(name,[h.make_node("Gemm",ins,["y"],name="g",**attrs)],[vi("x",f32,x)],[vi("y",f32,None)],inits)
gemm("gemm_nanw", np.full((8,4),np.nan))
gemm("gemm_infw", np.full((8,4),np.inf))
gemm("gemm_hugew", np.full((8,4),3e38))   # overflow to inf in products
gemm("gemm_alpha_nan", np.ones((8,4)), attrs=dict(alpha=float('nan')))
gemm("gemm_transB_bad", np.ones((8,4)), attrs=dict(transB=1))
gemm("gemm_transA7", np.ones((8,4)), attrs=dict(transA=7))
# initializer claiming huge dims but absent data
t=onnx.TensorProto(); t.name="W"; t.data_type=T.FLOAT; t.dims.extend([2**20,2**20])
save("init_huge_nodata",[h.make_node("MatMul",["x","W"],["y"],name="mm")],[vi("x",f32,[1,2**20])],[vi("y",f32,None)],[t])
t=onnx.TensorProto(); t.name="W"; t.data_type=T.FLOAT; t.dims.extend([8,4])
save("init_small_nodata",[h.make_node("MatMul",["x","W"],["y"],name="mm")],[vi("x",f32,[1,8])],[vi("y",f32,None)],[t])
t=onnx.TensorProto(); t.name="W"; t.data_type=T.FLOAT; t.dims.extend([8,4]); t.raw_data=b"\0"*10
save("init_short_raw",[h.make_node("MatMul",["x","W"],["y"],name="mm")],[vi("x",f32,[1,8])],[vi("y",f32,None)],[t])
t=onnx.TensorProto(); t.name="W"; t.data_type=T.FLOAT; t.dims.extend([8,4]); t.float_data.extend([1.0]*31)
save("init_short_float_data",[h.make_node("MatMul",["x","W"],["y"],name="mm")],[vi("x",f32,[1,8])],[vi("y",f32,None)],[t])
t=onnx.TensorProto(); t.name="W"; t.data_type=T.FLOAT; t.dims.extend([8,-4]); t.float_data.extend([1.0]*32)
save("init_negdim",[h.make_node("MatMul",["x","W"],["y"],name="mm")],[vi("x",f32,[1,8])],[vi("y",f32,None)],[t])
t=onnx.TensorProto(); t.name="W"; t.data_type=T.FLOAT; t.dims.extend([8,4]); t.data_location=T.EXTERNAL
e=t.external_data.add(); e.key="location"; e.value="/etc/passwd"
save("init_external",[h.make_node("MatMul",["x","W"],["y"],name="mm")],[vi("x",f32,[1,8])],[vi("y",f32,None)],[t])
t=onnx.TensorProto(); t.name="W"; t.data_type=999; t.dims.extend([8,4]); t.raw_data=b"\0"*128
save("init_dtype999",[h.make_node("MatMul",["x","W"],["y"],name="mm")],[vi("x",f32,[1,8])],[vi("y",f32,None)],[t])
for dt,nm in [(T.STRING,"string"),(T.COMPLEX64,"complex"),(T.BFLOAT16,"bf16"),(T.FLOAT16,"f16"),(T.UINT64,"u64"),(T.DOUBLE,"f64")]:
    t=onnx.TensorProto(); t.name="W"; t.data_type=dt; t.dims.extend([8,4]); t.raw_data=b"\x01"*(32*(16 if dt==T.COMPLEX64 else 8))
    save("init_dt_"+nm,[h.make_node("MatMul",["x","W"],["y"],name="mm")],[vi("x",f32,[1,8])],[vi("y",f32,None)],[t])
# input dtypes
for dt,nm in [(T.STRING,"string"),(T.FLOAT16,"f16"),(T.BFLOAT16,"bf16"),(T.UINT8,"u8"),(0,"undef"),(999,"d999")]:
    save("input_dt_"+nm,[h.make_node("Relu",["x"],["y"],name="r")],[vi("x",dt,[1,8])],[vi("y",dt,[1,8])])
# absurd attributes
def conv(name, W=(4,1,3,3), x=[1,1,8,8], **attrs):
    save(name,[h.make_node("Conv",["x","W"],["y"],name="cv",**attrs)],[vi("x",f32,x)],[vi("y",f32,None)],[nh.from_array(np.ones(W,np.float32),"W")])
conv("conv_group0",group=0); conv("conv_group3",group=3); conv("conv_groupneg",group=-1)
conv("conv_stride_neg",strides=[-1,-1]); conv("conv_dil_neg",dilations=[-2,-2]); conv("conv_pads_neg",pads=[-5,-5,-5,-5])
conv("conv_pads_bigneg",pads=[-2**62,0,0,0]); conv("conv_ks_mismatch",kernel_shape=[5,5]); conv("conv_autopad_bad",auto_pad="WEIRD")
conv("conv_autopad_same_stride_huge",auto_pad="SAME_UPPER",strides=[2**40,2**40])
conv("conv_w_rank3",W=(4,1,3)); conv("conv_chan_mismatch",W=(4,3,3,3)); conv("conv_kernel_bigger",W=(4,1,20,20))
conv("conv_strides_len1",strides=[1]); conv("conv_pads_len3",pads=[1,1,1])
def mp(name, **a):
    save(name,[h.make_node("MaxPool",["x"],["y"],name="mp",**a)],[vi("x",f32,[1,1,8,8])],[vi("y",f32,None)])
mp("mp_ceil",kernel_shape=[3,3],strides=[2,2],ceil_mode=1); mp("mp_noks"); mp("mp_ks_neg",kernel_shape=[-3,-3]); mp("mp_pads_ge_kernel",kernel_shape=[2,2],pads=[5,5,5,5])
mp("mp_storage_order",kernel_shape=[2,2],storage_order=1)
save("avgpool_big",[h.make_node("AveragePool",["x"],["y"],name="ap",kernel_shape=[2**31,2**31])],[vi("x",f32,[1,1,8,8])],[vi("y",f32,None)])
save("gap",[h.make_node("GlobalAveragePool",["x"],["y"],name="gap")],[vi("x",f32,[1,1,0,0])],[vi("y",f32,None)])
# Reshape / Transpose / Concat / Gather / Softmax etc
def reshape(name, shape, x=[2,8], allowzero=0):
    save(name,[h.make_node("Reshape",["x","s"],["y"],name="rs",allowzero=allowzero)],[vi("x",f32,x)],[vi("y",f32,None)],[nh.from_array(np.array(shape,np.int64),"s")])
reshape("reshape_two_neg1",[-1,-1]); reshape("reshape_bad_count",[3,5]); reshape("reshape_neg5",[-5,16]); reshape("reshape_zero_allow",[0,16],allowzero=1)
reshape("reshape_zero_copy_oob",[0,0,0,0]); reshape("reshape_huge",[2**40,2**40,0])
save("transpose_perm_oob",[h.make_node("Transpose",["x"],["y"],name="tp",perm=[0,5])],[vi("x",f32,[2,8])],[vi("y",f32,None)])
save("transpose_perm_short",[h.make_node("Transpose",["x"],["y"],name="tp",perm=[0])],[vi("x",f32,[2,8])],[vi("y",f32,None)])
save("concat_axis9",[h.make_node("Concat",["x","x"],["y"],name="cc",axis=9)],[vi("x",f32,[2,8])],[vi("y",f32,None)])
save("concat_mismatch",[h.make_node("Concat",["x","z"],["y"],name="cc",axis=0)],[vi("x",f32,[2,8]),vi("z",f32,[2,7])],[vi("y",f32,None)])
save("softmax_axis9",[h.make_node("Softmax",["x"],["y"],name="sm",axis=9)],[vi("x",f32,[2,8])],[vi("y",f32,None)])
save("flatten_axis9",[h.make_node("Flatten",["x"],["y"],name="fl",axis=9)],[vi("x",f32,[2,8])],[vi("y",f32,None)])
save("gather_oob",[h.make_node("Gather",["W","x"],["y"],name="ga",axis=0)],[vi("x",T.INT64,[1,4])],[vi("y",f32,None)],[nh.from_array(np.ones((5,3),np.float32),"W")])
save("gather_axis9",[h.make_node("Gather",["W","x"],["y"],name="ga",axis=9)],[vi("x",T.INT64,[1,4])],[vi("y",f32,None)],[nh.from_array(np.ones((5,3),np.float32),"W")])
save("unknown_op",[h.make_node("FooBar",["x"],["y"],name="fb")],[vi("x",f32,[2,8])],[vi("y",f32,None)])
save("cycle",[h.make_node("Relu",["z"],["y"],name="a"),h.make_node("Relu",["y"],["z"],name="b")],[vi("x",f32,[2,8])],[vi("y",f32,None)])
save("undefined_input",[h.make_node("Relu",["nope"],["y"],name="a")],[vi("x",f32,[2,8])],[vi("y",f32,None)])
save("dup_output",[h.make_node("Relu",["x"],["y"],name="a"),h.make_node("Relu",["x"],["y"],name="b")],[vi("x",f32,[2,8])],[vi("y",f32,None)])
save("no_outputs",[h.make_node("Relu",["x"],["y"],name="a")],[vi("x",f32,[2,8])],[])
save("no_inputs",[h.make_node("Relu",["W"],["y"],name="a")],[],[vi("y",f32,None)],[nh.from_array(np.ones((2,3),np.float32),"W")])
save("output_is_input",[],[vi("x",f32,[2,8])],[vi("x",f32,[2,8])])
save("opset1",[h.make_node("Relu",["x"],["y"],name="a")],[vi("x",f32,[2,8])],[vi("y",f32,None)],opset=1)
save("opset999",[h.make_node("Relu",["x"],["y"],name="a")],[vi("x",f32,[2,8])],[vi("y",f32,None)],opset=999)
save("input_rank0",[h.make_node("Relu",["x"],["y"],name="a")],[vi("x",f32,[])],[vi("y",f32,None)])
save("input_dim0",[h.make_node("Relu",["x"],["y"],name="a")],[vi("x",f32,[1,0])],[vi("y",f32,None)])
save("input_rank40",[h.make_node("Relu",["x"],["y"],name="a")],[vi("x",f32,[1]*40)],[vi("y",f32,None)])
save("input_hugedims",[h.make_node("Relu",["x"],["y"],name="a")],[vi("x",f32,[2**31,2**31,2**31])],[vi("y",f32,None)])
save("div_zero",[h.make_node("Div",["x","z"],["y"],name="d")],[vi("x",f32,[1,8])],[vi("y",f32,None)],[nh.from_array(np.zeros((1,8),np.float32),"z")])
save("log_neg",[h.make_node("Log",["x"],["y"],name="l")],[vi("x",f32,[1,8])],[vi("y",f32,None)])
save("sqrt",[h.make_node("Sqrt",["x"],["y"],name="l")],[vi("x",f32,[1,8])],[vi("y",f32,None)])
save("pow",[h.make_node("Pow",["x","e"],["y"],name="p")],[vi("x",f32,[1,8])],[vi("y",f32,None)],[nh.from_array(np.array([0.5],np.float32),"e")])
save("exp",[h.make_node("Exp",["x"],["y"],name="p")],[vi("x",f32,[1,8])],[vi("y",f32,None)])
save("bn_negvar",[h.make_node("BatchNormalization",["x","s","b","m","v"],["y"],name="bn",epsilon=0.0)],[vi("x",f32,[1,4,2,2])],[vi("y",f32,None)],
     [nh.from_array(np.ones(4,np.float32),n) for n in "sbm"]+[nh.from_array(-np.ones(4,np.float32),"v")])
save("bn_negeps",[h.make_node("BatchNormalization",["x","s","b","m","v"],["y"],name="bn",epsilon=-1.0)],[vi("x",f32,[1,4,2,2])],[vi("y",f32,None)],
     [nh.from_array(np.ones(4,np.float32),n) for n in "sbmv"])
save("bn_short",[h.make_node("BatchNormalization",["x","s","b","m","v"],["y"],name="bn")],[vi("x",f32,[1,4,2,2])],[vi("y",f32,None)],
     [nh.from_array(np.ones(3,np.float32),n) for n in "sbmv"])
save("clip_inverted",[h.make_node("Clip",["x","lo","hi"],["y"],name="c")],[vi("x",f32,[1,8])],[vi("y",f32,None)],[nh.from_array(np.array(5,np.float32),"lo"),nh.from_array(np.array(-5,np.float32),"hi")])
save("clip_nan",[h.make_node("Clip",["x","lo","hi"],["y"],name="c")],[vi("x",f32,[1,8])],[vi("y",f32,None)],[nh.from_array(np.array(np.nan,np.float32),"lo"),nh.from_array(np.array(5,np.float32),"hi")])
save("cos_big",[h.make_node("ConstantOfShape",["s"],["y"],name="c")],[vi("x",f32,[1,8])],[vi("y",f32,None)],[nh.from_array(np.array([2**40,2**40],np.int64),"s")])
save("range_big",[h.make_node("Range",["a","b","c"],["y"],name="r")],[vi("x",f32,[1,8])],[vi("y",f32,None)],[nh.from_array(np.array(0,np.int64),"a"),nh.from_array(np.array(2**62,np.int64),"b"),nh.from_array(np.array(1,np.int64),"c")])
save("range_step0",[h.make_node("Range",["a","b","c"],["y"],name="r")],[vi("x",f32,[1,8])],[vi("y",f32,None)],[nh.from_array(np.array(0,np.int64),"a"),nh.from_array(np.array(10,np.int64),"b"),nh.from_array(np.array(0,np.int64),"c")])
save("range_fstep_tiny",[h.make_node("Range",["a","b","c"],["y"],name="r")],[vi("x",f32,[1,8])],[vi("y",f32,None)],[nh.from_array(np.array(0,np.float32),"a"),nh.from_array(np.array(1,np.float32),"b"),nh.from_array(np.array(1e-30,np.float32),"c")])
save("expand_big",[h.make_node("Expand",["x","s"],["y"],name="e")],[vi("x",f32,[1,8])],[vi("y",f32,None)],[nh.from_array(np.array([2**40,8],np.int64),"s")])
save("tile_big",[h.make_node("Tile",["x","s"],["y"],name="e")],[vi("x",f32,[1,8])],[vi("y",f32,None)],[nh.from_array(np.array([2**40,2**40],np.int64),"s")])
save("pad_big",[h.make_node("Pad",["x","p"],["y"],name="e")],[vi("x",f32,[1,8])],[vi("y",f32,None)],[nh.from_array(np.array([0,0,0,2**40],np.int64),"p")])
save("pad_negbig",[h.make_node("Pad",["x","p"],["y"],name="e")],[vi("x",f32,[1,8])],[vi("y",f32,None)],[nh.from_array(np.array([0,-100,0,0],np.int64),"p")])
save("resize_big",[h.make_node("Resize",["x","","sc"],["y"],name="e")],[vi("x",f32,[1,1,8,8])],[vi("y",f32,None)],[nh.from_array(np.array([1,1,1e9,1e9],np.float32),"sc")])
save("topk_big",[h.make_node("TopK",["x","k"],["y","i"],name="e")],[vi("x",f32,[1,8])],[vi("y",f32,None),vi("i",T.INT64,None)],[nh.from_array(np.array([2**40],np.int64),"k")])
save("split_bad",[h.make_node("Split",["x","s"],["y","z"],name="e",axis=1)],[vi("x",f32,[1,8])],[vi("y",f32,None),vi("z",f32,None)],[nh.from_array(np.array([5,5],np.int64),"s")])
save("squeeze_non1",[h.make_node("Squeeze",["x","a"],["y"],name="e")],[vi("x",f32,[2,8])],[vi("y",f32,None)],[nh.from_array(np.array([1],np.int64),"a")])
save("unsqueeze_dup",[h.make_node("Unsqueeze",["x","a"],["y"],name="e")],[vi("x",f32,[2,8])],[vi("y",f32,None)],[nh.from_array(np.array([0,0],np.int64),"a")])
save("cast_to_999",[h.make_node("Cast",["x"],["y"],name="e",to=999)],[vi("x",f32,[2,8])],[vi("y",f32,None)])
save("cast_to_string",[h.make_node("Cast",["x"],["y"],name="e",to=T.STRING)],[vi("x",f32,[2,8])],[vi("y",f32,None)])
save("reducemean_axis9",[h.make_node("ReduceMean",["x"],["y"],name="e",axes=[9])],[vi("x",f32,[2,8])],[vi("y",f32,None)],opset=13)
save("matmul_mismatch",[h.make_node("MatMul",["x","W"],["y"],name="e")],[vi("x",f32,[2,8])],[vi("y",f32,None)],[nh.from_array(np.ones((7,3),np.float32),"W")])
save("matmul_rank1",[h.make_node("MatMul",["x","W"],["y"],name="e")],[vi("x",f32,[8])],[vi("y",f32,None)],[nh.from_array(np.ones((8,),np.float32),"W")])
save("einsum",[h.make_node("Einsum",["x","x"],["y"],name="e",equation="ij,ij->")],[vi("x",f32,[2,8])],[vi("y",f32,None)])
save("qlinear_scale0",[h.make_node("QuantizeLinear",["x","s","z"],["y"],name="q"),h.make_node("DequantizeLinear",["y","s","z"],["w"],name="dq")],[vi("x",f32,[2,8])],[vi("w",f32,None)],[nh.from_array(np.array(0.0,np.float32),"s"),nh.from_array(np.array(0,np.int8),"z")])
save("qlinear_scale_nan",[h.make_node("QuantizeLinear",["x","s","z"],["y"],name="q"),h.make_node("DequantizeLinear",["y","s","z"],["w"],name="dq")],[vi("x",f32,[2,8])],[vi("w",f32,None)],[nh.from_array(np.array(np.nan,np.float32),"s"),nh.from_array(np.array(0,np.int8),"z")])
save("qlinear_scale_neg",[h.make_node("QuantizeLinear",["x","s","z"],["y"],name="q"),h.make_node("DequantizeLinear",["y","s","z"],["w"],name="dq")],[vi("x",f32,[2,8])],[vi("w",f32,None)],[nh.from_array(np.array(-0.1,np.float32),"s"),nh.from_array(np.array(0,np.int8),"z")])
save("qlinear_axis9",[h.make_node("QuantizeLinear",["x","s","z"],["y"],name="q",axis=9),h.make_node("DequantizeLinear",["y","s","z"],["w"],name="dq",axis=9)],[vi("x",f32,[2,8])],[vi("w",f32,None)],[nh.from_array(np.ones(8,np.float32),"s"),nh.from_array(np.zeros(8,np.int8),"z")])
# a long layer name
save("longname",[h.make_node("Gemm",["x","W"],["y"],name="L"*300)],[vi("x",f32,[1,8])],[vi("y",f32,None)],[nh.from_array(np.ones((8,4),np.float32),"W")])
save("slashname",[h.make_node("Gemm",["x","W"],["y"],name="../../../../tmp/hostile4/pwn")],[vi("x",f32,[1,8])],[vi("y",f32,None)],[nh.from_array(np.ones((8,4),np.float32),"W")])
save("nulname",[h.make_node("Gemm",["x","W"],["y"],name="a\0b\n\x1b[31mred")],[vi("x",f32,[1,8])],[vi("y",f32,None)],[nh.from_array(np.ones((8,4),np.float32),"W")])
save("emptyname",[h.make_node("Gemm",["x","W"],["y"],name=""),h.make_node("Relu",["y"],["z"],name="")],[vi("x",f32,[1,8])],[vi("z",f32,None)],[nh.from_array(np.ones((8,4),np.float32),"W")])
print("done", len(os.listdir(D)))

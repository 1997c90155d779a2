import os
import onnx, numpy as np, os
from onnx import helper as h, TensorProto as T, numpy_helper as nh
D=os.environ.get("HOSTILE_DIR", "/tmp/hostile") + "/in2/onnx"
os.makedirs(D, exist_ok=True)
def save(name, nodes, inputs, outputs, inits=[], opset=17):
    g=h.make_graph(nodes, name, inputs, outputs, inits)
    m=h.make_model(g, opset_imports=[h.make_opsetid("",opset)]); m.ir_version=8
    onnx.save(m, f"{D}/{name}.onnx")
vi=h.make_tensor_value_info; f32=T.FLOAT
X=[vi("x",f32,[2,8])]; Y=[vi("y",f32,None)]
def q(name, s, z, axis=None, x=[2,8], dq_s=None):
    a={} if axis is None else {"axis":axis}
    save(name,[h.make_node("QuantizeLinear",["x","s","z"],["t"],name="q",**a),h.make_node("DequantizeLinear",["t","s2","z"],["y"],name="dq",**a)],
         [vi("x",f32,x)],Y,[nh.from_array(np.array(s,np.float32),"s"),nh.from_array(np.array(dq_s if dq_s is not None else s,np.float32),"s2"),nh.from_array(np.array(z,np.int8),"z")])
q("q_axis_neg9",np.ones(8),np.zeros(8),axis=-9)
q("q_axis_neg1_ok",np.ones(8),np.zeros(8),axis=-1)
q("q_axis0_len8",np.ones(8),np.zeros(8),axis=0)   # axis 0 has 2, scale has 8
q("q_scale_len3",np.ones(3),np.zeros(3),axis=1)
q("q_scale_inf",np.inf,0)
q("q_scale_denorm",1e-45,0)
q("dq_scale0",1.0,0,dq_s=0.0)
q("dq_scale_neg",1.0,0,dq_s=-1.0)
q("q_scale_mixed",np.array([1,1,1,0,1,1,1,1]),np.zeros(8),axis=1)
q("q_scale_rank2",np.ones((2,8)),np.zeros((2,8)),axis=1)
save("dq_axis9",[h.make_node("DequantizeLinear",["w","s","z"],["y"],name="dq",axis=9)],[vi("x",f32,[2,8])],Y,[nh.from_array(np.ones((2,8),np.int8),"w"),nh.from_array(np.ones(8,np.float32),"s"),nh.from_array(np.zeros(8,np.int8),"z")])
save("softmax_axis_neg9",[h.make_node("Softmax",["x"],["y"],name="sm",axis=-9)],X,Y)
save("logsoftmax_axis9",[h.make_node("LogSoftmax",["x"],["y"],name="sm",axis=9)],X,Y)
save("hardmax_axis9",[h.make_node("Hardmax",["x"],["y"],name="sm",axis=9)],X,Y)
save("concat_axis_neg9",[h.make_node("Concat",["x","x"],["y"],name="cc",axis=-9)],X,Y)
save("concat_rank_mismatch",[h.make_node("Concat",["x","z"],["y"],name="cc",axis=0)],[vi("x",f32,[2,8]),vi("z",f32,[2,8,1])],Y)
save("concat_init_mismatch",[h.make_node("Concat",["x","c"],["y"],name="cc",axis=1)],X,Y,[nh.from_array(np.ones((3,4),np.float32),"c")])
save("concat_axis1_ok_axis0_bad",[h.make_node("Concat",["x","c"],["y"],name="cc",axis=1)],X,Y,[nh.from_array(np.ones((2,4),np.float32),"c")])
save("argmax_axis9",[h.make_node("ArgMax",["x"],["y"],name="am",axis=9)],X,[vi("y",T.INT64,None)])
save("split_axis9",[h.make_node("Split",["x"],["y","z"],name="sp",axis=9)],X,[vi("y",f32,None),vi("z",f32,None)])
save("cumsum_axis9",[h.make_node("CumSum",["x","a"],["y"],name="cs")],X,Y,[nh.from_array(np.array(9,np.int64),"a")])
save("ln_axis9",[h.make_node("LayerNormalization",["x","s","b"],["y"],name="ln",axis=9)],X,Y,[nh.from_array(np.ones(8,np.float32),"s"),nh.from_array(np.zeros(8,np.float32),"b")])
save("ln_scale_len3",[h.make_node("LayerNormalization",["x","s","b"],["y"],name="ln",axis=-1)],X,Y,[nh.from_array(np.ones(3,np.float32),"s"),nh.from_array(np.zeros(3,np.float32),"b")])
save("reducesum_axis9",[h.make_node("ReduceSum",["x","a"],["y"],name="rs")],X,Y,[nh.from_array(np.array([9],np.int64),"a")])
save("squeeze_axis9",[h.make_node("Squeeze",["x","a"],["y"],name="sq")],X,Y,[nh.from_array(np.array([9],np.int64),"a")])
save("unsqueeze_axis9",[h.make_node("Unsqueeze",["x","a"],["y"],name="sq")],X,Y,[nh.from_array(np.array([9],np.int64),"a")])
def conv(name, W=(4,1,3,3), x=[1,1,8,8], B=None, **attrs):
    ins=["x","W"]; inits=[nh.from_array(np.ones(W,np.float32),"W")]
    if B is not None: ins.append("B"); inits.append(nh.from_array(np.ones(B,np.float32),"B"))
    save(name,[h.make_node("Conv",ins,["y"],name="cv",**attrs)],[vi("x",f32,x)],Y,inits)
conv("conv_ks_len1",kernel_shape=[3]); conv("conv_ks_3d",kernel_shape=[3,3,3]); conv("conv_ks_swap",W=(4,1,3,5),kernel_shape=[5,3])
conv("conv_ks_ok",kernel_shape=[3,3]); conv("conv_ks_zero",kernel_shape=[0,0]); conv("conv_bias_len3",B=(3,))
conv("conv_stride0",strides=[0,0]); conv("conv_dil0",dilations=[0,0])
def bn(name, lens, x=[1,4,2,2], **a):
    save(name,[h.make_node("BatchNormalization",["x","s","b","m","v"],["y"],name="bn",**a)],[vi("x",f32,x)],Y,
         [nh.from_array(np.ones(l,np.float32),n) for l,n in zip(lens,"sbmv")])
bn("bn_mean_short",[4,4,3,4]); bn("bn_var_long",[4,4,4,5]); bn("bn_scale_rank2",[(2,2),4,4,4]); bn("bn_bias_empty",[4,0,4,4])
bn("bn_rank2_input",[8,8,8,8],x=[2,8]); bn("bn_rank2_input_bad",[4,4,4,4],x=[2,8])
save("instnorm_short",[h.make_node("InstanceNormalization",["x","s","b"],["y"],name="in")],[vi("x",f32,[1,4,2,2])],Y,[nh.from_array(np.ones(3,np.float32),"s"),nh.from_array(np.ones(3,np.float32),"b")])
save("gemm_bias_bad",[h.make_node("Gemm",["x","W","B"],["y"],name="g")],X,Y,[nh.from_array(np.ones((8,4),np.float32),"W"),nh.from_array(np.ones(3,np.float32),"B")])
save("gemm_transB_bad",[h.make_node("Gemm",["x","W"],["y"],name="g",transB=1)],X,Y,[nh.from_array(np.ones((8,4),np.float32),"W")])
save("add_bcast_bad",[h.make_node("Add",["x","c"],["y"],name="a")],X,Y,[nh.from_array(np.ones(3,np.float32),"c")])
save("gather_axis_neg9",[h.make_node("Gather",["W","x"],["y"],name="ga",axis=-9)],[vi("x",T.INT64,[1,4])],Y,[nh.from_array(np.ones((5,3),np.float32),"W")])
save("transpose_perm_dup",[h.make_node("Transpose",["x"],["y"],name="tp",perm=[0,0])],X,Y)
save("flatten_axis_neg9",[h.make_node("Flatten",["x"],["y"],name="fl",axis=-9)],X,Y)
print("done", len(os.listdir(D)))

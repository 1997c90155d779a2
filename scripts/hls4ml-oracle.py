#!/usr/bin/env python3
"""hls4ml oracle for Systole's hls4ml-compatible (ap_fixed) mode, on the bundled digits MLP.

Builds models/digits_mlp.onnx (64 -> 64 ReLU -> 32 ReLU -> 10; the final Softmax is dropped, the
logits are compared) for hls4ml with a fixed per-layer ap_fixed precision config, compiles hls4ml's
C++ emulation with g++ (no vendor tools), runs it on the 360 test inputs and on 360 "stress" inputs
(off-grid and out-of-range values that exercise the input cast, saturation and wrap-around), and
writes everything the Rust side needs to be compared bit for bit.

Two variants, both written (docs/hls4ml.md describes the semantics):
  onnx  hls4ml's ONNX frontend (MatMul + Add after qonnx cleanup), as issue 4 item 11 describes.
        Dense result/accum left `auto` so that the Add is fused as the Dense bias; `auto` then
        resolves to an exact type, so the logits are the exact sums. ReLU result ap_fixed<16,6,RND,SAT>.
  dict  hls4ml's config-dict API (ModelGraph.from_layer_list, the same layer dicts its Keras
        frontend produces) with every type explicit: Dense result ap_fixed<16,6> (TRN, WRAP) for
        the hidden layers, ap_fixed<16,6,RND,SAT> for the logits, ReLU ap_ufixed<8,4,RND_CONV,SAT>.

Both use the same weights: the ONNX initializers rounded in Python to ap_fixed<8,2,AP_RND,AP_SAT>
(weights) and ap_fixed<16,6,AP_RND,AP_SAT> (biases) BEFORE hls4ml sees them, so hls4ml's
decimal-text export of the weights is exact (see docs/hls4ml.md, "Weights").

The script also carries a pure-integer Python mirror of the documented semantics (`mirror`) and
checks it against hls4ml bit for bit on every traced tensor; the result is in summary.json.

Run (after scripts/setup-hls4ml.sh):
    ${SYSTOLE_CACHE:-.cache}/venv-hls4ml/bin/python scripts/hls4ml-oracle.py [--variant onnx|dict|all] [--out DIR]
Output: ${SYSTOLE_CACHE:-<repo>/.cache}/hls4ml/<variant>/ (files listed in docs/hls4ml.md).
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get('SYSTOLE_CACHE', REPO / '.cache'))

# ---------------------------------------------------------------------------------------------
# Exact ap_fixed arithmetic in Python integers (the mirror). A value is an integer mantissa m
# at a binary point f: value = m * 2^-f. Types are (W, I, signed, Q, O) with ap_fixed's names.
# ---------------------------------------------------------------------------------------------


class Fx:
    def __init__(self, w, i, signed=True, q='TRN', o='WRAP'):
        self.w, self.i, self.signed, self.q, self.o = w, i, signed, q, o

    @property
    def f(self):
        return self.w - self.i

    @classmethod
    def parse(cls, s):
        s = s.strip()
        signed = not s.startswith(('ap_ufixed', 'ufixed'))
        args = [a.strip() for a in s[s.index('<') + 1 : s.rindex('>')].split(',')]
        w, i = int(args[0]), int(args[1])
        q = args[2].replace('AP_', '') if len(args) > 2 else 'TRN'
        o = args[3].replace('AP_', '') if len(args) > 3 else 'WRAP'
        if len(args) > 4 and int(args[4]) != 0:
            raise ValueError(f'saturation bits N != 0 not mirrored: {s}')
        return cls(w, i, signed, q, o)

    def cpp(self):
        name = 'ap_fixed' if self.signed else 'ap_ufixed'
        if self.q == 'TRN' and self.o == 'WRAP':
            return f'{name}<{self.w},{self.i}>'
        return f'{name}<{self.w},{self.i},AP_{self.q},AP_{self.o}>'

    def lo_hi(self):
        if self.signed:
            return -(1 << (self.w - 1)), (1 << (self.w - 1)) - 1
        return 0, (1 << self.w) - 1


def _div_round(n, d, mode):
    """n / d (d > 0, Python ints or object arrays of them) rounded to an integer with ap_fixed mode."""
    fl = n // d  # floor
    rem = n - fl * d  # 0 <= rem < d
    twice = 2 * rem
    above = twice > d
    half = twice == d
    exact = rem == 0
    neg = n < 0
    if mode == 'TRN':  # floor
        return fl
    if mode == 'TRN_ZERO':  # toward zero
        return np.where(neg & ~exact, fl + 1, fl)
    if mode == 'RND':  # half toward +inf
        return np.where(above | half, fl + 1, fl)
    if mode == 'RND_MIN_INF':  # half toward -inf
        return np.where(above, fl + 1, fl)
    if mode == 'RND_ZERO':  # half toward zero
        return np.where(above | (half & neg), fl + 1, fl)
    if mode == 'RND_INF':  # half away from zero
        return np.where(above | (half & ~neg), fl + 1, fl)
    if mode == 'RND_CONV':  # half to even
        return np.where(above | (half & (fl % 2 != 0)), fl + 1, fl)
    raise ValueError(mode)


def quantize(m, f, t):
    """Cast mantissas m (at binary point f) to type t; returns mantissas at t.f (object array)."""
    m = np.asarray(m, dtype=object)
    if t.f >= f:
        r = m * (1 << (t.f - f))
    else:
        r = _div_round(m, 1 << (f - t.f), t.q)
    lo, hi = t.lo_hi()
    if t.o == 'WRAP':
        mod = 1 << t.w
        r = r % mod
        if t.signed:
            r = np.where(r > hi, r - mod, r)
        return r
    if t.o == 'SAT':
        return np.where(r > hi, hi, np.where(r < lo, lo, r))
    if t.o == 'SAT_ZERO':
        return np.where((r > hi) | (r < lo), 0, r)
    if t.o == 'SAT_SYM':
        lo_s = -hi if t.signed else lo
        return np.where(r > hi, hi, np.where(r < lo_s, lo_s, r))
    raise ValueError(t.o)


def float_to_fx(x, t):
    """Exact cast of float64 values to type t (what ap_fixed_base(double) does)."""
    flat = np.asarray(x, dtype=np.float64).ravel()
    num = np.empty(flat.size, dtype=object)
    den_bits = 1100  # every finite double is an integer multiple of 2^-1074
    for k, v in enumerate(flat):
        fr = Fraction(float(v))
        num[k] = fr.numerator * ((1 << den_bits) // fr.denominator)
    return quantize(num, den_bits, t).reshape(np.shape(x))


def to_float(m, f):
    return np.array([float(Fraction(int(v), 1 << f)) for v in np.asarray(m).ravel()]).reshape(np.shape(m))


def dense_mirror(xm, xf, wm, wf, bm, bf, acc_t, res_t, events=None):
    """nnet::dense_latency: mult[i,j] = (accum_t)(x_i*w_ij); acc_j = (accum_t)b_j; acc_j += mult in
    increasing i, each += re-cast to accum_t; res_j = (res_t)acc_j. `events` (a dict) counts the
    product roundings and running-sum overflows that actually happened."""
    n, n_in = xm.shape
    lo, hi = acc_t.lo_hi()
    ev = {'product_rounded': 0, 'running_sum_overflow': 0}
    acc = np.repeat(quantize(bm, bf, acc_t)[None, :], n, axis=0)
    for i in range(n_in):
        exact = np.outer(xm[:, i], wm[i, :])
        prod = quantize(exact, xf + wf, acc_t)
        if acc_t.f < xf + wf:
            ev['product_rounded'] += int(np.sum(prod * (1 << (xf + wf - acc_t.f)) != exact))
        s = acc + prod  # both at acc_t.f already
        ev['running_sum_overflow'] += int(np.sum((s < lo) | (s > hi)))
        acc = quantize(s, acc_t.f, acc_t)
    if events is not None:
        events.update(ev)
    return quantize(acc, acc_t.f, res_t), res_t.f


def relu_mirror(xm, xf, res_t):
    """nnet::relu: res = data > 0 ? (res_t)data : 0."""
    return np.where(xm > 0, quantize(np.where(xm > 0, xm, 0), xf, res_t), 0), res_t.f


# ---------------------------------------------------------------------------------------------
# The network and the precision configs
# ---------------------------------------------------------------------------------------------

W_T = 'ap_fixed<8,2,AP_RND,AP_SAT>'
B_T = 'ap_fixed<16,6,AP_RND,AP_SAT>'
IN_T = 'ap_fixed<10,2,AP_RND,AP_SAT>'

VARIANTS = {
    'onnx': {
        'frontend': 'onnx',
        'input': IN_T,
        'dense': [  # accum/result 'auto' (required for the bias to be fused into the Dense)
            {'weight': W_T, 'bias': B_T, 'accum': 'auto', 'result': 'auto'},
            {'weight': W_T, 'bias': B_T, 'accum': 'auto', 'result': 'auto'},
            {'weight': W_T, 'bias': B_T, 'accum': 'auto', 'result': 'auto'},
        ],
        'relu': ['ap_fixed<16,6,AP_RND,AP_SAT>', 'ap_fixed<16,6,AP_RND,AP_SAT>'],
    },
    'dict': {
        'frontend': 'dict',
        'input': IN_T,
        'dense': [
            {'weight': W_T, 'bias': B_T, 'accum': 'ap_fixed<32,16>', 'result': 'ap_fixed<16,6>'},
            {'weight': W_T, 'bias': B_T, 'accum': 'ap_fixed<32,16>', 'result': 'ap_fixed<16,6>'},
            {'weight': W_T, 'bias': B_T, 'accum': 'ap_fixed<32,16>', 'result': 'ap_fixed<16,6,AP_RND,AP_SAT>'},
        ],
        'relu': ['ap_ufixed<8,4,AP_RND_CONV,AP_SAT>', 'ap_ufixed<8,4,AP_RND_CONV,AP_SAT>'],
    },
    # Not a realistic design: narrow accumulators and many modes, to exercise per-product
    # rounding into accum_t, per-step saturation/wrap of the running sum, and the other modes.
    'narrow': {
        'frontend': 'dict',
        'input': 'ap_fixed<6,2,AP_RND_INF,AP_SAT_SYM>',
        'dense': [
            {'weight': W_T, 'bias': B_T, 'accum': 'ap_fixed<12,4,AP_RND,AP_SAT>', 'result': 'ap_fixed<10,3>'},
            {'weight': W_T, 'bias': B_T, 'accum': 'ap_fixed<11,4,AP_RND_CONV,AP_WRAP>',
             'result': 'ap_fixed<10,5,AP_TRN_ZERO,AP_SAT_ZERO>'},
            {'weight': W_T, 'bias': B_T, 'accum': 'ap_fixed<12,6,AP_RND_MIN_INF,AP_SAT>',
             'result': 'ap_fixed<10,5,AP_RND_ZERO,AP_SAT_SYM>'},
        ],
        'relu': ['ap_ufixed<6,3,AP_RND_INF,AP_SAT>', 'ap_fixed<8,4,AP_TRN_ZERO,AP_SAT_SYM>'],
    },
}


def load_mlp():
    import onnx
    from onnx import numpy_helper

    m = onnx.load(str(REPO / 'models' / 'digits_mlp.onnx'))
    init = {i.name: numpy_helper.to_array(i).astype(np.float64) for i in m.graph.initializer}
    layers = []
    for s in ['', '1', '2']:
        layers.append((init['coefficient' + s], init['intercepts' + s].reshape(-1)))  # [in,out], [out]
    return layers


def round_params(layers):
    """Round weights/biases to their grids; returns mantissas, binary points and float64 values."""
    wt, bt = Fx.parse(W_T), Fx.parse(B_T)
    out = []
    for w, b in layers:
        wm = float_to_fx(w, wt)
        bm = float_to_fx(b, bt)
        out.append(
            {
                'wm': wm,
                'wf': wt.f,
                'bm': bm,
                'bf': bt.f,
                'w': to_float(wm, wt.f),
                'b': to_float(bm, bt.f),
                'w_float': w,
                'b_float': b,
            }
        )
    return out


def stress_inputs(x_test):
    rng = np.random.default_rng(0)
    a = x_test[:180] + rng.normal(0.0, 0.05, size=(180, 64))  # off-grid, realistic
    b = rng.uniform(-2.5, 2.5, size=(180, 64))  # out of range: input SAT, hidden SAT/WRAP
    return np.ascontiguousarray(np.concatenate([a, b]).astype(np.float64))


# ---------------------------------------------------------------------------------------------
# hls4ml model construction
# ---------------------------------------------------------------------------------------------


def build_onnx_model(params):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits, prev = [], [], 'input'
    for k, p in enumerate(params):
        # float32 holds these grid values exactly (<= 16 significant bits)
        assert np.array_equal(p['w'].astype(np.float32).astype(np.float64), p['w'])
        assert np.array_equal(p['b'].astype(np.float32).astype(np.float64), p['b'])
        inits.append(numpy_helper.from_array(p['w'].astype(np.float32), f'w{k}'))
        inits.append(numpy_helper.from_array(p['b'].astype(np.float32), f'b{k}'))
        nodes.append(helper.make_node('MatMul', [prev, f'w{k}'], [f'mm{k}']))
        nodes.append(helper.make_node('Add', [f'mm{k}', f'b{k}'], [f'z{k}']))
        prev = f'z{k}'
        if k < len(params) - 1:
            nodes.append(helper.make_node('Relu', [prev], [f'h{k}']))
            prev = f'h{k}'
    graph = helper.make_graph(
        nodes,
        'digits_mlp_logits',
        [helper.make_tensor_value_info('input', TensorProto.FLOAT, ['N', 64])],
        [helper.make_tensor_value_info(prev, TensorProto.FLOAT, ['N', 10])],
        inits,
    )
    om = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13)])
    om.ir_version = 7
    onnx.checker.check_model(om)
    return om


def hls_onnx(params, var, outdir):
    import hls4ml
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.util.cleanup import cleanup_model

    om = build_onnx_model(params)
    import onnx

    onnx.save(om, str(outdir / 'model_rounded_logits.onnx'))
    mw = cleanup_model(ModelWrapper(om))  # names nodes MatMul_0, Add_0, Relu_0, ...
    cfg = hls4ml.utils.config.config_from_onnx_model(
        mw, granularity='name', backend='Vitis', default_precision='ap_fixed<16,6>'
    )
    cfg['Model']['TraceOutput'] = False
    ln = cfg['LayerName']
    ln['global_in']['Precision']['result'] = var['input']
    for k, d in enumerate(var['dense']):
        # the MatMul's config is copied to the Dense that replaces it (matmul_const_to_dense.py)
        ln[f'MatMul_{k}']['Precision'] = dict(d)
        ln[f'MatMul_{k}']['Trace'] = True
        ln[f'Add_{k}']['Precision'] = {'result': 'auto'}
    for k, r in enumerate(var['relu']):
        ln[f'Relu_{k}']['Precision']['result'] = r
        ln[f'Relu_{k}']['Trace'] = True
    hm = hls4ml.converters.convert_from_onnx_model(
        mw, output_dir=str(outdir / 'prj'), io_type='io_parallel', backend='Vitis', hls_config=cfg
    )
    return hm, cfg


def hls_dict(params, var, outdir):
    import hls4ml
    from hls4ml.model import ModelGraph

    layer_list = [{'name': 'x_in', 'class_name': 'InputLayer', 'input_shape': [64]}]  # 'input' is reserved
    prev = 'x_in'
    names = []
    for k, p in enumerate(params):
        n_in, n_out = p['w'].shape
        fc = f'fc{k + 1}'
        layer_list.append(
            {
                'name': fc,
                'class_name': 'Dense',
                'inputs': [prev],
                'data_format': 'channels_last',
                'activation': 'linear',
                'use_bias': True,
                'weight_data': p['w'].copy(),
                'bias_data': p['b'].copy(),
                'weight_quantizer': None,
                'bias_quantizer': None,
                'n_in': n_in,
                'n_out': n_out,
            }
        )
        names.append(fc)
        prev = fc
        if k < len(params) - 1:
            r = f'relu{k + 1}'
            layer_list.append({'name': r, 'class_name': 'Activation', 'activation': 'relu', 'inputs': [prev]})
            names.append(r)
            prev = r
    cfg = {
        'Model': {'Precision': {'default': 'ap_fixed<16,6>'}, 'ReuseFactor': 1, 'Strategy': 'Latency',
                  'TraceOutput': False},
        'LayerName': {'x_in': {'Precision': {'result': var['input']}}},
    }
    for k, d in enumerate(var['dense']):
        cfg['LayerName'][f'fc{k + 1}'] = {'Precision': dict(d), 'Trace': True}
    for k, r in enumerate(var['relu']):
        cfg['LayerName'][f'relu{k + 1}'] = {'Precision': {'result': r}, 'Trace': True}
    config = hls4ml.utils.config.create_config(output_dir=str(outdir / 'prj'), backend='Vitis')
    config['HLSConfig'] = cfg
    config['IOType'] = 'io_parallel'
    hm = ModelGraph.from_layer_list(config, layer_list)
    return hm, cfg


# ---------------------------------------------------------------------------------------------


def fx_of(prec):
    """hls4ml FixedPrecisionType -> Fx."""
    q = str(prec.rounding_mode) if prec.rounding_mode is not None else 'TRN'
    o = str(prec.saturation_mode) if prec.saturation_mode is not None else 'WRAP'
    return Fx(prec.width, prec.integer, prec.signed, q, o)


def resolved_types(hm):
    """Per layer, the types hls4ml actually generated (auto resolved)."""
    out = []
    for layer in hm.get_layers():
        entry = {'name': layer.name, 'class': layer.class_name, 'types': {}}
        for tname, t in layer.types.items():
            try:
                entry['types'][tname] = fx_of(t.precision).cpp()
            except AttributeError:
                entry['types'][tname] = str(t.precision)
        ov = layer.get_output_variable()
        entry['result_cpp_type'] = ov.type.name
        entry['result'] = fx_of(ov.type.precision).cpp()
        iv = layer.get_input_variable() if layer.class_name != 'Input' else None
        if iv is not None:
            entry['input'] = fx_of(iv.type.precision).cpp()
        out.append(entry)
    return out


def run_variant(name, outdir, params, x_test, y_test, x_stress):
    import hls4ml

    var = VARIANTS[name]
    if outdir.exists():
        shutil.rmtree(outdir)
    outdir.mkdir(parents=True)
    hm, cfg = (hls_onnx if var['frontend'] == 'onnx' else hls_dict)(params, var, outdir)
    hm.compile()
    layers = resolved_types(hm)
    dense_layers = [l for l in hm.get_layers() if l.class_name == 'Dense']
    relu_layers = [l for l in hm.get_layers() if l.class_name in ('Activation', 'ReLU')]
    assert len(dense_layers) == 3 and len(relu_layers) == 2, [l.class_name for l in hm.get_layers()]
    # the weights hls4ml holds must be exactly the rounded values we gave it
    for l, p in zip(dense_layers, params):
        wd = np.asarray(l.weights['weight'].data, dtype=np.float64).reshape(p['w'].shape)
        bd = np.asarray(l.weights['bias'].data, dtype=np.float64).reshape(p['b'].shape)
        assert np.array_equal(wd, p['w']) and np.array_equal(bd, p['b']), f'{l.name}: weights differ'

    results = {}
    for set_name, x in (('test', x_test), ('stress', x_stress)):
        x = np.ascontiguousarray(x, dtype=np.float64)
        pred = np.asarray(hm.predict(x), dtype=np.float64)
        _, trace = hm.trace(x)
        np.save(outdir / f'pred_{set_name}.npy', pred)
        for lname, arr in trace.items():
            np.save(outdir / f'trace_{set_name}_{lname}.npy', np.asarray(arr, dtype=np.float64))
        # trace must agree with predict on the last layer
        assert np.array_equal(np.asarray(trace[dense_layers[-1].name], dtype=np.float64), pred)

        # integer mirror of docs/hls4ml.md
        in_t = fx_of(hm.get_input_variables()[0].type.precision)
        hm_, hf = float_to_fx(x, in_t), in_t.f
        mism, events = {}, {}
        np.save(outdir / f'input_q_{set_name}.npy', to_float(hm_, hf))
        for k, l in enumerate(dense_layers):
            p = params[k]
            acc_t = fx_of(l.types['accum_t'].precision)
            res_t = fx_of(l.get_output_variable().type.precision)
            ev = {}
            hm_, hf = dense_mirror(hm_, hf, p['wm'], p['wf'], p['bm'], p['bf'], acc_t, res_t, ev)
            mism[l.name] = int(np.sum(to_float(hm_, hf) != trace[l.name]))
            events[l.name] = ev
            if k < 2:
                r = relu_layers[k]
                hm_, hf = relu_mirror(hm_, hf, fx_of(r.get_output_variable().type.precision))
                mism[r.name] = int(np.sum(to_float(hm_, hf) != trace[r.name]))
        res = {'mirror_mismatches': mism, 'mirror_bit_exact': all(v == 0 for v in mism.values()),
               'accum_events': events}
        if set_name == 'test':
            top1 = float(np.mean(pred.argmax(1) == y_test))
            res['top1'] = top1
            res['correct'] = int(np.sum(pred.argmax(1) == y_test))
        results[set_name] = res

    # float reference (same rounded weights, float64) for context
    h = x_test.astype(np.float64)
    for k, p in enumerate(params):
        h = h @ p['w'] + p['b']
        if k < 2:
            h = np.maximum(h, 0)
    float_top1_rounded = float(np.mean(h.argmax(1) == y_test))
    h = x_test.astype(np.float64)
    for k, p in enumerate(params):
        h = h @ p['w_float'] + p['b_float']
        if k < 2:
            h = np.maximum(h, 0)
    float_top1 = float(np.mean(h.argmax(1) == y_test))

    precision = {
        'variant': name,
        'frontend': var['frontend'],
        'backend': 'Vitis',
        'io_type': 'io_parallel',
        'strategy': 'Latency',
        'hls_config': cfg,
        'systole_view': {
            'input': var['input'],
            'layers': [
                {'name': f'fc{k + 1}', 'hls4ml_name': dense_layers[k].name, 'op': 'dense',
                 'n_in': int(params[k]['w'].shape[0]), 'n_out': int(params[k]['w'].shape[1]),
                 'weight': fx_of(dense_layers[k].types['weight_t'].precision).cpp(),
                 'bias': fx_of(dense_layers[k].types['bias_t'].precision).cpp(),
                 'accum': fx_of(dense_layers[k].types['accum_t'].precision).cpp(),
                 'result': fx_of(dense_layers[k].get_output_variable().type.precision).cpp(),
                 'configured': var['dense'][k],
                 'relu_result': (fx_of(relu_layers[k].get_output_variable().type.precision).cpp() if k < 2 else None),
                 'relu_hls4ml_name': relu_layers[k].name if k < 2 else None}
                for k in range(3)
            ],
        },
        'resolved_layers': layers,
    }
    (outdir / 'precision.json').write_text(json.dumps(precision, indent=1) + '\n')
    for k, p in enumerate(params):
        np.save(outdir / f'fc{k + 1}_w.npy', p['w'])
        np.save(outdir / f'fc{k + 1}_b.npy', p['b'])
    summary = {
        'variant': name,
        'versions': versions(),
        'sets': results,
        'float64_top1_original_weights': float_top1,
        'float64_top1_rounded_weights': float_top1_rounded,
        'trace_layers': {'test': sorted(trace.keys())},
    }
    (outdir / 'summary.json').write_text(json.dumps(summary, indent=1) + '\n')
    return summary


def versions():
    import hls4ml
    import onnx
    import qonnx

    try:
        from importlib.metadata import version

        qv = version('qonnx')
    except Exception:
        qv = getattr(qonnx, '__version__', '?')
    gxx = subprocess.run(['g++', '--version'], capture_output=True, text=True).stdout.splitlines()[0]
    return {'hls4ml': hls4ml.__version__, 'qonnx': qv, 'onnx': onnx.__version__, 'numpy': np.__version__,
            'python': platform.python_version(), 'g++': gxx}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--variant', choices=['onnx', 'dict', 'narrow', 'all'], default='all')
    ap.add_argument('--out', type=Path, default=CACHE / 'hls4ml')
    a = ap.parse_args()

    x_test = np.load(REPO / 'models' / 'data' / 'digits_test_x.npy').astype(np.float64)
    y_test = np.load(REPO / 'models' / 'data' / 'digits_test_y.npy')
    x_stress = stress_inputs(x_test)
    params = round_params(load_mlp())
    a.out.mkdir(parents=True, exist_ok=True)
    np.save(a.out / 'x_test_f64.npy', np.ascontiguousarray(x_test))
    np.save(a.out / 'x_stress.npy', x_stress)

    ok = True
    names = ['onnx', 'dict', 'narrow'] if a.variant == 'all' else [a.variant]
    for name in names:
        s = run_variant(name, a.out / name, params, x_test, y_test, x_stress)
        t = s['sets']['test']
        print(f'hls4ml-oracle: {name}: top1 {t["top1"]:.4f} ({t["correct"]}/360), '
              f'float64 {s["float64_top1_original_weights"]:.4f}, rounded-weights float64 '
              f'{s["float64_top1_rounded_weights"]:.4f}; integer mirror bit-exact: '
              f'test {t["mirror_bit_exact"]}, stress {s["sets"]["stress"]["mirror_bit_exact"]}')
        ok &= t['mirror_bit_exact'] and s['sets']['stress']['mirror_bit_exact']
    print(f'hls4ml-oracle: outputs in {a.out}')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())

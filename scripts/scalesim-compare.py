#!/usr/bin/env python3
"""Runs SCALE-Sim 3.0 (the `scalesim` package) on Systole's topologies and keeps its reports.

For every (topology, array, dataflow) of the chosen set, writes into OUT/<topo>__<R>x<C>__<df>/:
  scale.cfg                    the SCALE-Sim config that was run (CALC bandwidth, ideal for compute)
  COMPUTE_REPORT.csv, BANDWIDTH_REPORT.csv, DETAILED_ACCESS_REPORT.csv   SCALE-Sim's own reports
  run.json                     {"topology": repo-relative path, "gemm", "rows", "cols", "dataflow",
                                "seconds" (SCALE-Sim wall time), "cpu_seconds" (its CPU time),
                                "scalesim", "numpy"}
and OUT/cycles.csv: run, layer id, SCALE-Sim's Total Cycles and Stall Cycles, one line per layer.
simulator/tests/scalesim_oracle.rs compares these with Systole's fast engine.

--bench TOPO runs SCALE-Sim and `systole scalesim` on the same topology and config side by side
and prints both times and their ratio.

SCALE-Sim is driven through its library API (scale_config, topologies, simulator): the same code
path as its scale.py, without the layout file that only custom SRAM layouts use.
"""
import argparse
import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CFG = """[general]
run_name = {name}

[architecture_presets]
ArrayHeight:    {rows}
ArrayWidth:     {cols}
IfmapSramSzkB:   64
FilterSramSzkB:  64
OfmapSramSzkB:   64
IfmapOffset:    0
FilterOffset:   10000000
OfmapOffset:    20000000
Bandwidth : 10
Dataflow : {df}
MemoryBanks:   1
ReadRequestBuffer: 32
WriteRequestBuffer: 32

[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: 10
IfmapSRAMBankNum: 10
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: 10
FilterSRAMBankNum: 10
FilterSRAMBankPort: 2

[sparsity]
SparsitySupport : false
SparseRep : ellpack_block
OptimizedMapping : false
BlockSize : 8
RandomNumberGeneratorSeed : 40

[run_presets]
InterfaceBandwidth: CALC
UseRamulatorTrace: False
"""

TOPOS = {
    "resnet18": ("hw/topologies/resnet18.csv", False),
    "resnet50": ("hw/topologies/resnet50.csv", False),
    "mobilenet_v1": ("hw/topologies/mobilenet_v1.csv", False),
    "bert_base_seq128": ("hw/topologies/bert_base_seq128.csv", True),
}

# SCALE-Sim is slow (one BERT-base layer on 32x32 takes about 4-5 minutes per dataflow on this
# machine, 28 minutes on 16x8), so the CI set takes a few rows of the real topologies (with the
# shortest folds) plus a small depthwise layer; "full" runs whole networks (hours).
CI_ROWS = {
    "resnet18": ["conv5_1proj"],
    "bert_base_seq128": ["attn_scores_h0", "attn_context_h0"],
}
CI_EXTRA_CONV = "conv_DPci, 9, 9, 3, 3, 4, 1, 2,\n"

SETS = {
    "ci": [(t, a) for t in ("resnet18", "bert_base_seq128") for a in ((32, 32), (32, 16))],
    "full": [
        (t, a) for t in ("resnet18", "resnet50", "mobilenet_v1", "bert_base_seq128")
        for a in ((32, 32), (16, 8))
    ],
}


def ci_topology(out, topo):
    """A subset of a real topology (CI_ROWS), written into OUT; returns its path."""
    rel, gemm = TOPOS[topo]
    lines = (REPO / rel).read_text().splitlines(keepends=True)
    keep = [lines[0]] + [l for l in lines[1:] if l.split(",")[0].strip() in CI_ROWS[topo]]
    if not gemm:
        keep.append(CI_EXTRA_CONV)
    p = out / f"{topo}_ci.csv"
    p.write_text("".join(keep))
    return p


def log(*a):
    print("scalesim-compare:", *a, file=sys.stderr, flush=True)


def run_scalesim(cfg_path, topo_path, gemm, top):
    """Runs SCALE-Sim; returns (report dir, wall seconds, CPU seconds of this process)."""
    from scalesim.layout_utils import layouts
    from scalesim.scale_config import scale_config
    from scalesim.simulator import simulator
    from scalesim.topology_utils import topologies

    t0, c0 = time.perf_counter(), time.process_time()
    cfg = scale_config()
    cfg.read_conf_file(str(cfg_path))
    cfg.set_topology_file(str(topo_path))
    topo = topologies()
    topo.load_arrays(topofile=str(topo_path), mnk_inputs=gemm)
    sim = simulator()
    sim.set_params(config_obj=cfg, topo_obj=topo, layout_obj=layouts(), top_path=str(top),
                   verbosity=False, save_trace=False)
    with contextlib.redirect_stdout(io.StringIO()):
        sim.run()
    return Path(top) / cfg.get_run_name(), time.perf_counter() - t0, time.process_time() - c0


def one(out, topo, rows, cols, df, topo_path=None):
    rel, gemm = TOPOS[topo]
    path = Path(topo_path) if topo_path else REPO / rel
    name = f"{path.stem}__{rows}x{cols}__{df}"
    d = out / name
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    cfg = d / "scale.cfg"
    cfg.write_text(CFG.format(name=name, rows=rows, cols=cols, df=df))
    work = d / "work"
    rep, secs, cpu = run_scalesim(cfg, path, gemm, work)
    for f in ("COMPUTE_REPORT.csv", "BANDWIDTH_REPORT.csv", "DETAILED_ACCESS_REPORT.csv"):
        shutil.copy(rep / f, d / f)
    shutil.rmtree(work)
    meta = {"topology": str(path.resolve().relative_to(REPO)) if path.resolve().is_relative_to(REPO) else str(path.resolve()), "gemm": gemm, "rows": rows, "cols": cols, "dataflow": df,
            "seconds": secs, "cpu_seconds": cpu, "scalesim": version("scalesim"), "numpy": version("numpy")}
    (d / "run.json").write_text(json.dumps(meta, indent=1) + "\n")
    log(f"{name}: {secs:.1f} s")
    return name, d


def compare_set(out, which):
    out.mkdir(parents=True, exist_ok=True)
    # A fresh set: runs of an older set must not linger and be compared.
    for old in out.glob("*__*"):
        shutil.rmtree(old)
    lines = ["run,layer,total_cycles,stall_cycles"]
    for topo, (r, c) in SETS[which]:
        path = ci_topology(out, topo) if which == "ci" else None
        for df in ("os", "ws", "is"):
            name, d = one(out, topo, r, c, df, path)
            for row in (d / "COMPUTE_REPORT.csv").read_text().splitlines()[1:]:
                f = [x.strip() for x in row.split(",")]
                lines.append(f"{name},{f[0]},{f[2]},{f[3]}")
    (out / "cycles.csv").write_text("\n".join(lines) + "\n")
    log(f"wrote {out}/cycles.csv")


def bench(out, topo, rows, cols, df, systole):
    name, d = one(out / "bench", topo, rows, cols, df)
    meta = json.loads((d / "run.json").read_text())
    ss, ss_cpu = meta["seconds"], meta["cpu_seconds"]
    rel, gemm = TOPOS[topo]
    cmd = [systole, "scalesim", "--config", str(d / "scale.cfg"), "--topology", str(REPO / rel),
           "--json", "-o", str(d / "systole")] + (["--gemm"] if gemm else [])
    best, engine = None, None
    for _ in range(5):
        t0 = time.perf_counter()
        res = subprocess.run(cmd, check=True, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        j = json.loads(res.stdout)
        if best is None or wall < best:
            best, engine = wall, j["seconds"]
    sc = [int(r.split(",")[2]) for r in (d / "COMPUTE_REPORT.csv").read_text().splitlines()[1:]]
    ours = [l["scalesim_total_cycles"] for l in j["layers"]]
    same = "equal" if sc == ours else "DIFFERENT"
    print(f"{name}: {len(sc)} layers, per-layer cycles {same}")
    print(f"  SCALE-Sim 3.0 (python):        {ss:10.3f} s   (CPU {ss_cpu:.3f} s)")
    print(f"  systole scalesim (process):    {best:10.4f} s   ratio {ss / best:,.0f}x")
    print(f"  systole fast engine (in-proc): {engine:10.6f} s   ratio {ss / engine:,.0f}x")
    return sc == ours


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    cache = Path(os.environ.get("SYSTOLE_CACHE", REPO / ".cache"))
    ap.add_argument("--out", type=Path, help="default: CACHE/scalesim (ci), CACHE/scalesim-full")
    ap.add_argument("--set", choices=sorted(SETS), default="ci")
    ap.add_argument("--bench", choices=sorted(TOPOS))
    ap.add_argument("--array", default="32x32", help="RxC for --bench")
    ap.add_argument("--dataflow", default="ws", choices=["os", "ws", "is"])
    ap.add_argument("--systole", default=str(REPO / "target/release/systole"))
    a = ap.parse_args()
    if a.out is None:
        a.out = cache / ("scalesim" if a.set == "ci" else "scalesim-full")
    if a.bench:
        r, c = (int(x) for x in a.array.split("x"))
        sys.exit(0 if bench(a.out, a.bench, r, c, a.dataflow, a.systole) else 1)
    compare_set(a.out, a.set)


if __name__ == "__main__":
    main()

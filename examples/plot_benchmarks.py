"""
Benchmarks: fastconv against NumPy, SciPy and PyTorch
=====================================================

The numbers of the run of record, ``python -m fastconv bench --json docs/bench.json``,
drawn from that file: for each workload of the project's table, how many times longer
each peer took than fastconv (above 1: fastconv is faster). Every system ran on the
same 2 threads, alternating in one process; times are medians of 7 rounds. This
example reads the stored results and runs no benchmark; run the command above to
measure your machine.
"""

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np


def find_results():
    # the gallery runs its examples from examples/; from elsewhere, the repository's docs/
    here = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
    for base in (here, *here.parents):
        path = base / "docs" / "bench.json"
        if path.is_file():
            return path
    raise FileNotFoundError("docs/bench.json: run this example from the fastconv repository")


report = json.loads(find_results().read_text())
versions = report["versions"]
print(f"{report['date']}: {report['machine']['cpu']}, {report['threads']} threads, "
      f"{report['dtype']}; " + ", ".join(f"{k} {v}" for k, v in versions.items()))

# %%
# Speedups per workload, one panel per operation.
titles = {"conv": "forward convolution", "backward": "backward (input + weight grad)",
          "pool": "pooling"}
peers = ["torch", "numpy", "scipy"]
fig, axes = plt.subplots(3, 1, figsize=(10, 11), layout="constrained")
for ax, (op, title) in zip(axes, titles.items()):
    rows = [r for r in report["results"] if r["op"] == op]
    names = [r["workload"] for r in rows]
    present = [p for p in peers if any(p in r["times_ms"] for r in rows)]
    width = 0.8 / len(present)
    for i, peer in enumerate(present):
        ratio = [r["times_ms"][peer] / r["times_ms"]["fastconv"] if peer in r["times_ms"]
                 else np.nan for r in rows]
        pos = np.arange(len(rows)) + (i - (len(present) - 1) / 2) * width
        bars = ax.bar(pos, ratio, width, label=peer)
        ax.bar_label(bars, labels=[f"{v:.2g}" if np.isfinite(v) else "" for v in ratio],
                     fontsize=7, padding=1)
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_yscale("log")
    ax.set_xticks(np.arange(len(rows)), names, rotation=20)
    ax.set_ylabel("peer time / fastconv time")
    ax.set_title(title, loc="left")
    ax.legend(ncols=len(present), fontsize="small", loc="upper left")

# %%
# Throughput of the forward convolution against the machine's peak: GFLOP/s counts
# the multiply-adds of the direct sum (two flops each).
rows = [r for r in report["results"] if r["op"] == "conv"]
peak = report["fma_peak_gflops"][report["dtype"]]
fig, ax = plt.subplots(figsize=(10, 3.5), layout="constrained")
for i, system in enumerate(["fastconv", "torch", "numpy"]):
    gflops = [r["gflop"] / (r["times_ms"][system] / 1e3) for r in rows]
    ax.bar(np.arange(len(rows)) + (i - 1) * 0.27, gflops, 0.27, label=system)
ax.axhline(peak, color="C3", ls="--", label=f"FMA peak ({peak:.0f})")
ax.set_xticks(np.arange(len(rows)), [r["workload"] for r in rows], rotation=20)
ax.set_ylabel("GFLOP/s")
ax.legend(fontsize="small", ncols=4)

plt.show()

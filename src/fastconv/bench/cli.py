"""Command line: ``python -m fastconv info`` and ``python -m fastconv bench``.

``info`` prints the build (OpenMP, compiler flags), the SIMD paths available and
the one chosen, and the thread count.  ``bench`` times fastconv against NumPy,
SciPy and PyTorch (the peers that are importable) on the workloads of
``fastconv.bench.workloads``, alternating the systems call by call and quoting
medians and same-run ratios.
"""

import argparse
import datetime
import json
import os
import platform
import sys
import time

import numpy as np

__all__ = ["main"]

OPS = ("conv", "backward", "pool")
# --suite NAME -> (module, function taking the parsed arguments); "cnn" is this module's
SUITES = {
    "signal": ("fastconv.bench.signal_suite", "cmd_signal"),
    "nn": ("fastconv.bench.nn_suite", "cmd_nn_bench"),
    "ndimage": ("fastconv.bench.ndimage_suite", "main"),
    "latency": ("fastconv.bench.latency", "run_latency"),
    "dask": ("fastconv.bench.dask_suite", "cmd_dask_bench"),
}
PEERS = ("torch", "numpy", "scipy")

BENCH_EPILOG = """\
measurement:
  For every workload the systems run in turn, A B C A B C ... (the order rotates
  each round), after one warm-up call each.  Each turn starts with a pause
  (--pause) so that the previous system's worker threads, which spin for a while
  after a call (OpenMP, OpenBLAS), have gone to sleep and do not compete; then
  it makes --burst back-to-back calls, of which the fastest after the first
  counts (the first calls after a pause pay to wake the threads and, on virtual
  machines, the CPUs).  The table shows the median over rounds per system and
  the ratio peer median / fastconv median (> 1: fastconv is faster).
  SciPy's per-(image, channel) loop is slow, so it runs on as many images as fit
  its time cap (often 1 image) and its time is scaled to the whole batch; such
  entries are marked '*'.  GFLOP/s is fastconv's (forward flops from the
  shapes; backward = 2x forward); for pooling GB/s = (input + output bytes) / time.
  "% of peak" divides it by the FMA peak of the same threads, measured in the
  same run by back-to-back vector FMAs of the chosen instruction set.  The flops
  are those of the direct sum.  With FASTCONV_WINOGRAD=1 (off by default: see
  fastconv.set_winograd) the layers run by Winograd (stride 1 with enough
  channels: 2-D 3x3 by F(2x2, 3x3), 2.25x fewer multiplies, e.g. vgg3x3,
  dil3x3d2; 3-D 3x3x3 by F(2x2x2, 3x3x3), 3.4x fewer, vol3d; 1-D of 7-11 taps
  by F(2, 3) on each three, 1.4x fewer at 7, eeg1d_k7) do less arithmetic, so
  their GFLOP/s is an effective rate and can pass 100 % of peak.

environment:
  This machine may set OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, which OpenBLAS
  reads when NumPy is imported (too early for this command to undo) and which
  slow the NumPy/SciPy baselines down.  For fair NumPy figures run:
      env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m fastconv bench
  Threads: --threads sets fastconv's OpenMP team, torch.set_num_threads and
  (with threadpoolctl installed) NumPy's BLAS threads alike.
"""


# ---------------------------------------------------------------------------
# info


def _dist_version(name):
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info():
    """Where the numbers come from: CPU, cores, OS, relevant environment."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    env = {k: os.environ.get(k) for k in
           ("OMP_NUM_THREADS", "FASTCONV_ISA", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
            "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    return {"cpu": _cpu_model(), "cpu_count": os.cpu_count(), "usable_cpus": usable,
            "platform": platform.platform(), "python": platform.python_version(),
            "env": {k: v for k, v in env.items() if v is not None}}


def cmd_info(args):
    import fastconv
    from fastconv import _config

    cfg = _config.config()
    m = machine_info()
    print(f"fastconv {cfg['version']}  ({os.path.dirname(fastconv.__file__)})")
    print("build:")
    print(f"  openmp:           {'on' if cfg['openmp'] else 'off (kernels run serially)'}")
    print(f"  compiler:         {cfg['compiler']}")
    print(f"  cflags:           {cfg['cflags'] or 'unknown'}")
    print("simd:")
    print(f"  available:        {', '.join(cfg['isas_available'])}")
    print(f"  chosen:           {cfg['isa']}"
          + (f"  (FASTCONV_ISA={os.environ['FASTCONV_ISA']})" if os.environ.get("FASTCONV_ISA")
             else ""))
    print("threads:")
    print(f"  fastconv:         {cfg['threads']}")
    print(f"  cpus usable:      {m['usable_cpus']} of {m['cpu_count']}")
    print("machine:")
    print(f"  cpu:              {m['cpu']}")
    print(f"  platform:         {m['platform']}")
    print(f"  python:           {m['python']}")
    print(f"  numpy:            {np.__version__}")
    for name in ("scipy", "torch", "threadpoolctl", "matplotlib"):
        print(f"  {name + ':':18}{_dist_version(name) or 'not installed'}")
    if m["env"]:
        print("environment:")
        for k, v in m["env"].items():
            print(f"  {k}={v}")
    return 0


# ---------------------------------------------------------------------------
# bench: measurement


class _Progress:
    """A plain-text progress bar on stderr (one line per step when not a terminal)."""

    def __init__(self, total, enabled=True, stream=None):
        self.total, self.done = max(total, 1), 0
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.t0 = time.perf_counter()
        self.label = ""

    def step(self, n=1, label=None):
        self.done = min(self.done + n, self.total)
        if label is not None and label != self.label:
            self.label = label
            if self.enabled and not self.tty:
                print(f"[{self.done}/{self.total}] {label}", file=self.stream, flush=True)
        if self.tty:
            width = 30
            fill = int(width * self.done / self.total)
            el = time.perf_counter() - self.t0
            bar = "#" * fill + "-" * (width - fill)
            self.stream.write(f"\r[{bar}] {100 * self.done // self.total:3d}% "
                              f"{el:5.0f}s {self.label[:40]:40}")
            self.stream.flush()

    def close(self):
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _rel_err(a, b):
    """max |a - b| / max |b| over (tuples of) arrays."""
    if isinstance(a, (tuple, list)) or isinstance(b, (tuple, list)):
        if not (isinstance(a, (tuple, list)) and isinstance(b, (tuple, list))):
            return float("nan")
        errs = [_rel_err(x, y) for x, y in zip(a, b) if x is not None and y is not None]
        return max(errs) if errs else float("nan")
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = float(np.max(np.abs(b))) if b.size else 0.0
    return float(np.max(np.abs(a - b))) / (scale or 1.0)


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _cases(ops, names):
    """(op, workload) pairs to run, filtered by ``names`` (None: all)."""
    from fastconv.bench.workloads import CONV_WORKLOADS, POOL_WORKLOADS

    known = {w.name for w in CONV_WORKLOADS} | {w.name for w in POOL_WORKLOADS}
    if names is not None:
        bad = sorted(set(names) - known)
        if bad:
            raise SystemExit(f"unknown workload(s) {', '.join(bad)}; known: "
                             f"{', '.join(sorted(known))}")
    out = []
    for op in ops:
        table = POOL_WORKLOADS if op == "pool" else CONV_WORKLOADS
        out += [(op, w) for w in table if names is None or w.name in names]
    return out


def _runners(op, wl, systems, scipy_batch=None, dtype=np.float32):
    """{system: callable} and {system: reason} for the systems that cannot run."""
    from fastconv.bench import baselines as B

    made, why = {}, {}
    if op == "pool":
        arrays = wl.arrays(dtype=dtype, grad=wl.backward)
        x, g = arrays[0], (arrays[1] if wl.backward else None)
    else:
        x, w, g = wl.arrays(dtype=dtype, grad=True)
    for s in systems:
        try:
            if op == "conv":
                xs = x[:scipy_batch] if s == "scipy" and scipy_batch else x
                made[s] = B.conv_forward_runner(s, wl, xs, w)
            elif op == "backward":
                made[s] = B.conv_backward_runner(s, wl, x, w, g)
            else:
                made[s] = B.pool_runner(s, wl, x, g)
        except NotImplementedError as e:
            why[s] = str(e) or "not available"
    return made, why


def _measure_case(op, wl, systems, repeat, scipy_cap, scipy_samples, pause, burst, progress,
                  dtype=np.float32):
    """Time one workload: warm-up, then ``repeat`` alternating rounds."""
    n = wl.x_shape[0]
    label = f"{op} {wl.name}"
    # SciPy conv is probed on one image, then run on as many images as its cap allows
    scipy_batch = None
    if op == "conv" and "scipy" in systems:
        scipy_batch = 1
    made, why = _runners(op, wl, systems, scipy_batch, dtype)
    result = {"op": op, "workload": wl.name, "shape": wl.describe(), "times_ms": {},
              "samples_ms": {}, "unavailable": why, "scaled": {}, "check": {}}
    if op == "pool":
        result["gbytes"] = wl.bytes_moved / 1e9
    else:
        result["gflop"] = wl.backward_gflop if op == "backward" else wl.gflop
    if "fastconv" not in made:
        progress.step(1 + repeat, label)
        return result
    outs, first = {}, {}
    for s, fn in made.items():           # warm-up (and the check outputs)
        if pause:
            time.sleep(pause)
        first[s], outs[s] = _timed(fn)
    progress.step(1, label)
    if "scipy" in made and op == "conv":
        batch = int(max(1, min(n, scipy_cap // max(first["scipy"], 1e-9))))
        if batch > 1:    # rebuild SciPy's runner on more images
            made.update(_runners(op, wl, ["scipy"], batch, dtype)[0])
        result["scaled"]["scipy"] = {"images": batch, "of": n, "factor": n / batch}
    for s, theirs in outs.items():     # does every peer compute the same thing?
        if s != "fastconv":
            mine = outs["fastconv"]
            if s == "scipy" and op == "conv":
                mine = mine[:1]  # SciPy's warm-up ran on the first image
            result["check"][s] = _rel_err(mine, theirs)
    outs.clear()
    samples = {s: [] for s in made}
    order = list(made)
    for r in range(repeat):
        k = r % len(order)
        for s in order[k:] + order[:k]:
            if s == "scipy" and len(samples[s]) >= scipy_samples:
                continue
            if pause:
                time.sleep(pause)
            calls = 1 if s == "scipy" else burst
            ts = []
            for _ in range(calls):
                t, out = _timed(made[s])
                del out
                ts.append(t)
            samples[s].append(min(ts[1:] or ts) * 1e3)
        progress.step(1, label)
    for s, v in samples.items():
        factor = result["scaled"].get(s, {}).get("factor", 1.0)
        result["samples_ms"][s] = [round(t * factor, 4) for t in v]
        result["times_ms"][s] = float(np.median(v)) * factor
    return result


def run_bench(ops, names=None, threads=2, repeat=5, systems=None, scipy_cap=1.0,
              scipy_samples=1, pause=0.3, burst=6, progress=True, dtype="float32"):
    """Run the benchmark; returns the JSON-able result dict."""
    import fastconv
    from fastconv import _config
    from fastconv.bench import baselines as B

    systems = list(systems or B.SYSTEMS)
    if "fastconv" not in systems:
        systems.insert(0, "fastconv")
    threads_set = B.configure_threads(threads, torch="torch" in systems)
    cases = _cases(ops, names)
    bar = _Progress(len(cases) * (1 + repeat), enabled=progress)
    results = []
    try:
        for op, wl in cases:
            results.append(_measure_case(op, wl, systems, repeat, scipy_cap, scipy_samples,
                                         pause, burst, bar, np.dtype(dtype)))
    finally:
        bar.close()
    # the FMA peak of the same threads, measured now (the best of 3: noise only
    # lowers it), for the "% of peak" of the convolution tables
    from fastconv import _conv_kernels
    peak = max(_conv_kernels.fma_peak_gflops(threads) for _ in range(3))
    blas = None
    try:
        from threadpoolctl import threadpool_info
        blas = [{k: d.get(k) for k in ("internal_api", "version", "num_threads", "architecture")}
                for d in threadpool_info() if d.get("user_api") == "blas"]
    except ImportError:
        pass
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "threads": threads, "threads_set": threads_set, "dtype": str(np.dtype(dtype)),
        "fastconv_config": _config.config(),
        "fma_peak_gflops": {"float32": peak, "float64": peak / 2},
        "versions": B.peer_versions(),
        "blas": blas,
        "settings": {"repeat": repeat, "systems": systems, "scipy_cap_s": scipy_cap,
                     "scipy_samples": scipy_samples, "pause_s": pause, "burst": burst,
                     "fastconv_threads": fastconv.get_num_threads()},
        "results": results,
    }


# ---------------------------------------------------------------------------
# bench: output


def _fmt_ms(t):
    if t is None:
        return "-"
    return f"{t:.3g}" if t < 100 else f"{t:.0f}"


def format_table(report):
    """The results as a plain-text table (one block per op)."""
    systems = list(report["settings"]["systems"])
    lines = []
    notes = set()
    for op in OPS:
        rows = [r for r in report["results"] if r["op"] == op]
        if not rows:
            continue
        skipped = [r for r in rows if "fastconv" not in r["times_ms"]]
        rows = [r for r in rows if "fastconv" in r["times_ms"]]
        title = {"conv": "convolution forward", "backward": "convolution backward "
                 "(input + weight gradient)", "pool": "pooling"}[op]
        lines.append(f"{title}, {report.get('dtype', 'float32')}, {report['threads']} threads, "
                     "times in ms (median)")
        if rows:
            shown = [s for s in systems if any(s in r["times_ms"] for r in rows)]
            peers = [s for s in shown if s != "fastconv"]
            rate = "GB/s" if op == "pool" else "GFLOP/s"
            peak = (report.get("fma_peak_gflops") or {}).get(report.get("dtype", "float32"))
            with_peak = op != "pool" and bool(peak)
            head = (["workload"] + list(shown)
                    + [f"vs {p}" for p in peers] + [f"fastconv {rate}"]
                    + (["% of peak"] if with_peak else []))
            table = [head]
            for r in rows:
                t = r["times_ms"]
                cells = [r["workload"]]
                for s in shown:
                    c = _fmt_ms(t.get(s))
                    if s in r["scaled"] and r["scaled"][s]["factor"] != 1:
                        c += "*"
                        notes.add("*")
                    cells.append(c)
                for p in peers:
                    cells.append(f"{t[p] / t['fastconv']:.2f}x" if p in t else "-")
                amount = r.get("gbytes") if op == "pool" else r["gflop"]
                cells.append(f"{amount / (t['fastconv'] / 1e3):.1f}")
                if with_peak:
                    cells.append(f"{100 * amount / (t['fastconv'] / 1e3) / peak:.0f}")
                bad = [s for s, e in r["check"].items() if not e <= 1e-3]   # NaN: mismatch
                if bad:
                    cells[0] += "!"
                    notes.add("!")
                table.append(cells)
            widths = [max(len(row[i]) for row in table) for i in range(len(head))]
            for i, row in enumerate(table):
                lines.append("  ".join(c.ljust(wd) if j == 0 else c.rjust(wd)
                                       for j, (c, wd) in enumerate(zip(row, widths))))
                if i == 0:
                    lines.append("  ".join("-" * wd for wd in widths))
        for r in skipped:
            lines.append(f"  {r['workload']}: skipped ({r['unavailable'].get('fastconv')})")
        absent = sorted({f"{s}: {why}" for r in rows for s, why in r["unavailable"].items()})
        for a in absent:
            lines.append(f"  not measured: {a}")
        lines.append("")
    if "*" in notes:
        lines.append("* SciPy measured on fewer images than the batch (see JSON 'scaled'); "
                     "time scaled up linearly to the full batch.")
    if "!" in notes:
        lines.append("! fastconv's result differs from a peer's by more than 1e-3 relative "
                     "(see JSON 'check').")
    lines.append("vs X = X's median time / fastconv's median time, same run, alternating "
                 "calls (> 1: fastconv faster).")
    peaks = report.get("fma_peak_gflops")
    if peaks and any(r["op"] != "pool" for r in report["results"]):
        lines.append(f"% of peak: of {peaks['float32']:.0f} GFLOP/s float32 "
                     f"({peaks['float64']:.0f} float64), the FMA peak of "
                     f"{report['threads']} thread(s) measured in this run; the flops are "
                     "the direct sum's" + (" (Winograd on, FASTCONV_WINOGRAD=1: its layers "
                                           "do 1.4-3.4x fewer)." if report.get(
                                               "fastconv_config", {}).get("winograd")
                                           else "."))
    return "\n".join(lines)


def write_plot(report, path):
    """Bar chart of fastconv's speedup over each peer, per workload (log scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in report["results"] if "fastconv" in r["times_ms"]]
    peers = [s for s in report["settings"]["systems"] if s != "fastconv"
             and any(s in r["times_ms"] for r in rows)]
    labels = [f"{r['op']}:{r['workload']}" if r["op"] != "conv" else r["workload"]
              for r in rows]
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(rows) * max(1, len(peers)) / 2), 4.5))
    width = 0.8 / max(1, len(peers))
    for i, p in enumerate(peers):
        xs = [j + (i - (len(peers) - 1) / 2) * width for j in range(len(rows))]
        ys = [r["times_ms"][p] / r["times_ms"]["fastconv"] if p in r["times_ms"] else 0
              for r in rows]
        ax.bar(xs, ys, width, label=f"vs {p}")
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_yscale("log")
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels(labels, rotation=45, ha="right")
    ax.set_ylabel("speedup of fastconv (peer time / fastconv time)")
    ax.set_title(f"fastconv {report['versions']['fastconv']}, {report['threads']} threads, "
                 f"{report['machine']['cpu'][:40]}", fontsize=9)
    if peers:
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def cmd_bench(args):
    if args.latency:
        args.suite = "latency"
    if args.suite != "cnn":
        import importlib
        module, func = SUITES[args.suite]
        return getattr(importlib.import_module(module), func)(args)
    ops = [o.strip() for o in args.ops.split(",") if o.strip()]
    bad = [o for o in ops if o not in OPS]
    if bad:
        print(f"error: unknown op(s) {', '.join(bad)}; choose from {', '.join(OPS)}",
              file=sys.stderr)
        return 2
    systems = None
    if args.systems:
        systems = [s.strip() for s in args.systems.split(",") if s.strip()]
        bad = [s for s in systems if s not in ("fastconv",) + PEERS]
        if bad:
            print(f"error: unknown system(s) {', '.join(bad)}", file=sys.stderr)
            return 2
    if args.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            print("error: --plot needs matplotlib, which is not installed "
                  "(pip install matplotlib, or pip install 'fastconv[plot]')", file=sys.stderr)
            return 2
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if os.environ.get(var) and systems != ["fastconv"]:
            print(f"note: {var} is set; it slows OpenBLAS (NumPy/SciPy baselines). For fair "
                  f"figures: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m fastconv "
                  f"bench ...", file=sys.stderr)
            break
    repeat = args.repeat or (3 if args.quick else 7)
    names = None
    if args.workloads:
        names = [n.strip() for n in args.workloads.split(",") if n.strip()]
    report = run_bench(
        ops, names, threads=args.threads, repeat=repeat, systems=systems,
        scipy_cap=args.scipy_cap if args.scipy_cap is not None else (1.0 if args.quick else 3.0),
        scipy_samples=1 if args.quick else 3, pause=args.pause / 1e3, burst=args.burst,
        progress=not args.no_progress, dtype=args.dtype)
    report["settings"]["quick"] = bool(args.quick)
    report["argv"] = sys.argv[1:]
    print(format_table(report))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
        print(f"wrote {args.json}", file=sys.stderr)
    if args.plot:
        write_plot(report, args.plot)
        print(f"wrote {args.plot}", file=sys.stderr)
    return 0


# ---------------------------------------------------------------------------


def build_parser():
    p = argparse.ArgumentParser(
        prog="python -m fastconv",
        description="fastconv: build information and benchmarks against NumPy, SciPy, PyTorch.")
    sub = p.add_subparsers(dest="command", metavar="{info,bench,demo}")
    sub.required = True
    pi = sub.add_parser("info", help="build and runtime configuration (OpenMP, SIMD, threads)")
    pi.set_defaults(func=cmd_info)
    pb = sub.add_parser(
        "bench", help="time fastconv against the peers on the standard workloads",
        epilog=BENCH_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    pb.add_argument("--quick", action="store_true",
                    help="3 rounds, SciPy once on 1 image (about a minute on 2 cores)")
    pb.add_argument("--threads", type=int, default=2, metavar="N",
                    help="threads for every system (default 2)")
    pb.add_argument("--ops", default=",".join(OPS),
                    help="comma-separated subset of conv,backward,pool (default: all)")
    pb.add_argument("--json", metavar="FILE", help="write the results as JSON")
    pb.add_argument("--plot", metavar="FILE", help="write a PNG bar chart (needs matplotlib)")
    pb.add_argument("--repeat", type=int, metavar="R",
                    help="alternating rounds per workload (default 7; 3 with --quick)")
    pb.add_argument("--workloads", metavar="NAMES",
                    help="comma-separated workload names (default: all of the chosen ops)")
    pb.add_argument("--systems", metavar="NAMES",
                    help="comma-separated subset of fastconv,torch,numpy,scipy (default: all)")
    pb.add_argument("--scipy-cap", type=float, metavar="S", default=None,
                    help="seconds one SciPy conv call may take; it runs on as many images as "
                         "fit, scaled to the batch (default 1; 3 without --quick)")
    pb.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                    help="element type of every workload (default float32)")
    pb.add_argument("--burst", type=int, default=6, metavar="B",
                    help="calls per turn; the fastest after the first counts (default 6)")
    pb.add_argument("--pause", type=float, default=300.0, metavar="MS",
                    help="sleep before every turn, so that the previous system's spinning "
                         "worker threads have gone to sleep (default 300)")
    pb.add_argument("--no-progress", action="store_true", help="no progress output on stderr")
    pb.add_argument("--suite", choices=("cnn",) + tuple(SUITES), default="cnn",
                    help="cnn: the CNN workload table (default); signal: fastconv.signal vs "
                         "SciPy's best and OpenCV; ndimage: fastconv.ndimage vs SciPy and "
                         "OpenCV; nn: model2 training steps with fastconv.nn vs PyTorch; "
                         "latency: small, batch-1 and first calls vs PyTorch")
    pb.add_argument("--dask-scheduler", choices=("distributed", "threads"),
                    default="distributed",
                    help="--suite dask: a 2-process LocalCluster (default) or dask's threads "
                         "scheduler with 2 threads")
    pb.add_argument("--latency", action="store_true", help="the same as --suite latency")
    pb.set_defaults(func=cmd_bench)
    # demo: its own options, parsed by fastconv.nn.demo (see main)
    sub.add_parser("demo", add_help=False,
                   help="train CNNs with fastconv.nn on real digits and MNIST-1D "
                        "(python -m fastconv demo --help)")
    return p


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["demo"]:
        from fastconv.nn.demo import main as demo_main
        return demo_main(argv[1:])
    args = build_parser().parse_args(argv)
    if getattr(args, "threads", 1) is not None and getattr(args, "threads", 1) < 1:
        print("error: --threads must be >= 1", file=sys.stderr)
        return 2
    if getattr(args, "burst", 1) < 1:
        print("error: --burst must be >= 1", file=sys.stderr)
        return 2
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

"""Latency of small and batch-1 calls, fastconv against PyTorch in one run.

``python -m fastconv bench --latency`` times, alternating fastconv and PyTorch
turn by turn (medians of the turns):

* each op (``conv2d`` 3x3 C -> C padding 1, ``max_pool2d`` 2, ``avg_pool2d`` 2,
  ``conv_backward`` of that conv) on (1, 1, 8, 8), (1, 8, 24, 24), (1, 64, 56, 56);
* the course's small CNN ("model2": conv 5x5 1 -> 8, ReLU, max-pool 2,
  conv 3x3 8 -> 16, ReLU, max-pool 2) forward on one 28x28 image;
* 1-D convolution of 1e5 samples with 15, 255 and 2000 taps: the first call
  of a new shape (fastconv's caches cleared first) and the repeat call.

Examples
--------
>>> from fastconv.bench.latency import latency_cases
>>> [c.name for c in latency_cases()][:2]
['conv2d 1x1x8x8', 'max_pool2d 1x1x8x8']
"""

import gc
import json
import sys
import time
from dataclasses import dataclass

import numpy as np

import fastconv

__all__ = ["latency_cases", "run_latency", "model2_fastconv", "model2_torch"]

SHAPES = ((1, 1, 8, 8), (1, 8, 24, 24), (1, 64, 56, 56))
TAPS = (15, 255, 2000)
SIGNAL = 100_000


@dataclass
class Case:
    """One row of the table: a fastconv call and the same PyTorch call."""

    name: str
    fastconv: object            # () -> result
    torch: object               # () -> result, or None
    first: object = None        # (kind) -> a fresh (fastconv, torch) pair for first calls


def _rng():
    return np.random.default_rng(0)


def model2_weights(dtype=np.float32):
    """Weights and biases of model2 (random, fixed seed)."""
    rng = _rng()
    return (rng.standard_normal((8, 1, 5, 5)).astype(dtype) * 0.2,
            rng.standard_normal(8).astype(dtype) * 0.1,
            rng.standard_normal((16, 8, 3, 3)).astype(dtype) * 0.1,
            rng.standard_normal(16).astype(dtype) * 0.1)


def model2_fastconv(x, params):
    """model2's forward with fastconv (ReLU in NumPy)."""
    w1, b1, w2, b2 = params
    h = fastconv.conv2d(x, w1, b1)
    np.maximum(h, 0, out=h)
    h = fastconv.max_pool2d(h, 2)
    h = fastconv.conv2d(h, w2, b2)
    np.maximum(h, 0, out=h)
    return fastconv.max_pool2d(h, 2)


def model2_torch(x, params):
    """model2's forward with torch.nn.functional (no autograd)."""
    import torch
    import torch.nn.functional as F

    w1, b1, w2, b2 = params
    with torch.no_grad():
        h = F.max_pool2d(F.relu(F.conv2d(x, w1, b1)), 2)
        return F.max_pool2d(F.relu(F.conv2d(h, w2, b2)), 2)


def latency_cases(with_torch=False):
    """The table's rows (PyTorch calls only if ``with_torch``)."""
    torch = F = None
    if with_torch:
        import torch
        import torch.nn.functional as F
    cases = []
    rng = _rng()
    for shape in SHAPES:
        c = shape[1]
        x = rng.standard_normal(shape, dtype=np.float32)
        w = rng.standard_normal((c, c, 3, 3), dtype=np.float32) * 0.1
        g = rng.standard_normal(shape, dtype=np.float32)
        tag = "x".join(map(str, shape))
        if torch is not None:
            xt, wt, gt = torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(g)
        cases += [
            Case(f"conv2d {tag}", lambda x=x, w=w: fastconv.conv2d(x, w, padding=1),
                 (lambda xt=xt, wt=wt: F.conv2d(xt, wt, padding=1)) if torch else None),
            Case(f"max_pool2d {tag}", lambda x=x: fastconv.max_pool2d(x, 2),
                 (lambda xt=xt: F.max_pool2d(xt, 2)) if torch else None),
            Case(f"avg_pool2d {tag}", lambda x=x: fastconv.avg_pool2d(x, 2),
                 (lambda xt=xt: F.avg_pool2d(xt, 2)) if torch else None),
            Case(f"conv_backward {tag}",
                 lambda x=x, w=w, g=g: fastconv.conv_backward(g, x, w, padding=1),
                 (lambda xt=xt, wt=wt, gt=gt, c=c: torch.ops.aten.convolution_backward(
                     gt, xt, wt, [c], [1, 1], [1, 1], [1, 1], False, [0, 0], 1,
                     [True, True, True])) if torch else None),
        ]
    x = rng.standard_normal((1, 1, 28, 28), dtype=np.float32)
    params = model2_weights()
    if torch is not None:
        tparams = tuple(torch.from_numpy(p) for p in params)
        xt = torch.from_numpy(x)
    cases.append(Case("model2 forward 1x1x28x28", lambda: model2_fastconv(x, params),
                      (lambda: model2_torch(xt, tparams)) if torch else None))
    for taps in TAPS:
        for kind in ("first", "repeat"):
            def make(taps=taps, n=SIGNAL):
                # a fresh length each time: a new shape for every cache
                xs = rng.standard_normal((1, 1, n), dtype=np.float32)
                ws = rng.standard_normal((1, 1, taps), dtype=np.float32)
                f = lambda: fastconv.conv1d(xs, ws)     # noqa: E731
                t = None
                if torch is not None:
                    xts, wts = torch.from_numpy(xs), torch.from_numpy(ws)
                    t = lambda: F.conv1d(xts, wts)      # noqa: E731
                return f, t
            f, t = make()
            cases.append(Case(f"conv1d 1e5 x {taps} taps, {kind} call", f, t,
                              first=make if kind == "first" else None))
    return cases


def _per_call(fn, budget):
    """Seconds per call: calls repeated for about ``budget`` seconds."""
    n, t = 1, 0.0
    while True:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        t = time.perf_counter() - start
        if t >= budget or n >= 1 << 16:
            return t / n
        n = max(n * 2, int(n * budget / max(t, 1e-9)) + 1)


def _first_call(make, fresh, which):
    """Time of one first call of a new shape (fastconv's caches cleared)."""
    f, t = make(n=SIGNAL + fresh)
    fn = f if which == 0 else t
    fastconv.clear_caches()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(cases, rounds=7, budget=0.02, progress=True):
    """{name: (fastconv seconds, torch seconds or None)}, medians of
    ``rounds`` alternating turns."""
    out = {}
    for case in cases:
        times = ([], [])
        fns = (case.fastconv, case.torch)
        for r in range(rounds):
            for which in (0, 1):
                if fns[which] is None:
                    continue
                if case.first is not None:
                    times[which].append(_first_call(case.first, 1 + r, which))
                else:
                    if r == 0:
                        fns[which]()        # warm: first calls are timed separately
                    gc.collect()
                    times[which].append(_per_call(fns[which], budget))
        out[case.name] = (float(np.median(times[0])),
                          float(np.median(times[1])) if times[1] else None)
        if progress:
            print(f"  {case.name}", file=sys.stderr)
    return out


def format_table(results, threads):
    lines = [f"latency, {threads} thread(s), medians of alternating turns (us per call)",
             f"{'case':40s} {'fastconv':>12s} {'torch':>12s} {'fc/torch':>9s}"]
    for name, (a, b) in results.items():
        ratio = f"{a / b:9.2f}" if b else f"{'-':>9s}"
        bt = f"{b * 1e6:12.1f}" if b else f"{'-':>12s}"
        lines.append(f"{name:40s} {a * 1e6:12.1f} {bt} {ratio}")
    return "\n".join(lines)


def run_latency(args):
    """``python -m fastconv bench --latency`` (args: threads, repeat, json, no_progress)."""
    from fastconv.bench import baselines

    threads = args.threads
    try:
        import torch  # noqa: F401
        with_torch = True
    except ImportError:
        with_torch = False
    baselines.configure_threads(threads, torch=with_torch)
    results = measure(latency_cases(with_torch), rounds=args.repeat or 7,
                      progress=not args.no_progress)
    print(format_table(results, threads))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"threads": threads, "unit": "seconds",
                       "results": {k: {"fastconv": a, "torch": b}
                                   for k, (a, b) in results.items()}}, f, indent=1)
        print(f"wrote {args.json}", file=sys.stderr)
    return 0

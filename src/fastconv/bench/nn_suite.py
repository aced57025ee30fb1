"""``python -m fastconv bench --suite nn``: training steps and inference of the course's model2.

model2 on 28x28 digits: Conv2d(1, 8, 5) + ReLU + MaxPool2d(2), Conv2d(8, 16, 3) + ReLU +
MaxPool2d(2), Flatten, Linear(400, 10).  One training step is forward, cross-entropy
loss, backward and an Adam step (lr 0.005), for fastconv.nn and for PyTorch (autograd,
``torch.optim.Adam``) from the same weights and batches.  Cases: training steps at
batches 1, 64 and 1,000 and inference of one image (PyTorch under ``torch.no_grad``).

Measurement as the main suite: the two systems alternate, A B A B ..., each turn a
burst of calls after a pause, the median over rounds of each turn's best call after
the first; the ratio is fastconv's time / PyTorch's (< 1: fastconv faster).
"""

import sys
import time

import numpy as np

__all__ = ["CASES", "model2", "torch_model2", "make_case", "run_nn_bench", "format_nn_table"]

CASES = (("train b1", 1, True), ("train b64", 64, True), ("train b1000", 1000, True),
         ("infer b1", 1, False))


def model2(nn, in_hw=28, padding=(0, 0)):
    """The course's model2 built from ``nn`` (``fastconv.nn`` or ``torch.nn``)."""
    s = in_hw + 2 * padding[0] - 4
    s = (s // 2 + 2 * padding[1] - 2) // 2
    return nn.Sequential(
        nn.Conv2d(1, 8, 5, padding=padding[0]), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=padding[1]), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * s * s, 10))


def torch_model2(in_hw=28, padding=(0, 0)):
    import torch

    return model2(torch.nn, in_hw, padding)


def make_case(system, batch, train, seed=0):
    """A zero-argument callable running one step (or inference) of ``system``."""
    from fastconv import nn

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, 1, 28, 28)).astype(np.float32)
    t = rng.integers(0, 10, batch)
    nn.init.manual_seed(seed)
    ours = model2(nn)
    if system == "fastconv":
        if not train:
            ours.eval()
            return lambda: ours(x)
        opt = nn.optim.Adam(ours.parameters(), lr=0.005)
        loss_fn = nn.CrossEntropyLoss()

        def step():
            opt.zero_grad()
            loss_fn(ours(x), t)
            ours.backward(loss_fn.backward(), input_grad=False)
            opt.step()
        return step
    import torch

    tm = torch_model2()
    tm.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    xt, tt = torch.from_numpy(x), torch.from_numpy(t)
    if not train:
        tm.eval()

        def infer():
            with torch.no_grad():
                return tm(xt)
        return infer
    opt = torch.optim.Adam(tm.parameters(), lr=0.005)
    loss_fn = torch.nn.CrossEntropyLoss()

    def tstep():
        opt.zero_grad()
        loss_fn(tm(xt), tt).backward()
        opt.step()
    return tstep


def _turn(fn, burst):
    best = float("inf")
    for i in range(burst):
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        if i > 0 or burst == 1:
            best = min(best, dt)
    return best


def run_nn_bench(threads=2, repeat=7, pause=0.3, burst=None, progress=True, cases=None):
    """Time every case for fastconv and (where installed) PyTorch; returns a dict."""
    from fastconv.bench.baselines import configure_threads

    configure_threads(threads)
    try:
        import torch  # noqa: F401
        systems = ("fastconv", "torch")
    except ImportError:
        systems = ("fastconv",)
    rows = []
    for name, batch, train in CASES:
        if cases and name not in cases:
            continue
        runners = {s: make_case(s, batch, train) for s in systems}
        b = burst or (3 if batch >= 1000 else 20)
        for fn in runners.values():
            fn()
        times = {s: [] for s in systems}
        for r in range(repeat):
            order = systems if r % 2 == 0 else systems[::-1]
            for s in order:
                time.sleep(pause)
                times[s].append(_turn(runners[s], b))
            if progress:
                print(f"\r{name}: round {r + 1}/{repeat}", end="", file=sys.stderr, flush=True)
        if progress:
            print(file=sys.stderr)
        med = {s: float(np.median(v)) for s, v in times.items()}
        rows.append(dict(case=name, batch=batch, train=train, ms={s: 1e3 * v for s, v in
                                                                    med.items()},
                         ratio=(med["fastconv"] / med["torch"]) if "torch" in med else None))
    return dict(suite="nn", threads=threads, repeat=repeat, rows=rows)


def format_nn_table(report):
    lines = [f"model2 (28x28), Adam step = forward + loss + backward + update; "
             f"{report['threads']} threads, medians of {report['repeat']} alternating rounds",
             "", "| case | fastconv ms | torch ms | fastconv / torch |", "|---|---|---|---|"]
    for r in report["rows"]:
        t = r["ms"].get("torch")
        ratio = f"{r['ratio']:.2f}" if r["ratio"] is not None else "-"
        lines.append(f"| {r['case']} | {r['ms']['fastconv']:.3g} | "
                     f"{'-' if t is None else f'{t:.3g}'} | {ratio} |")
    return "\n".join(lines)


def cmd_nn_bench(args):
    """``python -m fastconv bench --suite nn``: uses --threads, --repeat, --pause, --burst,
    --quick, --json and --no-progress of the bench command."""
    import json

    repeat = args.repeat or (3 if args.quick else 7)
    report = run_nn_bench(threads=args.threads, repeat=repeat, pause=args.pause / 1e3,
                          burst=args.burst if args.burst != 6 else None,
                          progress=not args.no_progress)
    report["argv"] = sys.argv[1:]
    print(format_nn_table(report))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
        print(f"wrote {args.json}", file=sys.stderr)
    return 0

"""``python -m fastconv demo``: train the course's CNNs with fastconv.nn on real data.

1. scikit-learn's handwritten digits (``load_digits``: 1,797 real 8x8 images, shipped
   with scikit-learn): the course's fully connected model1 against the convolutional
   model2, adapted to 8x8 inputs, trained with Adam (lr 0.005); validation accuracy
   per epoch for both.
2. MNIST-1D (``mnist1d``: generated offline by ``make_dataset(get_dataset_args())``,
   which downloads and writes nothing): the paper's 1-D CNN against its published
   test accuracies (logistic regression 32 %, MLP 68 %, CNN 94 %, GRU 91 %).

Where PyTorch is installed the same models train in PyTorch from the same initial
weights on the same batches, and the time per epoch is shown side by side.
Nothing is written but the plot (``--plot``) and the JSON report (``--json``).
"""

import argparse
import json
import random
import sys
import time

import numpy as np

__all__ = ["main", "digits_models", "mnist1d_cnn", "load_digits_data", "load_mnist1d_data"]

PAPER_MNIST1D = {"logistic regression": 0.32, "MLP": 0.68, "CNN": 0.94, "GRU": 0.91}


# ------------------------------------------------------------------- models

def digits_models(M, activation="relu"):
    """model1 and model2 for 8x8 digits, built from ``M`` (fastconv.nn or torch.nn).

    model1: the course's 784-200-100-10 network on 64 inputs: Linear(64, 200) + act,
    Linear(200, 100) + act, Linear(100, 10).
    model2: the course's layers unchanged (Conv 5x5 1->8 + ReLU + max-pool 2, Conv 3x3
    8->16 + ReLU + max-pool 2, Dense -> 10), with 'same' zero padding (2 and 1) so
    that 8x8 inputs keep 8x8 and 4x4 planes before the pools (unpadded, the 5x5
    convolution would leave 4x4 and the 3x3 one nothing after the first pool); the
    dense layer sees 16 x 2 x 2 = 64 features instead of 400.
    """
    act = {"relu": M.ReLU, "tanh": M.Tanh}[activation]
    model1 = M.Sequential(M.Linear(64, 200), act(), M.Linear(200, 100), act(),
                          M.Linear(100, 10))
    model2 = M.Sequential(
        M.Conv2d(1, 8, 5, padding=2), M.ReLU(), M.MaxPool2d(2),
        M.Conv2d(8, 16, 3, padding=1), M.ReLU(), M.MaxPool2d(2),
        M.Flatten(), M.Linear(16 * 2 * 2, 10))
    return model1, model2


def mnist1d_cnn(M, channels=25, length=40):
    """The MNIST-1D paper's CNN (its ``ConvBase``): three Conv1d + ReLU (kernels 5, 3, 3,
    stride 2, padding 1, 25 channels), Flatten, Linear(25 * 5, 10)."""
    n = length
    for k in (5, 3, 3):
        n = (n + 2 - k) // 2 + 1
    return M.Sequential(
        M.Conv1d(1, channels, 5, stride=2, padding=1), M.ReLU(),
        M.Conv1d(channels, channels, 3, stride=2, padding=1), M.ReLU(),
        M.Conv1d(channels, channels, 3, stride=2, padding=1), M.ReLU(),
        M.Flatten(), M.Linear(channels * n, 10))


# ------------------------------------------------------------------- data

def load_digits_data(seed=0, val_fraction=0.2):
    """scikit-learn's digits as float32 in [0, 1], split with a fixed seed."""
    from sklearn.datasets import load_digits

    from fastconv.nn.data import train_val_split

    d = load_digits()
    x = (d.data / 16.0).astype(np.float32)
    return train_val_split(x, d.target.astype(np.int64), val_fraction, seed)


def load_mnist1d_data():
    """MNIST-1D generated offline, with the global random states it reseeds restored."""
    from mnist1d.data import get_dataset_args, make_dataset

    # make_dataset seeds the legacy global generators: put them back as they were
    np_state, py_state = np.random.get_state(), random.getstate()  # noqa: NPY002
    try:
        d = make_dataset(get_dataset_args())     # generates in memory: no download, no file
    finally:
        np.random.set_state(np_state)  # noqa: NPY002
        random.setstate(py_state)
    f = np.float32
    return (d["x"].astype(f)[:, None, :], d["y"].astype(np.int64),
            d["x_test"].astype(f)[:, None, :], d["y_test"].astype(np.int64))


# ------------------------------------------------------------------- progress

class _Bar:
    """tqdm where installed, else a one-line counter on stderr."""

    def __init__(self, total, desc, enabled):
        self.enabled, self.total, self.desc, self.n = enabled, total, desc, 0
        self._tqdm = None
        if enabled:
            try:
                from tqdm import tqdm
                self._tqdm = tqdm(total=total, desc=desc, leave=True, file=sys.stderr)
            except ImportError:
                pass

    def update(self, info=""):
        self.n += 1
        if self._tqdm is not None:
            self._tqdm.set_postfix_str(info, refresh=False)
            self._tqdm.update(1)
        elif self.enabled:
            filled = int(30 * self.n / self.total)
            print(f"\r{self.desc} [{'#' * filled}{'.' * (30 - filled)}] {self.n}/{self.total} "
                  f"{info}", end="", file=sys.stderr, flush=True)

    def close(self):
        if self._tqdm is not None:
            self._tqdm.close()
        elif self.enabled:
            print(file=sys.stderr)


# ------------------------------------------------------------------- training

def _train_fastconv(model, data, epochs, batch_size, lr, seed, bar):
    from fastconv import nn
    from fastconv.nn.data import accuracy, batches

    xtr, ytr, xva, yva = data
    opt = nn.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(seed)
    accs, times = [], []
    for _ in range(epochs):
        model.train()
        t0 = time.perf_counter()
        for xb, yb in batches(xtr, ytr, batch_size, rng=rng):
            opt.zero_grad()
            loss_fn(model(xb), yb)
            model.backward(loss_fn.backward(), input_grad=False)
            opt.step()
        times.append(time.perf_counter() - t0)
        accs.append(accuracy(model, xva, yva))
        bar.update(f"acc {accs[-1]:.3f}")
    return accs, times


def _train_torch(model, data, epochs, batch_size, lr, seed, bar):
    import torch

    from fastconv.nn.data import batches

    xtr, ytr, xva, yva = data
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    rng = np.random.default_rng(seed)
    xv, yv = torch.from_numpy(xva), torch.from_numpy(yva)
    accs, times = [], []
    for _ in range(epochs):
        model.train()
        t0 = time.perf_counter()
        for xb, yb in batches(xtr, ytr, batch_size, rng=rng):
            opt.zero_grad()
            loss_fn(model(torch.from_numpy(xb)), torch.from_numpy(yb)).backward()
            opt.step()
        times.append(time.perf_counter() - t0)
        model.eval()
        with torch.no_grad():
            accs.append(float((model(xv).argmax(1) == yv).double().mean()))
        bar.update(f"acc {accs[-1]:.3f}")
    return accs, times


def _run_pair(name, build, data, epochs, batch_size, lr, seed, use_torch, progress):
    """Train ``build(fastconv.nn)`` and, where possible, ``build(torch.nn)`` from the
    same initial weights on the same batches."""
    from fastconv import nn

    nn.init.manual_seed(seed)
    model = build(nn)
    init_state = model.state_dict()
    bar = _Bar(epochs, f"{name} fastconv", progress)
    accs, times = _train_fastconv(model, data, epochs, batch_size, lr, seed, bar)
    bar.close()
    out = {"fastconv": {"val_acc": accs, "epoch_s": times}}
    if use_torch:
        import torch

        tmodel = build(torch.nn)
        tmodel.load_state_dict({k: torch.from_numpy(v) for k, v in init_state.items()})
        bar = _Bar(epochs, f"{name} torch   ", progress)
        taccs, ttimes = _train_torch(tmodel, data, epochs, batch_size, lr, seed, bar)
        bar.close()
        out["torch"] = {"val_acc": taccs, "epoch_s": ttimes}
    return out


# ------------------------------------------------------------------- report

def _median_epoch(r):
    t = r["epoch_s"][1:] or r["epoch_s"]      # the first epoch pays for warm-up
    return float(np.median(t))


def _summary(report):
    lines = []
    for part, key in (("digits (load_digits, validation)", "digits"),
                      ("MNIST-1D (test)", "mnist1d")):
        if key not in report["results"]:
            continue
        lines.append(f"{part}:")
        lines.append(f"  {'model':<10} {'fastconv acc':>12} {'ms/epoch':>9} {'torch acc':>10} "
                     f"{'ms/epoch':>9} {'time ratio':>10}")
        for mname, r in report["results"][key].items():
            f = r["fastconv"]
            row = f"  {mname:<10} {f['val_acc'][-1]:>12.3f} {1e3 * _median_epoch(f):>9.1f}"
            if "torch" in r:
                t = r["torch"]
                row += (f" {t['val_acc'][-1]:>10.3f} {1e3 * _median_epoch(t):>9.1f} "
                        f"{_median_epoch(f) / _median_epoch(t):>10.2f}")
            lines.append(row)
    if "mnist1d" in report["results"]:
        paper = ", ".join(f"{k} {100 * v:.0f} %" for k, v in PAPER_MNIST1D.items())
        acc = report["results"]["mnist1d"]["cnn"]["fastconv"]["val_acc"][-1]
        lines.append(f"  paper (Greydanus 2020): {paper}; fastconv CNN: {100 * acc:.1f} % "
                     f"({100 * (acc - PAPER_MNIST1D['CNN']):+.1f} points vs the paper's CNN)")
    lines.append("time ratio = fastconv ms per epoch / PyTorch ms per epoch (median over "
                 "epochs after the first)")
    return "\n".join(lines)


def _plot(report, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res = report["results"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    ax = axes[0]
    for mname, color in (("model1", "tab:blue"), ("model2", "tab:red")):
        r = res["digits"][mname]
        ep = np.arange(1, len(r["fastconv"]["val_acc"]) + 1)
        ax.plot(ep, r["fastconv"]["val_acc"], color=color, label=f"{mname} fastconv")
        if "torch" in r:
            ax.plot(ep, r["torch"]["val_acc"], color=color, ls="--", alpha=0.6,
                    label=f"{mname} PyTorch")
    ax.set(title="digits (8x8): validation accuracy", xlabel="epoch", ylabel="accuracy")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    ax = axes[1]
    r = res["mnist1d"]["cnn"]
    ep = np.arange(1, len(r["fastconv"]["val_acc"]) + 1)
    ax.plot(ep, r["fastconv"]["val_acc"], color="tab:red", label="CNN fastconv")
    if "torch" in r:
        ax.plot(ep, r["torch"]["val_acc"], color="tab:red", ls="--", alpha=0.6,
                label="CNN PyTorch")
    for (name, acc), c in zip(PAPER_MNIST1D.items(), ("0.6", "0.4", "k", "tab:green")):
        ax.axhline(acc, color=c, ls=":", lw=1)
        # GRU (91 %) and CNN (94 %) lie close: one label above its line, one below
        below = name == "GRU"
        ax.text(ep[-1], acc, f"paper {name} {100 * acc:.0f}%", fontsize=7, color=c,
                va="top" if below else "bottom", ha="right")
    ax.set(title="MNIST-1D: test accuracy", xlabel="epoch", ylabel="accuracy", ylim=(0, 1))
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    ax = axes[2]
    names, fc, tc = [], [], []
    for key, models in res.items():
        for mname, r in models.items():
            names.append(f"{key}\n{mname}")
            fc.append(1e3 * _median_epoch(r["fastconv"]))
            tc.append(1e3 * _median_epoch(r["torch"]) if "torch" in r else np.nan)
    pos = np.arange(len(names))
    ax.bar(pos - 0.2, fc, 0.4, label="fastconv.nn")
    if not np.all(np.isnan(tc)):
        ax.bar(pos + 0.2, tc, 0.4, label="PyTorch")
    ax.set_xticks(pos)
    ax.set_xticklabels(names, fontsize=8)
    n = report['threads']
    ax.set(title=f"time per epoch ({n} thread{'s' if n != 1 else ''})", ylabel="ms")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ------------------------------------------------------------------- command line

def build_parser():
    p = argparse.ArgumentParser(
        prog="python -m fastconv demo",
        description="Train the course's CNNs with fastconv.nn on real digits (scikit-learn's "
                    "load_digits) and on MNIST-1D, against PyTorch where installed.")
    p.add_argument("--quick", action="store_true",
                   help="10 digits epochs, 30 MNIST-1D epochs: about 20 s on one core")
    p.add_argument("--plot", default="fastconv_demo.png", metavar="PATH",
                   help="PNG plot to write (default fastconv_demo.png; needs matplotlib)")
    p.add_argument("--no-plot", action="store_true", help="write no plot")
    p.add_argument("--json", metavar="PATH", help="write final accuracies, curves and times")
    p.add_argument("--no-torch", action="store_true", help="do not train the PyTorch twins")
    p.add_argument("--threads", type=int, default=1, metavar="N",
                   help="threads for fastconv and PyTorch alike (default 1: the models are "
                        "small, 8x8 images and 40-sample signals, and a second thread's "
                        "hand-offs cost more than they save, most of all on a shared machine)")
    p.add_argument("--activation", choices=("relu", "tanh"), default="relu",
                   help="hidden activation of model1 (default relu)")
    p.add_argument("--epochs", type=int, default=None, metavar="E",
                   help="digits epochs (default 30; 10 with --quick)")
    p.add_argument("--mnist1d-epochs", type=int, default=None, metavar="E",
                   help="MNIST-1D epochs of 40 batches of 100 (default 150 = the paper's "
                        "6,000 steps; 30 with --quick)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        import mnist1d  # noqa: F401
        import sklearn  # noqa: F401
    except ImportError as e:
        print(f"error: the demo needs scikit-learn and mnist1d ({e.name} is missing): "
              f"pip install 'fastconv[demo]'", file=sys.stderr)
        return 2
    import fastconv

    if args.threads < 1:
        print("error: --threads must be >= 1", file=sys.stderr)
        return 2
    fastconv.set_num_threads(args.threads)
    threads = fastconv.get_num_threads()
    use_torch = not args.no_torch
    if use_torch:
        try:
            import torch
            torch.set_num_threads(threads)
        except ImportError:
            use_torch = False
    plot = None if args.no_plot else args.plot
    if plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            print("note: matplotlib is not installed; no plot", file=sys.stderr)
            plot = None
    epochs = args.epochs or (10 if args.quick else 30)
    m1d_epochs = args.mnist1d_epochs or (30 if args.quick else 150)
    progress = not args.no_progress
    t_start = time.perf_counter()

    digits = load_digits_data(args.seed)
    results = {"digits": {}, "mnist1d": {}}
    for i, mname in enumerate(("model1", "model2")):
        def build(M, i=i, mname=mname):
            return digits_models(M, args.activation)[i]
        data = digits if mname == "model1" else \
            (digits[0].reshape(-1, 1, 8, 8), digits[1], digits[2].reshape(-1, 1, 8, 8),
             digits[3])
        results["digits"][mname] = _run_pair(f"digits {mname}", build, data, epochs, 64,
                                             0.005, args.seed, use_torch, progress)
    m1d = load_mnist1d_data()
    results["mnist1d"]["cnn"] = _run_pair("MNIST-1D CNN", mnist1d_cnn, m1d, m1d_epochs, 100,
                                          0.01, args.seed, use_torch, progress)
    report = {
        "fastconv": fastconv.__version__, "threads": threads, "quick": bool(args.quick),
        "settings": {"digits": {"epochs": epochs, "batch_size": 64, "optimizer": "Adam",
                                "lr": 0.005, "train": len(digits[0]), "val": len(digits[2]),
                                "split_seed": args.seed, "model1_activation": args.activation},
                     "mnist1d": {"epochs": m1d_epochs, "batch_size": 100, "optimizer": "Adam",
                                 "lr": 0.01, "train": len(m1d[0]), "test": len(m1d[2])}},
        "paper_mnist1d_test_acc": PAPER_MNIST1D,
        "results": results,
        "final": {f"{k}/{m}/{s}": r[s]["val_acc"][-1] for k, ms in results.items()
                  for m, r in ms.items() for s in r},
        "ms_per_epoch": {f"{k}/{m}/{s}": 1e3 * _median_epoch(r[s]) for k, ms in results.items()
                         for m, r in ms.items() for s in r},
        "total_s": time.perf_counter() - t_start,
    }
    print(_summary(report))
    if plot:
        _plot(report, plot)
        print(f"wrote {plot}", file=sys.stderr)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

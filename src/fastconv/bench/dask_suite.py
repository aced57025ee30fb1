"""``python -m fastconv bench --suite dask``: fastconv on dask arrays against dask-image.

On one ``distributed.LocalCluster`` (2 worker processes x 1 thread, the issue's setting)
and the same persisted data and chunks for both systems:

* ``conv5x5``: a 4096x4096 float32 image in 1024x1024 chunks, 5x5 convolution with
  ``scipy.ndimage``'s 'reflect' border: ``dask_image.ndfilters.convolve`` against
  ``fastconv.ndimage.convolve``; ``conv5x5_cnn``: against the CNN op
  ``fastconv.conv2d(..., padding=2, padding_mode='symmetric', flip=True)``.
* ``gauss_s3``: the same image, sigma-3 Gaussian (``truncate=4``: 25 taps):
  ``dask_image.ndfilters.gaussian_filter`` against ``fastconv.ndimage.gaussian_filter``;
  ``gauss_s3_1d``: against two 1-D passes of fastconv.conv with scipy.ndimage's kernel
  in one halo exchange of fastconv's dask engine per chunk.
* ``model2``: inference of the course's CNN (``fastconv.bench.nn_suite.model2``, eval
  mode) over 20,000 28x28 float32 images in chunks of 2,000: ``model(x_dask)`` against
  the same weights in PyTorch mapped over the same chunks (skipped without torch).

A timed call builds the graph and materialises the result on the workers (``persist`` +
``wait``; nothing is gathered on the client); ``--dask-scheduler threads`` times the
same in this process with dask's threads scheduler (2 threads).  ``--workloads`` picks
some of the workloads.  The systems alternate A B A B; the table gives the median
over rounds and the ratio fastconv / peer (< 1: fastconv faster), the ratio of the
fastest rounds (``best``: on a machine shared with other work the least disturbed
round of each), and the largest
difference between the two results (relative to the peer's largest magnitude);
``--json`` also keeps every round's time (``times_s``).  This process collects its
garbage before each timed call, outside the timing (see ``_timed``).
"""

import gc
import statistics
import sys
import time

import numpy as np

__all__ = ["gaussian_kernel1d", "make_workloads", "run_dask_bench", "format_dask_table",
           "cmd_dask_bench"]


def gaussian_kernel1d(sigma, truncate=4.0):
    """scipy.ndimage.gaussian_filter's 1-D kernel (order 0), float64."""
    radius = int(truncate * float(sigma) + 0.5)
    t = np.arange(-radius, radius + 1, dtype=np.float64)
    k = np.exp(-0.5 / (sigma * sigma) * t * t)
    return k / k.sum()


def _fastconv_conv5(x, w5):
    import fastconv

    w = w5.astype(np.float32)[None, None]
    return fastconv.conv2d(x[None, None], w, padding=2, padding_mode="symmetric",
                           flip=True)[0, 0]


def _gauss_block(block, pads, k):
    import fastconv

    # the block carries its 'reflect' halo on both axes: two valid 1-D passes
    r = k.size // 2
    y = fastconv.conv2d(block, k.reshape(1, 1, -1, 1))[0, 0]
    y = fastconv.conv1d(y[:, None, :], k.reshape(1, 1, -1))[:, 0, :]
    assert y.shape == (block.shape[2] - 2 * r, block.shape[3] - 2 * r)
    return y[None, None]


def _gauss_inner(block, pads, k):
    import fastconv

    # a chunk without its halo: zero padding stands in for it (the engine recomputes
    # the bands of outputs that read it)
    (a0, b0), (a1, b1) = pads
    y = fastconv.conv2d(block, k.reshape(1, 1, -1, 1), padding=((a0, b0), (0, 0)))[0, 0]
    y = fastconv.conv1d(y[:, None, :], k.reshape(1, 1, -1), padding=((a1, b1),))[:, 0, :]
    return y[None, None]


def _fastconv_gauss(x, sigma):
    """Two 1-D passes of fastconv.conv (down the columns with a k x 1 kernel, then
    along the rows with the rows as conv1d's batch) in one halo exchange of the
    fastconv dask engine: the CNN ops' way to the same filter (``fastconv.ndimage``'s
    runs both passes in one kernel call per chunk); each chunk is read with a 12-pixel
    (4 sigma) 'symmetric' halo (scipy.ndimage's 'reflect')."""
    from fastconv._dask._engine import Axis, sliding, user_threads

    k = gaussian_kernel1d(sigma).astype(np.float32)
    r = k.size // 2
    axes = [Axis(n, k.size, 1, r, r, n) for n in x.shape]
    # x goes in as (*spatial): the engine gives the blocks as (1, 1, *spatial) views
    return sliding(x, axes, "symmetric", _gauss_block, 1, np.float32,
                   threads=user_threads(), call_kwargs={"k": k}, inner=_gauss_inner)


def _torch_block(b, state):
    import torch

    from fastconv.bench.nn_suite import torch_model2

    torch.set_num_threads(1)
    m = torch_model2()
    m.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    m.eval()
    with torch.no_grad():
        return m(torch.from_numpy(np.ascontiguousarray(b))).numpy()


def _persist(client, a):
    """``a`` materialised: on the workers, or in this process (threads scheduler)."""
    if client is None:
        return a.persist(scheduler="threads")
    return client.persist(a)


def make_workloads(client, quick=False):
    """name -> (description, {system: zero-argument function returning a lazy array});
    ``client`` None: the data lives in this process (the threads scheduler)."""
    import dask.array as da

    n, c = (2048, 512) if quick else (4096, 1024)
    image = da.random.default_rng(0).random((n, n), dtype=np.float32, chunks=c)
    image = _persist(client, image)
    w5 = np.random.default_rng(1).standard_normal((5, 5)).astype(np.float32)
    out = {}
    try:
        from dask_image import ndfilters
    except ImportError:
        ndfilters = None
    from fastconv import ndimage

    conv = {"fastconv": lambda: ndimage.convolve(image, w5, mode="reflect")}
    cnn = {"fastconv": lambda: _fastconv_conv5(image, w5)}
    gauss = {"fastconv": lambda: ndimage.gaussian_filter(image, 3.0, mode="reflect")}
    gauss2 = {"fastconv": lambda: _fastconv_gauss(image, 3.0)}
    if ndfilters is not None:
        for d in (conv, cnn):
            d["dask-image"] = lambda: ndfilters.convolve(image, w5, mode="reflect")
        for d in (gauss, gauss2):
            d["dask-image"] = lambda: ndfilters.gaussian_filter(image, 3.0, mode="reflect")
    out["conv5x5"] = (f"{n}^2 f32, {c}^2 chunks: ndimage.convolve", conv)
    out["conv5x5_cnn"] = (f"{n}^2 f32, {c}^2 chunks: conv2d", cnn)
    out["gauss_s3"] = (f"{n}^2 f32, {c}^2 chunks: gaussian_filter", gauss)
    out["gauss_s3_1d"] = (f"{n}^2 f32, {c}^2 chunks: 2 conv passes", gauss2)

    from fastconv import nn
    from fastconv.bench.nn_suite import model2

    count, per = (4000, 500) if quick else (20000, 2000)
    imgs = da.random.default_rng(2).random((count, 1, 28, 28), dtype=np.float32,
                                           chunks=(per, 1, 28, 28))
    imgs = _persist(client, imgs)
    nn.init.manual_seed(0)
    ours = model2(nn)
    ours.eval()
    systems = {"fastconv": lambda: ours(imgs)}
    try:
        import torch  # noqa: F401

        state = {k: np.asarray(v) for k, v in ours.state_dict().items()}
        systems["torch"] = lambda: imgs.map_blocks(_torch_block, state, chunks=(per, 10),
                                                   drop_axis=[2, 3], dtype=np.float32)
    except ImportError:
        pass
    out["model2"] = (f"{count} 28x28 images, chunks of {per}", systems)
    return out


def _task_count(client):
    if client is None:
        return 0
    return client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks))


def _timed(client, make, keep=False, baseline=None, workers=2):
    """Seconds to materialise ``make()`` on the workers (``client`` None: with the
    threads scheduler, ``workers`` threads, in this process).  Unless kept, the result is
    released and the scheduler drained back to ``baseline`` tasks, so that the next call
    (same keys) computes again instead of finding the result in memory.

    This process collects its garbage first, outside the timing (``timeit`` turns the
    collector off for the same reason): it also runs the LocalCluster's scheduler,
    whose full collections grow to 100-150 ms over a run and would land in whichever
    system's call happens to cross the collector's threshold."""
    gc.collect()
    if client is None:
        t = time.perf_counter()
        y = make().persist(scheduler="threads", num_workers=workers)
        dt = time.perf_counter() - t
        return dt, (y if keep else None)
    from distributed import wait

    t = time.perf_counter()
    y = client.persist(make())
    wait(y)
    dt = time.perf_counter() - t
    if keep:
        return dt, y
    del y
    deadline = time.perf_counter() + 10
    while _task_count(client) > baseline and time.perf_counter() < deadline:
        time.sleep(0.02)
    return dt, None


def run_dask_bench(repeat=5, quick=False, progress=True, workers=2, scheduler="distributed",
                   names=None):
    """``scheduler``: 'distributed' (a LocalCluster of ``workers`` processes x 1 thread)
    or 'threads' (dask's local threads scheduler with ``workers`` threads, the data in
    this process).  ``names``: the workloads to run (default all)."""
    if scheduler not in ("distributed", "threads"):
        raise ValueError(f"scheduler must be 'distributed' or 'threads', got {scheduler!r}")
    cluster = client = None
    if scheduler == "distributed":
        from distributed import Client, LocalCluster

        cluster = LocalCluster(n_workers=workers, processes=True, threads_per_worker=1,
                               dashboard_address=None)
        client = Client(cluster)
    rows = []
    try:
        workloads = make_workloads(client, quick)
        unknown = set(names or ()) - set(workloads)
        if unknown:
            raise ValueError(f"unknown dask workloads {sorted(unknown)}; "
                             f"known: {sorted(workloads)}")
        for name, (desc, systems) in workloads.items():
            if names and name not in names:
                continue
            times = {s: [] for s in systems}
            base = _task_count(client)
            for make in systems.values():              # warm-up: imports, plans
                _timed(client, make, baseline=base, workers=workers)
            names_ = list(systems)
            for r in range(repeat):
                order = names_ if r % 2 == 0 else names_[::-1]
                for s in order:
                    dt, _ = _timed(client, systems[s], baseline=base, workers=workers)
                    times[s].append(dt)
                if progress:
                    print(f"  {name} round {r + 1}/{repeat}", file=sys.stderr)
            med = {s: statistics.median(v) for s, v in times.items()}
            best = {s: min(v) for s, v in times.items()}
            peer = next((s for s in names_ if s != "fastconv"), None)
            diff = None
            results = {s: _timed(client, systems[s], keep=True, workers=workers)[1]
                       for s in names_}
            if peer is not None:
                import dask
                import dask.array as da

                d = da.abs(results["fastconv"] - results[peer]).max()
                m = da.abs(results[peer]).max()
                d, m = (client.compute([d, m], sync=True) if client is not None
                        else dask.compute(d, m, scheduler="threads"))
                diff = float(d) / float(m)
            del results
            rows.append({"workload": name, "desc": desc, "median_s": med, "peer": peer,
                         "ratio": med["fastconv"] / med[peer] if peer else None,
                         "best_s": best, "times_s": times,
                         "ratio_best": best["fastconv"] / best[peer] if peer else None,
                         "max_rel_diff": diff})
    finally:
        if client is not None:
            client.close()
            cluster.close()
    return {"rows": rows, "workers": workers, "repeat": repeat, "scheduler": scheduler}


def format_dask_table(report):
    where = (f"LocalCluster: {report['workers']} worker processes x 1 thread"
             if report.get("scheduler", "distributed") == "distributed" else
             f"threads scheduler: {report['workers']} threads")
    lines = [f"{where}; median of {report['repeat']} rounds (A B A B); "
             f"ratio = fastconv / peer (< 1: faster); best: ratio of the fastest rounds",
             f"{'workload':<12} {'data':<40} {'fastconv s':>10} {'peer':>11} {'peer s':>8} "
             f"{'ratio':>6} {'best':>5} {'max diff':>9}"]
    for r in report["rows"]:
        peer = r["peer"] or "-"
        ps = f"{r['median_s'][r['peer']]:.3f}" if r["peer"] else "-"
        ratio = f"{r['ratio']:.2f}" if r["ratio"] is not None else "-"
        rbest = f"{r['ratio_best']:.2f}" if r.get("ratio_best") is not None else "-"
        diff = f"{r['max_rel_diff']:.1e}" if r["max_rel_diff"] is not None else "-"
        lines.append(f"{r['workload']:<12} {r['desc']:<40} {r['median_s']['fastconv']:>10.3f} "
                     f"{peer:>11} {ps:>8} {ratio:>6} {rbest:>5} {diff:>9}")
    return "\n".join(lines)


def cmd_dask_bench(args):
    """``python -m fastconv bench --suite dask``: uses --repeat, --quick, --json and
    --no-progress of the bench command."""
    import json

    try:
        import distributed  # noqa: F401
    except ImportError:
        print("error: the dask suite needs dask[array,distributed] "
              "(pip install 'fastconv[dask]')", file=sys.stderr)
        return 2
    names = [w for w in (getattr(args, "workloads", None) or "").split(",") if w] or None
    try:
        report = run_dask_bench(repeat=args.repeat or (3 if args.quick else 5),
                                quick=args.quick, progress=not args.no_progress,
                                scheduler=getattr(args, "dask_scheduler", "distributed"),
                                names=names)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    report["argv"] = sys.argv[1:]
    print(format_dask_table(report))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
        print(f"wrote {args.json}", file=sys.stderr)
    return 0

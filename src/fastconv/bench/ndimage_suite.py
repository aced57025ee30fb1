"""``python -m fastconv bench --suite ndimage``: fastconv.ndimage against
scipy.ndimage and OpenCV on the image filters of issue 20.

Cases (float32): a 2048x2048 image through convolve 5x5 'reflect',
gaussian_filter sigma 3, uniform_filter 9 and maximum_filter 3, and a
(128, 128, 128) volume through gaussian_filter sigma 2.  OpenCV runs the same
filter with the matching border (BORDER_REFLECT = ndimage 'reflect'):
filter2D, GaussianBlur, blur, dilate; it has no 3-D filter.

Every system gets the same thread count (SciPy's filters are single-threaded).
The systems take turns, A B C A B C..., each turn after a pause (``--pause``,
default 300 ms: the previous system's spinning worker threads go to sleep) and
of ``--burst`` calls (the fastest after the first counts); each time is the
median of its turns, so that a noisy neighbour slows all of them alike.
"""

import json
import statistics
import sys
import time

import numpy as np

SYSTEMS = ("fastconv", "scipy", "opencv")


def _cases():
    rng = np.random.default_rng(0)
    img = rng.standard_normal((2048, 2048)).astype(np.float32)
    vol = rng.standard_normal((128, 128, 128)).astype(np.float32)
    w5 = rng.standard_normal((5, 5))
    return [
        ("convolve 5x5", img, "convolve", dict(weights=w5)),
        ("gaussian s=3", img, "gaussian_filter", dict(sigma=3.0)),
        ("uniform 9", img, "uniform_filter", dict(size=9)),
        ("maximum 3", img, "maximum_filter", dict(size=3)),
        ("gaussian 3-D s=2", vol, "gaussian_filter", dict(sigma=2.0)),
    ]


def _opencv_runner(cv2, func, x, kw):
    border = cv2.BORDER_REFLECT
    if x.ndim != 2:
        return None
    if func == "convolve":
        # filter2D correlates: flip the kernel for a convolution
        k = np.ascontiguousarray(kw["weights"][::-1, ::-1], dtype=np.float32)
        return lambda: cv2.filter2D(x, -1, k, borderType=border)
    if func == "gaussian_filter":
        r = int(4.0 * kw["sigma"] + 0.5)
        return lambda: cv2.GaussianBlur(x, (2 * r + 1, 2 * r + 1), kw["sigma"],
                                        borderType=border)
    if func == "uniform_filter":
        s = kw["size"]
        return lambda: cv2.blur(x, (s, s), borderType=border)
    if func == "maximum_filter":
        s = kw["size"]
        return lambda: cv2.dilate(x, np.ones((s, s), np.uint8), borderType=border)
    return None


def _runners(systems, x, func, kw, threads):
    out = {}
    for name in systems:
        if name == "fastconv":
            import fastconv
            from fastconv import ndimage

            fastconv.set_num_threads(threads)
            f = getattr(ndimage, func)
            out[name] = (lambda f=f: f(x, **kw))
        elif name == "scipy":
            try:
                from scipy import ndimage as snd
            except ImportError:
                continue
            f = getattr(snd, func)
            out[name] = (lambda f=f: f(x, **kw))
        elif name == "opencv":
            try:
                import cv2
            except ImportError:
                continue
            cv2.setNumThreads(threads)
            r = _opencv_runner(cv2, func, x, kw)
            if r is not None:
                out[name] = r
    return out


def _turn(r, burst):
    """One turn: ``burst`` calls, the fastest after the first."""
    ts = []
    for _ in range(max(burst, 1)):
        t0 = time.perf_counter()
        r()
        ts.append(time.perf_counter() - t0)
    return min(ts[1:]) if len(ts) > 1 else ts[0]


def run(threads=2, repeat=7, systems=SYSTEMS, progress=True, pause=0.3, burst=4):
    """Time every case; returns a list of {case, times (s) per system}.

    Each turn sleeps ``pause`` seconds first, so that the worker threads of the
    system that ran before (OpenMP's and OpenCV's spin after their work) have
    gone to sleep and do not compete with the one being timed."""
    rows = []
    for label, x, func, kw in _cases():
        runners = _runners(systems, x, func, kw, threads)
        for r in runners.values():
            r()  # warm up: first-touch pages, thread pools, imports
        times = {name: [] for name in runners}
        for _ in range(repeat):
            for name, r in runners.items():
                time.sleep(pause)
                times[name].append(_turn(r, burst))
        rows.append({"case": label, "shape": list(x.shape), "func": func,
                     "times": {k: statistics.median(v) for k, v in times.items()}})
        if progress:
            print(f"  {label}: done", file=sys.stderr)
    return rows


def format_table(rows, threads):
    lines = [f"fastconv.ndimage vs scipy.ndimage and OpenCV, float32, {threads} threads, "
             "medians of alternating turns",
             f"{'case':18} {'fastconv':>10} {'scipy':>10} {'opencv':>10} "
             f"{'fc/scipy':>9} {'fc/opencv':>10}"]
    ratios_cv = []
    for row in rows:
        t = row["times"]
        fc, sp, cv = t.get("fastconv"), t.get("scipy"), t.get("opencv")

        def ms(v):
            return f"{v * 1e3:8.2f}ms" if v is not None else f"{'-':>10}"

        r_sp = f"{fc / sp:9.3f}" if fc and sp else f"{'-':>9}"
        r_cv = f"{fc / cv:10.3f}" if fc and cv else f"{'-':>10}"
        if fc and cv:
            ratios_cv.append(fc / cv)
        lines.append(f"{row['case']:18} {ms(fc)} {ms(sp)} {ms(cv)} {r_sp} {r_cv}")
    if ratios_cv:
        g = float(np.exp(np.mean(np.log(ratios_cv))))
        lines.append(f"geomean fastconv/opencv over the 2-D cases: {g:.3f}")
    return "\n".join(lines)


def main(args):
    """Entry point of ``python -m fastconv bench --suite ndimage``."""
    threads = args.threads
    repeat = args.repeat or (3 if args.quick else 7)
    systems = SYSTEMS
    if args.systems:
        systems = tuple(s.strip() for s in args.systems.split(",") if s.strip())
        bad = [s for s in systems if s not in SYSTEMS]
        if bad:
            print(f"error: unknown system(s) {', '.join(bad)}; the ndimage suite has "
                  f"{', '.join(SYSTEMS)}", file=sys.stderr)
            return 2
    pause, burst = args.pause / 1e3, args.burst
    rows = run(threads, repeat, systems, progress=not args.no_progress, pause=pause,
               burst=burst)
    print(format_table(rows, threads))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"suite": "ndimage", "threads": threads, "repeat": repeat,
                       "pause_s": pause, "burst": burst, "argv": sys.argv[1:],
                       "rows": rows}, f, indent=1)
        print(f"wrote {args.json}", file=sys.stderr)
    return 0

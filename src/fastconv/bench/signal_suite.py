"""``python -m fastconv bench --suite signal``: fastconv.signal against SciPy's best.

Each workload is one call of ``fastconv.signal`` against every SciPy call that gives
the same result (the same function, and ``fftconvolve``/``oaconvolve`` where the
maths allows), all under ``scipy.fft.set_workers(threads)``; SciPy's fastest is
"SciPy best".  OpenCV's ``cv2.filter2D`` is a column on the 2-D workloads when it
is installed.  Systems alternate call by call; medians over rounds; ratios are
fastconv time / peer time (< 1: fastconv faster).
"""

import math
import time

import numpy as np

__all__ = ["WORKLOADS", "SYSTEMS", "signal_runner", "run_signal_suite", "format_signal_table"]

SYSTEMS = ("fastconv", "scipy.convolve", "scipy.fftconvolve", "scipy.oaconvolve",
           "opencv.filter2D")


def _rng():
    return np.random.default_rng(0)


def _make_1d(taps):
    def make():
        r = _rng()
        return r.standard_normal(1_000_000), r.standard_normal(taps)
    return make


def _make_rows():
    r = _rng()
    return (r.standard_normal((64, 65536), dtype=np.float32),
            r.standard_normal((1, 255), dtype=np.float32))


def _make_matched():
    r = _rng()
    x = (r.standard_normal(1 << 20) + 1j * r.standard_normal(1 << 20)).astype(np.complex64)
    h = (r.standard_normal(512) + 1j * r.standard_normal(512)).astype(np.complex64)
    return x, h


def _make_img(k):
    def make():
        r = _rng()
        return (r.standard_normal((2048, 2048), dtype=np.float32),
                r.standard_normal((k, k), dtype=np.float32))
    return make


# name -> (description, make inputs, function, mode, axes for the SciPy FFT calls)
WORKLOADS = {
    "conv1d_k16": ("float64 1e6 x 16 taps 'same'", _make_1d(16), "convolve", "same", None),
    "conv1d_k128": ("float64 1e6 x 128 taps 'same'", _make_1d(128), "convolve", "same", None),
    "conv1d_k2048": ("float64 1e6 x 2048 taps 'same'", _make_1d(2048), "convolve", "same",
                     None),
    "fir_rows_k255": ("float32 (64, 65536) x 255-tap FIR, last axis 'same'", _make_rows,
                      "convolve", "same", -1),
    "matched_c64": ("complex64 1M-sample matched filter, correlate 512 taps 'valid'",
                    _make_matched, "correlate", "valid", None),
    "img_5x5": ("float32 2048x2048 x 5x5 'same'", _make_img(5), "convolve", "same", None),
    "img_31x31": ("float32 2048x2048 x 31x31 'same'", _make_img(31), "convolve", "same", None),
}


def _scipy_calls(func, mode, axes):
    import scipy.signal as ss

    def rev(h):
        r = h[(slice(None, None, -1),) * h.ndim]
        return np.conj(r) if np.iscomplexobj(r) else r

    calls = {f"scipy.{func}": lambda x, h: getattr(ss, func)(x, h, mode)}
    # fftconvolve/oaconvolve give the same result (a correlation as the
    # convolution with the reversed, conjugated kernel)
    k = (lambda h: rev(h)) if func == "correlate" else (lambda h: h)
    calls["scipy.fftconvolve"] = lambda x, h: ss.fftconvolve(x, k(h), mode, axes=axes)
    calls["scipy.oaconvolve"] = lambda x, h: ss.oaconvolve(x, k(h), mode, axes=axes)
    return calls


def _cv2_call():
    try:
        import cv2
    except ImportError:
        return None

    def call(x, h):
        # filter2D correlates; flip for a convolution; zero border = 'same' of SciPy
        # for odd kernels
        return cv2.filter2D(x, -1, np.ascontiguousarray(h[::-1, ::-1]),
                            borderType=cv2.BORDER_CONSTANT)
    return call


def signal_runner(name, system, threads=2):
    """A no-argument callable running workload ``name`` on ``system``; raises
    NotImplementedError where that system is not installed or does not apply
    (asv skips such cases)."""
    desc, make, func, mode, axes = WORKLOADS[name]
    x, h = make()
    if system == "fastconv":
        import fastconv
        from fastconv import signal

        fastconv.set_num_threads(threads)
        return lambda: getattr(signal, func)(x, h, mode)
    if system.startswith("scipy."):
        try:
            import scipy.fft as sfft
        except ImportError:
            raise NotImplementedError("SciPy is not installed") from None
        # "scipy.convolve" is the same call as fastconv's (scipy.correlate for a
        # correlation workload)
        key = f"scipy.{func}" if system == "scipy.convolve" else system
        call = _scipy_calls(func, mode, axes)[key]

        def run():
            with sfft.set_workers(threads):
                return call(x, h)
        return run
    if system == "opencv.filter2D":
        cv = _cv2_call()
        if cv is None:
            raise NotImplementedError("OpenCV is not installed")
        if not name.startswith("img"):
            raise NotImplementedError("filter2D is a 2-D filter")
        import cv2
        cv2.setNumThreads(threads)
        return lambda: cv(x, h)
    raise NotImplementedError(f"unknown system {system!r}")


def _time_once(fn, x, h):
    t = time.perf_counter()
    fn(x, h)
    return time.perf_counter() - t


def run_signal_suite(names=None, threads=2, repeat=5, progress=True, scipy_cap=20.0, burst=3):
    """Time every workload; returns a report dict (see format_signal_table)."""
    import sys

    import fastconv
    from fastconv import signal

    fastconv.set_num_threads(threads)
    try:
        import scipy.fft as sfft
        have_scipy = True
    except ImportError:
        have_scipy = False
    cv2_call = _cv2_call()
    if cv2_call is not None:
        import cv2
        cv2.setNumThreads(threads)
    rows = []
    for name, (desc, make, func, mode, axes) in WORKLOADS.items():
        if names and name not in names:
            continue
        x, h = make()
        systems = {"fastconv": lambda a, b, f=func, m=mode: getattr(signal, f)(a, b, m)}
        if have_scipy:
            systems.update(_scipy_calls(func, mode, axes))
        if cv2_call is not None and name.startswith("img"):
            systems["opencv.filter2D"] = cv2_call
        ref = systems["fastconv"](x, h)
        times = {s: [] for s in systems}
        ctx = sfft.set_workers(threads) if have_scipy else _null()
        with ctx:
            for s, fn in systems.items():            # warm-up, and a cap on slow calls
                t = _time_once(fn, x, h)
                if t > scipy_cap and s != "fastconv":
                    times[s] = [t]
            for r in range(repeat):
                order = list(systems)
                order = order[r % len(order):] + order[:r % len(order)]
                for s in order:
                    if len(times[s]) == 1 and times[s][0] > scipy_cap:
                        continue
                    # the fastest of a short burst: the first call after another
                    # system's wakes this one's threads
                    times[s].append(min(_time_once(systems[s], x, h) for _ in range(burst)))
        med = {s: float(np.median(v)) for s, v in times.items()}
        row = {"name": name, "description": desc, "fastconv": med["fastconv"]}
        sp = {s: t for s, t in med.items() if s.startswith("scipy")}
        if sp:
            best = min(sp, key=sp.get)
            row.update(scipy_best=sp[best], scipy_best_call=best, scipy_all=sp)
            row["error_vs_scipy"] = _rel_err(ref, systems[best](x, h))
        if "opencv.filter2D" in med:
            row["opencv"] = med["opencv.filter2D"]
        rows.append(row)
        if progress:
            print(f"  {name}: done", file=sys.stderr)
    return {"threads": threads, "repeat": repeat, "burst": burst, "rows": rows}


def _rel_err(a, b):
    a = np.asarray(a, dtype=np.complex128)
    b = np.asarray(b, dtype=np.complex128)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def format_signal_table(report):
    lines = ["| workload | fastconv ms | SciPy best ms (call) | OpenCV ms | fastconv/SciPy "
             "| fastconv/OpenCV |", "|---|---|---|---|---|---|"]
    ratios = []
    for r in report["rows"]:
        sp = r.get("scipy_best")
        cv = r.get("opencv")
        ratio = r["fastconv"] / sp if sp else None
        if ratio:
            ratios.append(ratio)
        lines.append(
            f"| {r['name']} | {r['fastconv'] * 1e3:.2f} | "
            + (f"{sp * 1e3:.2f} ({r['scipy_best_call']})" if sp else "-") + " | "
            + (f"{cv * 1e3:.2f}" if cv else "-") + " | "
            + (f"{ratio:.3f}" if ratio else "-") + " | "
            + (f"{r['fastconv'] / cv:.3f}" if cv else "-") + " |")
    if ratios:
        g = math.exp(sum(math.log(v) for v in ratios) / len(ratios))
        lines.append(f"\ngeomean fastconv/SciPy-best: {g:.3f} (worst {max(ratios):.3f}), "
                     f"{report['threads']} threads, medians of {report['repeat']} rounds")
    return "\n".join(lines)


def cmd_signal(args):
    """Entry point from ``python -m fastconv bench --suite signal``."""
    import json

    names = None
    if args.workloads:
        names = [n.strip() for n in args.workloads.split(",") if n.strip()]
    repeat = args.repeat or (3 if args.quick else 7)
    report = run_signal_suite(names, threads=args.threads, repeat=repeat,
                              progress=not args.no_progress, burst=min(args.burst, 3))
    print(format_signal_table(report))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    return 0

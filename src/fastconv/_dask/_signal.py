"""Lazy fastconv.signal: in1 chunked along any axes, in2 small and in memory.

Output chunk ``[a, b)`` along an axis with a kernel of ``k`` taps reads
``in1[a - lo, b - lo + k - 1)`` (the halo, ``k - 1``), zero-padded where it
leaves the array (``lo = k - 1`` for 'full', ``k - 1 - (k - 1) // 2`` for
'same', 0 for 'valid'), and is the 'valid' convolution of that block: the
direct method gives the same sums in the same order as the in-memory call (the
same bits); the FFT methods become overlap-save across chunks (each block's own
FFTs), within the FFT's norm-wise bound.  method='auto' is resolved once from
the shapes (the data's dynamic range, which the in-memory call also looks at,
is unknown before computing).
"""

import types

import dask.array as da
import numpy as np

from fastconv._dask import _engine as E
from fastconv._dask import is_dask


def _geometry(n, k, mode):
    if mode == "full":
        return k - 1, k - 1, n + k - 1
    if mode == "same":
        st = (k - 1) // 2
        return k - 1 - st, st, n
    return 0, 0, n - k + 1


def _block(block, pads, public, in2, kw):
    b = block[0, 0]
    if any(lo or hi for lo, hi in pads):
        b = np.pad(b, pads)
    return public(b, in2, mode="valid", **kw)[None, None]


def _whole(public, in1, in2, mode, kw):
    """Fallback: one block (lazy, but not parallel)."""
    in1 = in1.rechunk(-1)
    a1 = np.zeros((1,) * in1.ndim, in1.dtype)
    meta = public(a1, np.zeros((1,) * np.ndim(in2), getattr(in2, "dtype", float)),
                  mode=mode, **kw)
    in2d = E.as_dask(in2).rechunk(-1)
    full = [n + k - 1 for n, k in zip(in1.shape, in2d.shape)]
    if mode == "same":
        shape = in1.shape
    elif mode == "valid":
        shape = tuple(abs(n - k) + 1 for n, k in zip(in1.shape, in2d.shape))
    else:
        shape = tuple(full)
    return da.map_blocks(lambda a, b: public(a, b, mode=mode, **kw), in1, in2d,
                         chunks=tuple((s,) for s in shape), dtype=meta.dtype,
                         meta=np.empty((0,) * len(shape), meta.dtype))


def _resolve_method(in1, in2, mode, method):
    if method != "auto":
        return method
    from fastconv.signal import _predict

    dt = np.result_type(in1.dtype, in2.dtype)
    if dt.kind not in "fc":
        return "direct"
    v = types.SimpleNamespace(shape=in1.shape, dtype=in1.dtype)
    k = types.SimpleNamespace(shape=in2.shape, dtype=in2.dtype)
    direct, fft = _predict(v, k, mode)
    return "fft" if fft < direct else "direct"


def _run(public, p, method_key):
    in1, in2, mode = p["in1"], p["in2"], p["mode"]
    kw = {}
    if method_key == "method":
        kw["method"] = p["method"]
    else:
        kw["axes"] = p["axes"]
    if is_dask(in2) or not is_dask(in1):
        return _whole(public, E.as_dask(in1), in2, mode, kw)
    in2 = np.asarray(in2)
    if in1.ndim != in2.ndim or in1.ndim == 0 or mode not in ("full", "same", "valid"):
        # the in-memory call's own error, on stand-ins of the same ranks
        public(np.zeros((1,) * in1.ndim, in1.dtype), in2, mode=mode, **kw)
    conv_axes = set(range(in1.ndim))
    if kw.get("axes") is not None:
        conv_axes = {a % in1.ndim for a in np.atleast_1d(kw["axes"])}
        if any(in2.shape[a] != 1 for a in range(in1.ndim) if a not in conv_axes):
            return _whole(public, in1, in2, mode, kw)
    if mode == "valid" and any(n < k for n, k in zip(in1.shape, in2.shape)):
        return _whole(public, in1, in2, mode, kw)   # SciPy's input swap
    if in2.size == 0 or in1.size == 0:
        return _whole(public, in1, in2, mode, kw)
    if "method" in kw:
        kw["method"] = _resolve_method(in1, in2, mode, kw["method"])
    meta = public(np.zeros(in2.shape, in1.dtype), in2, mode="valid", **kw)
    axes = []
    for n, k in zip(in1.shape, in2.shape):
        lo, hi, out = _geometry(n, k, mode)
        axes.append(E.Axis(n, k, 1, lo, hi, out))
    return E.sliding(in1, axes, "zeros", _block, 1, meta.dtype, threads=E.user_threads(),
                     call_kwargs=dict(public=public, in2=in2, kw=kw))


def convolve(public, p):
    return _run(public, p, "method")


def correlate(public, p):
    return _run(public, p, "method")


def fftconvolve(public, p):
    return _run(public, p, "axes")


def oaconvolve(public, p):
    return _run(public, p, "axes")

"""Lazy fastconv.signal: in1 chunked along any axes; in2 in memory or a dask array.

An in-memory in2 (the kernel, broadcast to every block): output chunk ``[a, b)``
along an axis with a kernel of ``k`` taps reads ``in1[a - lo, b - lo + k - 1)`` (the
halo, ``k - 1``), zero-padded where it leaves the array (``lo = k - 1`` for 'full',
``k - 1 - (k - 1) // 2`` for 'same', 0 for 'valid'), and is the 'valid' convolution
of that block: the direct method gives the same sums in the same order as the
in-memory call (the same bits); the FFT methods become overlap-save across chunks
(each block's own FFTs), within the FFT's norm-wise bound.

A dask in2 (it may be as large as in1; it is never gathered into one block): overlap-add
over both inputs' chunks (``_pairs``).  The full convolution of in1's chunk ``i`` with
in2's chunk ``j`` is computed once and added into every output chunk it reaches, in a
fixed order (a chain of tasks, one piece each: memory per task is one piece and one
output chunk).  Integers: the in-memory call's bits (wrapping sums are the same sum
in any order).  Floats: every sum is partitioned otherwise, so per element within the
direct bound ``2 sqrt(K) eps conv(|in1|, |in2|)`` (method='direct'), or within the
FFT's norm-wise bound per piece, ``c eps sum_ij |in1_i| |in2_j|`` (FFT methods): not
the same bits.  Pass a NumPy in2 for the bits of the direct sums.  Bool results and
empty inputs run as one block (lazy).

``axes=`` with a kernel per row (in2's other axes not all 1, or a dask in2): blocks
of rows of both inputs, whole along the convolved axes (``_per_row``).

method='auto' is resolved once from the shapes (the data's dynamic range, which the
in-memory call also looks at, is unknown before computing).
"""

import functools
import math
import types

import dask
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


# ------------------------------------------------------------------ axes=: a kernel per row

def _per_row(public, in1, in2, mode, kw):
    """fftconvolve/oaconvolve with ``axes=`` and an in2 that is not one kernel for
    every row (its other axes are not all 1), or a dask in2: the axes not convolved
    pair in1's and in2's rows (or broadcast a length of 1), so the blocks are the
    in-memory call on rows of both, whole along the convolved axes (each row's
    transforms are the whole call's: its values within the FFT's bound, as the whole
    call is).  Neither input is gathered into one block; in1's chunks along the
    convolved axes are merged (the other axes rechunked by dask's "auto", so that a
    block stays near dask's chunk size)."""
    from fastconv._sigmodes import normalize_axes
    from fastconv.signal import _fft_axes

    in2 = E.as_dask(in2)
    nd = in1.ndim
    if in1.size == 0 or in2.size == 0:
        return _whole(public, in1, in2, mode, kw)
    # the in-memory call's checks of the shapes (its errors), then its dtype rules on
    # stand-ins with the real lengths of the rows' axes
    _fft_axes(in1.shape, in2.shape, mode, kw["axes"])
    axes = set(normalize_axes(kw["axes"], nd))
    if mode == "same":
        # SciPy centres every axis on in1's length, the broadcast ones too: where in1 has
        # one row against several of in2, the result is in2's middle row's
        for a in range(nd):
            if a not in axes and in1.shape[a] == 1 < in2.shape[a]:
                c = (in2.shape[a] - 1) // 2
                in2 = in2[(slice(None),) * a + (slice(c, c + 1),)]
    probe = public(np.zeros(tuple(n if a not in axes else 1 for a, n in enumerate(in1.shape)),
                            in1.dtype),
                   np.zeros(tuple(n if a not in axes else 1 for a, n in enumerate(in2.shape)),
                            in2.dtype), mode=mode, **kw)
    # the result's chunks: along a row axis those of the input that has the rows (the
    # other has one, broadcast), cut smaller by dask ("auto") where a block, whole
    # along the convolved axes, would pass dask's chunk size; along a convolved axis
    # one chunk of the mode's length
    shape, chunks = [], []
    for a in range(nd):
        n, k = in1.shape[a], in2.shape[a]
        if a in axes:
            shape.append(n + k - 1 if mode == "full" else n if mode == "same"
                         else abs(n - k) + 1)
            chunks.append(-1)
        else:
            shape.append(max(n, k))
            chunks.append((in1 if n >= k else in2).chunks[a])
    block = probe.dtype.itemsize * math.prod(
        max(c) if a not in axes else in1.shape[a] + in2.shape[a] for a, c in enumerate(chunks))
    if block > dask.utils.parse_bytes(dask.config.get("array.chunk-size")):
        chunks = ["auto" if a not in axes else -1 for a in range(nd)]
    chunks = da.core.normalize_chunks(tuple(chunks), tuple(shape), dtype=probe.dtype)

    def aligned(x):
        return x.rechunk({a: (chunks[a] if a not in axes and x.shape[a] > 1 else -1)
                          for a in range(nd)})

    in1, in2 = aligned(in1), aligned(in2)
    threads = E.user_threads()
    return da.map_blocks(_rows_block, in1, in2, public=public, mode=mode, kw=kw,
                         threads=threads, chunks=chunks, dtype=probe.dtype,
                         meta=np.empty((0,) * nd, probe.dtype))


def _rows_block(a, b, public, mode, kw, threads):
    with E.task_threads(threads):
        return public(a, b, mode=mode, **kw)


# ------------------------------------------------------------------ a dask in2

def _full_range(n, k, mode):
    """(start, length) of the result within the full convolution of lengths n, k (the
    'valid' result of the larger input against the smaller, SciPy's swap)."""
    if mode == "full":
        return 0, n + k - 1
    if mode == "same":
        return (k - 1) // 2, n
    return min(n, k) - 1, abs(n - k) + 1


def _stand_in(n, k):
    """Tiny lengths with the same order relation and the same ones as (n, k)."""
    if n == k:
        return (1, 1) if n == 1 else (2, 2)
    if n > k:
        return (3, 1) if k == 1 else (4, 2)
    return (1, 3) if n == 1 else (2, 4)


def _bounds(chunks, out, limit):
    """Output chunk boundaries at an input's chunk boundaries, within [0, out], a chunk
    longer than ``limit`` (the inputs' largest chunk: 'full' adds k - 1 outputs after
    in1's last chunk) cut into equal parts."""
    b, p = {0, out}, 0
    for c in chunks[:-1]:
        p += c
        b.add(min(p, out))
    b = sorted(b)
    res = []
    for lo, hi in zip(b[:-1], b[1:]):
        parts = -(-(hi - lo) // limit)
        cuts = [lo + (hi - lo) * t // parts for t in range(parts + 1)]
        res += [(u, v) for u, v in zip(cuts[:-1], cuts[1:]) if v > u]
    return res


def _pair(a, b, public, kw, threads):
    """The full convolution (correlation) of one chunk of in1 with one chunk of in2."""
    with E.task_threads(threads):
        return public(a, b, mode="full", **kw)


def _accumulate(*args, shape, cuts, acc_dtype, dtype, first, last):
    """Add pieces (slices ``src`` of each) into ``dst`` of an output chunk, in the
    order given; the chain's first step starts from zeros, its last casts."""
    if first:
        acc = np.zeros(shape, acc_dtype)
        pieces = args
    else:
        acc = args[0].copy()
        pieces = args[1:]
    for piece, (dst, src) in zip(pieces, cuts):
        acc[dst] += piece[src]
    return acc.astype(dtype, copy=False) if last else acc


def _pairs(public, in1, in2, mode, kw, correlate):
    """Overlap-add over the chunks of both inputs: the full convolution of in1's chunk
    i with in2's chunk j lands at ``p_i + q_j`` of the full result (``p_i + K - q_j -
    k_j`` for a correlation, whose in2 is reversed); each output chunk adds the pieces
    that reach it, in a fixed order (so the result does not depend on timing), one
    piece per task of a chain (memory per task: one piece and one output chunk).

    Integers: exact (wrapping sums are a sum in any order).  Floats: another partition
    of every sum (and, for FFT methods, each piece's own transform), so within the
    direct sum's bound ``2 sqrt(K) eps conv(|in1|, |in2|)`` per element or the FFT's
    norm-wise bound, not the same bits.  Returns None where the in-memory call's result
    shape for this pattern of sizes is not the one this geometry gives (the caller then
    runs one block)."""
    import itertools

    from dask.highlevelgraph import HighLevelGraph
    from dask.tokenize import tokenize

    nd = in1.ndim
    # in2 chunks smaller than in1's merged up to in1's largest chunk (fewer pairs, each
    # task still no larger than the inputs' chunks)
    merge = {ax: max(in1.chunks[ax]) for ax in range(nd)
             if len(in2.chunks[ax]) > 1 and max(in2.chunks[ax]) < max(in1.chunks[ax])}
    if merge:
        in2 = in2.rechunk(merge)
    shapes = [_stand_in(n, k) for n, k in zip(in1.shape, in2.shape)]
    probe = public(np.zeros(tuple(s[0] for s in shapes), in1.dtype),
                   np.zeros(tuple(s[1] for s in shapes), in2.dtype), mode=mode, **kw)
    if probe.shape != tuple(_full_range(a, b, mode)[1] for a, b in shapes):
        return None
    dtype = probe.dtype
    if dtype.kind not in "iufc":
        return None
    acc_dtype = dtype if dtype.kind in "iu" else np.result_type(dtype, np.float64)
    K = in2.shape
    ranges = [_full_range(n, k, mode) for n, k in zip(in1.shape, K)]
    out_chunks = []
    for ax in range(nd):
        # in1's boundaries (in2's for a swapped 'valid', or with in1 in one chunk)
        swapped = mode == "valid" and in1.shape[ax] < K[ax]
        src = in1 if len(in1.chunks[ax]) > 1 and not swapped else in2
        limit = max(max(in1.chunks[ax]), max(in2.chunks[ax]))
        out_chunks.append(_bounds(src.chunks[ax], ranges[ax][1], limit))

    def offsets(chunks):
        return np.concatenate(([0], np.cumsum(chunks)[:-1])).astype(int).tolist()

    # per axis: the pieces (i, j) with their place [lo, hi) in the full result
    places = []
    for ax in range(nd):
        p1, p2 = offsets(in1.chunks[ax]), offsets(in2.chunks[ax])
        per = []
        for i, (p, c) in enumerate(zip(p1, in1.chunks[ax])):
            for j, (q, k) in enumerate(zip(p2, in2.chunks[ax])):
                off = p + (K[ax] - q - k if correlate else q)
                per.append(((i, j), off, off + c + k - 1))
        places.append(per)
    threads = E.user_threads()
    token = tokenize(in1, in2, mode, kw, correlate, threads, public)
    pname, name = f"fastconv-sigpair-{token}", f"fastconv-sigadd-{token}"
    dsk = {}
    for oidx in itertools.product(*[range(len(oc)) for oc in out_chunks]):
        box = [(ranges[ax][0] + out_chunks[ax][o][0], ranges[ax][0] + out_chunks[ax][o][1])
               for ax, o in enumerate(oidx)]
        per_axis = []
        for ax, (lo, hi) in enumerate(box):
            per_axis.append([(ij, slice(max(a, lo) - lo, min(b, hi) - lo),
                              slice(max(a, lo) - a, min(b, hi) - a))
                             for ij, a, b in places[ax] if a < hi and b > lo])
        steps = []
        for combo in itertools.product(*per_axis):
            i = tuple(c[0][0] for c in combo)
            j = tuple(c[0][1] for c in combo)
            pkey = (pname,) + i + j
            if pkey not in dsk:
                dsk[pkey] = (_pair, (in1.name,) + i, (in2.name,) + j, public, kw, threads)
            steps.append((pkey, tuple(c[1] for c in combo), tuple(c[2] for c in combo)))
        shape = tuple(hi - lo for lo, hi in box)
        prev = None
        for t, (pkey, dst, src) in enumerate(steps):
            last = t == len(steps) - 1
            key = (name,) + oidx if last else (f"{name}-step{t}",) + oidx
            fn = functools.partial(_accumulate, shape=shape, cuts=((dst, src),),
                                   acc_dtype=acc_dtype, dtype=dtype, first=prev is None,
                                   last=last)
            dsk[key] = (fn, pkey) if prev is None else (fn, prev, pkey)
            prev = key
        if prev is None:        # no piece reaches it (cannot happen in these modes)
            dsk[(name,) + oidx] = (np.zeros, shape, dtype)
    graph = HighLevelGraph.from_collections(name, dsk, dependencies=[in1, in2])
    chunks = tuple(tuple(hi - lo for lo, hi in oc) for oc in out_chunks)
    return da.Array(graph, name, chunks, meta=np.empty((0,) * nd, dtype))


def _resolve_method(in1, in2, mode, method):
    if method != "auto":
        return method
    from fastconv.signal import _predict

    dt = np.result_type(in1.dtype, in2.dtype)
    if dt.kind not in "fc":
        return "direct"
    v = types.SimpleNamespace(shape=in1.shape, dtype=in1.dtype)
    k = types.SimpleNamespace(shape=in2.shape, dtype=in2.dtype)
    if mode == "valid" and any(n < m for n, m in zip(in1.shape, in2.shape)):
        v, k = k, v         # SciPy's swap, as the in-memory call makes it first
    direct, fft = _predict(v, k, mode)
    return "fft" if fft < direct else "direct"


def _run(public, p, method_key, correlate=False):
    in1, in2, mode = p["in1"], p["in2"], p["mode"]
    kw = {}
    if method_key == "method":
        kw["method"] = p["method"]
    else:
        kw["axes"] = p["axes"]
    if is_dask(in2):
        return _dask_kernel(public, p, kw, correlate)
    if not is_dask(in1):
        return _whole(public, E.as_dask(in1), in2, mode, kw)
    in2 = np.asarray(in2)
    if in1.ndim != in2.ndim or in1.ndim == 0 or mode not in ("full", "same", "valid"):
        # the in-memory call's own error, on stand-ins of the same ranks
        public(np.zeros((1,) * in1.ndim, in1.dtype), in2, mode=mode, **kw)
    if kw.get("axes") is not None:
        conv_axes = {a % in1.ndim for a in np.atleast_1d(kw["axes"])}
        if any(in2.shape[a] != 1 for a in range(in1.ndim) if a not in conv_axes):
            return _per_row(public, in1, in2, mode, kw)
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
    return _run(public, p, "method", correlate=True)


def fftconvolve(public, p):
    return _run(public, p, "axes")


def oaconvolve(public, p):
    return _run(public, p, "axes")


def _dask_kernel(public, p, kw, correlate):
    """A dask ``in2`` (never computed on the client, however large): overlap-add over
    both inputs' chunks (``_pairs``); one block (lazy) for the rare calls it does not
    cover (0-d or empty inputs, ``axes=``, bool/object results)."""
    in1, in2, mode = E.as_dask(p["in1"]), p["in2"], p["mode"]
    if in1.ndim != in2.ndim or in1.ndim == 0 or mode not in ("full", "same", "valid"):
        # the in-memory call's own error (or its 0-d product), on stand-ins
        public(np.zeros((1,) * in1.ndim, in1.dtype), np.zeros((1,) * in2.ndim, in2.dtype),
               mode=mode, **kw)
        return _whole(public, in1, in2, mode, kw)
    if in1.size == 0 or in2.size == 0:
        return _whole(public, in1, in2, mode, kw)
    if kw.get("axes") is not None:
        return _per_row(public, in1, in2, mode, kw)
    if "method" in kw:
        kw["method"] = _resolve_method(in1, in2, mode, kw["method"])
    y = _pairs(public, in1, in2, mode, kw, correlate)
    return y if y is not None else _whole(public, in1, in2, mode, kw)

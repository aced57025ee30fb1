"""FFT convolution with bounded memory (overlap-save) for :mod:`fastconv.signal`.

``fft_convolve(x, w, axes, ranges, dtype)`` returns the part ``[start, start +
length)`` of the full linear convolution along each axis of ``axes``;
the other axes broadcast (sizes equal or 1), as in SciPy's ``fftconvolve``.

One transformed axis with a kernel that is one line, or two with a kernel that
is one plane, run on fastconv's own transforms (``_fft_kernels``, fc_fft.h):
power-of-two blocks (1-D) or tiles (2-D), a vector's width of them at a time,
one per SIMD lane; the block size minimises a model of the butterflies with a
measured penalty for big buffers.  They need neither SciPy nor numpy.fft.

Everything else runs on pocketfft, as follows.  One axis (the one where a cost
model of the transforms says cutting saves most, counting a cache penalty for
big blocks) may be cut into blocks: each block of ``N`` input samples gives
``N - k + 1`` outputs of a circular convolution (overlap-save), so the
temporaries are a few blocks, never the whole padded signal, and the input is
only read by slices (memory-mapped inputs stay on disk).  ``N`` minimises a
cost model of the transforms (``N log N`` per ``N - k + 1`` outputs).  Blocks
are transformed in groups; groups run on a thread pool, so every part of the
work (copy in, transforms, products, copy out) uses all threads.  The block
split does not depend on the thread count, so neither do the bits.

Backend: ``scipy.fft`` when it is installed, otherwise ``numpy.fft``.  Both are
pocketfft and both compute float32 in float32 (NumPy >= 2); SciPy's vectorises
across the lines of a multi-axis transform (2-D blocks of 243 x 2080 float32:
2.2 ms of CPU against NumPy's 3.0) and takes ``workers``, which the one-block
path uses.  Without SciPy the results are the same to rounding (tested).  Real
inputs use real-input transforms.
"""

import concurrent.futures
import math

import numpy as np

from fastconv import _alloc
from fastconv._config import current_isa, get_num_threads

try:
    from fastconv import _fft_kernels
except ImportError:     # pragma: no cover - a build without the extension
    _fft_kernels = None

try:
    import scipy.fft as _sfft
except ImportError:     # pragma: no cover - exercised without SciPy
    _sfft = None

# elements (of the compute dtype) of one group of blocks
_GROUP_BUDGET = 1 << 20
# largest block we let one transform have, in elements, when cutting
_BLOCK_MAX = 1 << 22
# blocks (with their broadcast axes) past this many elements fall out of cache:
# measured on 2048x2048 float32 x 31x31, blocks of 128-256 rows (0.27-0.53 M
# elements) took 38 ms of CPU, 512 rows 44 ms, 1024 rows 68 ms, one transform 72
_BLOCK_CACHE = 640 * 1024
# smallest overlap-save block, in elements (shorter blocks cost more in calls
# and copies than they save)
_MIN_BLOCK = 512
# per-element overhead of a block, in units of one butterfly (copy in/out, product)
_OVERHEAD = 6.0


def backend():
    """'scipy.fft' or 'numpy.fft'."""
    return "scipy.fft" if _sfft is not None else "numpy.fft"


def next_fast_len(n, real=True):
    if _sfft is not None:
        return _sfft.next_fast_len(n, real)
    return _next_smooth(n)


def _next_smooth(n):
    """Smallest 2^a 3^b 5^c >= n (numpy.fft is fast on those)."""
    if n <= 6:
        return max(n, 1)
    best = 1 << (n - 1).bit_length()
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            q = -(-n // p35)
            p2 = 1 << (q - 1).bit_length()
            best = min(best, p2 * p35)
            p35 *= 3
        p5 *= 5
    return best


def _transforms(complex_, workers):
    if _sfft is not None:
        if complex_:
            return (lambda a, s, ax: _sfft.fftn(a, s, ax, workers=workers),
                    lambda a, s, ax: _sfft.ifftn(a, s, ax, workers=workers))
        return (lambda a, s, ax: _sfft.rfftn(a, s, ax, workers=workers),
                lambda a, s, ax: _sfft.irfftn(a, s, ax, workers=workers))
    if complex_:
        return np.fft.fftn, np.fft.ifftn
    return np.fft.rfftn, np.fft.irfftn


def _min_size(n1, n2, start, length):
    """Smallest circular size whose outputs [start, start + length) are alias-free."""
    return max(start + length, n1 + n2 - 1 - start, 1)


def fft_convolve(x, w, axes, ranges, dtype):
    """Linear convolution of x and w along ``axes``; ``ranges[i] = (start, length)``
    for ``axes[i]``.  Non-axes broadcast.  Result in ``dtype`` (the compute dtype)."""
    dtype = np.dtype(dtype)
    complex_ = dtype.kind == "c"
    out_shape = [max(a, b) for a, b in zip(x.shape, w.shape)]
    for a, (_, n) in zip(axes, ranges):
        out_shape[a] = n
    out = _alloc.empty(out_shape, dtype)
    if out.size == 0:
        return out
    if not axes:
        np.multiply(x, w, out=out, dtype=dtype, casting="unsafe")
        return out
    nthreads = get_num_threads()
    rdt = dtype if not complex_ else np.dtype(dtype.char.lower())
    if _lanes(x, w, axes, ranges, dtype, out, nthreads) or \
            _lanes2(x, w, axes, ranges, dtype, out, nthreads):
        return out

    # the axis to cut into blocks and its block size
    sizes = {a: next_fast_len(_min_size(x.shape[a], w.shape[a], s, n), not complex_)
             for a, (s, n) in zip(axes, ranges)}
    plan = _choose_blocks(x, w, axes, ranges, sizes, complex_)
    if plan is None:
        _single(x, w, axes, ranges, sizes, out, complex_, nthreads)
        return out
    c, nblk, swap = plan
    if swap:
        x, w = w, x
    _blocked(x, w, axes, ranges, sizes, c, nblk, out, complex_, rdt, nthreads)
    return out


def _choose_blocks(x, w, axes, ranges, sizes, complex_):
    """(axis, block size, swap) for overlap-save, or None for one transform.

    Cost model, in element-butterflies: one transform of the whole padded
    array costs three transforms (both inputs and the inverse); blocks cost two
    per block (input and inverse) plus one of the kernel at the block's size.
    Blocks also keep the working set in cache, which the model does not count,
    so ties go to blocks."""
    best = None
    total = math.prod(sizes.values())
    batch = math.prod(max(p, q) for i, (p, q) in enumerate(zip(x.shape, w.shape))
                      if i not in axes)
    one_shot = 3 * total * (math.log2(max(total, 2)) + _OVERHEAD) * _cache_penalty(total * batch)
    for a, (_, n) in zip(axes, ranges):
        k = min(x.shape[a], w.shape[a])
        other = total // sizes[a]
        nmin = next_fast_len(max(2 * k, -(-_MIN_BLOCK // (other * batch))), not complex_)
        cand = nmin
        while cand < sizes[a]:
            step = cand - k + 1
            nb = -(-n // step)
            per = other * cand * (math.log2(cand * other) + _OVERHEAD)
            cost = (2 * nb + 1) * per * _cache_penalty(cand * other * batch)
            fits = cand * other <= _BLOCK_MAX
            if (best is None or cost < best[0]) and (fits or cand == nmin):
                best = (cost, a, cand, x.shape[a] < w.shape[a])
            cand = next_fast_len(int(cand * 1.25) + 1, not complex_)
    if best is None:
        return None
    if best[0] > one_shot and total <= 4 * _BLOCK_MAX:
        return None
    return best[1], best[2], best[3]


def _cache_penalty(elements):
    return 1.0 if elements <= _BLOCK_CACHE else 1.5


def _single(x, w, axes, ranges, sizes, out, complex_, nthreads):
    fwd, inv = _transforms(complex_, nthreads)
    shape = [sizes[a] for a in axes]
    rdt = out.dtype if not complex_ else np.dtype(out.dtype.char.lower())
    xa = _as_compute(x, out.dtype, complex_, rdt)
    wa = _as_compute(w, out.dtype, complex_, rdt)
    spec = fwd(xa, shape, axes) * fwd(wa, shape, axes)
    r = inv(spec, shape, axes)
    sl = [slice(None)] * x.ndim
    for a, (s, n) in zip(axes, ranges):
        sl[a] = slice(s, s + n)
    out[...] = r[tuple(sl)]


def _imul(a, b):
    a *= b
    return a


def _as_compute(a, dtype, complex_, rdt):
    if complex_:
        return a.astype(dtype if np.iscomplexobj(a) else rdt, copy=False)
    return a.astype(rdt, copy=False)


def _span_copy(x, c, i0, span, dtype):
    """x[i0:i0 + span] along axis c in ``dtype``, zero outside the input."""
    n = x.shape[c]
    shape = list(x.shape)
    shape[c] = span
    buf = np.empty(shape, dtype=dtype)
    c0, c1 = min(max(0, i0), i0 + span), max(min(n, i0 + span), i0)
    pre = (slice(None),) * c
    buf[pre + (slice(0, max(c0 - i0, 0)),)] = 0
    buf[pre + (slice(max(c1 - i0, c0 - i0), span),)] = 0
    if c1 > c0:
        buf[pre + (slice(c0 - i0, c1 - i0),)] = x[pre + (slice(c0, c1),)]
    return buf


def _blocked(x, w, axes, ranges, sizes, c, N, out, complex_, rdt, nthreads):
    """Overlap-save along axis c with circular size N."""
    k = w.shape[c]
    n = x.shape[c]
    start, length = dict(zip(axes, ranges))[c]
    step = N - k + 1
    nblocks = -(-length // step)
    fshape = [N if a == c else sizes[a] for a in axes]
    faxes = [a + 1 for a in axes]
    seg_shape = list(x.shape)
    seg_shape[c] = N
    per_block = math.prod(fshape) * max(1, math.prod(
        s for a, s in enumerate(out.shape) if a not in axes))
    group = max(1, min(nblocks, _GROUP_BUDGET // max(per_block, 1)))
    if nthreads > 1:
        group = max(1, min(group, -(-nblocks // (2 * nthreads))))
    # the blocks that reach past either end of the input (they read a padded copy)
    # form groups of their own, so that the others read the input in place
    b_lo = min(nblocks, max(0, -(-(k - 1 - start) // step)))
    b_hi = max(b_lo, min(nblocks, (n - N - start + k - 1) // step + 1))
    groups = [(b, min(b_hi, b + group)) for b in range(b_lo, b_hi, group)]
    groups = ([(0, b_lo)] if b_lo else []) + groups + \
        [(b, min(nblocks, b + group)) for b in range(b_hi, nblocks, group)]
    pool_threads = min(nthreads, len(groups))
    fwd, inv = _transforms(complex_, 1 if pool_threads > 1 else nthreads)
    wdt = out.dtype if (complex_ and np.iscomplexobj(w)) else rdt
    wspec = fwd(w.astype(wdt, copy=False)[None], fshape, faxes)
    xdt = out.dtype if (complex_ and np.iscomplexobj(x)) else rdt
    crop = [slice(None)] * (x.ndim + 1)
    for a, (s, nn) in zip(axes, ranges):
        if a != c:
            crop[a + 1] = slice(s, s + nn)
    crop[c + 1] = slice(k - 1, k - 1 + step)

    def run(b0, b1):
        g = b1 - b0
        # the group's input span (zero outside the input), then one window per block
        i0 = start + b0 * step - k + 1
        span = (g - 1) * step + N
        if i0 >= 0 and i0 + span <= n and x.dtype == xdt:
            # inside the input: the transforms read the windows in place
            buf = x[(slice(None),) * c + (slice(i0, i0 + span),)]
        else:
            buf = _span_copy(x, c, i0, span, xdt)
        win = np.lib.stride_tricks.sliding_window_view(buf, N, axis=c)
        win = win[(slice(None),) * c + (slice(None, None, step),)]   # (.., g, .., N)
        seg = np.moveaxis(win, c, 0)                                   # (g, .., N)
        seg = np.moveaxis(seg, -1, c + 1)                              # (g, .., N at c, ..)
        spec = fwd(seg, fshape, faxes)
        spec = spec * wspec if spec.shape != np.broadcast_shapes(spec.shape, wspec.shape) \
            else _imul(spec, wspec)
        r = inv(spec, fshape, faxes)[tuple(crop)]                      # (g, .., step at c, ..)
        o0, o1 = b0 * step, min(length, b1 * step)
        full = (o1 - o0) // step
        if full:
            # the outputs of the whole blocks, written straight into ``out`` seen
            # as (.., block, step, ..)
            ov = out[(slice(None),) * c + (slice(o0, o0 + full * step),)]
            ov = np.lib.stride_tricks.as_strided(
                ov, ov.shape[:c] + (full, step) + ov.shape[c + 1:],
                ov.strides[:c] + (step * ov.strides[c], ov.strides[c]) + ov.strides[c + 1:],
                writeable=True)
            ov[...] = np.moveaxis(r[:full], 0, c)
        rem = o1 - o0 - full * step
        if rem:
            out[(slice(None),) * c + (slice(o1 - rem, o1),)] = \
                r[full][(slice(None),) * c + (slice(0, rem),)]

    if pool_threads <= 1:
        for b0, b1 in groups:
            run(b0, b1)
        return
    with concurrent.futures.ThreadPoolExecutor(pool_threads) as ex:
        for f in [ex.submit(run, b0, b1) for b0, b1 in groups]:
            f.result()


# ---------------------------------------------------------------- lanes path
# One transformed axis and a kernel that is one line (1-D signals, rows of a
# 2-D array): fc_fft.h's power-of-two transforms, a vector's width of blocks
# at a time (two axes: _lanes2 below).  Everything else (three or more axes,
# kernels that vary along a broadcast axis, sizes past _LANES_NMAX or
# _LANES2_MAX) stays on pocketfft above.

# largest block (one lane); larger kernels go to pocketfft
_LANES_NMAX = 1 << 16
# cost factor of a group's buffer (N elements x 2 parts x lanes) by its size in
# bytes: the transform's long stages pass over the whole buffer (its short ones
# run in L1-sized chunks).  Measured on a Zen 4 core (1 MB L2), AVX-512: float32
# rows x 255 taps took 9.9, 12.0, 16.8, 21.5 ms with 256 K, 512 K, 1 M, 2 M
# buffers for 1, 1.05, 1.12, 1.33 of modelled butterflies
_LANES_PENALTY = ((256 << 10, 1.0), (512 << 10, 1.15), (1 << 20, 1.5), (2 << 20, 1.75))
# per-element cost of a block beyond its butterflies (gather, product, scatter),
# in units of one radix-2 butterfly level
_LANES_OVERHEAD = 3.0
_TWIDDLES = {}
_TWIDDLES_MAX = 8     # tables of 2^16 float64 are 1 MB


def _lanes_level():
    return min({"avx512": 2, "avx2": 1}.get(current_isa(), 0), _fft_kernels.simd_levels())


def _twiddles(N, rdt):
    """fc_fft_body.h's twiddle table for size N (a small bounded cache)."""
    key = (N, rdt.char)
    tw = _TWIDDLES.get(key)
    if tw is None:
        lg = N.bit_length() - 1
        parts = []
        # radix-4 stages of lengths N, N/4, ... down to 4 (8 when log2 N is odd: a
        # radix-2 stage of length 2 without twiddles ends those)
        L = N
        while L >= 4 << (lg & 1):
            j = np.arange(L // 4)
            parts.append(np.stack([np.exp(-2j * np.pi * (m * j) / L) for m in (1, 2, 3)],
                                  axis=1).ravel())
            L //= 4
        tw = np.ascontiguousarray(np.concatenate(parts).view(np.float64).astype(rdt))
        if len(_TWIDDLES) >= _TWIDDLES_MAX:
            try:    # another thread may evict at the same time
                _TWIDDLES.pop(next(iter(_TWIDDLES)), None)
            except (StopIteration, RuntimeError):
                pass
        _TWIDDLES[key] = tw
    return tw


def _lanes_size(k, length, rows, per, lanes, itemsize):
    """The block size N (a power of two) minimising the modelled cost, or None."""
    best = None
    N = 16
    while N < k + 1:
        N *= 2
    while N <= _LANES_NMAX:
        step = N - k + 1
        groups = -(-rows * -(-length // step) // per)
        cost = groups * N * (math.log2(N) + _LANES_OVERHEAD)
        size = 2 * N * lanes * itemsize
        cost *= next((f for b, f in _LANES_PENALTY if size <= b), 2.0)
        if best is None or cost < best[0]:
            best = (cost, N)
        if step >= length:
            break
        N *= 2
    return None if best is None else best[1]


def _lanes(x, w, axes, ranges, dtype, out, nthreads):
    """Run fft_convolve's job on fc_fft.h if it applies; False if not."""
    if _fft_kernels is None or len(axes) != 1 or dtype.char not in "fdFD":
        return False
    c = axes[0]
    start, length = ranges[0]

    def line(a):
        return all(s == 1 for i, s in enumerate(a.shape) if i != c)

    if not line(w) or (line(x) and x.shape[c] < w.shape[c]):
        if not line(x):
            return False
        x, w = w, x
    k, n = w.shape[c], x.shape[c]
    complex_ = dtype.kind == "c"
    rdt = np.dtype(dtype.char.lower())
    level = _lanes_level()
    lanes = _fft_kernels.lanes(level, rdt.itemsize)
    per = lanes if complex_ else 2 * lanes
    other = [s for i, s in enumerate(out.shape) if i != c]
    rows = math.prod(other)
    N = _lanes_size(k, length, rows, per, lanes, rdt.itemsize)
    if N is None:
        return False
    tw = _twiddles(N, rdt)
    wc = np.iscomplexobj(w) and complex_
    # aligned copies where needed: the kernels load whole elements, and
    # np.ascontiguousarray keeps a misaligned array as it is
    w1 = np.require(w.reshape(-1), dtype=dtype if wc else rdt, requirements=["C", "A"])
    # the spectrum's order depends on N only: the narrowest vectors (level 0)
    # compute it with the least work
    H = _fft_kernels.spectrum(w1.real if wc else w1, wc, N, tw, 0)
    xc = np.iscomplexobj(x) and complex_
    x2 = np.moveaxis(x, c, -1)
    x2 = np.broadcast_to(x2, tuple(other) + (n,)).reshape(rows, n)
    x2 = x2.astype(dtype if xc else rdt, copy=False)
    if not x2.flags.aligned or x2.dtype.byteorder not in "=|":
        x2 = np.require(x2, dtype=x2.dtype.newbyteorder("="), requirements=["C", "A"])
    # out is C-contiguous: a (rows, length) view of it when the axis is the last
    inplace = c == out.ndim - 1
    o2 = out.reshape(rows, length) if inplace else np.empty((rows, length), dtype=dtype)
    _fft_kernels.convolve(x2.real if xc else x2, xc, H, tw, o2.real if complex_ else o2,
                          not complex_, start, k, N, level, nthreads)
    if not inplace:
        out[...] = np.moveaxis(o2.reshape(tuple(other) + (length,)), -1, c)
    return True


# 2-D: one block per lane is an Nr x Nc tile; rows then columns (an element of
# the column transforms is a row of the tile, so the columns need no transpose)
_LANES2_MAX = 1 << 14


def _lanes2_size(ks, lengths, planes, per, lanes, itemsize):
    """(Nr, Nc) minimising the modelled cost, or None."""
    best = None
    lo = []
    # a row of a tile holds at least one vector's width of elements (16)
    for k, n in zip(ks, (8, 16)):
        while n < k + 1:
            n *= 2
        lo.append(n)
    Nr = lo[0]
    while Nr * lo[1] <= _LANES2_MAX:
        Nc = lo[1]
        while Nr * Nc <= _LANES2_MAX:
            nb = math.prod(-(-n // (N - k + 1)) for n, N, k in zip(lengths, (Nr, Nc), ks))
            groups = -(-planes * nb // per)
            cost = groups * Nr * Nc * (math.log2(Nr * Nc) + _LANES_OVERHEAD)
            size = 2 * Nr * Nc * lanes * itemsize
            cost *= next((f for b, f in _LANES_PENALTY if size <= b), 2.0)
            if best is None or cost < best[0]:
                best = (cost, Nr, Nc)
            if Nc - ks[1] + 1 >= lengths[1]:
                break
            Nc *= 2
        if Nr - ks[0] + 1 >= lengths[0]:
            break
        Nr *= 2
    return None if best is None else best[1:]


def _lanes2(x, w, axes, ranges, dtype, out, nthreads):
    """fft_convolve's job on fc_fft.h's 2-D tiles if it applies; False if not."""
    if _fft_kernels is None or len(axes) != 2 or dtype.char not in "fdFD":
        return False
    a0, a1 = axes
    if a0 > a1:
        a0, a1 = a1, a0
        ranges = ranges[::-1]

    def plane(a):
        return all(s == 1 for i, s in enumerate(a.shape) if i not in (a0, a1))

    if not plane(w) or (plane(x) and x.size < w.size):
        if not plane(x):
            return False
        x, w = w, x
    complex_ = dtype.kind == "c"
    rdt = np.dtype(dtype.char.lower())
    level = _lanes_level()
    lanes = _fft_kernels.lanes(level, rdt.itemsize)
    per = lanes if complex_ else 2 * lanes
    other = [s for i, s in enumerate(out.shape) if i not in (a0, a1)]
    planes = math.prod(other)
    ks = (w.shape[a0], w.shape[a1])
    lengths = (ranges[0][1], ranges[1][1])
    size = _lanes2_size(ks, lengths, planes, per, lanes, rdt.itemsize)
    if size is None:
        return False
    Nr, Nc = size
    twr, twc = _twiddles(Nr, rdt), _twiddles(Nc, rdt)
    wc = np.iscomplexobj(w) and complex_
    w2 = np.require(w.reshape(ks), dtype=dtype if wc else rdt, requirements=["C", "A"])
    H = _fft_kernels.spectrum2(w2.real if wc else w2, wc, Nr, Nc, twr, twc, 0)
    xc = np.iscomplexobj(x) and complex_
    x3 = np.moveaxis(x, (a0, a1), (-2, -1))
    x3 = np.broadcast_to(x3, tuple(other) + x3.shape[-2:]).reshape((planes,) + x3.shape[-2:])
    x3 = x3.astype(dtype if xc else rdt, copy=False)
    if not x3.flags.aligned or x3.dtype.byteorder not in "=|":
        x3 = np.require(x3, dtype=x3.dtype.newbyteorder("="), requirements=["C", "A"])
    inplace = (a0, a1) == (out.ndim - 2, out.ndim - 1)
    o3 = out.reshape((planes,) + lengths) if inplace else \
        np.empty((planes,) + lengths, dtype=dtype)
    _fft_kernels.convolve2(x3.real if xc else x3, xc, H, twr, twc, o3.real if complex_ else o3,
                           not complex_, ranges[0][0], ranges[1][0], ks[0], ks[1], Nr, Nc,
                           level, nthreads)
    if not inplace:
        out[...] = np.moveaxis(o3.reshape(tuple(other) + lengths), (-2, -1), (a0, a1))
    return True

"""Plain NumPy reference implementations of max and mean pooling (PyTorch semantics).

Slow and simple: pad, take every window with sliding_window_view, reduce.  The
output sizes come from fastconv._shapes (the one owner of size formulas).
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from fastconv._shapes import pool_output_size


def _windows(a, pad_value, k, s, p, d, out):
    """Windows of ``a`` (N, C, *spatial): shape (N, C, *out, prod(k)), row-major taps."""
    nd = len(k)
    extra = []
    for n, kk, ss, pp, dd, o in zip(a.shape[2:], k, s, p, d, out):
        need = (o - 1) * ss + dd * (kk - 1) + 1        # padded length the windows reach
        extra.append((pp, max(0, need - n - pp)))
    ap = np.pad(a, ((0, 0), (0, 0)) + tuple(extra), constant_values=pad_value)
    ext = tuple(dd * (kk - 1) + 1 for kk, dd in zip(k, d))
    w = sliding_window_view(ap, ext, axis=tuple(range(2, 2 + nd)))
    sl = tuple(slice(0, (o - 1) * ss + 1, ss) for o, ss in zip(out, s))
    w = w[(slice(None), slice(None)) + sl + tuple(slice(None, None, dd) for dd in d)]
    return w.reshape(w.shape[:2 + nd] + (int(np.prod(k)),))  # explicit: N may be 0


def out_shape(spatial, k, s, p, d, ceil_mode):
    return tuple(pool_output_size(n, kk, ss, pp, dd, ceil_mode)
                 for n, kk, ss, pp, dd in zip(spatial, k, s, p, d))


def max_pool_ref(x, k, s, p, d, ceil_mode):
    """(values, int64 indices) of batched x in float64; PyTorch's rules: NaN wins
    (the last NaN in the window), else the first maximum among input taps."""
    x = np.asarray(x, dtype=np.float64)
    out = out_shape(x.shape[2:], k, s, p, d, ceil_mode)
    plane = np.arange(int(np.prod(x.shape[2:])), dtype=np.int64).reshape(x.shape[2:])
    idx = np.broadcast_to(plane, x.shape)
    wv = _windows(x, 0.0, k, s, p, d, out)
    wi = _windows(idx, -1, k, s, p, d, out)
    valid = wi >= 0
    assert valid.any(-1).all(), "a window holds no input element"
    isnan = np.isnan(wv) & valid
    anynan = isnan.any(-1)
    K = wv.shape[-1]
    lastnan = K - 1 - np.argmax(isnan[..., ::-1], axis=-1)
    clean = np.where(valid & ~isnan, wv, -np.inf)
    m = clean.max(-1)
    first = np.argmax(valid & (clean == m[..., None]), axis=-1)
    j = np.where(anynan, lastnan, first)
    val = np.where(anynan, np.nan, m)
    ind = np.take_along_axis(wi, j[..., None], -1)[..., 0]
    return val, ind


def avg_pool_ref(x, k, s, p, ceil_mode, count_include_pad, divisor_override):
    """Mean pooling of batched x, summed in float64."""
    x = np.asarray(x, dtype=np.float64)
    nd = len(k)
    d = (1,) * nd
    out = out_shape(x.shape[2:], k, s, p, d, ceil_mode)
    total = _windows(x, 0.0, k, s, p, d, out).sum(-1)
    if divisor_override:
        return total / divisor_override
    div = np.ones(out)
    for axis, (n, kk, ss, pp, o) in enumerate(zip(x.shape[2:], k, s, p, out)):
        start = np.arange(o) * ss - pp
        end = start + kk
        if count_include_pad:
            f = np.minimum(end, n + pp) - start
        else:
            f = np.minimum(end, n) - np.maximum(start, 0)
        shape = [1] * nd
        shape[axis] = o
        div = div * f.reshape(shape)
    return total / div


def max_pool_backward_ref(gy, ind, x_shape):
    gy = np.asarray(gy, dtype=np.float64)
    planes = int(np.prod(x_shape[:2]))
    plane = int(np.prod(x_shape[2:]))
    gx = np.zeros((planes, plane))
    g2 = gy.reshape(planes, -1)
    i2 = ind.reshape(planes, -1)
    for c in range(planes):
        np.add.at(gx[c], i2[c], g2[c])
    return gx.reshape(x_shape)

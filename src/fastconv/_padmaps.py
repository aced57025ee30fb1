"""Padding modes as index maps.

Every padding mode of ``numpy.pad`` that copies input values (reflect, edge,
wrap, symmetric) is separable: the padded array is ``x[map_0[i0], map_1[i1], ...]``
with one index map per axis.  Constant padding is the map value ``-1``.  The
kernels only ever read the input through these maps, so all modes share one
code path, and the input gradient folds padding back through the same maps.

The closed forms below equal ``np.pad(np.arange(n), (lo, hi), mode)`` for any
widths (repeated reflection/wrapping included); the tests check that.
"""

import numpy as np

# public name -> canonical name (numpy.pad's vocabulary, plus 'zeros')
PADDING_MODES = {
    "zeros": "zeros",
    "constant": "constant",
    "reflect": "reflect",
    "replicate": "edge",
    "edge": "edge",
    "circular": "wrap",
    "wrap": "wrap",
    "symmetric": "symmetric",
}


def normalize_padding_mode(padding_mode):
    """Return the canonical name of a padding mode, or raise ValueError/TypeError."""
    if not isinstance(padding_mode, str):
        raise TypeError(f"padding_mode must be a string, got {padding_mode!r}")
    try:
        return PADDING_MODES[padding_mode.lower()]
    except KeyError:
        raise ValueError(
            f"padding_mode must be one of {sorted(PADDING_MODES)}, got {padding_mode!r}") from None


def source_index(j, n, mode):
    """Map unpadded coordinates ``j`` (may lie outside ``[0, n)``) to input indices.

    Returns -1 where the value comes from the constant (zeros/constant modes).
    """
    j = np.asarray(j, dtype=np.int64)
    if mode in ("zeros", "constant"):
        return np.where((j >= 0) & (j < n), j, -1)
    if mode == "edge":
        return np.clip(j, 0, n - 1)
    if mode == "wrap":
        return j % n
    if mode == "reflect":
        if n == 1:
            return np.zeros_like(j)
        period = 2 * n - 2
        r = j % period
        return np.where(r < n, r, period - r)
    if mode == "symmetric":
        period = 2 * n
        r = j % period
        return np.where(r < n, r, period - 1 - r)
    raise ValueError(f"unknown padding mode {mode!r}")


def window_table(n, k, s, d, lo, out, mode):
    """Input index read by kernel tap ``t`` for output position ``o``.

    Returns an int64 array ``table[t, o] = map(o * s + t * d - lo)`` of shape
    ``(k, out)``, with -1 for constant padding.
    """
    j = (np.arange(out, dtype=np.int64)[None, :] * s
         + np.arange(k, dtype=np.int64)[:, None] * d - lo)
    return np.ascontiguousarray(source_index(j, n, mode), dtype=np.intp)


def padded_map(n, lo, ext, mode):
    """Input index of each position of a padded axis of length ``ext`` (-1: constant)."""
    j = np.arange(ext, dtype=np.int64) - lo
    return np.ascontiguousarray(source_index(j, n, mode), dtype=np.intp)

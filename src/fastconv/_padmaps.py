"""Padding modes as index maps.

Every padding mode of ``numpy.pad`` that copies input values (reflect, edge,
wrap, symmetric) is separable: the padded array is ``x[map_0[i0], map_1[i1], ...]``
with one index map per axis.  Constant padding is the map value ``-1``.  The
kernels only ever read the input through these maps, so all modes share one
code path, and the input gradient folds padding back through the same maps.

The kernels never see a table: they evaluate the same closed forms in C
(``fc_src`` in ``_src/fc_kernels.h``) on the padding alone, so no index array
that grows with the data is ever built.  ``source_index`` below is the NumPy
statement of those forms; it equals ``np.pad(np.arange(n), (lo, hi), mode)``
for any widths (repeated reflection/wrapping included), and the tests check
both against it.
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


# canonical name -> the kernels' FC_PAD_* code (fc_kernels.h)
MODE_CODES = {"zeros": 0, "constant": 0, "edge": 1, "wrap": 2, "reflect": 3, "symmetric": 4}


def normalize_padding_mode(padding_mode):
    """Return the canonical name of a padding mode, or raise ValueError/TypeError."""
    if padding_mode.__class__ is str and padding_mode == "zeros":   # the default, fast
        return "zeros"
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

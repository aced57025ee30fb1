"""Whether the forward convolution may use Winograd's fewer multiplies.

Off by default.  fastconv's direct kernels keep every float32 output within
``2 sqrt(K) eps conv(|x|, |w|)`` of the exact result, the bound the tests hold
every default path to.  Winograd (F(2x2, 3x3), F(2x2x2, 3x3x3), and F(2, 3) on
each three taps of 1-D kernels of 7-11 taps) takes 0.6-0.9x the time on the
layers it suits, and is as deterministic, but its rounding errors scale with
the magnitudes of a whole tile of inputs, not with each output's own terms.  On
random data it stays inside that bound (0.03-0.63 of it, measured); an output
whose terms are small next to its neighbours' (a large centre weight over a
zero among ones, small weights around it) can be far past it: 4-100x with side
weights of 1e-3, up to ~10^5x with 1e-6, measured.  Turn it on with
``set_winograd(True)`` or the environment variable ``FASTCONV_WINOGRAD=1``
(read at import).
"""

from __future__ import annotations

import os

from fastconv import _conv_kernels

__all__ = ["get_winograd", "set_winograd"]


def get_winograd() -> bool:
    """Whether the forward convolution may use Winograd.

    Returns
    -------
    bool

    Examples
    --------
    >>> import fastconv
    >>> fastconv.get_winograd()  # doctest: +SKIP
    False
    """
    return _conv_kernels.winograd_enabled()


def set_winograd(enabled: bool) -> None:
    """Let the forward convolution use Winograd where it pays (or not).

    Parameters
    ----------
    enabled : bool
        True: 2-D 3x3 and 3-D 3x3x3 stride-1 layers, and 1-D ones of 7-11 taps,
        with enough channels run by Winograd (faster; float32 error relative to
        the magnitudes of a tile's inputs, not to each output's terms: see the
        module docstring); so do the input gradients of stride-1 layers with
        zero padding, which are computed as such forward convolutions.  False
        (the default): the direct kernels everywhere.

    Examples
    --------
    >>> import numpy as np, fastconv
    >>> x = np.ones((1, 64, 32, 32), dtype=np.float32)
    >>> w = np.ones((64, 64, 3, 3), dtype=np.float32)
    >>> fastconv.set_winograd(True)
    >>> float(fastconv.conv2d(x, w, padding=1)[0, 0, 5, 5])
    576.0
    >>> fastconv.set_winograd(False)
    """
    if not isinstance(enabled, bool):
        raise TypeError(f"enabled must be a bool, got {enabled!r} of type {type(enabled).__name__}")
    _conv_kernels.set_winograd_enabled(enabled)


def _from_environment():
    value = os.environ.get("FASTCONV_WINOGRAD", "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise ValueError(f"FASTCONV_WINOGRAD must be 0 or 1, got {value!r}")


set_winograd(_from_environment())

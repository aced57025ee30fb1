"""The depthwise forward computed in row bands (a big plane, or fewer planes than
threads: its bands split across threads) gives the bits of one run over the whole
plane, for every instruction set, row step, dilation, padding mode and thread count."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import fastconv
from fastconv import _conv_kernels

MODES = ["zeros", "constant", "reflect", "replicate", "circular", "symmetric"]
GEOMETRIES = [dict(k=(5, 5), padding=2), dict(k=(3, 3), padding=1, stride=(2, 1)),
              dict(k=(5, 1), padding=(2, 0), dilation=(3, 1)),
              dict(k=(1, 7), padding=(0, 3)), dict(k=(4, 3), padding=((1, 4), (2, 0)),
                                                   stride=(3, 1), dilation=2),
              dict(k=(3, 3), padding=0)]


def _conv(x, g, mode, mult, bias, threads):
    c = x.shape[1]
    rng = np.random.default_rng(7)
    w = rng.standard_normal((c * mult, 1) + g["k"]).astype(x.dtype)
    b = rng.standard_normal(c * mult).astype(x.dtype) if bias else None
    kw = {k: v for k, v in g.items() if k != "k"}
    if mode == "constant":
        kw["pad_value"] = -1.5
    fastconv.set_num_threads(threads)
    return fastconv.conv2d(x, w, b, groups=c, padding_mode=mode, **kw)


@pytest.mark.usefixtures("isa", "restore_threads")
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("g", GEOMETRIES, ids=lambda g: str(g))
def test_bands_across_threads_same_bits_as_whole_plane(g, mode, dtype):
    """One plane under 1 MiB: one thread runs it whole, two threads in bands (two
    or more per thread here); the virtual-grid kernel (whole planes) agrees too."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 1, 333, 301)).astype(dtype)
    for mult, bias in [(1, False), (3, True)]:
        whole = _conv(x, g, mode, mult, bias, 1)
        banded = _conv(x, g, mode, mult, bias, 2)
        assert_array_equal(banded, whole)
        _conv_kernels.set_depthwise_kernel("vgrid")
        try:
            assert_array_equal(_conv(x, g, mode, mult, bias, 1), whole)
        finally:
            _conv_kernels.set_depthwise_kernel("auto")


def _reference(x, w, b, pad):
    """Plain NumPy: zero padding, stride 1, one channel in and out."""
    xp = np.pad(x, pad)
    win = np.lib.stride_tricks.sliding_window_view(xp, w.shape)
    return np.einsum("ijkl,kl->ij", win, w) + b


@pytest.mark.usefixtures("isa", "restore_threads")
def test_big_plane_in_bands_exact_and_thread_invariant(dtype):
    """A plane over 1 MiB runs in bands at any thread count: exact on small
    integers against plain NumPy, the same bits for 1 and 2 threads and as the
    virtual-grid kernel."""
    rng = np.random.default_rng(11)
    x = rng.integers(-8, 9, (1, 1, 601, 523)).astype(dtype)
    w = rng.integers(-4, 5, (1, 1, 5, 5)).astype(dtype)
    b = np.array([3.0], dtype)
    ys = []
    for threads in (1, 2):
        fastconv.set_num_threads(threads)
        ys.append(fastconv.conv2d(x, w, b, padding=(2, 2)))
    assert_array_equal(ys[0], ys[1])
    assert_array_equal(ys[0][0, 0], _reference(x[0, 0], w[0, 0], 3.0, 2).astype(dtype))
    _conv_kernels.set_depthwise_kernel("vgrid")
    try:
        assert_array_equal(fastconv.conv2d(x, w, b, padding=(2, 2)), ys[0])
    finally:
        _conv_kernels.set_depthwise_kernel("auto")
    # several planes, some channels with a multiplier: each plane's bands
    x2 = rng.standard_normal((2, 3, 300, 500)).astype(dtype)
    w2 = rng.standard_normal((6, 1, 3, 7)).astype(dtype)
    fastconv.set_num_threads(1)
    one = fastconv.conv2d(x2, w2, groups=3, padding="same", padding_mode="reflect")
    fastconv.set_num_threads(2)
    assert_array_equal(fastconv.conv2d(x2, w2, groups=3, padding="same",
                                       padding_mode="reflect"), one)

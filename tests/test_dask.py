"""fastconv on dask arrays: lazy, chunked, equal to the in-memory call.

Bit for bit wherever the in-memory call's sums keep their order (every direct
path); weight/bias gradients and FFT paths within their bounds.  On the threads
scheduler and on a 2-process distributed.LocalCluster.
"""

import subprocess
import sys

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

from dask_cases import raising_scheduler, random_chunks  # noqa: E402

import fastconv  # noqa: E402
from fastconv import ndimage, signal  # noqa: E402
from fastconv.pool import (  # noqa: E402
    avg_pool,
    avg_pool_backward,
    max_pool,
    max_pool_backward,
)

MODES = ["zeros", "constant", "reflect", "replicate", "circular", "symmetric"]


@pytest.fixture(autouse=True)
def threads_scheduler():
    with dask.config.set(scheduler="threads"):
        yield


def _compute(y):
    assert isinstance(y, da.Array), type(y)
    return y.compute()


def _same_bits(lazy, ref):
    got = _compute(lazy)
    assert got.shape == ref.shape and got.dtype == ref.dtype
    np.testing.assert_array_equal(got, ref)
    return got


# ------------------------------------------------------------------ conv forward

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("stride", [1, 2, 3])
def test_conv2d_spatial_chunks_every_mode_and_stride(mode, stride, rng):
    x = rng.standard_normal((3, 2, 23, 19)).astype(np.float32)
    w = rng.standard_normal((4, 2, 3, 5)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    # chunks smaller than the halo (2 and 1 element), uneven, batch chunked too
    xd = da.from_array(x, chunks=((2, 1), (1, 1), (2, 7, 1, 13), (5, 1, 4, 9)))
    kw = dict(stride=stride, padding_mode=mode, dilation=(1, 2))
    if mode == "constant":
        kw["pad_value"] = -0.75
    for padding in [0, "same", ((4, 1), (0, 6)), (7, 9)]:
        if padding == "same" and stride > 1:
            continue
        ref = fastconv.conv2d(x, w, b, padding=padding, **kw)
        _same_bits(fastconv.conv2d(xd, w, b, padding=padding, **kw), ref)


def test_halo_graph_has_two_tasks_per_chunk(rng):
    """Strip cutting and the op: two tasks per chunk; an input given as a[None, None]
    or without batch/channel axes adds no reshaping task in between."""
    img = rng.standard_normal((40, 36)).astype(np.float32)
    imd = da.from_array(img, chunks=(10, 12))             # 4 x 3 chunks
    w = rng.standard_normal((5, 5)).astype(np.float32)

    def tasks(y):
        (y,) = dask.optimize(y)
        keys = [k[0] if isinstance(k, tuple) else k for k in dict(y.__dask_graph__())]
        return sum(k.startswith("fastconv-halo") for k in keys), sum(
            k.startswith("getitem") for k in keys)

    y = ndimage.convolve(imd, w, mode="wrap")
    assert tasks(y) == (24, 0)
    _same_bits(y, ndimage.convolve(img, w, mode="wrap"))
    y = fastconv.conv2d(imd[None, None], w[None, None], padding=2, padding_mode="reflect")
    assert tasks(y) == (24, 0)
    _same_bits(y, fastconv.conv2d(img[None, None], w[None, None], padding=2,
                                  padding_mode="reflect"))
    y = fastconv.conv2d(imd[None], w[None, None], padding=2, padding_mode="circular")
    assert tasks(y) == (24, 0)
    _same_bits(y, fastconv.conv2d(img[None], w[None, None], padding=2, padding_mode="circular"))


def test_halo_plans_shared_by_graphs_over_the_same_chunks(rng):
    """A second graph over the same chunks and geometry takes the first one's plan (the
    array's name and the op are not part of it): the same bits for other data and
    another op, and the folding modes' own axes kept apart (small integers: exact in
    any order); plans of more than _PLANS_UP_TO pieces are not kept, and clear_caches
    empties them."""
    from fastconv._dask import _halo

    fastconv.clear_caches()
    a, b = (rng.standard_normal((30, 33)) for _ in range(2))
    w = rng.standard_normal((3, 4))
    for v in (a, b):
        _same_bits(ndimage.correlate(da.from_array(v, chunks=(10, 11)), w, mode="mirror"),
                   ndimage.correlate(v, w, mode="mirror"))
    assert len(_halo._PLANS) == 1
    _same_bits(ndimage.convolve(da.from_array(b, chunks=(10, 11)), w, mode="mirror"),
               ndimage.convolve(b, w, mode="mirror"))
    g = rng.integers(-3, 4, (1, 3, 30, 32)).astype(np.float64)
    wt = rng.integers(-3, 4, (3, 2, 3, 4)).astype(np.float64)
    gd = da.from_array(g, chunks=(1, 3, 10, 11))
    for mode in ("zeros", "reflect", "circular"):
        got = fastconv.conv_input_grad(gd, wt, (1, 2, 30, 33), padding=1, padding_mode=mode)
        np.testing.assert_array_equal(
            got.compute(), fastconv.conv_input_grad(g, wt, (1, 2, 30, 33), padding=1,
                                                    padding_mode=mode))
    before = len(_halo._PLANS)
    _same_bits(ndimage.correlate(da.from_array(a, chunks=(3, 3)), w, mode="wrap"),
               ndimage.correlate(a, w, mode="wrap"))            # 10 x 11 pieces
    assert len(_halo._PLANS) == before
    fastconv.clear_caches()
    assert len(_halo._PLANS) == 0

def test_conv_random_ops_shapes_chunkings(rng):
    """1-3 spatial dims, random kernels/strides/dilations/paddings/modes/groups/flip,
    random uneven chunkings: the same bits as the in-memory call."""
    for _ in range(30):
        nd = int(rng.integers(1, 4))
        groups = int(rng.choice([1, 2]))
        cin, cout = 2 * groups, 2 * groups
        k = tuple(int(v) for v in rng.integers(1, 4, nd))
        d = tuple(int(v) for v in rng.integers(1, 3, nd))
        s = tuple(int(v) for v in rng.integers(1, 4, nd))
        size = tuple(int(v) for v in rng.integers(4, 13 if nd < 3 else 8, nd))
        pads = tuple((int(a), int(b)) for a, b in rng.integers(0, 5, (nd, 2)))
        mode = str(rng.choice(MODES))
        x = rng.standard_normal((2, cin) + size)
        dtype = rng.choice([np.float32, np.float64])
        x = x.astype(dtype)
        w = rng.standard_normal((cout, cin // groups) + k).astype(dtype)
        flip = bool(rng.integers(2))
        try:
            ref = fastconv.conv(x, w, stride=s, dilation=d, padding=pads, groups=groups,
                                padding_mode=mode, flip=flip)
        except ValueError:
            continue
        chunks = (random_chunks(rng, 2), (1, cin - 1)) + tuple(random_chunks(rng, n)
                                                                 for n in size)
        xd = da.from_array(x, chunks=chunks)
        _same_bits(fastconv.conv(xd, w, stride=s, dilation=d, padding=pads, groups=groups,
                                 padding_mode=mode, flip=flip), ref)


def test_conv_flip_unbatched_1d_and_3d(rng):
    x = rng.standard_normal((2, 40)).astype(np.float32)
    w = rng.standard_normal((3, 2, 6)).astype(np.float32)
    xd = da.from_array(x, chunks=(2, 3))
    ref = fastconv.conv1d(x, w, padding="full", flip=True)
    _same_bits(fastconv.conv1d(xd, w, padding="full", flip=True), ref)
    v = rng.standard_normal((1, 1, 9, 10, 11))
    w3 = rng.standard_normal((2, 1, 3, 2, 3))
    vd = da.from_array(v, chunks=(1, 1, 4, 3, 5))
    _same_bits(fastconv.conv3d(vd, w3, padding=1, stride=(1, 2, 1), padding_mode="reflect"),
               fastconv.conv3d(v, w3, padding=1, stride=(1, 2, 1), padding_mode="reflect"))


def test_conv_against_numpy_reference(rng):
    """The chunked path against a plain NumPy correlation, exact on small integers."""
    x = rng.integers(-4, 5, (1, 1, 17, 13)).astype(np.float32)
    w = rng.integers(-4, 5, (1, 1, 3, 3)).astype(np.float32)
    xp = np.pad(x[0, 0], 1, mode="symmetric")
    ref = np.zeros((17, 13), np.float32)
    for i in range(3):
        for j in range(3):
            ref += w[0, 0, i, j] * xp[i:i + 17, j:j + 13]
    got = _compute(fastconv.conv2d(da.from_array(x, chunks=(1, 1, 4, 5)), w, padding=1,
                                   padding_mode="symmetric"))
    np.testing.assert_array_equal(got[0, 0], ref)


def test_conv_bad_arguments_raise_before_computing(rng):
    xd = da.zeros((1, 2, 8, 8), chunks=4)
    with pytest.raises(ValueError, match="padding_mode"):
        fastconv.conv2d(xd, np.ones((1, 2, 3, 3)), padding_mode="bogus")
    with pytest.raises(ValueError, match="bias"):
        fastconv.conv2d(xd, np.ones((1, 2, 3, 3)), np.ones(3))
    with pytest.raises(TypeError, match="weight"):
        fastconv.conv(xd, da.ones((1, 2, 3, 3)))


# ------------------------------------------------------------------ gradients, transpose

@pytest.mark.parametrize("mode", ["zeros", "reflect", "circular"])
def test_gradients_over_batch_chunks(mode, rng):
    x = rng.standard_normal((7, 3, 12, 11)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    kw = dict(stride=2, padding=1, padding_mode=mode)
    g = rng.standard_normal(fastconv.conv2d(x, w, **kw).shape).astype(np.float32)
    xd = da.from_array(x, chunks=(3, 2, 5, 4))      # spatial chunks are merged
    gd = da.from_array(g, chunks=(2, 4, 3, 3))
    _same_bits(fastconv.conv_input_grad(gd, w, x.shape, **kw),
               fastconv.conv_input_grad(g, w, x.shape, **kw))
    # weight/bias: per-chunk partials summed in chunk order: deterministic, within
    # the float bound of the in-memory result (another partition of the sum)
    gw = _compute(fastconv.conv_weight_grad(xd, gd, w.shape, **kw))
    again = _compute(fastconv.conv_weight_grad(xd, gd, w.shape, **kw))
    np.testing.assert_array_equal(gw, again)
    ref64 = fastconv.conv_weight_grad(x.astype(np.float64), g.astype(np.float64), w.shape, **kw)
    s = fastconv.conv_weight_grad(np.abs(x).astype(np.float64), np.abs(g).astype(np.float64),
                                  w.shape, **kw)
    K = x.shape[0] * g.shape[2] * g.shape[3]
    assert np.all(np.abs(gw - ref64) <= 2 * np.sqrt(K) * 2.0 ** -24 * s)
    per_chunk = sum(fastconv.conv_weight_grad(x[i:j], g[i:j], w.shape, **kw)
                    for i, j in [(0, 2), (2, 4), (4, 6), (6, 7)])
    np.testing.assert_allclose(gw, per_chunk, rtol=1e-5, atol=1e-5)
    gb = _compute(fastconv.conv_bias_grad(gd))
    np.testing.assert_allclose(gb, g.astype(np.float64).sum((0, 2, 3)), rtol=1e-6)
    gx, gw2, gb2 = fastconv.conv_backward(gd, xd, w, **kw)
    _same_bits(gx, fastconv.conv_input_grad(g, w, x.shape, **kw))
    np.testing.assert_array_equal(_compute(gw2), gw)
    np.testing.assert_array_equal(_compute(gb2), gb)


def test_weight_grad_exact_on_integers(rng):
    x = rng.integers(-3, 4, (9, 2, 6, 6)).astype(np.float32)
    g = rng.integers(-3, 4, (9, 2, 4, 4)).astype(np.float32)
    _same_bits(fastconv.conv_weight_grad(da.from_array(x, chunks=(1, 2, 6, 6)),
                                         da.from_array(g, chunks=(4, 1, 2, 4)), (2, 2, 3, 3)),
               fastconv.conv_weight_grad(x, g, (2, 2, 3, 3)))


def test_conv_transpose_batch_chunks(rng):
    x = rng.standard_normal((5, 3, 6, 7)).astype(np.float32)
    w = rng.standard_normal((3, 2, 3, 3)).astype(np.float32)
    b = rng.standard_normal(2).astype(np.float32)
    kw = dict(stride=2, padding=1, output_padding=1)
    _same_bits(fastconv.conv_transpose2d(da.from_array(x, chunks=(2, 1, 3, 7)), w, b, **kw),
               fastconv.conv_transpose2d(x, w, b, **kw))


def _adjoint_case(rng, nd):
    """A random strided/dilated/grouped/padded geometry with its in-memory results."""
    while True:
        k = tuple(int(v) for v in rng.integers(1, 5, nd))
        s = tuple(int(v) for v in rng.integers(1, 4, nd))
        d = tuple(int(v) for v in rng.integers(1, 3, nd))
        groups = int(rng.choice([1, 2]))
        cin, cout = groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3))
        pads = [(int(rng.integers(0, kk)), int(rng.integers(0, kk))) for kk in k]
        n_in = tuple(int(rng.integers(kk * dd, 20)) for kk, dd in zip(k, d))
        n_out = tuple((ni + lo + hi - dd * (kk - 1) - 1) // ss + 1
                      for ni, (lo, hi), kk, dd, ss in zip(n_in, pads, k, d, s))
        if min(n_out) >= 1:
            break
    batch = (3,) if rng.integers(2) else ()
    mode = str(rng.choice(["zeros", "constant"]))
    opts = dict(stride=s, padding=pads, dilation=d, groups=groups, padding_mode=mode,
                pad_value=0.5 if mode == "constant" else 0.0, flip=bool(rng.integers(2)))
    w = rng.standard_normal((cout, cin // groups) + k).astype(np.float32)
    g = rng.standard_normal(batch + (cout,) + n_out).astype(np.float32)
    chunks = (2,) * len(batch) + (-1,) + tuple(random_chunks(rng, n) for n in n_out)
    return batch + (cin,) + n_in, opts, w, g, chunks


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_input_grad_and_transpose_spatial_chunks_bit_exact(nd, rng):
    """Split over grad_output's (conv_transpose's input's) spatial chunks: each result
    chunk reads the inputs that reach it; the same bits as the in-memory call."""
    for _ in range(12 if nd < 3 else 4):
        ishape, opts, w, g, chunks = _adjoint_case(rng, nd)
        gd = da.from_array(g, chunks=chunks)
        lazy = fastconv.conv_input_grad(gd, w, ishape, **opts)
        if any(len(c) > 1 for c in gd.chunks[-nd:]):
            assert any(len(c) > 1 for c in lazy.chunks[-nd:])   # not one block
        _same_bits(lazy, fastconv.conv_input_grad(g, w, ishape, **opts))
        # conv_transpose: the same geometry, PyTorch's weight layout, a bias
        topts = {k: opts[k] for k in ("stride", "padding", "dilation", "groups")}
        topts["output_padding"] = tuple(int(rng.integers(0, max(s, d))) for s, d in
                                        zip(opts["stride"], opts["dilation"]))
        # (C_in, C_out / groups, *k) with C_in = g's channels: the forward weight's shape
        wt = rng.standard_normal(w.shape).astype(np.float32)
        b = rng.standard_normal(w.shape[1] * opts["groups"]).astype(np.float32) \
            if rng.integers(2) else None
        try:
            ref = fastconv.conv_transpose(g, wt, b, **topts)
        except ValueError:         # output_padding larger than this geometry allows
            continue
        _same_bits(fastconv.conv_transpose(gd, wt, b, **topts), ref)


def test_input_grad_spatial_chunks_adjoint_identity(rng):
    """<conv(x, w), g> == <x, conv_input_grad(g, w)> in float64, chunked result."""
    x = rng.standard_normal((2, 3, 23, 19))
    w = rng.standard_normal((4, 3, 3, 4))
    kw = dict(stride=(2, 3), padding=((2, 1), (0, 3)), dilation=(1, 2))
    y = fastconv.conv2d(x, w, **kw)
    g = rng.standard_normal(y.shape)
    gx = _compute(fastconv.conv_input_grad(da.from_array(g, chunks=(1, 4, 3, 2)), w, x.shape,
                                           **kw))
    assert np.vdot(y, g) == pytest.approx(np.vdot(x, gx), rel=1e-12)


def test_transpose_spatial_chunks_exact_on_integers(rng):
    """Small integers: every sum is exact, so the chunked result equals a NumPy
    scatter-add reference exactly."""
    x = rng.integers(-3, 4, (2, 2, 9, 7)).astype(np.float32)
    w = rng.integers(-3, 4, (2, 3, 3, 2)).astype(np.float32)
    s, pad = (2, 3), ((1, 2), (0, 1))
    ref = np.zeros((2, 3, (9 - 1) * 2 + 3, (7 - 1) * 3 + 2))
    for i in range(9):
        for j in range(7):
            ref[:, :, 2 * i:2 * i + 3, 3 * j:3 * j + 2] += np.einsum(
                "nc,cokl->nokl", x[:, :, i, j], w)
    ref = ref[:, :, 1:ref.shape[2] - 2, 0:ref.shape[3] - 1]
    got = _compute(fastconv.conv_transpose2d(da.from_array(x, chunks=(1, 2, 4, 3)), w,
                                             stride=s, padding=pad))
    np.testing.assert_array_equal(got, ref.astype(np.float32))


# ------------------------------------------------------------------ pooling

@pytest.mark.parametrize("k,s", [(2, 2), (3, 2), (3, 1), ((2, 3), (3, 1))])
def test_pooling_spatial_chunks(k, s, rng):
    x = rng.standard_normal((3, 2, 17, 14)).astype(np.float32)
    x[0, 0, 3:6, 3:6] = 1.0     # ties: the first maximum
    xd = da.from_array(x, chunks=(2, 1, (1, 5, 4, 7), (6, 1, 7)))
    _same_bits(max_pool(xd, k, s), max_pool(x, k, s))
    y, i = max_pool(xd, k, s, return_indices=True)
    y0, i0 = max_pool(x, k, s, return_indices=True)
    _same_bits(y, y0)
    _same_bits(i, i0)
    _same_bits(avg_pool(xd, k, s), avg_pool(x, k, s))
    gd = da.from_array(y0, chunks=(1, 2, 3, 3))
    _same_bits(max_pool_backward(gd, da.from_array(i0, chunks=(1, 2, 3, 3)), x.shape),
               max_pool_backward(y0, i0, x.shape))
    _same_bits(avg_pool_backward(gd, x.shape, k, s), avg_pool_backward(y0, x.shape, k, s))


def test_pooling_padding_ceil_mode_unbatched(rng):
    x = rng.standard_normal((2, 15, 16)).astype(np.float64)
    xd = da.from_array(x, chunks=(1, 4, 5))
    _same_bits(max_pool(xd, 3, 2, 1, ceil_mode=True), max_pool(x, 3, 2, 1, ceil_mode=True))
    _same_bits(avg_pool(xd, 3, 2, 1, ceil_mode=True, count_include_pad=False),
               avg_pool(x, 3, 2, 1, ceil_mode=True, count_include_pad=False))


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_max_pool_padding_ceil_mode_spatial_chunks(nd, rng):
    """Max values with padding and ceil_mode split over spatial chunks (the padding
    as -inf in the halo): the same bits, NaN and -inf inputs included."""
    for _ in range(10):
        k = tuple(int(v) for v in rng.integers(2, 5, nd))
        s = tuple(int(v) for v in rng.integers(1, 4, nd))
        d = tuple(int(v) for v in rng.integers(1, 3, nd))
        pad = tuple(int(rng.integers(0, kk // 2 + 1)) for kk in k)
        ceil = bool(rng.integers(2))
        shape = (2, 2) + tuple(int(rng.integers(dd * (kk - 1) + 1, 13))
                               for kk, dd in zip(k, d))
        x = rng.standard_normal(shape).astype(np.float32)
        x.ravel()[rng.integers(0, x.size, 2)] = np.nan
        x.ravel()[rng.integers(0, x.size, 4)] = -np.inf
        xd = da.from_array(x, chunks=(1, 2) + tuple(random_chunks(rng, n) for n in shape[2:]))
        try:
            ref = max_pool(x, k, s, pad, d, ceil)
        except ValueError:      # a window entirely in the padding: refused alike
            with pytest.raises(ValueError):
                max_pool(xd, k, s, pad, d, ceil)
            continue
        lazy = max_pool(xd, k, s, pad, d, ceil)
        got = _compute(lazy)
        assert got.shape == ref.shape and got.dtype == ref.dtype
        np.testing.assert_array_equal(got.view(np.int32), ref.view(np.int32))


# ------------------------------------------------------------------ signal

@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("taps", [1, 4, 25])
def test_signal_direct_bit_exact(mode, taps, rng):
    s = rng.standard_normal(500)
    k = rng.standard_normal(taps)
    sd = da.from_array(s, chunks=(3, 30, 1, 200, 266))
    for f in (signal.convolve, signal.correlate):
        _same_bits(f(sd, k, mode, method="direct"), f(s, k, mode, method="direct"))
    im = rng.standard_normal((31, 29)).astype(np.float32)
    k2 = rng.standard_normal((4, min(taps, 5))).astype(np.float32)
    imd = da.from_array(im, chunks=(3, (1, 10, 18)))
    _same_bits(signal.convolve(imd, k2, mode, method="direct"),
               signal.convolve(im, k2, mode, method="direct"))
    ints = np.arange(40)
    _same_bits(signal.convolve(da.from_array(ints, chunks=7), np.array([1, -2, 3]), mode),
               signal.convolve(ints, np.array([1, -2, 3]), mode))


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_signal_fft_paths_overlap_save(mode, rng):
    s = rng.standard_normal(3000).astype(np.float32)
    k = rng.standard_normal(101).astype(np.float32)
    sd = da.from_array(s, chunks=700)
    exact = np.convolve(s.astype(np.float64), k.astype(np.float64), mode)
    for f in (signal.fftconvolve, signal.oaconvolve):
        got = _compute(f(sd, k, mode))
        ref = f(s, k, mode)
        assert got.dtype == ref.dtype and got.shape == ref.shape
        # the FFT's norm-wise bound
        bound = 20 * np.sqrt(np.log2(s.size + k.size)) * 2.0 ** -24 * (
            np.linalg.norm(s) * np.linalg.norm(k))
        assert np.linalg.norm(got - exact) <= bound
    got = _compute(signal.convolve(sd, k, mode, method="fft"))
    assert np.linalg.norm(got - exact) <= bound
    im = rng.standard_normal((64, 80))
    imd = da.from_array(im, chunks=(20, 33))
    k2 = rng.standard_normal((5, 7))
    np.testing.assert_allclose(_compute(signal.fftconvolve(imd, k2, mode)),
                               signal.fftconvolve(im, k2, mode), atol=1e-12)


def test_signal_axes_and_fallbacks(rng):
    a = rng.standard_normal((6, 100))
    k = rng.standard_normal((1, 9))
    ad = da.from_array(a, chunks=(4, 30))
    np.testing.assert_allclose(_compute(signal.fftconvolve(ad, k, "same", axes=1)),
                               signal.fftconvolve(a, k, "same", axes=1), atol=1e-12)
    small = rng.standard_normal(5)
    big = rng.standard_normal(12)
    # 'valid' with in2 larger (SciPy swaps the inputs): one block, still lazy and equal
    _same_bits(signal.convolve(da.from_array(small, chunks=2), big, "valid", method="direct"),
               signal.convolve(small, big, "valid", method="direct"))


# ------------------------------------------------------------------ nn models

def test_model_inference_over_batch_chunks(rng):
    nn = pytest.importorskip("fastconv.nn")
    from fastconv.nn.demo import digits_models

    _, model = digits_models(nn)
    model.eval()
    imgs = rng.standard_normal((37, 1, 8, 8)).astype(np.float32)
    xd = da.from_array(imgs, chunks=(10, 1, 8, 8))
    got = _compute(model(xd))
    # conv/pool layers are per image; the dense layer's GEMM blocking depends on the
    # batch size, so the reference is the in-memory call per chunk (same bits) ...
    per_chunk = np.concatenate([model(imgs[i:i + 10]) for i in range(0, 37, 10)])
    np.testing.assert_array_equal(got, per_chunk)
    # ... and the whole batch in one call within float32 rounding
    np.testing.assert_allclose(got, model(imgs), rtol=1e-5, atol=1e-6)
    model.train()
    with pytest.raises(ValueError, match="eval"):
        model(xd)


# ------------------------------------------------------------------ laziness, imports

def test_nothing_computed_before_compute(rng):
    x = da.random.default_rng(1).standard_normal((4, 2, 30, 30), chunks=(2, 2, 10, 10))
    w = np.ones((3, 2, 3, 3))
    with dask.config.set(scheduler=raising_scheduler):
        ys = [fastconv.conv2d(x, w, padding=1, padding_mode="reflect"),
              fastconv.conv_input_grad(x[:, :, :28, :28].rechunk((2, 2, 28, 28))[:, :2],
                                       w[:2], (4, 2, 30, 30)),
              fastconv.conv_weight_grad(x, x[:, :, 1:29, 1:29], (2, 2, 3, 3)),
              fastconv.conv_bias_grad(x),
              max_pool(x, 2), avg_pool(x, 3, 2),
              signal.convolve(x[0, 0], np.ones((3, 3))),
              signal.fftconvolve(x[0, 0], np.ones((3, 3)), "same")]
        with pytest.raises(AssertionError, match="computed"):
            ys[0].compute()
    for y in ys:
        assert isinstance(y, da.Array)
        y.compute()


def test_numpy_calls_do_not_import_dask():
    code = ("import sys, numpy as np, fastconv; from fastconv import signal; "
            "fastconv.conv2d(np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3))); "
            "signal.convolve(np.ones(9), np.ones(3)); "
            "assert not any(m.split('.')[0] == 'dask' for m in sys.modules), 'dask imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_thread_rule_inside_tasks():
    from fastconv._dask._engine import task_threads

    with dask.config.set({"fastconv.threads": 1}):
        from fastconv._dask._engine import user_threads

        assert user_threads() == 1
    before = fastconv.get_num_threads()
    with task_threads(1):
        assert fastconv.get_num_threads() == 1
    assert fastconv.get_num_threads() == before


# ------------------------------------------------------------------ distributed

def test_cluster_conv_every_mode_bit_exact(cluster_client, rng):
    x = rng.standard_normal((2, 2, 41, 37)).astype(np.float32)
    w = rng.standard_normal((3, 2, 5, 4)).astype(np.float32)
    xd = da.from_array(x, chunks=(1, 2, (3, 20, 18), (1, 18, 18)))
    lazy, refs = [], []
    for mode in MODES:
        kw = dict(padding=((2, 6), (3, 1)), stride=(2, 1), padding_mode=mode)
        lazy.append(fastconv.conv2d(xd, w, **kw))
        refs.append(fastconv.conv2d(x, w, **kw))
    lazy.append(max_pool(xd, 3, 2))
    refs.append(max_pool(x, 3, 2))
    lazy.append(signal.convolve(xd[0, 0], w[0, 0], "same", method="direct"))
    refs.append(signal.convolve(x[0, 0], w[0, 0], "same", method="direct"))
    for got, ref in zip(cluster_client.compute(lazy, sync=True), refs):
        np.testing.assert_array_equal(got, ref)


def test_cluster_gradients_and_model(cluster_client, rng):
    from fastconv import nn
    from fastconv.nn.demo import digits_models

    x = rng.standard_normal((8, 2, 10, 10)).astype(np.float32)
    w = rng.standard_normal((3, 2, 3, 3)).astype(np.float32)
    g = rng.standard_normal((8, 3, 10, 10)).astype(np.float32)
    xd, gd = da.from_array(x, chunks=(3, 2, 10, 10)), da.from_array(g, chunks=(3, 3, 10, 10))
    gw_threads = _compute(fastconv.conv_weight_grad(xd, gd, w.shape, padding=1))
    gx, gw = cluster_client.compute(
        [fastconv.conv_input_grad(gd, w, x.shape, padding=1),
         fastconv.conv_weight_grad(xd, gd, w.shape, padding=1)], sync=True)
    np.testing.assert_array_equal(gx, fastconv.conv_input_grad(g, w, x.shape, padding=1))
    np.testing.assert_array_equal(gw, gw_threads)    # fixed order: scheduler-independent
    _, model = digits_models(nn)
    model.eval()
    imgs = rng.standard_normal((20, 1, 8, 8)).astype(np.float32)
    got = cluster_client.compute(model(da.from_array(imgs, chunks=(6, 1, 8, 8))), sync=True)
    np.testing.assert_array_equal(
        got, np.concatenate([model(imgs[i:i + 6]) for i in range(0, 20, 6)]))


def test_cluster_adjoints_spatial_chunks_bit_exact(cluster_client, rng):
    g = rng.standard_normal((2, 3, 21, 17)).astype(np.float32)
    w = rng.standard_normal((3, 2, 3, 4)).astype(np.float32)
    b = rng.standard_normal(2).astype(np.float32)
    gd = da.from_array(g, chunks=(1, 3, (5, 9, 7), (8, 9)))
    kw = dict(stride=(2, 1), padding=((1, 2), (3, 0)), dilation=(1, 2))
    ishape = (2, 2, 41, 20)
    gx, y = cluster_client.compute(
        [fastconv.conv_input_grad(gd, w, ishape, **kw),
         fastconv.conv_transpose2d(gd, w, b, output_padding=(1, 1), **kw)], sync=True)
    np.testing.assert_array_equal(gx, fastconv.conv_input_grad(g, w, ishape, **kw))
    np.testing.assert_array_equal(
        y, fastconv.conv_transpose2d(g, w, b, output_padding=(1, 1), **kw))


def test_cluster_chunk_alone_plus_bands_and_avg_pool_backward(cluster_client, rng):
    """On worker processes: pieces from their chunk alone plus recomputed bands
    (ndimage, conv with a gathered mode) and avg_pool_backward split spatially."""
    x = rng.standard_normal((70, 66)).astype(np.float32)
    xd = da.from_array(x, chunks=(35, (30, 36)))
    w = rng.standard_normal((5, 5)).astype(np.float32)
    pk = dict(kernel_size=3, stride=2, padding=1)
    g = avg_pool(x[None, None], **pk)
    gd = da.from_array(g, chunks=(1, 1, (17, 18), (10, 23)))
    got = cluster_client.compute(
        [ndimage.convolve(xd, w, mode="mirror"),
         fastconv.conv2d(xd[None, None], w[None, None], padding=2, padding_mode="symmetric"),
         avg_pool_backward(gd, (1, 1) + x.shape, **pk)], sync=True)
    np.testing.assert_array_equal(got[0], ndimage.convolve(x, w, mode="mirror"))
    np.testing.assert_array_equal(got[1], fastconv.conv2d(x[None, None], w[None, None], padding=2,
                                                          padding_mode="symmetric"))
    np.testing.assert_array_equal(got[2], avg_pool_backward(g, (1, 1) + x.shape, **pk))


def test_cluster_data_larger_than_a_worker_memory(cluster_client):
    """420 MB of float32 created on the workers (300 MB limit each), filtered with
    circular padding and reduced to one number: sum(conv(x, w)) = sum(x) sum(w)."""
    n = 10240
    x = da.random.default_rng(7).random((1, 1, n, n), dtype=np.float32,
                                        chunks=(1, 1, 1024, 1024))
    assert x.nbytes > 300e6
    w = np.array([[[[0.5, 1.0, 0.25], [0.0, 2.0, 1.0], [0.125, 0.5, 1.0]]]], np.float32)
    y = fastconv.conv2d(x, w, padding=1, padding_mode="circular")
    total, xsum = cluster_client.compute([y.sum(dtype=np.float64),
                                          x.sum(dtype=np.float64)], sync=True)
    assert total == pytest.approx(xsum * float(w.sum()), rel=1e-6)


def test_bench_suite_computes_what_dask_image_computes(rng):
    """The dask suite's fastconv formulations equal scipy.ndimage's filters."""
    ndimage = pytest.importorskip("scipy.ndimage")
    from fastconv.bench.dask_suite import _fastconv_conv5, _fastconv_gauss, gaussian_kernel1d

    k = gaussian_kernel1d(3.0)
    impulse = np.zeros(25)
    impulse[12] = 1.0
    np.testing.assert_allclose(k, ndimage.gaussian_filter1d(impulse, 3.0), atol=1e-15)
    img = rng.random((70, 90), dtype=np.float32)
    imd = da.from_array(img, chunks=(30, 40))
    w = rng.standard_normal((5, 5)).astype(np.float32)
    np.testing.assert_allclose(_compute(_fastconv_conv5(imd, w)),
                               ndimage.convolve(img.astype(np.float64), w, mode="reflect"),
                               atol=2e-5)
    np.testing.assert_allclose(_compute(_fastconv_gauss(imd, 3.0)),
                               ndimage.gaussian_filter(img.astype(np.float64), 3.0),
                               atol=1e-5)


def test_bench_suite_threads_scheduler_and_workload_choice():
    """The harness's threads-scheduler mode and --workloads: one row per chosen
    workload, fastconv and dask-image agreeing; an unknown name is refused."""
    pytest.importorskip("dask_image")
    from fastconv.bench.dask_suite import format_dask_table, run_dask_bench

    report = run_dask_bench(repeat=1, quick=True, progress=False, scheduler="threads",
                            names=["conv5x5"])
    (row,) = report["rows"]
    assert row["workload"] == "conv5x5" and row["peer"] == "dask-image"
    assert row["max_rel_diff"] < 1e-5 and row["ratio"] > 0 and row["ratio_best"] > 0
    assert "threads scheduler" in format_dask_table(report)
    with pytest.raises(ValueError, match="unknown dask workloads"):
        run_dask_bench(repeat=1, quick=True, progress=False, scheduler="threads",
                       names=["conv9x9"])
    with pytest.raises(ValueError, match="scheduler"):
        run_dask_bench(scheduler="processes")


ND_MODES = ["reflect", "mirror", "nearest", "wrap", "constant", "grid-constant", "grid-wrap",
            "grid-mirror"]


@pytest.mark.parametrize("mode", ND_MODES)
def test_ndimage_filters_bit_exact(mode, rng):
    """Every fastconv.ndimage filter, every mode, uneven and one-element chunks."""
    ndi = pytest.importorskip("fastconv.ndimage")
    x = rng.standard_normal((37, 29)).astype(np.float32)
    xd = da.from_array(x, chunks=((5, 1, 20, 11), (3, 26)))
    w = rng.standard_normal((4, 5)).astype(np.float32)
    cases = [("correlate", (w,), dict(origin=(1, -1))), ("convolve", (w,), {}),
             ("correlate1d", (w[0],), dict(axis=0, origin=1)),
             ("convolve1d", (w[1],), dict(axis=1)),
             ("gaussian_filter", (2.0,), {}), ("gaussian_filter1d", (1.5,), dict(axis=0, order=1)),
             ("uniform_filter", (4,), {}), ("uniform_filter1d", (3,), dict(axis=1, origin=-1)),
             ("minimum_filter", (), dict(size=3)),
             ("maximum_filter", (), dict(footprint=np.array([[1, 0, 1], [0, 1, 0]], bool))),
             ("minimum_filter1d", (5,), {}), ("maximum_filter1d", (2,), dict(axis=0)),
             ("prewitt", (), {}), ("sobel", (), dict(axis=0)), ("laplace", (), {}),
             ("gaussian_laplace", (1.0,), {}), ("gaussian_gradient_magnitude", (1.0,), {})]
    for name, args, kw in cases:
        f = getattr(ndi, name)
        kw = dict(kw, mode=mode)
        if mode.endswith("constant"):
            kw["cval"] = 0.5
        _same_bits(f(xd, *args, **kw), f(x, *args, **kw))
    # integers keep their dtype (SciPy's rule), 3-D volumes
    v = rng.integers(0, 100, (9, 10, 11)).astype(np.int16)
    vd = da.from_array(v, chunks=(4, 3, 11))
    _same_bits(ndi.uniform_filter(vd, 3, mode=mode), ndi.uniform_filter(v, 3, mode=mode))


def test_ndimage_per_axis_modes_split_bit_exact(rng):
    """A sequence of modes (one per filtered axis) splits over the chunks, each axis's
    halo in its own mode; constant on one axis of a multi-pass filter: one block."""
    x = rng.standard_normal((31, 26)).astype(np.float32)
    xd = da.from_array(x, chunks=((7, 1, 23), (12, 14)))
    v = rng.standard_normal((9, 10, 11)).astype(np.float32)
    vd = da.from_array(v, chunks=(4, 3, 6))
    cases = [(xd, x, "gaussian_filter", (1.5,), dict(mode=["wrap", "mirror"])),
             (xd, x, "uniform_filter", (3,), dict(mode=("nearest", "reflect"))),
             (xd, x, "maximum_filter", (), dict(size=(3, 4), mode=["constant", "wrap"],
                                                cval=2.0)),
             (xd, x, "sobel", (), dict(axis=1, mode=["mirror", "nearest"])),
             (xd, x, "gaussian_filter", (1.0,), dict(mode=["constant", "wrap"], cval=0.5)),
             (vd, v, "gaussian_filter", (1.0,), dict(axes=(0, 2), mode=["wrap", "reflect"])),
             (vd, v, "minimum_filter", (), dict(size=3, axes=(1, 2),
                                                mode=["grid-wrap", "constant"]))]
    for lazy_in, ref_in, name, args, kw in cases:
        f = getattr(ndimage, name)
        y = f(lazy_in, *args, **kw)
        if "constant" not in kw["mode"] or name in ("maximum_filter", "minimum_filter"):
            assert any(len(c) > 1 for c in y.chunks)        # split, not one block
        _same_bits(y, f(ref_in, *args, **kw))
    with pytest.raises((ValueError, RuntimeError)):
        ndimage.gaussian_filter(xd, 1.0, mode=["wrap"])     # one mode short: eager error


@pytest.fixture
def inner_calls(monkeypatch):
    """Counts the pieces computed from their chunk alone plus recomputed bands."""
    from fastconv._dask import _halo

    calls = []
    orig = _halo._inner_and_bands

    def counting(*a, **k):
        calls.append(1)
        return orig(*a, **k)

    monkeypatch.setattr(_halo, "_inner_and_bands", counting)
    return calls


@pytest.mark.parametrize("mode", ND_MODES)
def test_ndimage_chunk_alone_plus_bands_bit_exact(mode, rng, inner_calls):
    """Chunks larger than the halo: each piece is the filter on its chunk alone (no
    halo'd copy) with the bands near the edges recomputed from gathered blocks; the
    same bits as the in-memory call, next to one-element and small chunks."""
    x = rng.standard_normal((64, 57)).astype(np.float32)
    xd = da.from_array(x, chunks=((30, 34), (25, 1, 2, 29)))
    w = rng.standard_normal((5, 4)).astype(np.float32)
    kw = dict(mode=mode, cval=0.25) if mode.endswith("constant") else dict(mode=mode)
    cases = [("correlate", (w,), dict(origin=(-1, 1))), ("convolve", (w,), {}),
             ("correlate1d", (w[0],), dict(axis=1, origin=-1)),
             ("minimum_filter", (), dict(size=(3, 5))), ("uniform_filter1d", (4,), {}),
             ("gaussian_filter1d", (1.5,), dict(axis=0))]
    if not mode.endswith("constant"):
        # (a float32 result: the strips mode instead, tests/test_dask_halo_strips.py)
        cases += [("gaussian_filter", (2.0,), dict(output=np.float64)), ("sobel", (), {}),
                  ("gaussian_gradient_magnitude", (1.0,), {})]
    for name, args, extra in cases:
        f = getattr(ndimage, name)
        before = len(inner_calls)
        _same_bits(f(xd, *args, **kw, **extra), f(x, *args, **kw, **extra))
        assert len(inner_calls) > before, name
    # (float32: float64 uniform_filter over chunks differs from the whole call in the
    # last bit, with or without this path; see the dask closing note)
    v = rng.standard_normal((20, 18, 21)).astype(np.float32)
    vd = da.from_array(v, chunks=(9, (8, 10), 21))
    _same_bits(ndimage.uniform_filter(vd, 3, **kw), ndimage.uniform_filter(v, 3, **kw))


@pytest.mark.parametrize("mode", MODES)
def test_conv_chunk_alone_plus_bands_bit_exact(mode, rng, inner_calls):
    """conv with stride 1 over chunks larger than the halo: the chunk alone with zero
    padding plus recomputed bands; paddings (lo, hi), 'same', 'valid', dilation,
    groups, flip, 1-3 spatial dims: the same bits as the in-memory call."""
    x = rng.standard_normal((2, 4, 41, 38)).astype(np.float32)
    xd = da.from_array(x, chunks=((1, 1), (4,), (20, 1, 20), (17, 21)))
    kw = dict(padding_mode=mode, pad_value=-0.5) if mode == "constant" else \
        dict(padding_mode=mode)
    for w_shape, opts in [((3, 4, 3, 5), dict(padding="same")),
                          ((4, 2, 5, 3), dict(padding=((3, 1), (0, 4)), groups=2,
                                              dilation=(2, 1))),
                          ((2, 4, 3, 3), dict(padding=0, flip=True)),
                          ((4, 1, 5, 5), dict(padding=2, groups=4))]:
        w = rng.standard_normal(w_shape).astype(np.float32)
        b = rng.standard_normal(w_shape[0]).astype(np.float32)
        before = len(inner_calls)
        _same_bits(fastconv.conv2d(xd, w, b, **opts, **kw),
                   fastconv.conv2d(x, w, b, **opts, **kw))
        assert len(inner_calls) > before, opts
    s = rng.standard_normal((3, 50)).astype(np.float64)
    sd = da.from_array(s, chunks=(3, (24, 26)))
    w1 = rng.standard_normal((2, 3, 4)).astype(np.float64)
    _same_bits(fastconv.conv1d(sd, w1, padding="same", **kw),
               fastconv.conv1d(s, w1, padding="same", **kw))
    v = rng.standard_normal((1, 2, 14, 15, 16)).astype(np.float32)
    vd = da.from_array(v, chunks=(1, 2, 7, (9, 6), 16))
    w3 = rng.standard_normal((2, 2, 3, 3, 3)).astype(np.float32)
    _same_bits(fastconv.conv3d(vd, w3, padding=1, **kw), fastconv.conv3d(v, w3, padding=1, **kw))


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_avg_pool_backward_spatial_chunks_bit_exact(nd, rng):
    """avg_pool_backward over spatial chunks of grad_output (uneven, one-element,
    smaller than the window), with padding, overlapping windows and gaps between
    windows, a divisor_override, unbatched: split spatially and the same bits as the
    in-memory call; ceil_mode and count_include_pad=False windows fall back to one
    block per batch chunk, with the same bits."""
    shape = {1: (2, 3, 29), 2: (2, 2, 17, 14), 3: (1, 2, 9, 10, 11)}[nd]
    cases = [dict(kernel_size=3, stride=1, padding=1), dict(kernel_size=3, stride=2, padding=1),
             dict(kernel_size=2, stride=3), dict(kernel_size=4, stride=2, padding=2,
                                                 divisor_override=3),
             dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
             dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)]
    for kw in cases:
        kw = dict(kw, kernel_size=(kw["kernel_size"],) * nd)
        g0 = avg_pool(rng.standard_normal(shape).astype(np.float32), **kw)
        chunks = (1, shape[1]) + tuple(random_chunks(rng, n) for n in g0.shape[2:])
        gd = da.from_array(g0, chunks=chunks)
        ref = avg_pool_backward(g0, shape, **kw)
        y = avg_pool_backward(gd, shape, **kw)
        split = not kw.get("ceil_mode") and kw.get("count_include_pad", True)
        if split and any(len(c) > 1 for c in chunks[2:]):
            assert any(len(c) > 1 for c in y.chunks[2:]), kw
        _same_bits(y, ref)
        # unbatched
        _same_bits(avg_pool_backward(gd[0], shape[1:], **kw),
                   avg_pool_backward(g0[0], shape[1:], **kw))


def test_avg_pool_backward_spatial_adjoint_and_laziness(rng):
    """<avg_pool(x), g> == <x, avg_pool_backward(g)> over spatial chunks (float64), and
    nothing is computed before .compute()."""
    x = rng.standard_normal((1, 1, 40, 33))
    kw = dict(kernel_size=(3, 4), stride=(2, 3), padding=(1, 2))
    g = rng.standard_normal(avg_pool(x, **kw).shape)
    gd = da.from_array(g, chunks=(1, 1, (5, 1, 14), (3, 9)))
    y = avg_pool_backward(gd, x.shape, **kw)
    assert isinstance(y, da.Array)
    dx = y.compute()
    assert np.isclose(np.vdot(avg_pool(x, **kw), g), np.vdot(x, dx), rtol=1e-12)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_avg_pool_padding_spatial_chunks_bit_exact(nd, rng):
    """avg_pool with padding split spatially (count_include_pad, or a divisor_override):
    the padding as +0.0 in the halo, the same bits as the in-memory call, under
    uneven, one-element and smaller-than-window chunks; count_include_pad=False and
    ceil_mode stay one block per batch chunk (same bits too)."""
    shape = {1: (2, 3, 31), 2: (2, 2, 19, 14), 3: (1, 2, 9, 10, 11)}[nd]
    x = rng.standard_normal(shape).astype(np.float32)
    x[(0, 0) + (slice(0, 2),) * nd] = -0.0           # zero signs kept
    for kw in [dict(kernel_size=3, stride=1, padding=1), dict(kernel_size=3, stride=2, padding=1),
               dict(kernel_size=4, stride=3, padding=2, divisor_override=5),
               dict(kernel_size=4, stride=2, padding=2, count_include_pad=False,
                    divisor_override=2),
               dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
               dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)]:
        kw = dict(kw, kernel_size=(kw["kernel_size"],) * nd)
        chunks = (1, shape[1]) + tuple(random_chunks(rng, n) for n in shape[2:])
        xd = da.from_array(x, chunks=chunks)
        y = avg_pool(xd, **kw)
        split = not kw.get("ceil_mode") and (kw.get("count_include_pad", True)
                                             or "divisor_override" in kw)
        if split and any(len(c) > 1 for c in chunks[2:]):
            assert any(len(c) > 1 for c in y.chunks[2:]), kw
        ref = avg_pool(x, **kw)
        got = _same_bits(y, ref)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(ref))
        _same_bits(avg_pool(xd[0], **kw), avg_pool(x[0], **kw))


def test_bench_two_pass_gaussian_chunk_alone_same_bits(rng, inner_calls):
    """The dask suite's two 1-D passes per chunk: pieces from their chunk alone plus
    bands give the bits of one block over the whole image."""
    from fastconv.bench.dask_suite import _fastconv_gauss

    x = rng.standard_normal((130, 121)).astype(np.float32)
    y = _fastconv_gauss(da.from_array(x, chunks=(60, (50, 1, 70))), 2.0)
    _same_bits(y, _compute(_fastconv_gauss(da.from_array(x, chunks=-1), 2.0)))
    assert inner_calls


def test_ndimage_unchunked_axes_no_halo_running_sums(rng):
    """An axis in one chunk gets no halo (the filter's own mode at the array's edges):
    float64 uniform filters, whose running sums start at the block's edge, then keep
    the in-memory bits; along a chunked axis they agree to the last bits only (the
    documented exception), the direct filters to the bit."""
    x = rng.standard_normal((120, 90))
    xd = da.from_array(x, chunks=(25, 90))
    for mode in ("reflect", "wrap", "constant"):
        _same_bits(ndimage.uniform_filter1d(xd, 5, axis=1, mode=mode),
                   ndimage.uniform_filter1d(x, 5, axis=1, mode=mode))
        _same_bits(ndimage.correlate(xd, x[:3, :4], mode=mode),
                   ndimage.correlate(x, x[:3, :4], mode=mode))
    y = ndimage.uniform_filter(da.from_array(x, chunks=(25, 40)), 5).compute()
    ref = ndimage.uniform_filter(x, 5)
    np.testing.assert_allclose(y, ref, rtol=0, atol=64 * np.finfo(np.float64).eps)
    assert ndimage.uniform_filter1d(xd, 5, axis=1).chunks == xd.chunks

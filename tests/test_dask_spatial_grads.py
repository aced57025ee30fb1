"""Gradients and pooling edge cases over *spatial* dask chunks (fastconv._dask._dispatch).

conv_input_grad with a padding mode that folds the border's gradient back (reflect,
replicate, circular, symmetric), max_pool_backward given max_pool's dask indices,
avg_pool_backward and avg_pool with ceil_mode or count_include_pad=False, and
max_pool's indices with padding or ceil_mode: each is split over the spatial chunks
(the result's chunks follow the input's, checked), lazy, and equal to the in-memory
call bit for bit.  The one exception, measured and bounded here: conv_input_grad's
GEMM + col2im path adds a pixel tile at a time, so where the whole call's plane needs
several tiles (multi-channel planes of some 10^4 pixels) a block's terms are added in
another order: within the float32 bound of COMMON.md instead.
"""

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

from dask_cases import raising_scheduler, random_chunks  # noqa: E402

import fastconv  # noqa: E402
from fastconv._padmaps import source_index  # noqa: E402
from fastconv.pool import (  # noqa: E402
    avg_pool,
    avg_pool_backward,
    max_pool,
    max_pool_backward,
)

FOLDING = ["reflect", "replicate", "circular", "symmetric"]
DTYPES = [np.float32, np.float64]


@pytest.fixture(autouse=True)
def threads_scheduler():
    with dask.config.set(scheduler="threads"):
        yield


def _chunks_from(bounds, n):
    b = sorted({0, n} | {min(max(p, 0), n) for p in bounds})
    return tuple(hi - lo for lo, hi in zip(b[:-1], b[1:]) if hi > lo)


def _inner_bounds(chunks):
    return np.cumsum(chunks)[:-1].tolist()


def _adjoint_chunks(g_chunks, stride, lo, n):
    """An adjoint's result chunks follow its input's: input boundary p -> p*s - lo."""
    return _chunks_from([p * stride - lo for p in _inner_bounds(g_chunks)], n)


def _forward_chunks(x_chunks, stride, n_out):
    """A pooling's output chunks follow its input's: input boundary p -> ceil(p / s)."""
    return _chunks_from([-(-p // stride) for p in _inner_bounds(x_chunks)], n_out)


def _check(lazy, ref, spatial_chunks):
    """Lazy, split as expected (not one block over the spatial extent), same bits."""
    assert isinstance(lazy, da.Array), type(lazy)
    nd = len(spatial_chunks)
    assert lazy.chunks[-nd:] == tuple(spatial_chunks)
    got = lazy.compute()
    assert got.shape == ref.shape and got.dtype == ref.dtype
    np.testing.assert_array_equal(got, ref)
    return got


# ------------------------------------------------------------------ conv_input_grad

def _fold_case(rng, nd, mode, dtype):
    """A random valid geometry with a folding mode, its weight and grad_output."""
    while True:
        k = tuple(int(v) for v in rng.integers(1, 5, nd))
        s = tuple(int(v) for v in rng.integers(1, 4, nd))
        d = tuple(int(v) for v in rng.integers(1, 3, nd))
        n = tuple(int(v) for v in rng.integers(1, 17 if nd < 3 else 8, nd))
        pads = tuple((int(rng.integers(0, 7)), int(rng.integers(0, 7))) for _ in range(nd))
        cin, cout = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        groups = 1
        if cin == cout and rng.integers(3) == 0:
            groups = cin
        w = rng.standard_normal((cout, cin // groups) + k).astype(dtype)
        opts = dict(stride=s, dilation=d, padding=pads, padding_mode=mode, groups=groups,
                    flip=bool(rng.integers(2)))
        batch = int(rng.integers(1, 4))
        try:
            y = fastconv.conv(np.zeros((batch, cin) + n, dtype), w, **opts)
        except ValueError:
            continue
        if y.size:
            g = rng.standard_normal(y.shape).astype(dtype)
            return (batch, cin) + n, opts, w, g


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", FOLDING)
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_input_grad_folding_modes_split_bit_exact(nd, mode, dtype, rng):
    for _ in range(10 if nd < 3 else 4):
        ishape, opts, w, g, = _fold_case(rng, nd, mode, dtype)
        chunks = (int(rng.integers(1, ishape[0] + 1)), -1) + tuple(
            random_chunks(rng, m) for m in g.shape[2:])
        gd = da.from_array(g, chunks=chunks)
        g0, w0 = g.copy(), w.copy()
        ref = fastconv.conv_input_grad(g, w, ishape, **opts)
        lazy = fastconv.conv_input_grad(gd, w, ishape, **opts)
        expect = [_adjoint_chunks(c, s, lo, n) for c, s, (lo, _), n in
                  zip(gd.chunks[2:], opts["stride"], opts["padding"], ishape[2:])]
        _check(lazy, ref, expect)
        np.testing.assert_array_equal(g, g0)
        np.testing.assert_array_equal(w, w0)


def test_input_grad_folding_unbatched_and_conv_backward(rng):
    x = rng.standard_normal((2, 26, 21)).astype(np.float32)
    w = rng.standard_normal((3, 2, 4, 3)).astype(np.float32)
    for mode in FOLDING:
        kw = dict(stride=(2, 1), padding=((3, 2), (1, 4)), dilation=(1, 2), padding_mode=mode)
        g = rng.standard_normal(fastconv.conv2d(x, w, **kw).shape).astype(np.float32)
        assert g.shape == (3, 14, 22)
        gd = da.from_array(g, chunks=(3, (1, 4, 2, 7), (7, 1, 14)))
        expect = [_adjoint_chunks(c, s, lo, n) for c, s, lo, n in
                  zip(gd.chunks[1:], (2, 1), (3, 1), x.shape[1:])]
        _check(fastconv.conv_input_grad(gd, w, x.shape, **kw),
               fastconv.conv_input_grad(g, w, x.shape, **kw), expect)
        xb, gb = x[None], g[None]
        gbd = da.from_array(gb, chunks=(1, 3, 4, 6))
        gx, gw, _ = fastconv.conv_backward(gbd, xb, w, needs=("input", "weight"), **kw)
        rx, rw, _ = fastconv.conv_backward(gb, xb, w, needs=("input", "weight"), **kw)
        _check(gx, rx, [_adjoint_chunks(c, s, lo, n) for c, s, lo, n in
                        zip(gbd.chunks[2:], (2, 1), (3, 1), x.shape[1:])])
        np.testing.assert_allclose(gw.compute(), rw, rtol=1e-5, atol=1e-5)


def _fold_reference(g, w, ishape, stride, pads, mode):
    """NumPy: scatter each output's window into the padded plane, then fold the padded
    plane onto the input through numpy.pad's index maps (2-D, groups 1)."""
    n, cin, h, wd = ishape
    (t, b), (left, r) = pads
    kh, kw = w.shape[2:]
    gp = np.zeros((n, cin, h + t + b, wd + left + r))
    for i in range(g.shape[2]):
        for j in range(g.shape[3]):
            gp[:, :, i * stride[0]:i * stride[0] + kh, j * stride[1]:j * stride[1] + kw] += \
                np.einsum("no,oikl->nikl", g[:, :, i, j], w)
    canon = {"replicate": "edge", "circular": "wrap"}.get(mode, mode)
    rows = source_index(np.arange(-t, h + b), h, canon)
    cols = source_index(np.arange(-left, wd + r), wd, canon)
    out = np.zeros(ishape)
    for i, si in enumerate(rows):
        for j, sj in enumerate(cols):
            out[:, :, si, sj] += gp[:, :, i, j]
    return out


@pytest.mark.parametrize("mode", FOLDING)
def test_input_grad_folding_exact_on_integers(mode, rng):
    """Small integers: every sum is exact, so the chunked result equals the NumPy fold
    exactly (repeated reflection and wrap-around: padding wider than the input)."""
    ishape = (2, 2, 5, 9)
    w = rng.integers(-3, 4, (3, 2, 3, 2)).astype(np.float64)
    kw = dict(stride=(2, 3), padding=((6, 4), (2, 1)))
    y = fastconv.conv2d(np.zeros(ishape), w, padding_mode=mode, **kw)
    g = rng.integers(-3, 4, y.shape).astype(np.float64)
    ref = _fold_reference(g, w, ishape, kw["stride"], kw["padding"], mode)
    got = fastconv.conv_input_grad(da.from_array(g, chunks=(1, 3, 2, 1)), w, ishape,
                                   padding_mode=mode, **kw).compute()
    np.testing.assert_array_equal(got, ref)


def test_input_grad_folding_adjoint_identity(rng):
    """<conv(x, w), g> == <x, conv_input_grad(g, w)> in float64, chunked result."""
    x = rng.standard_normal((2, 3, 23, 19))
    w = rng.standard_normal((4, 3, 3, 4))
    for mode in FOLDING:
        kw = dict(stride=(2, 3), padding=((5, 1), (0, 3)), dilation=(1, 2), padding_mode=mode)
        y = fastconv.conv2d(x, w, **kw)
        g = rng.standard_normal(y.shape)
        gx = fastconv.conv_input_grad(da.from_array(g, chunks=(1, 4, 3, 2)), w, x.shape,
                                      **kw).compute()
        assert np.vdot(y, g) == pytest.approx(np.vdot(x, gx), rel=1e-12)


def test_input_grad_folding_several_pixel_tiles_within_float_bound(rng):
    """A multi-channel plane that the whole call's col2im cuts into several pixel tiles:
    the blocks' tiles differ, so the sums' order does; |got - ref64| <= 2 sqrt(K) 2^-24 S,
    K the terms per element (C_out * taps), S the same gradient of |g| and |w|."""
    w = rng.standard_normal((4, 4, 3, 3)).astype(np.float32)
    g = rng.standard_normal((1, 4, 160, 150)).astype(np.float32)
    for mode, stride in (("reflect", 1), ("circular", 2)):
        ishape = (1, 4) + tuple(stride * (m - 1) + 1 for m in g.shape[2:])
        kw = dict(stride=stride, padding=1, padding_mode=mode)
        got = fastconv.conv_input_grad(da.from_array(g, chunks=(1, 4, 48, 64)), w, ishape,
                                       **kw).compute()
        ref = fastconv.conv_input_grad(g.astype(np.float64), w.astype(np.float64), ishape,
                                       **kw)
        s = fastconv.conv_input_grad(np.abs(g).astype(np.float64),
                                     np.abs(w).astype(np.float64), ishape, **kw)
        assert got.dtype == np.float32
        assert np.all(np.abs(got - ref) <= 2 * np.sqrt(4 * 9) * 2.0**-24 * s)


def test_input_grad_folding_wide_padding_and_far_edge(rng):
    """Padding several times wider than the axis (repeated reflection, wrap-around
    many times) and one-element chunks: the chunks near an edge read the whole axis
    (a part of it cannot fold the same way), the others only their reach."""
    w = rng.standard_normal((2, 3, 3, 2)).astype(np.float32)
    ishape = (1, 3, 4, 30)
    for mode in FOLDING:
        kw = dict(stride=(1, 2), padding=((9, 11), (13, 2)), padding_mode=mode)
        y = fastconv.conv2d(np.zeros(ishape, np.float32), w, **kw)
        g = rng.standard_normal(y.shape).astype(np.float32)
        gd = da.from_array(g, chunks=(1, 2, 1, (8, 1, 1, 1, y.shape[3] - 11)))
        expect = [_adjoint_chunks(c, s, lo, n) for c, s, (lo, _), n in
                  zip(gd.chunks[2:], kw["stride"], kw["padding"], ishape[2:])]
        assert len(expect[1]) > 1
        _check(fastconv.conv_input_grad(gd, w, ishape, **kw),
               fastconv.conv_input_grad(g, w, ishape, **kw), expect)


@pytest.mark.parametrize("mode", FOLDING)
def test_input_grad_folding_chunks_read_only_their_reach(mode):
    """Scaling: on a long axis, every result chunk reads about its own share of
    grad_output (its halo, plus for circular padding a strip at the far edge), never
    the whole axis; the graph is built from shapes alone."""
    from fastconv._dask._dispatch import FoldAxis

    for k, d, s, (lo, hi) in ((3, 1, 1, (1, 1)), (5, 1, 2, (2, 2)), (3, 2, 2, (3, 1))):
        n = 4096
        out = (n + lo + hi - d * (k - 1) - 1) // s + 1
        canon = {"replicate": "edge", "circular": "wrap"}.get(mode, mode)
        ax = FoldAxis(out, k, d, s, lo, hi, n, canon)
        for c0, c1 in ax.out_chunks((out // 8,) * 7 + (out - 7 * (out // 8),)):
            start, end = ax.need(c0, c1)
            assert end - start <= (c1 - c0) // s + 2 * (d * (k - 1) + 1 + lo + hi)


# ------------------------------------------------------------------ max_pool_backward

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_max_pool_backward_split_bit_exact(nd, dtype, rng):
    for i in range(10 if nd < 3 else 4):
        k = tuple(int(v) for v in rng.integers(1, 5, nd))
        s = tuple(int(v) for v in rng.integers(1, 4, nd))
        d = tuple(int(v) for v in rng.integers(1, 3, nd))
        q = tuple(int(rng.integers(0, kk // 2 + 1)) for kk in k)
        n = tuple(int(v) for v in rng.integers(4, 15 if nd < 3 else 8, nd))
        kw = dict(kernel_size=k, stride=s, padding=q, dilation=d, ceil_mode=bool(i % 2))
        x = rng.standard_normal((2, 3) + n).astype(dtype)
        if i % 3 == 0:
            x = np.round(x)                     # ties: the first maximum in window order
        try:
            y, ind = max_pool(x, return_indices=True, **kw)
        except ValueError:                      # a dilated window all in padding
            continue
        g = rng.standard_normal(y.shape).astype(dtype)
        xd = da.from_array(x, chunks=(1, 3) + tuple(random_chunks(rng, m) for m in n))
        _, indd = max_pool(xd, return_indices=True, **kw)
        gd = da.from_array(g, chunks=(2, 3) + tuple(random_chunks(rng, m) for m in y.shape[2:]))
        g0 = g.copy()
        lazy = max_pool_backward(gd, indd, x.shape)
        expect = [_adjoint_chunks(c, ss, qq, m) for c, ss, qq, m in
                  zip(gd.chunks[2:], s, q, n)]
        _check(lazy, max_pool_backward(g, ind, x.shape), expect)
        np.testing.assert_array_equal(g, g0)


def test_max_pool_backward_exact_on_integers_unbatched(rng):
    """A NumPy scatter-add (np.add.at, in output order) is the reference: exact on
    small integers; an unbatched input, spatial_ndim from the 2-d form."""
    x = rng.standard_normal((2, 17, 13))
    g = rng.integers(-4, 5, (2, 9, 7)).astype(np.float64)
    kw = dict(kernel_size=3, stride=2, padding=1)
    _, ind = fastconv.max_pool2d(x, return_indices=True, **kw)
    ref = np.zeros((2, 17 * 13))
    for c in range(2):
        np.add.at(ref[c], ind[c].ravel(), g[c].ravel())
    _, indd = fastconv.max_pool2d(da.from_array(x, chunks=(2, 5, 4)), return_indices=True, **kw)
    lazy = fastconv.max_pool2d_backward(da.from_array(g, chunks=(1, 3, (2, 5))), indd, x.shape)
    got = _check(lazy, ref.reshape(x.shape), [_adjoint_chunks((3, 3, 3), 2, 1, 17),
                                              _adjoint_chunks((2, 5), 2, 1, 13)])
    np.testing.assert_array_equal(got, fastconv.max_pool2d_backward(g, ind, x.shape))


def test_max_pool_backward_unknown_indices_stay_whole_and_correct(rng):
    """Indices that are not max_pool's own dask array (a NumPy array, or one computed
    from it) carry no window reach: one block over the plane, still equal."""
    x = rng.standard_normal((1, 2, 12, 10)).astype(np.float32)
    y, ind = max_pool(x, 2, return_indices=True)
    g = rng.standard_normal(y.shape).astype(np.float32)
    gd = da.from_array(g, chunks=(1, 2, 2, 3))
    ref = max_pool_backward(g, ind, x.shape)
    _, indd = max_pool(da.from_array(x, chunks=(1, 2, 4, 5)), 2, return_indices=True)
    for other in (ind, indd + 0):
        _check(max_pool_backward(gd, other, x.shape), ref, [(12,), (10,)])


# ------------------------------------------------------------------ avg pooling edges

def _avg_options(rng, nd):
    k = tuple(int(v) for v in rng.integers(1, 5, nd))
    kw = dict(kernel_size=k, stride=tuple(int(v) for v in rng.integers(1, 4, nd)),
              padding=tuple(int(rng.integers(0, kk // 2 + 1)) for kk in k),
              ceil_mode=bool(rng.integers(2)), count_include_pad=bool(rng.integers(2)),
              divisor_override=None if rng.integers(3) else int(rng.integers(1, 5)))
    if not kw["ceil_mode"] and (kw["count_include_pad"] or kw["divisor_override"]):
        kw["ceil_mode"] = True                  # the cases split before are tested elsewhere
    return kw


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_avg_pool_and_backward_edges_split_bit_exact(nd, dtype, rng):
    for _ in range(10 if nd < 3 else 4):
        kw = _avg_options(rng, nd)
        n = tuple(int(v) for v in rng.integers(1, 15 if nd < 3 else 8, nd))
        x = rng.standard_normal((2, 2) + n).astype(dtype)
        try:
            ref = avg_pool(x, **kw)
        except ValueError:
            continue
        s, q = kw["stride"], kw["padding"]
        xd = da.from_array(x, chunks=(1, 2) + tuple(random_chunks(rng, m) for m in n))
        _check(avg_pool(xd, **kw), ref,
               [_forward_chunks(c, ss, o) for c, ss, o in zip(xd.chunks[2:], s, ref.shape[2:])])
        g = rng.standard_normal(ref.shape).astype(dtype)
        gd = da.from_array(g, chunks=(2, 1) + tuple(random_chunks(rng, m) for m in ref.shape[2:]))
        g0 = g.copy()
        _check(avg_pool_backward(gd, x.shape, **kw), avg_pool_backward(g, x.shape, **kw),
               [_adjoint_chunks(c, ss, qq, m) for c, ss, qq, m in zip(gd.chunks[2:], s, q, n)])
        np.testing.assert_array_equal(g, g0)


def test_avg_pool_edges_adjoint_identity_and_torch(rng):
    """<avg_pool(x), g> == <x, avg_pool_backward(g)> (float64), and PyTorch's
    avg_pool2d as the oracle of the chunked forward."""
    x = rng.standard_normal((2, 3, 21, 18))
    for kw in (dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
               dict(kernel_size=(4, 3), stride=(3, 2), padding=(2, 1),
                    count_include_pad=False),
               dict(kernel_size=(2, 5), stride=(2, 3), padding=(1, 2), ceil_mode=True,
                    count_include_pad=False)):
        xd = da.from_array(x, chunks=(1, 3, (5, 1, 8, 7), (4, 14)))
        y = avg_pool(xd, **kw).compute()
        g = rng.standard_normal(y.shape)
        gx = avg_pool_backward(da.from_array(g, chunks=(2, 3, 2, 3)), x.shape, **kw).compute()
        assert np.vdot(y, g) == pytest.approx(np.vdot(x, gx), rel=1e-12)
    torch = pytest.importorskip("torch")
    for kw in (dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                    count_include_pad=False),
               dict(kernel_size=(4, 3), stride=(3, 2), padding=(2, 1), ceil_mode=True)):
        got = avg_pool(da.from_array(x, chunks=(2, 3, 6, 5)), **kw).compute()
        ref = torch.nn.functional.avg_pool2d(torch.from_numpy(x), **kw).numpy()
        np.testing.assert_allclose(got, ref, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_max_pool_indices_padding_ceil_split_bit_exact(nd, rng):
    for i in range(10 if nd < 3 else 4):
        k = tuple(int(v) for v in rng.integers(2, 5, nd))
        kw = dict(kernel_size=k, stride=tuple(int(v) for v in rng.integers(1, 4, nd)),
                  padding=tuple(int(rng.integers(0, kk // 2 + 1)) for kk in k),
                  dilation=tuple(int(v) for v in rng.integers(1, 3, nd)), ceil_mode=True)
        if i % 2:
            kw["ceil_mode"], kw["padding"] = False, tuple(kk // 2 for kk in k)
        n = tuple(int(v) for v in rng.integers(2, 15 if nd < 3 else 8, nd))
        dtype = DTYPES[i % 2]
        x = np.round(rng.standard_normal((2, 2) + n) * 2).astype(dtype)   # ties
        try:
            ry, ri = max_pool(x, return_indices=True, **kw)
        except ValueError:
            continue
        xd = da.from_array(x, chunks=(1, 2) + tuple(random_chunks(rng, m) for m in n))
        y, ind = max_pool(xd, return_indices=True, **kw)
        expect = [_forward_chunks(c, s, o) for c, s, o in
                  zip(xd.chunks[2:], kw["stride"], ry.shape[2:])]
        _check(ind, ri, expect)
        _check(y, ry, expect)


def test_max_pool_indices_torch_oracle(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((1, 2, 19, 16))
    kw = dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)
    _, ind = max_pool(da.from_array(x, chunks=(1, 2, (4, 15), (1, 7, 8))), return_indices=True,
                      **kw)
    _, ref = torch.nn.functional.max_pool2d(torch.from_numpy(x), return_indices=True, **kw)
    np.testing.assert_array_equal(ind.compute(), ref.numpy())


# ------------------------------------------------------------------ laziness, cluster

def test_nothing_computed_before_compute():
    x = da.random.default_rng(1).standard_normal((2, 2, 30, 30), chunks=(1, 2, 7, 11))
    w = np.ones((3, 2, 3, 3))
    with dask.config.set(scheduler=raising_scheduler):
        _, ind = max_pool(x, 3, 2, 1, return_indices=True)
        ys = [fastconv.conv_input_grad(x[:, :, :28, :28].rechunk((1, 2, 9, 5))[:, :2],
                                       w[:2], (2, 2, 30, 30), padding_mode="reflect"),
              max_pool_backward(x[:, :, :15, :15], ind, x.shape),
              avg_pool(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
              avg_pool_backward(x[:, :, :16, :16], x.shape, 3, 2, 1, ceil_mode=True),
              ind]
        with pytest.raises(AssertionError, match="computed"):
            ys[0].compute()
    for y in ys:
        assert isinstance(y, da.Array)
        assert all(len(c) > 1 for c in y.chunks[2:])
        y.compute()


def test_cluster_spatial_gradients_bit_exact(cluster_client, rng):
    """On worker processes (the pieces and their axes travel pickled)."""
    x = rng.standard_normal((1, 2, 37, 29)).astype(np.float32)
    w = rng.standard_normal((3, 2, 3, 4)).astype(np.float32)
    kw = dict(stride=(2, 1), padding=((2, 3), (1, 2)), padding_mode="circular")
    g = rng.standard_normal(fastconv.conv2d(x, w, **kw).shape).astype(np.float32)
    assert g.shape == (1, 3, 20, 29)
    gd = da.from_array(g, chunks=(1, 3, (5, 9, 6), (1, 14, 14)))
    xd = da.from_array(x, chunks=(1, 2, (10, 27), (8, 21)))
    pk = dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)
    py, pi = max_pool(x, return_indices=True, **pk)
    _, pid = max_pool(xd, return_indices=True, **pk)
    pg = rng.standard_normal(py.shape).astype(np.float32)
    pgd = da.from_array(pg, chunks=(1, 2, (7, 12), (4, 11)))
    lazy = [fastconv.conv_input_grad(gd, w, x.shape, **kw), pid,
            max_pool_backward(pgd, pid, x.shape),
            avg_pool(xd, count_include_pad=False, **pk),
            avg_pool_backward(pgd, x.shape, count_include_pad=False, **pk)]
    refs = [fastconv.conv_input_grad(g, w, x.shape, **kw), pi,
            max_pool_backward(pg, pi, x.shape), avg_pool(x, count_include_pad=False, **pk),
            avg_pool_backward(pg, x.shape, count_include_pad=False, **pk)]
    for y in lazy:
        assert all(len(c) > 1 for c in y.chunks[2:])
    for got, ref in zip(cluster_client.compute(lazy, sync=True), refs):
        np.testing.assert_array_equal(got, ref)

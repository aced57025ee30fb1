"""A 2-D separable filter on a dask chunk read in place with the halo strips around it.

``_filter_kernels.sep2d_halo`` runs sep2d's two passes over a block given as its
interior and four strips (top, bottom, and the left and right columns with the
corners); ``_halo``'s strips mode feeds it each chunk of a lazy ``gaussian_filter``.
Both must give the whole-array call's bits: the same sums in the same order.
"""

import numpy as np
import pytest

from fastconv import _filter_kernels, _ndfilters, ndimage

OP_CORR, OP_MIN, OP_MAX = 0, 1, 2


def _halo_of(x, r0, r1, H, W, reach):
    """The interior x[r0:r0+H, r1:r1+W] and its strips as sep2d_halo takes them."""
    (lo0, hi0), (lo1, hi1) = reach
    c = np.ascontiguousarray
    rows = slice(r0 - lo0, r0 + H + hi0)
    return (c(x[r0:r0 + H, r1:r1 + W]), c(x[r0 - lo0:r0, r1:r1 + W]),
            c(x[r0 + H:r0 + H + hi0, r1:r1 + W]), c(x[rows, r1 - lo1:r1]),
            c(x[rows, r1 + W:r1 + W + hi1]))


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("ops", [(OP_CORR, OP_CORR), (OP_MIN, OP_MAX), (OP_CORR, OP_MAX)])
def test_kernel_equals_whole_array_bits(dt, ops, rng):
    """Every interior of a random array, with its strips, gives run_passes' values on
    the whole array there, bit for bit: symmetric, antisymmetric and general weights,
    origins, ring (K0 > 8) or not, row groups of 16 and tails, 1 or 2 threads."""
    for K0, K1, o0, o1, H, W in [(25, 25, 0, 0, 70, 53), (3, 7, 1, -3, 33, 16),
                                 (9, 1, 0, 0, 17, 5), (1, 4, 0, 1, 16, 40),
                                 (31, 12, -15, 5, 3, 2)]:
        x = rng.standard_normal((H + 70, W + 70)).astype(dt)
        ws = []
        for K, kind in ((K0, rng.integers(3)), (K1, rng.integers(3))):
            w = rng.standard_normal(K).astype(dt)
            ws.append(w + w[::-1] if kind == 0 else w - w[::-1] if kind == 1 else w)
        passes = [(0, ops[0], K0, o0, 2, 0.0, ws[0]), (1, ops[1], K1, o1, 2, 0.0, ws[1])]
        ref = _ndfilters.run_passes(x, np.empty_like(x), passes)
        reach = [(K // 2 + o, K - 1 - K // 2 - o) for K, o in ((K0, o0), (K1, o1))]
        r0, r1 = (int(rng.integers(35, 36 + 34 - max(r))) for r in reach)
        parts = _halo_of(x, r0, r1, H, W, reach)
        for threads in (1, 2):
            out = np.full((H, W), np.nan, dt)
            _filter_kernels.sep2d_halo(*parts, out, ops[0], ws[0].copy(),
                                       _ndfilters.weights_symmetry(ws[0]) if ops[0] == 0
                                       else 0, K0, ops[1], ws[1].copy(),
                                       _ndfilters.weights_symmetry(ws[1]) if ops[1] == 0
                                       else 0, K1, _ndfilters._level(), threads)
            np.testing.assert_array_equal(out, ref[r0:r0 + H, r1:r1 + W])


def test_kernel_refuses_strips_that_do_not_fit():
    """Strips of the wrong size for the block or the kernels: a ValueError, not a read
    past their ends."""
    w = np.ones(5)
    x = np.zeros((10, 10))
    parts = list(_halo_of(np.zeros((30, 30)), 10, 10, 10, 10, [(2, 2), (2, 2)]))
    out = np.empty((10, 10))
    _filter_kernels.sep2d_halo(*parts, out, 0, w, 1, 5, 0, w, 1, 5, 0, 1)
    for i, bad in [(1, np.zeros((2, 9))), (2, np.zeros((3, 10))), (3, np.zeros((13, 2))),
                   (4, np.zeros((14, 3)))]:
        wrong = parts[:i] + [bad] + parts[i + 1:]
        with pytest.raises(ValueError, match="halo"):
            _filter_kernels.sep2d_halo(*wrong, out, 0, w, 1, 5, 0, w, 1, 5, 0, 1)
    with pytest.raises(ValueError, match="halo"):
        _filter_kernels.sep2d_halo(*parts, x[:9], 0, w, 1, 5, 0, w, 1, 5, 0, 1)


da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

from dask_cases import raising_scheduler, random_chunks  # noqa: E402


def _strip_tasks(y):
    """How many of y's tasks run in the strips mode."""
    return sum(1 for t in dict(y.__dask_graph__()).values()
               if isinstance(t, tuple) and callable(t[0])
               and getattr(t[0], "keywords", {}).get("strips") is not None)


@pytest.mark.parametrize("mode", ["reflect", "mirror", "nearest", "wrap", "grid-wrap",
                                  ["wrap", "reflect"]])
def test_gaussian_chunks_read_in_place_same_bits(mode, rng):
    """A lazy 2-D gaussian_filter whose chunks take the strips mode equals the in-memory
    call bit for bit; the chunks that cannot (smaller than the halo) fall back."""
    for dt, sigma, kw in [(np.float32, 3.0, {}), (np.float64, (1.0, 2.5), {}),
                          (np.float32, 1.5, dict(order=(0, 1))),
                          (np.float64, 2.0, dict(radius=(3, 5))),
                          (np.float32, 1.0, dict(truncate=2.0, output=np.float32))]:
        x = (rng.standard_normal((97, 83)) * 10).astype(dt)
        before = x.copy()
        for chunks in [(40, 30), (97, 20), ((50, 47), (83,)), ((1, 60, 36), (3, 80)), 25]:
            xd = da.from_array(x, chunks=chunks)
            with dask.config.set(scheduler=raising_scheduler):
                y = ndimage.gaussian_filter(xd, sigma, mode=mode, **kw)
            if chunks == (40, 30):          # every chunk wider than the halo
                assert _strip_tasks(y) == y.npartitions
            elif chunks == 25 and sigma == 3.0:   # the last column's 8 < the halo's 12
                assert _strip_tasks(y) == 12
            assert y.chunks == xd.chunks
            got = y.compute(scheduler="threads")
            ref = ndimage.gaussian_filter(x, sigma, mode=mode, **kw)
            assert got.dtype == ref.dtype
            np.testing.assert_array_equal(got, ref)
        np.testing.assert_array_equal(x, before)


def test_gaussian_random_chunks_and_fallbacks(rng):
    """Random chunkings (one-element chunks, one chunk, random cuts), and the calls the
    strips mode leaves to the other paths (a constant mode, an integer input, another
    output dtype, one filtered axis, 3-D): the same bits as in memory."""
    for _ in range(16):
        shape = tuple(int(n) for n in rng.integers(5, 40, 2))
        x = rng.standard_normal(shape).astype(np.float32)
        xd = da.from_array(x, chunks=tuple(random_chunks(rng, n) for n in shape))
        # a derivative's antisymmetric weights tell a mirrored copy of a chunk (the
        # block of a one-element chunk at a 'reflect' edge holds two) from the chunk
        kw = dict(sigma=float(rng.uniform(0.5, 2.5)),
                  order=[int(o) for o in rng.integers(2, size=2)],
                  mode=str(rng.choice(["reflect", "mirror", "nearest", "wrap"])))
        got = ndimage.gaussian_filter(xd, **kw).compute(scheduler="threads")
        np.testing.assert_array_equal(got, ndimage.gaussian_filter(x, **kw))
    x = rng.standard_normal((22, 14))
    for chunks in [(11, (1,) * 14), ((1,) * 22, (1, 12, 1))]:
        y = ndimage.gaussian_filter(da.from_array(x, chunks=chunks), 1.0, order=(1, 1))
        assert _strip_tasks(y) > 0
        np.testing.assert_array_equal(y.compute(scheduler="threads"),
                                      ndimage.gaussian_filter(x, 1.0, order=(1, 1)))
    x = rng.standard_normal((30, 28))
    xd = da.from_array(x, chunks=10)
    for args, kw in [((1.5,), dict(mode="constant", cval=2.0)), ((1.5,), dict(output=np.float32)),
                     (((1.5, 0.0),), {}), ((1.5,), dict(axes=(1,)))]:
        y = ndimage.gaussian_filter(xd, *args, **kw)
        assert _strip_tasks(y) == 0
        np.testing.assert_array_equal(y.compute(scheduler="threads"),
                                      ndimage.gaussian_filter(x, *args, **kw))
    xi = rng.integers(0, 255, (30, 28)).astype(np.uint8)
    y = ndimage.gaussian_filter(da.from_array(xi, chunks=10), 1.5)
    assert _strip_tasks(y) == 0
    np.testing.assert_array_equal(y.compute(scheduler="threads"),
                                  ndimage.gaussian_filter(xi, 1.5))
    x3 = rng.standard_normal((6, 20, 20)).astype(np.float32)
    y = ndimage.gaussian_filter(da.from_array(x3, chunks=(3, 10, 10)), 1.0)
    assert _strip_tasks(y) == 0
    np.testing.assert_array_equal(y.compute(scheduler="threads"),
                                  ndimage.gaussian_filter(x3, 1.0))


def test_gaussian_errors_as_in_memory(rng):
    """Bad arguments raise the in-memory call's error, not one of the strips planning."""
    xd = da.from_array(rng.standard_normal((20, 20)), chunks=10)
    for kw in [dict(order=-1), dict(radius=-2), dict(sigma=(1.0, 2.0, 3.0)),
               dict(mode="nope")]:
        kw = {"sigma": 1.0, **kw}
        with pytest.raises((ValueError, RuntimeError)) as ref:
            ndimage.gaussian_filter(np.zeros((20, 20)), **kw)
        with pytest.raises(type(ref.value)):
            ndimage.gaussian_filter(xd, **kw)


def test_gaussian_strips_on_cluster(cluster_client, rng):
    """On a 2-process LocalCluster (the strips plan and the weights pickled)."""
    x = rng.standard_normal((64, 70)).astype(np.float32)
    y = ndimage.gaussian_filter(da.from_array(x, chunks=(32, 35)), 2.0, mode="mirror")
    assert _strip_tasks(y) == 4
    np.testing.assert_array_equal(cluster_client.compute(y, sync=True),
                                  ndimage.gaussian_filter(x, 2.0, mode="mirror"))

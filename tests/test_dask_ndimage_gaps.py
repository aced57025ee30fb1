"""The dask paths that used to run as one block, now split spatially.

Multi-pass ndimage filters with a constant mode on some axis (every pass sees
``cval`` outside the array), gaussian_laplace / gaussian_gradient_magnitude with a
mode per axis or an ``axes`` subset, integer inputs with a fractional ``cval``:
equal to the in-memory call bit for bit (uniform filters on float data: within
their running sums' bound, see ``_uniform_bound``), lazy, with the input's chunks.
"""

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

from dask_cases import raising_scheduler, random_chunks  # noqa: E402

from fastconv import ndimage  # noqa: E402

ND_MODES = ["reflect", "mirror", "nearest", "wrap", "constant", "grid-constant", "grid-wrap",
            "grid-mirror"]
MULTI_PASS = ["gaussian_filter", "uniform_filter", "prewitt", "sobel", "laplace",
              "gaussian_laplace", "gaussian_gradient_magnitude"]


@pytest.fixture(autouse=True)
def threads_scheduler():
    with dask.config.set(scheduler="threads"):
        yield


def _lazy_equal(f, xd, x, *args, **kw):
    """f on the dask array is lazy, keeps the input's chunks and equals f on x bit for
    bit; x is left unchanged."""
    before = x.copy()
    y = f(xd, *args, **kw)
    assert isinstance(y, da.Array)
    assert y.chunks == xd.chunks, (y.chunks, xd.chunks)
    got = y.compute()
    ref = f(x, *args, **kw)
    assert got.dtype == ref.dtype and got.shape == ref.shape
    np.testing.assert_array_equal(got, ref)
    np.testing.assert_array_equal(x, before)
    return got


def _uniform_bound(x, sizes, out_dtype, cval):
    """Two running sums over the same line that start at different places: each output
    of a pass over n elements is within (2 n + 1) u M of the exact mean (u = 2^-53,
    M = the largest magnitude: a mean never grows it), so two of them differ by twice
    that; a float32 store of each pass adds at most one float32 ulp of M."""
    m = max(float(np.max(np.abs(x))), abs(float(cval)))
    tol = 0.0
    for n in sizes:
        tol += 2 * (2 * n + 1) * 2.0 ** -53 * m
        if np.dtype(out_dtype) == np.float32:
            tol += 2 * 2.0 ** -24 * m
    return tol


def _case(rng, name, nd):
    """Random arguments of a multi-pass filter over an nd array."""
    if name == "gaussian_filter":
        sig = [float(rng.uniform(0.3, 2.0)) for _ in range(nd)]
        return (sig if rng.integers(2) else sig[0],), dict(order=int(rng.integers(0, 2)))
    if name == "uniform_filter":
        return ([int(s) for s in rng.integers(1, 6, nd)],), dict(
            origin=[int(o) for o in rng.integers(-1, 1, nd)])
    if name in ("prewitt", "sobel"):
        return (), dict(axis=int(rng.integers(nd)))
    if name == "laplace":
        return (), {}
    return (float(rng.uniform(0.5, 1.5)),), {}


def _modes(rng, name, nd):
    """One mode, or one per axis with at least one constant among them."""
    if rng.integers(2):
        return str(rng.choice(["constant", "grid-constant"]))
    modes = [str(m) for m in rng.choice(ND_MODES, nd)]
    modes[int(rng.integers(nd))] = "constant"
    return modes


def test_multi_pass_constant_random_shapes_chunks_dtypes(rng):
    """Every multi-pass filter with a constant mode (or a constant among per-axis modes,
    non-zero cval), 1-3 axes, random uneven chunkings, float32/float64/integer inputs
    and output dtypes: the in-memory call's bits (uniform on float data: the bound)."""
    dtypes = [np.float32, np.float64, np.int16, np.uint8]
    outs = [None, np.float32, np.float64, np.int32]
    n_exact = n_bound = 0
    for it in range(70):
        name = MULTI_PASS[it % len(MULTI_PASS)]
        nd = int(rng.integers(1, 4))
        shape = tuple(int(s) for s in rng.integers(1, 14 if nd == 3 else 26, nd))
        dt = dtypes[int(rng.integers(len(dtypes)))]
        if np.dtype(dt).kind == "f":
            x = (rng.standard_normal(shape) * 10).astype(dt)
        else:
            x = rng.integers(0, 100, shape).astype(dt)
        chunks = tuple(random_chunks(rng, n) for n in shape)
        xd = da.from_array(x, chunks=chunks)
        args, kw = _case(rng, name, nd)
        kw["mode"] = _modes(rng, name, nd)
        kw["cval"] = float(rng.choice([0.5, -1.25, 2.7, 7.0]))
        out = outs[int(rng.integers(len(outs)))]
        if out is not None:
            kw["output"] = out
        f = getattr(ndimage, name)
        y = f(xd, *args, **kw)
        assert isinstance(y, da.Array) and y.chunks == xd.chunks
        ref = f(x, *args, **kw)
        got = y.compute()
        assert got.dtype == ref.dtype and got.shape == ref.shape
        if name == "uniform_filter" and (np.dtype(dt).kind == "f"
                                         or kw["cval"] != int(kw["cval"])):
            # a running sum starts at its block's edge: the same bits only when every
            # term is an integer (exact sums)
            if np.dtype(ref.dtype).kind == "f":
                n_bound += 1
                tol = _uniform_bound(x, [n + 6 for n in shape], ref.dtype, kw["cval"])
                assert np.max(np.abs(got.astype(np.float64) - ref), initial=0) <= tol
            continue
        n_exact += 1
        np.testing.assert_array_equal(got, ref, err_msg=f"{name} {kw} {dt} {chunks}")
    assert n_exact > 40 and n_bound > 0


@pytest.mark.parametrize("mode", ND_MODES)
def test_multi_pass_every_mode_2d_and_3d(mode, rng):
    """Each mode (non-zero cval), chunks smaller than the halo and one-element chunks,
    float32 and float64 and integer data: bit for bit."""
    x = rng.standard_normal((23, 19))
    xd = da.from_array(x, chunks=((1, 2, 15, 5), (4, 1, 14)))
    kw = dict(mode=mode, cval=-0.75)
    for dt in (np.float64, np.float32):
        xx = x.astype(dt)
        xxd = xd.astype(dt)
        _lazy_equal(ndimage.gaussian_filter, xxd, xx, 1.3, **kw)
        _lazy_equal(ndimage.gaussian_filter, xxd, xx, [0.8, 2.0], order=[1, 0], **kw)
        _lazy_equal(ndimage.sobel, xxd, xx, axis=0, **kw)
        _lazy_equal(ndimage.prewitt, xxd, xx, **kw)
        _lazy_equal(ndimage.laplace, xxd, xx, **kw)
        _lazy_equal(ndimage.gaussian_laplace, xxd, xx, 1.0, **kw)
        _lazy_equal(ndimage.gaussian_gradient_magnitude, xxd, xx, 0.9, **kw)
    v = rng.integers(-50, 50, (9, 8, 10)).astype(np.int32)
    vd = da.from_array(v, chunks=(4, (1, 7), (3, 3, 4)))
    _lazy_equal(ndimage.uniform_filter, vd, v, 3, **kw)
    _lazy_equal(ndimage.uniform_filter, vd, v, (2, 4, 3), output=np.float64, **kw)
    _lazy_equal(ndimage.gaussian_filter, vd, v, 1.0, output=np.float32, **kw)
    _lazy_equal(ndimage.sobel, vd, v, axis=2, output=np.int16, **kw)


def test_multi_pass_float32_uniform_and_output_dtypes(rng):
    """uniform_filter on float32 data (a float64 running sum, rounded to float32: the
    bound) and the intermediate dtypes of the in-memory call: a float64 input with a
    float32 output stores each pass in float32 and computes the next in float64."""
    x = rng.standard_normal((30, 28))
    xd = da.from_array(x, chunks=((13, 1, 16), (5, 23)))
    for out in (np.float32, np.float64, np.int16, np.uint8):
        kw = dict(mode=["constant", "wrap"], cval=1.5, output=out)
        xs = x * 20
        xsd = xd * 20
        _lazy_equal(ndimage.gaussian_filter, xsd, xs, 1.2, **kw)
        _lazy_equal(ndimage.sobel, xsd, xs, **kw)
        _lazy_equal(ndimage.gaussian_gradient_magnitude, xsd, xs, 1.0, **kw)
    x32 = x.astype(np.float32)
    for out in (None, np.float64):
        y = ndimage.uniform_filter(xd.astype(np.float32), 4, mode="constant", cval=0.1,
                                   output=out)
        ref = ndimage.uniform_filter(x32, 4, mode="constant", cval=0.1, output=out)
        got = y.compute()
        assert got.dtype == ref.dtype and y.chunks == xd.chunks
        tol = _uniform_bound(x32, [36, 34], ref.dtype, 0.1)
        assert np.max(np.abs(got.astype(np.float64) - ref)) <= tol


def test_constant_multi_pass_against_numpy_and_scipy(rng):
    """The numbers themselves: prewitt on small integers against a NumPy reference
    that pads each pass with cval (exact), and SciPy as the oracle (float64: its bits)."""
    x = rng.integers(-9, 10, (17, 21)).astype(np.float64)
    xd = da.from_array(x, chunks=((1, 8, 8), (2, 19)))
    cval = 3.0

    def corr1d(a, w, axis):
        a = np.moveaxis(a, axis, -1)
        p = np.pad(a, [(0, 0), (1, 1)], constant_values=cval)
        out = sum(w[i] * p[:, i:i + a.shape[-1]] for i in range(3))
        return np.moveaxis(out, -1, axis)

    ref = corr1d(corr1d(x, [-1, 0, 1], 1), [1, 1, 1], 0)
    got = ndimage.prewitt(xd, axis=1, mode="constant", cval=cval).compute()
    np.testing.assert_array_equal(got, ref)
    sndi = pytest.importorskip("scipy.ndimage")
    xf = rng.standard_normal((40, 33))
    xfd = da.from_array(xf, chunks=((3, 30, 7), (11, 1, 21)))
    for name, args, kw in [("gaussian_filter", (1.7,), dict(mode="constant", cval=0.3)),
                           ("sobel", (), dict(mode=["constant", "mirror"], cval=-2.0)),
                           ("gaussian_laplace", (1.1,), dict(mode="constant", cval=1.0)),
                           ("gaussian_gradient_magnitude", (1.1,),
                            dict(mode=["constant", "nearest"], cval=1.0))]:
        got = getattr(ndimage, name)(xfd, *args, **kw).compute()
        np.testing.assert_array_equal(got, getattr(sndi, name)(xf, *args, **kw), err_msg=name)


def test_derivative_filters_per_axis_modes_and_axes(rng):
    """gaussian_laplace / gaussian_gradient_magnitude apply each derivative's mode to
    every axis (SciPy's rule): per-axis modes, constant or not, and an ``axes`` subset
    (the gradient magnitude smooths every axis) split and keep the bits."""
    x = rng.standard_normal((26, 31)).astype(np.float32)
    xd = da.from_array(x, chunks=((6, 1, 19), (10, 10, 11)))
    v = rng.standard_normal((10, 9, 12))
    vd = da.from_array(v, chunks=((3, 7), 4, (1, 11)))
    for f in (ndimage.gaussian_laplace, ndimage.gaussian_gradient_magnitude):
        for mode in (["reflect", "wrap"], ["constant", "nearest"], ["wrap", "wrap"],
                     ["grid-constant", "constant"]):
            _lazy_equal(f, xd, x, 1.2, mode=mode, cval=0.5)
        _lazy_equal(f, xd, x, [0.7, 1.6], axes=(0, 1), mode=["mirror", "constant"], cval=2.0)
        _lazy_equal(f, xd, x, 1.0, axes=(0,))
        _lazy_equal(f, xd, x, 1.0, axes=(1,), mode=["wrap"])
        _lazy_equal(f, vd, v, 1.0, axes=(0, 2), mode=["constant", "reflect"], cval=-1.0)
        _lazy_equal(f, vd, v, 0.8, mode=["nearest", "constant", "wrap"], output=np.float32)
    _lazy_equal(ndimage.gaussian_gradient_magnitude, vd, v, [0.5, 1.0, 1.5], axes=(1,),
                truncate=3.0)
    _lazy_equal(ndimage.laplace, vd, v, axes=(2, 0), mode=["constant", "wrap"], cval=4.0)
    # integers: the derivatives' sums and squares wrap in the output dtype, as in memory
    vi = rng.integers(0, 200, (10, 9, 12)).astype(np.int16)
    vid = da.from_array(vi, chunks=((3, 7), 4, (1, 11)))
    _lazy_equal(ndimage.gaussian_gradient_magnitude, vid, vi, 1.0,
                mode=["constant", "wrap", "mirror"], cval=3.0)
    _lazy_equal(ndimage.gaussian_laplace, vid, vi, 1.0, mode=["constant", "wrap", "mirror"],
                output=np.int8)


def test_integer_input_fractional_cval(rng):
    """An integer input reads cval unrounded (correlation) or cast as the in-memory
    min/max filter casts it: the block stops at the array's edge instead of padding
    the integer block with cval."""
    x = rng.integers(0, 60, (21, 17)).astype(np.int32)
    xd = da.from_array(x, chunks=((5, 1, 15), (2, 15)))
    w = rng.integers(-3, 4, (3, 4)).astype(np.float64)
    for cval in (2.7, -1.5, 0.49):
        kw = dict(mode="constant", cval=cval)
        _lazy_equal(ndimage.correlate, xd, x, w, **kw)
        _lazy_equal(ndimage.convolve1d, xd, x, w[0], axis=0, **kw)
        _lazy_equal(ndimage.minimum_filter, xd, x, size=3, **kw)
        u8 = x.astype(np.uint8)
        _lazy_equal(ndimage.maximum_filter1d, da.from_array(u8, chunks=xd.chunks), u8, 4,
                    **kw)
        # uniform_filter's running sums with a fractional cval are inexact: the bound
        y = ndimage.uniform_filter(xd, 3, output=np.float64, **kw)
        ref = ndimage.uniform_filter(x, 3, output=np.float64, **kw)
        assert y.chunks == xd.chunks
        assert np.max(np.abs(y.compute() - ref)) <= _uniform_bound(x, [27, 23], ref.dtype, cval)
    _lazy_equal(ndimage.uniform_filter, xd, x, 3, mode="constant", cval=-3.0)


def test_nothing_computed_before_compute(rng):
    x = da.random.default_rng(2).standard_normal((40, 30), chunks=(10, 7))
    with dask.config.set(scheduler=raising_scheduler):
        ys = [ndimage.gaussian_filter(x, 2.0, mode="constant", cval=1.0),
              ndimage.uniform_filter(x, 5, mode=["constant", "wrap"]),
              ndimage.sobel(x, mode="constant"),
              ndimage.gaussian_laplace(x, 1.0, mode=["constant", "reflect"]),
              ndimage.gaussian_gradient_magnitude(x, 1.0, mode=["wrap", "constant"])]
        with pytest.raises(AssertionError, match="computed"):
            ys[0].compute()
    xn = x.compute()
    for y, ref in zip(ys, [ndimage.gaussian_filter(xn, 2.0, mode="constant", cval=1.0),
                           ndimage.uniform_filter(xn, 5, mode=["constant", "wrap"]),
                           ndimage.sobel(xn, mode="constant"),
                           ndimage.gaussian_laplace(xn, 1.0, mode=["constant", "reflect"]),
                           ndimage.gaussian_gradient_magnitude(xn, 1.0,
                                                               mode=["wrap", "constant"])]):
        assert y.chunks == x.chunks        # split, not one block
        got = y.compute()
        if np.array_equal(got, ref):
            continue
        # uniform_filter's float64 running sums: the bound
        assert np.max(np.abs(got - ref)) <= _uniform_bound(xn, [50, 40], ref.dtype, 0.0)


def test_generic_callables_stay_one_block_and_equal(rng):
    """generic_laplace / generic_gradient_magnitude take callables of unknown reach:
    lazy, one block, equal to the in-memory call."""
    x = rng.standard_normal((15, 12))
    xd = da.from_array(x, chunks=(4, 5))

    def d2(a, axis, out, mode, cval):
        return ndimage.correlate1d(a, [1, -2, 1], axis, out, mode, cval)

    for f in (ndimage.generic_laplace, ndimage.generic_gradient_magnitude):
        y = f(xd, d2 if f is ndimage.generic_laplace else ndimage.sobel, mode="constant",
              cval=1.0)
        assert isinstance(y, da.Array)
        ref = f(x, d2 if f is ndimage.generic_laplace else ndimage.sobel, mode="constant",
                cval=1.0)
        np.testing.assert_array_equal(y.compute(), ref)


# ------------------------------------------------------------------ signal, a dask in2

from fastconv import signal  # noqa: E402


def _chunks_of(rng, shape):
    """Random chunks, at most 16 blocks (the pairs of two such inputs each make a task:
    one-element chunks along every axis of both would make thousands)."""
    chunks = [random_chunks(rng, n) for n in shape]
    while np.prod([len(c) for c in chunks]) > 16:
        ax = int(np.argmax([len(c) for c in chunks]))
        chunks[ax] = (shape[ax],)
    return tuple(chunks)


def _shapes(rng, mode):
    nd = int(rng.integers(1, 4))
    top = 40 if nd == 1 else 10
    s1 = tuple(int(v) for v in rng.integers(1, top, nd))
    s2 = tuple(int(v) for v in rng.integers(1, top, nd))
    if mode == "valid":      # one input at least as large as the other in every axis
        pick = min if rng.integers(2) else max
        s2 = tuple(pick(a, b) for a, b in zip(s1, s2))
    return s1, s2


def _abs_conv(f, x, w, mode):
    """S = conv(|x|, |w|) in float64 (the correlation's, for correlate)."""
    return np.abs(f(np.abs(x).astype(np.float64), np.abs(w).astype(np.float64), mode,
                    method="direct"))


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_signal_dask_in2_integers_exact(mode, rng):
    """A dask in2 (both inputs chunked, or in1 in memory): overlap-add over the chunk
    pairs; integer sums (int16 ones wrapping, as in memory) are exact in any order."""
    for _ in range(8):
        s1, s2 = _shapes(rng, mode)
        dt = [np.int16, np.int32, np.int64][int(rng.integers(3))]
        x = rng.integers(-300, 300, s1).astype(dt)
        w = rng.integers(-300, 300, s2).astype(dt)
        wd = da.from_array(w, chunks=_chunks_of(rng, s2))
        xd = da.from_array(x, chunks=_chunks_of(rng, s1))
        for f in (signal.convolve, signal.correlate):
            for a in (xd, x):
                xs, ws = x.copy(), w.copy()
                y = f(a, wd, mode)
                assert isinstance(y, da.Array)
                got, ref = y.compute(), f(x, w, mode)
                assert got.dtype == ref.dtype and got.shape == ref.shape
                np.testing.assert_array_equal(got, ref)
                np.testing.assert_array_equal(x, xs)
                np.testing.assert_array_equal(w, ws)


@pytest.mark.parametrize("dt", [np.float32, np.float64, np.complex128])
def test_signal_dask_in2_direct_within_bound(dt, rng):
    """Floats, method='direct': another partition of each sum, so within the direct
    bound 2 sqrt(K) eps S per element (S = conv(|in1|, |in2|)), against a float64
    reference (float64 and complex: twice it, against the in-memory call)."""
    eps = 2.0 ** -24 if dt == np.float32 else 2.0 ** -53
    for it in range(9):
        mode = ["full", "same", "valid"][it % 3]
        s1, s2 = _shapes(rng, mode)
        x = rng.standard_normal(s1).astype(dt)
        w = rng.standard_normal(s2).astype(dt)
        if dt == np.complex128:
            x = x + 1j * rng.standard_normal(s1)
            w = w + 1j * rng.standard_normal(s2)
        xd = da.from_array(x, chunks=_chunks_of(rng, s1))
        wd = da.from_array(w, chunks=_chunks_of(rng, s2))
        k = min(x.size, w.size)
        for f in (signal.convolve, signal.correlate):
            got = f(xd, wd, mode, method="direct").compute()
            ref = f(x, w, mode, method="direct")
            assert got.dtype == ref.dtype and got.shape == ref.shape
            S = _abs_conv(f, x, w, mode)
            if dt == np.float32:
                ref64 = f(x.astype(np.float64), w.astype(np.float64), mode, method="direct")
                assert np.all(np.abs(got - ref64) <= 2 * np.sqrt(k) * eps * S + 1e-300)
            else:
                # both within the bound of the exact value; |re| + |im| products: 2 S
                scale = 2 if dt == np.complex128 else 1
                assert np.all(np.abs(got - ref) <= 2 * 2 * np.sqrt(k) * eps * scale * S
                              + 1e-300)


def test_signal_dask_in2_fft_norm_bound(rng):
    """FFT methods: each chunk pair's own transforms, so the FFT's norm-wise bound per
    piece, summed over the pieces: 20 sqrt(log2 L) eps sum_ij |x_i| |w_j|; small
    integers as data make the direct float64 reference exact."""
    for dt, eps in ((np.float32, 2.0 ** -24), (np.float64, 2.0 ** -53)):
        for it in range(6):
            mode = ["full", "same", "valid"][it % 3]
            s1, s2 = _shapes(rng, mode)
            x = rng.integers(-8, 9, s1).astype(dt)
            w = rng.integers(-8, 9, s2).astype(dt)
            c1, c2 = _chunks_of(rng, s1), _chunks_of(rng, s2)
            xd, wd = da.from_array(x, chunks=c1), da.from_array(w, chunks=c2)
            exact = signal.convolve(x.astype(np.float64), w.astype(np.float64), mode,
                                    method="direct")
            n1 = np.array([np.linalg.norm(b) for b in xd.to_delayed().ravel()
                           for b in [b.compute()]])
            n2 = np.array([np.linalg.norm(b) for b in wd.to_delayed().ravel()
                           for b in [b.compute()]])
            L = sum(a + b for a, b in zip(s1, s2))
            bound = 20 * np.sqrt(np.log2(L)) * eps * n1.sum() * n2.sum() + 1e-300
            for f, kw in ((signal.fftconvolve, {}), (signal.oaconvolve, {}),
                          (signal.convolve, dict(method="fft"))):
                got = f(xd, wd, mode, **kw).compute()
                ref = f(x, w, mode, **kw)
                assert got.dtype == ref.dtype and got.shape == ref.shape
                assert np.linalg.norm(got - exact) <= bound, (f.__name__, mode, s1, s2)


def test_signal_dask_in2_lazy_split_and_errors(rng):
    """Nothing is computed on the client (in2 made by dask, not from_array), the result
    has several chunks (split, not one block), scipy as the oracle, and the in-memory
    call's errors are raised when the graph is built."""
    x = da.random.default_rng(3).standard_normal((300,), chunks=70)
    w = da.random.default_rng(4).standard_normal((120,), chunks=50)
    with dask.config.set(scheduler=raising_scheduler):
        ys = [signal.convolve(x, w, "same", method="direct"), signal.correlate(x, w),
              signal.fftconvolve(x, w, "valid"), signal.oaconvolve(x[:40], w, "valid")]
    assert ys[0].chunks == x.chunks
    assert all(len(y.chunks[0]) > 1 for y in ys)
    assert max(ys[1].chunks[0]) <= 70      # 'full': the k - 1 outputs past in1 cut too
    xn, wn = x.compute(), w.compute()
    sp = pytest.importorskip("scipy.signal")
    for y, (f, a, m) in zip(ys, [(sp.convolve, xn, "same"), (sp.correlate, xn, "full"),
                                 (sp.fftconvolve, xn, "valid"),
                                 (sp.oaconvolve, xn[:40], "valid")]):
        np.testing.assert_allclose(y.compute(), f(a, wn, m), rtol=0, atol=1e-11)
    with pytest.raises(ValueError):
        signal.convolve(da.ones((5, 3), chunks=2), da.ones((3, 5), chunks=2), "valid")
    with pytest.raises(ValueError):
        signal.convolve(da.ones((5, 3), chunks=2), da.ones((3,), chunks=2))
    with pytest.raises(ValueError):
        signal.correlate(da.ones(5, chunks=2), da.ones(3, chunks=2), "bad")
    # axes= with a dask in2: blocks of rows, lazy and equal
    a = rng.standard_normal((6, 40))
    k = rng.standard_normal((1, 9))
    y = signal.fftconvolve(da.from_array(a, chunks=(2, 9)), da.from_array(k, chunks=4),
                           "same", axes=1)
    np.testing.assert_allclose(y.compute(), signal.fftconvolve(a, k, "same", axes=1),
                               atol=1e-12)


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_signal_axes_kernel_per_row(mode, rng):
    """fftconvolve/oaconvolve with axes= and a kernel per row (in memory or dask, or one
    row broadcast, or in1's row broadcast): blocks of rows of both inputs, whole along
    the convolved axis; lazy, split along the rows, within the FFT's norm-wise bound of
    the exact (small-integer) result, with the in-memory call's errors."""
    x = rng.integers(-8, 9, (23, 90)).astype(np.float64)
    w = rng.integers(-8, 9, (23, 17)).astype(np.float64)
    if mode == "valid":
        w = rng.integers(-8, 9, (23, 130)).astype(np.float64)   # SciPy's swap
    cases = [(x, w), (x, w[:1]), (x[:1], w)]
    for f in (signal.fftconvolve, signal.oaconvolve):
        for a, b in cases:
            for b_lazy in (False, True):
                ad = da.from_array(a, chunks=(5, 40))
                bd = da.from_array(b, chunks=(4, 7)) if b_lazy else b
                with dask.config.set(scheduler=raising_scheduler):
                    y = f(ad, bd, mode, axes=1)
                rows = max(a.shape[0], b.shape[0])
                # the rows follow the chunks of the input with all of them (in2 from
                # memory: one block of rows here, under dask's chunk size)
                out_rows = a.shape[0] if mode == "same" else rows
                if out_rows > 1 and ((a.shape[0] > 1 and (b.shape[0] > 1 or b_lazy)) or
                                     (a.shape[0] == 1 and b_lazy)):
                    assert len(y.chunks[0]) > 1 and len(y.chunks[1]) == 1
                got = y.compute()
                ref = f(a, b, mode, axes=1)
                assert got.dtype == ref.dtype and got.shape == ref.shape
                exact = np.stack([signal.convolve(a[min(i, a.shape[0] - 1)],
                                                  b[min(i, b.shape[0] - 1)], mode,
                                                  method="direct") for i in range(rows)])
                if mode == "same":      # SciPy centres the broadcast axis on in1's too
                    c = (rows - a.shape[0]) // 2
                    exact = exact[c:c + a.shape[0]]
                L = a.shape[1] + b.shape[1]
                bound = 20 * np.sqrt(np.log2(L)) * 2.0 ** -53 * np.linalg.norm(a) * \
                    np.linalg.norm(b)
                assert np.linalg.norm(got - exact) <= bound, (f.__name__, a.shape, b.shape)
    # float32 and complex in2, and rows cut smaller where a block would pass dask's
    # chunk size
    xc = (x + 1j * rng.standard_normal(x.shape)).astype(np.complex64)
    with dask.config.set({"array.chunk-size": "2KiB"}):
        y = signal.fftconvolve(da.from_array(xc, chunks=(10, 90)),
                               w.astype(np.float32), mode, axes=-1)
    assert max(y.chunks[0]) < 10
    ref = signal.fftconvolve(xc, w.astype(np.float32), mode, axes=-1)
    assert y.dtype == ref.dtype == np.complex64
    np.testing.assert_allclose(y.compute(), ref, rtol=0,
                               atol=1e-5 * np.abs(ref).max())
    # rows of in1 against columns of in2: each input broadcast along the other's axis
    a3 = rng.integers(-5, 6, (5, 1, 60)).astype(np.float64)
    b3 = rng.integers(-5, 6, (1, 4, 9)).astype(np.float64)
    for b_in in (b3, da.from_array(b3, chunks=(1, 2, 9))):
        y = signal.fftconvolve(da.from_array(a3, chunks=(2, 1, 30)), b_in, mode, axes=-1)
        exact = np.stack([np.stack([signal.convolve(a3[i, 0], b3[0, j], mode, method="direct")
                                    for j in range(4)]) for i in range(5)])
        if mode == "same":
            exact = exact[:, 1:2]          # centred on in1's length along axis 1
        assert len(y.chunks[0]) == 3 and y.shape == exact.shape
        # (per pair of rows c eps |a_i| |b_j|: over all pairs, c eps |a| |b|)
        bound = 20 * np.sqrt(np.log2(69)) * 2.0 ** -53 * np.linalg.norm(a3) * \
            np.linalg.norm(b3)
        assert np.linalg.norm(y.compute() - exact) <= bound
    for bad_w, axes in ((w[:3], 1), (w, 2)):
        with pytest.raises(ValueError) as ref_err:
            signal.fftconvolve(x, bad_w, mode, axes=axes)
        with pytest.raises(ValueError, match=str(ref_err.value)[:30].replace("(", r"\(")):
            signal.fftconvolve(da.from_array(x, chunks=10), da.from_array(bad_w, chunks=3),
                               mode, axes=axes)


def test_errors_as_in_memory():
    """A bad sequence length fails as the in-memory call fails, when the graph is built."""
    x = np.ones((10, 10))
    xd = da.from_array(x, chunks=3)
    for f, args, kw in [(ndimage.gaussian_filter, ([1.0],), dict(mode="constant")),
                        (ndimage.gaussian_gradient_magnitude, ([1.0],), dict(axes=(0,))),
                        (ndimage.gaussian_laplace, (1.0,), dict(mode=["wrap"])),
                        (ndimage.uniform_filter, ([3, 3, 3],), dict(mode="constant"))]:
        with pytest.raises(RuntimeError) as ref:
            f(x, *args, **kw)
        with pytest.raises(RuntimeError, match=str(ref.value)[:40].replace("[", r"\[")):
            f(xd, *args, **kw)


def test_cluster_processes(cluster_client, rng):
    """On a 2-process LocalCluster (every task pickled): a constant-mode multi-pass
    filter, per-derivative modes and a dask in2, as on the threads scheduler."""
    x = rng.standard_normal((50, 41)).astype(np.float32)
    xd = da.from_array(x, chunks=((20, 1, 29), (13, 28)))
    s = rng.integers(-50, 50, 300)
    k = rng.integers(-50, 50, 90)
    lazy = [ndimage.gaussian_filter(xd, 1.5, mode="constant", cval=0.5),
            ndimage.gaussian_gradient_magnitude(xd, 1.0, mode=["constant", "wrap"]),
            signal.correlate(da.from_array(s, chunks=70), da.from_array(k, chunks=40),
                             "same")]
    refs = [ndimage.gaussian_filter(x, 1.5, mode="constant", cval=0.5),
            ndimage.gaussian_gradient_magnitude(x, 1.0, mode=["constant", "wrap"]),
            signal.correlate(s, k, "same")]
    for got, ref in zip(cluster_client.compute(lazy, sync=True), refs):
        assert got.dtype == ref.dtype
        np.testing.assert_array_equal(got, ref)


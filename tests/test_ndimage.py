"""fastconv.ndimage against scipy.ndimage (the oracle), a NumPy reference built
on np.pad, and properties (exact small integers, thread-count invariance,
layouts, inputs untouched, error types)."""

import doctest
import itertools
import platform

import numpy as np
import pytest

import fastconv
from fastconv import ndimage as fnd

snd = pytest.importorskip("scipy.ndimage")

MODES = ["reflect", "constant", "nearest", "mirror", "wrap", "grid-constant", "grid-mirror",
         "grid-wrap"]
# np.pad's names for ndimage's modes
NP_PAD = {"reflect": "symmetric", "grid-mirror": "symmetric", "mirror": "reflect",
          "nearest": "edge", "wrap": "wrap", "grid-wrap": "wrap", "constant": "constant",
          "grid-constant": "constant"}
EPS32 = 2.0 ** -24
# SciPy's float64 bits are promised where SciPy's own build does not contract
# multiply-adds into FMAs (x86-64 wheels); elsewhere the float64 bound applies.
X86 = platform.machine().lower() in ("x86_64", "amd64")
INT_DTYPES = [np.uint8, np.int16, np.int32, np.uint32, np.int64]


def _rand(rng, shape, dtype):
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.integers(0, 2, shape).astype(bool)
    if dtype.kind in "iu":
        lo = 0 if dtype.kind == "u" else -50
        return rng.integers(lo, 100, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def _assert_f64(got, want, bound=None):
    assert got.dtype == want.dtype
    if X86 or bound is None:
        np.testing.assert_array_equal(got, want)
    else:
        assert np.all(np.abs(got - want) <= bound)


def _assert_f32(got, ref64, S, K, passes=1):
    """float32 result against the float64 reference: per pass 2*sqrt(K) roundings
    of the sum plus the rounding of the stored result."""
    assert got.dtype == np.float32
    tol = (2 * np.sqrt(K) + 1) * passes * EPS32 * S + np.finfo(np.float32).tiny
    err = np.abs(got.astype(np.float64) - ref64)
    assert np.all(err <= tol), f"max err/tol {np.max(err / tol)}"


# ---- the NumPy reference ---------------------------------------------------------------

def _np_correlate(x, w, mode, cval, origins):
    """N-d correlation by np.pad + sliding windows, float64."""
    x = np.asarray(x, np.float64)
    pads = []
    for k, o in zip(w.shape, origins):
        lo = k // 2 + o
        pads.append((lo, k - 1 - lo))
    m = NP_PAD[mode]
    if m == "reflect" and min(x.shape) == 1:
        m = "edge"
    kw = {"constant_values": cval} if m == "constant" else {}
    xp = np.pad(x, pads, mode=m, **kw)
    win = np.lib.stride_tricks.sliding_window_view(xp, w.shape)
    axes = tuple(range(x.ndim, 2 * x.ndim))
    return np.tensordot(win, w, axes=(axes, tuple(range(w.ndim)))), \
        np.tensordot(np.abs(win), np.abs(w), axes=(axes, tuple(range(w.ndim))))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape,wshape,origin", [
    ((13, 17), (3, 4), (0, -1)), ((9, 7), (5, 5), (1, 2)), ((2, 30), (4, 3), (-2, 0)),
    ((6, 5, 7), (3, 2, 3), (0, 0, 1)), ((40,), (7,), (3,)), ((3, 4), (7, 9), (0, 0))])
def test_correlate_matches_numpy_reference(mode, shape, wshape, origin):
    rng = np.random.default_rng(abs(hash((mode, shape))) % 2**32)
    x = rng.standard_normal(shape)
    w = rng.standard_normal(wshape)
    if mode == "mirror" and any(n < 2 for n in shape):
        pytest.skip("np.pad 'reflect' of one sample")
    want, S = _np_correlate(x, w, mode, 1.25, origin)
    got = fnd.correlate(x, w, mode=mode, cval=1.25, origin=origin)
    K = w.size
    assert np.all(np.abs(got - want) <= 4 * np.sqrt(K) * 2.0 ** -53 * S + 1e-300)
    got32 = fnd.correlate(x.astype(np.float32), w, mode=mode, cval=1.25, origin=origin)
    want32, S32 = _np_correlate(x.astype(np.float32), w, mode, 1.25, origin)
    _assert_f32(got32, want32, S32, K)


# ---- SciPy as the oracle -----------------------------------------------------------------

def _cases(seed, n):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        nd = int(rng.integers(1, 4))
        shape = tuple(int(s) for s in rng.integers(1, 12, nd))
        yield rng, shape


@pytest.mark.parametrize("dtype", [np.float64, np.float32] + INT_DTYPES + [np.bool_])
@pytest.mark.parametrize("mode", MODES)
def test_correlate1d_convolve1d_vs_scipy(dtype, mode):
    for rng, shape in _cases(hash((str(dtype), mode)) % 2**32, 6):
        x = _rand(rng, shape, dtype)
        K = int(rng.integers(1, 9))
        w = rng.standard_normal(K)
        if rng.random() < 0.3 and K % 2:
            w = (w + w[::-1]) / 2  # symmetric
        axis = int(rng.integers(-len(shape), len(shape)))
        origin = int(rng.integers(-(K // 2), (K - 1) // 2 + 1))
        cval = float(rng.standard_normal())
        for name in ("correlate1d", "convolve1d"):
            kw = dict(axis=axis, mode=mode, cval=cval, origin=origin)
            if name == "convolve1d":
                kw["origin"] = -origin - (1 - K % 2)  # the convolution's origin of the same taps
            want = getattr(snd, name)(x, w, **kw)
            got = getattr(fnd, name)(x, w, **kw)
            assert got.dtype == want.dtype
            if np.dtype(dtype) == np.float32:
                ref = getattr(snd, name)(x.astype(np.float64), w, **kw)
                S = getattr(snd, name)(np.abs(x.astype(np.float64)), np.abs(w),
                                       **dict(kw, cval=abs(cval)))
                _assert_f32(got, ref, S, K)
            else:
                _assert_f64(got, want)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.uint8, np.int32])
@pytest.mark.parametrize("mode", MODES)
def test_correlate_convolve_vs_scipy(dtype, mode):
    for rng, shape in _cases(hash((str(dtype), mode, "nd")) % 2**32, 5):
        x = _rand(rng, shape, dtype)
        wshape = tuple(int(s) for s in rng.integers(1, 6, len(shape)))
        w = rng.standard_normal(wshape)
        w[rng.random(wshape) < 0.2] = 0.0  # zero taps are skipped, as SciPy skips them
        origin = [int(rng.integers(-(k // 2), (k - 1) // 2 + 1)) for k in wshape]
        cval = float(rng.standard_normal())
        for name in ("correlate", "convolve"):
            o = origin if name == "correlate" else [-v - (1 - k % 2)
                                                    for v, k in zip(origin, wshape)]
            kw = dict(mode=mode, cval=cval, origin=o)
            want = getattr(snd, name)(x, w, **kw)
            got = getattr(fnd, name)(x, w, **kw)
            assert got.dtype == want.dtype
            if np.dtype(dtype) == np.float32:
                ref = getattr(snd, name)(x.astype(np.float64), w, **kw)
                S = getattr(snd, name)(np.abs(x.astype(np.float64)), np.abs(w),
                                       **dict(kw, cval=abs(cval)))
                _assert_f32(got, ref, S, w.size)
            else:
                _assert_f64(got, want)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.uint8, np.int16])
def test_gaussian_vs_scipy(dtype):
    rng = np.random.default_rng(5)
    for shape in [(17, 23), (5, 6, 7), (40,), (1, 9)]:
        x = _rand(rng, shape, dtype)
        nd = len(shape)
        for sigma, order, mode, truncate, radius, axes in [
                (1.5, 0, "reflect", 4.0, None, None), (0.7, 1, "mirror", 3.0, None, None),
                ([1.0] * nd, [2] * nd, "wrap", 4.0, None, None),
                (2.0, 0, ["nearest", "constant", "grid-wrap"][:nd], 4.0, 3, None),
                (1.2, 0, "constant", 2.0, None, (-1,)), (0.0, 0, "reflect", 4.0, None, None)]:
            kw = dict(order=order, mode=mode, cval=0.5, truncate=truncate, radius=radius,
                      axes=axes)
            want = snd.gaussian_filter(x, sigma, **kw)
            got = fnd.gaussian_filter(x, sigma, **kw)
            assert got.dtype == want.dtype
            if np.dtype(dtype) == np.float32:
                ref = snd.gaussian_filter(x.astype(np.float64), sigma, **kw)
                S = snd.gaussian_filter(np.abs(x.astype(np.float64)), sigma,
                                        **dict(kw, order=0))
                # derivative kernels: |w| sums to more than 1; bound with the abs kernel
                K = 2 * int(truncate * 2.0 + 0.5) + 1
                if order:
                    S = np.abs(ref) + S * 10
                _assert_f32(got, ref, S, K, passes=nd)
            else:
                _assert_f64(got, want)
        w1 = snd.gaussian_filter1d(x, 1.3, axis=0, order=1)
        _assert_f64(fnd.gaussian_filter1d(x, 1.3, axis=0, order=1), w1) \
            if np.dtype(dtype) != np.float32 else None


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.uint8, np.int32, np.bool_])
@pytest.mark.parametrize("mode", MODES)
def test_uniform_vs_scipy_bits(dtype, mode):
    """A running sum in float64 as SciPy's: the same bits for every dtype."""
    for rng, shape in _cases(hash((str(dtype), mode, "u")) % 2**32, 5):
        x = _rand(rng, shape, dtype)
        size = [int(s) for s in rng.integers(1, 8, len(shape))]
        origin = [int(rng.integers(-(s // 2), (s - 1) // 2 + 1)) for s in size]
        kw = dict(mode=mode, cval=0.3, origin=origin)
        np.testing.assert_array_equal(fnd.uniform_filter(x, size, **kw),
                                      snd.uniform_filter(x, size, **kw))
        axis = int(rng.integers(0, len(shape)))
        kw = dict(axis=axis, mode=mode, cval=-1.7, origin=origin[axis])
        got = fnd.uniform_filter1d(x, size[axis], **kw)
        want = snd.uniform_filter1d(x, size[axis], **kw)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.uint8, np.int16, np.int64,
                                   np.bool_])
@pytest.mark.parametrize("mode", MODES)
def test_min_max_vs_scipy_bits(dtype, mode):
    for rng, shape in _cases(hash((str(dtype), mode, "m")) % 2**32, 5):
        x = _rand(rng, shape, dtype)
        nd = len(shape)
        size = [int(s) for s in rng.integers(1, 6, nd)]
        origin = [int(rng.integers(-(s // 2), (s - 1) // 2 + 1)) for s in size]
        fp = rng.random(size) < 0.6
        fp.flat[0] = True
        for name in ("minimum_filter", "maximum_filter"):
            kw = dict(mode=mode, cval=2.5, origin=origin)
            np.testing.assert_array_equal(getattr(fnd, name)(x, size, **kw),
                                          getattr(snd, name)(x, size, **kw))
            got = getattr(fnd, name)(x, footprint=fp, **kw)
            want = getattr(snd, name)(x, footprint=fp, **kw)
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got, want)
            ax = int(rng.integers(0, nd))
            name1 = name + "1d"
            kw1 = dict(axis=ax, mode=mode, cval=-0.5, origin=origin[ax])
            np.testing.assert_array_equal(getattr(fnd, name1)(x, size[ax], **kw1),
                                          getattr(snd, name1)(x, size[ax], **kw1))


def test_large_windows_and_short_lines():
    """Windows longer than the line: every mode's repeated extension."""
    rng = np.random.default_rng(3)
    for n, K in [(1, 9), (2, 11), (3, 17), (5, 40)]:
        x = rng.standard_normal((n, 4))
        for mode in MODES:
            w = rng.standard_normal(K)
            for axis in (0, 1):
                _assert_f64(fnd.correlate1d(x, w, axis=axis, mode=mode, cval=2.0),
                            snd.correlate1d(x, w, axis=axis, mode=mode, cval=2.0))
                np.testing.assert_array_equal(
                    fnd.uniform_filter1d(x, K, axis=axis, mode=mode),
                    snd.uniform_filter1d(x, K, axis=axis, mode=mode))
                np.testing.assert_array_equal(
                    fnd.maximum_filter1d(x, K, axis=axis, mode=mode),
                    snd.maximum_filter1d(x, K, axis=axis, mode=mode))
            # SciPy's N-d correlate reads outside the array in 'reflect' mode when the
            # footprint is over twice the axis (n=5, K=40 gives garbage values): the
            # oracle here is its 1-D path, which fastconv's N-d result must match
            wn = rng.standard_normal((K, 1))
            want = snd.correlate1d(x, wn[:, 0], axis=0, mode=mode)
            S = snd.correlate1d(np.abs(x), np.abs(wn[:, 0]), axis=0, mode=mode)
            got = fnd.correlate(x, wn, mode=mode)
            assert np.all(np.abs(got - want) <= 4 * np.sqrt(K) * 2.0 ** -53 * S)


def test_wide_rows_column_blocks():
    """Images wider than a column block and blocks of every remainder."""
    rng = np.random.default_rng(11)
    for W in (31, 33, 64, 65, 1000, 1031):
        x = rng.standard_normal((7, W)).astype(np.float32)
        for K in (1, 3, 25):
            w = rng.standard_normal(K)
            for axis in (0, 1):
                got = fnd.correlate1d(x, w, axis=axis)
                ref = snd.correlate1d(x.astype(np.float64), w, axis=axis)
                S = snd.correlate1d(np.abs(x.astype(np.float64)), np.abs(w), axis=axis)
                _assert_f32(got, ref, S, K)
                np.testing.assert_array_equal(fnd.maximum_filter1d(x, K, axis=axis),
                                              snd.maximum_filter1d(x, K, axis=axis))
                np.testing.assert_array_equal(fnd.uniform_filter1d(x, K, axis=axis),
                                              snd.uniform_filter1d(x, K, axis=axis))


@pytest.mark.parametrize("func", ["sobel", "prewitt", "laplace", "gaussian_gradient_magnitude",
                                  "gaussian_laplace"])
@pytest.mark.parametrize("dtype", [np.float64, np.int32])
def test_derivatives_vs_scipy(func, dtype):
    rng = np.random.default_rng(2)
    x = _rand(rng, (12, 15, 4), dtype)
    args = (1.3,) if func.startswith("gaussian") else ()
    for mode in ("reflect", "constant", "wrap"):
        want = getattr(snd, func)(x, *args, mode=mode)
        got = getattr(fnd, func)(x, *args, mode=mode)
        assert got.dtype == want.dtype
        _assert_f64(got, want)
    if func in ("sobel", "prewitt"):
        _assert_f64(getattr(fnd, func)(x, axis=0), getattr(snd, func)(x, axis=0))


def test_complex_vs_scipy():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((9, 8)) + 1j * rng.standard_normal((9, 8))
    xr = rng.standard_normal((9, 8))
    w = rng.standard_normal(4) + 1j * rng.standard_normal(4)
    w2 = rng.standard_normal((3, 2)) - 1j * rng.standard_normal((3, 2))
    for a, b in [(x, w.real), (x, w), (xr, w)]:
        for f in ("correlate1d", "convolve1d"):
            _assert_f64(getattr(fnd, f)(a, b, mode="constant", cval=0.0),
                        getattr(snd, f)(a, b, mode="constant", cval=0.0))
    for a, b in [(x, w2.real), (x, w2), (xr, w2)]:
        for f in ("correlate", "convolve"):
            _assert_f64(getattr(fnd, f)(a, b), getattr(snd, f)(a, b))
    _assert_f64(fnd.correlate(x, w2, mode="constant", cval=1 + 2j),
                snd.correlate(x, w2, mode="constant", cval=1 + 2j))
    np.testing.assert_array_equal(fnd.uniform_filter(x, 3, cval=1 - 1j, mode="constant"),
                                  snd.uniform_filter(x, 3, cval=1 - 1j, mode="constant"))
    _assert_f64(fnd.gaussian_filter(x, 1.0), snd.gaussian_filter(x, 1.0))
    x64 = x.astype(np.complex64)
    assert fnd.correlate1d(x64, w).dtype == snd.correlate1d(x64, w).dtype


@pytest.mark.parametrize("output", [np.float32, "float64", np.int16, np.uint8, bool, "array"])
def test_output_argument(output):
    rng = np.random.default_rng(8)
    x = rng.standard_normal((10, 11)) * 40
    w = rng.standard_normal((3, 3))
    for f, args in [("correlate", (w,)), ("correlate1d", (w[0],)), ("gaussian_filter", (1.0,)),
                    ("uniform_filter", (3,)), ("maximum_filter", (3,)),
                    ("minimum_filter", (None, w > 0))]:
        if output == "array":
            o1, o2 = np.empty((10, 11), np.float32), np.empty((10, 11), np.float32)
            r1 = getattr(fnd, f)(x, *args, output=o1)
            r2 = getattr(snd, f)(x, *args, output=o2)
            assert r1 is o1
        else:
            r1 = getattr(fnd, f)(x, *args, output=output)
            r2 = getattr(snd, f)(x, *args, output=output)
        assert r1.dtype == r2.dtype
        if r1.dtype == np.float32 and f in ("correlate", "correlate1d", "gaussian_filter"):
            np.testing.assert_allclose(r1, r2, rtol=1e-6, atol=1e-5)
        else:
            np.testing.assert_array_equal(r1.view(np.uint8) if r1.dtype == bool else r1,
                                          r2.view(np.uint8) if r2.dtype == bool else r2)


def test_integer_casts_truncate_like_scipy():
    x = np.array([0, 10, 0, 250, 0], np.uint8)
    for w in ([0.25, 0.5, 0.25], [-0.25, 0.5, 0.25]):
        np.testing.assert_array_equal(fnd.correlate1d(x, w), snd.correlate1d(x, w))
    xi = np.array([0, 10, 0, -10, 0], np.int32)
    np.testing.assert_array_equal(fnd.correlate1d(xi, [0.25, 0.5, 0.25]), [2, 5, 0, -5, -2])
    b = np.array([1, 1, 1, 0], bool)
    np.testing.assert_array_equal(fnd.correlate1d(b, [1.0, 1.0]).view(np.uint8),
                                  snd.correlate1d(b, [1.0, 1.0]).view(np.uint8))


def test_in_place_output():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((16, 13))
    for f, args in [("correlate", (rng.standard_normal((3, 2)),)), ("gaussian_filter", (2.0,)),
                    ("uniform_filter1d", (4,)), ("maximum_filter", (None, [[1, 0, 1]])),
                    ("correlate1d", ([1.0, -2.0, 0.5],))]:
        want = getattr(snd, f)(x, *args)
        y = x.copy()
        got = getattr(fnd, f)(y, *args, output=y)
        assert got is y
        _assert_f64(got, want)


# ---- properties -----------------------------------------------------------------------------

def test_small_integers_exact_in_float32():
    rng = np.random.default_rng(12)
    x = rng.integers(-8, 9, (33, 47)).astype(np.float32)
    w = rng.integers(-8, 9, (5, 4)).astype(np.float64)
    for mode in MODES:
        np.testing.assert_array_equal(fnd.correlate(x, w, mode=mode, cval=3.0),
                                      fnd.correlate(x.astype(np.float64), w, mode=mode,
                                                    cval=3.0).astype(np.float32))
        np.testing.assert_array_equal(fnd.convolve1d(x, w[:, 0], axis=0, mode=mode),
                                      snd.convolve1d(x, w[:, 0], axis=0, mode=mode))


CALLS = [
    ("correlate", lambda m, x: m.correlate(x, np.ones((3, 5)) / 7, mode="mirror")),
    ("convolve1d", lambda m, x: m.convolve1d(x, np.arange(7.0), axis=0, mode="wrap")),
    ("correlate1d", lambda m, x: m.correlate1d(x, np.arange(6.0), axis=1, mode="constant")),
    ("gaussian", lambda m, x: m.gaussian_filter(x, (2.0, 0.8))),
    ("uniform", lambda m, x: m.uniform_filter(x, (5, 4))),
    ("maximum", lambda m, x: m.maximum_filter(x, (3, 6))),
    ("minimum_fp", lambda m, x: m.minimum_filter(x, footprint=np.eye(4, dtype=bool))),
]


@pytest.mark.parametrize("name,call", CALLS)
def test_same_bits_for_any_thread_count(name, call, monkeypatch):
    from fastconv import _select
    monkeypatch.setattr(_select, "SERIAL_BELOW", 0)   # every call on the whole team
    rng = np.random.default_rng(13)
    x = rng.standard_normal((130, 257)).astype(np.float32)
    old = fastconv.get_num_threads()
    try:
        results = []
        for t in (1, 2, 3):
            fastconv.set_num_threads(t)
            results.append(call(fnd, x))
    finally:
        fastconv.set_num_threads(old)
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])


def test_small_calls_run_on_one_thread(monkeypatch):
    """Below _select.SERIAL_BELOW operations a kernel runs without waking the OpenMP
    team (which costs more than such a call's work); above it, on the whole team."""
    from fastconv import _filter_kernels, _select
    teams = []
    for name in ("pass1d", "sep2d", "filter2d", "filternd"):
        real = getattr(_filter_kernels, name)
        monkeypatch.setattr(_filter_kernels, name,
                            lambda *a, _real=real: teams.append(a[-1]) or _real(*a))
    small = np.ones((8, 8))
    fnd.correlate1d(small, [1.0, 2.0, 1.0], axis=0)
    fnd.gaussian_filter(small, 1.0)
    fnd.correlate(small, np.ones((2, 3)))
    fnd.correlate(np.ones((4, 4, 4)), np.ones((1, 2, 3)))
    assert teams == [1, 1, 1, 1]
    teams.clear()
    monkeypatch.setattr(_select, "SERIAL_BELOW", 0)
    fnd.gaussian_filter(small, 1.0)
    assert teams == [fastconv.get_num_threads()]


def _layouts(x):
    yield "fortran", np.asfortranarray(x)
    yield "reversed", x[::-1, ::-1].copy()[::-1, ::-1]
    big = np.zeros((x.shape[0] * 2, x.shape[1] * 3), x.dtype)
    big[::2, ::3] = x
    yield "strided", big[::2, ::3]
    yield "big-endian", x.astype(x.dtype.newbyteorder(">"))
    ro = x.copy()
    ro.flags.writeable = False
    yield "read-only", ro
    buf = np.zeros(x.nbytes + 1, np.uint8)[1:].view(x.dtype).reshape(x.shape)
    buf[...] = x
    yield "misaligned", buf


@pytest.mark.parametrize("name,call", CALLS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layouts_and_inputs_unmodified(name, call, dtype):
    rng = np.random.default_rng(14)
    x = rng.standard_normal((21, 19)).astype(dtype)
    want = call(fnd, x)
    for label, xl in _layouts(x):
        before = xl.copy()
        got = call(fnd, xl)
        np.testing.assert_array_equal(got, want, err_msg=label)
        np.testing.assert_array_equal(xl, before, err_msg=label)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_misaligned_weights(dtype):
    """Weights of the input's dtype that are not aligned are copied, not loaded
    unaligned by the kernels (UBSan found it for the input)."""
    rng = np.random.default_rng(15)
    x = rng.standard_normal((13, 11)).astype(dtype)
    for w in (rng.standard_normal(5), rng.standard_normal((3, 4))):
        buf = np.zeros(w.size * np.dtype(dtype).itemsize + 1, np.uint8)[1:]
        wm = buf.view(dtype).reshape(w.shape)
        wm[...] = w
        assert not wm.flags.aligned
        f = fnd.correlate1d if w.ndim == 1 else fnd.correlate
        np.testing.assert_array_equal(f(x, wm), f(x, w.astype(dtype)))



@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_weights_and_footprints_in_every_layout(dtype):
    """Weights and footprints read-only, big-endian, strided, reversed or misaligned give
    the plain ones' bits and stay unchanged (read-only weights of correlate1d were a
    ValueError from a writable kernel argument; argument fuzzer, seed 13)."""
    rng = np.random.default_rng(16)
    x = rng.standard_normal((13, 11)).astype(dtype)

    def layouts(w):
        ro = w.copy()
        ro.flags.writeable = False
        yield ro
        yield w.astype(w.dtype.newbyteorder(">"))
        yield np.repeat(w, 2, axis=-1)[..., ::2]
        yield w[(slice(None, None, -1),) * w.ndim].copy()[(slice(None, None, -1),) * w.ndim]
        buf = np.zeros(w.nbytes + 1, np.uint8)[1:].view(w.dtype).reshape(w.shape)
        buf[...] = w
        yield buf

    calls = [("correlate1d", rng.standard_normal(5).astype(dtype)),
             ("convolve1d", rng.standard_normal(4).astype(dtype)),
             ("correlate", rng.standard_normal((3, 4)).astype(dtype)),
             ("convolve", rng.standard_normal((3, 3)).astype(dtype))]
    for name, w in calls:
        want = getattr(fnd, name)(x, w)
        for wl in layouts(w):
            before = wl.copy()
            np.testing.assert_array_equal(getattr(fnd, name)(x, wl), want, err_msg=name)
            np.testing.assert_array_equal(wl, before)
    fp = np.array([[1, 0, 1], [1, 1, 0], [0, 1, 1]], bool)
    for name in ("maximum_filter", "median_filter", "minimum_filter"):
        want = getattr(fnd, name)(x, footprint=fp)
        for fl in layouts(fp):
            np.testing.assert_array_equal(getattr(fnd, name)(x, footprint=fl), want,
                                          err_msg=name)


def test_empty_and_degenerate_shapes():
    for shape in [(0,), (0, 5), (4, 0), (1,), (1, 1)]:
        x = np.ones(shape)
        for f, args in [("correlate1d", ([1.0, 2.0],)), ("uniform_filter", (3,)),
                        ("maximum_filter", (3,)), ("gaussian_filter", (1.0,))]:
            got = getattr(fnd, f)(x, *args)
            want = getattr(snd, f)(x, *args)
            assert got.shape == want.shape and got.dtype == want.dtype
            np.testing.assert_array_equal(got, want)
        w = np.ones((1,) * len(shape) if 0 not in shape else (2,) * len(shape))
        np.testing.assert_array_equal(fnd.correlate(x, w), snd.correlate(x, w))


# ---- errors: the type SciPy raises ------------------------------------------------------

X = np.arange(20.0).reshape(4, 5)
BAD = [
    ("mode", lambda m: m.correlate1d(X, [1.0, 2.0], mode="bogus")),
    ("mode-seq-nd", lambda m: m.correlate(X, np.ones((2, 2)), mode=["reflect", "wrap"])),
    ("mode-seq-len", lambda m: m.gaussian_filter(X, 1.0, mode=["reflect"])),
    ("mode-seq-fp", lambda m: m.maximum_filter(X, footprint=[[1, 0]], mode=["wrap", "wrap"])),
    ("origin1d", lambda m: m.correlate1d(X, [1.0, 2.0, 3.0], origin=2)),
    ("origin-nd", lambda m: m.correlate(X, np.ones((3, 3)), origin=(0, 2))),
    ("origin-uniform", lambda m: m.uniform_filter1d(X, 3, origin=-2)),
    ("origin-max", lambda m: m.maximum_filter(X, 3, origin=5)),
    ("origin-len", lambda m: m.uniform_filter(X, 3, origin=(0, 0, 0))),
    ("weights-empty", lambda m: m.correlate1d(X, [])),
    ("weights-2d", lambda m: m.correlate1d(X, [[1.0, 2.0]])),
    ("weights-ndim", lambda m: m.correlate(X, np.ones(3))),
    ("weights-zero-dim", lambda m: m.correlate(X, np.ones((0, 3)))),
    ("axis", lambda m: m.correlate1d(X, [1.0], axis=2)),
    ("axes-range", lambda m: m.gaussian_filter(X, 1.0, axes=(0, 5))),
    ("axes-dup", lambda m: m.uniform_filter(X, 3, axes=(1, 1))),
    ("axes-type", lambda m: m.uniform_filter(X, 3, axes=1.5)),
    ("size0", lambda m: m.uniform_filter1d(X, 0)),
    ("size-neg", lambda m: m.maximum_filter1d(X, -1)),
    ("no-footprint", lambda m: m.maximum_filter(X)),
    ("zero-footprint", lambda m: m.minimum_filter(X, footprint=np.zeros((2, 2)))),
    ("complex-max", lambda m: m.maximum_filter(X + 1j, 3)),
    ("complex-max1d", lambda m: m.minimum_filter1d(X + 1j, 3)),
    ("complex-cval", lambda m: m.correlate(X, np.ones((2, 2)) + 1j, cval=1j)),
    ("cval-type", lambda m: m.correlate1d(X, [1.0, 2.0], cval="a")),
    ("radius", lambda m: m.gaussian_filter1d(X, 1.0, radius=-1)),
    ("radius-float", lambda m: m.gaussian_filter1d(X, 1.0, radius=2.5)),
    ("order", lambda m: m.gaussian_filter(X, 1.0, order=-1)),
    ("output-shape", lambda m: m.correlate(X, np.ones((2, 2)), output=np.zeros((3, 3)))),
    ("output-f16", lambda m: m.correlate1d(X, [1.0], output=np.float16)),
    ("output-f16-nd", lambda m: m.correlate(X, np.ones((2, 2)), output=np.float16)),
    ("output-str", lambda m: m.uniform_filter(X, 3, output="U3")),
    ("output-complex", lambda m: m.maximum_filter(X, 3, output=np.complex128)),
    ("input-f16", lambda m: m.uniform_filter(X.astype(np.float16), 3)),
    ("input-object", lambda m: m.correlate(X.astype(object), np.ones((2, 2)))),
    ("complex-out-real", lambda m: m.correlate1d(X + 1j, [1.0], output=np.zeros((4, 5)))),
    ("sigma-seq", lambda m: m.gaussian_filter(X, (1.0, 2.0, 3.0))),
    ("footprint-axes", lambda m: m.maximum_filter(X, footprint=[[1, 0], [0, 1]], axes=(0,))),
]


@pytest.mark.parametrize("name,call", BAD, ids=[b[0] for b in BAD])
def test_errors_match_scipy(name, call):
    with pytest.raises(Exception) as want:
        call(snd)
    with pytest.raises(Exception) as got:
        call(fnd)
    assert isinstance(got.value, type(want.value)) or type(want.value) in type(got.value).__mro__


@pytest.mark.parametrize("call,word", [
    (lambda: fnd.correlate1d(X, [1.0, 2.0, 3.0], origin=2), "origin"),
    (lambda: fnd.uniform_filter1d(X, 0), "size"),
    (lambda: fnd.correlate1d(X, [1.0], output=np.float16), "output"),
    (lambda: fnd.uniform_filter(X.astype(np.float16), 3), "input"),
    (lambda: fnd.correlate1d(X, [1.0], mode="bogus"), "mode"),
    (lambda: fnd.gaussian_filter1d(X, 1.0, radius=-1), "radius"),
    (lambda: fnd.correlate1d(X, [1.0], cval="a"), "cval"),
    (lambda: fnd.uniform_filter(X, (3, 3, 3)), "size"),
])
def test_error_messages_name_the_parameter(call, word):
    with pytest.raises(Exception, match=word):
        call()


def test_size_and_footprint_warns():
    with pytest.warns(UserWarning, match="footprint"):
        fnd.maximum_filter(X, size=3, footprint=np.ones((2, 2)))


def test_docstring_examples():
    result = doctest.testmod(fnd, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 10
    assert result.failed == 0


def test_bench_suite_table():
    from fastconv.bench import ndimage_suite

    rows = [{"case": "c", "times": {"fastconv": 0.001, "scipy": 0.01, "opencv": 0.002}}]
    text = ndimage_suite.format_table(rows, 2)
    assert "0.100" in text and "0.500" in text and "geomean" in text


def test_all_exports_are_scipy_functions():
    for name in fnd.__all__:
        assert hasattr(snd, name), name
        assert callable(getattr(fnd, name))


def test_modes_sequence_per_axis():
    rng = np.random.default_rng(21)
    x = rng.standard_normal((9, 10, 3))
    for combo in itertools.islice(itertools.product(MODES, repeat=3), 0, 512, 37):
        mode = list(combo)
        _assert_f64(fnd.gaussian_filter(x, 1.1, mode=mode, cval=0.7),
                    snd.gaussian_filter(x, 1.1, mode=mode, cval=0.7))
        np.testing.assert_array_equal(fnd.uniform_filter(x, 3, mode=mode, cval=0.7),
                                      snd.uniform_filter(x, 3, mode=mode, cval=0.7))
        np.testing.assert_array_equal(fnd.minimum_filter(x, (2, 3, 2), mode=mode, cval=0.7),
                                      snd.minimum_filter(x, (2, 3, 2), mode=mode, cval=0.7))


def test_every_instruction_set():
    """The AVX-512, AVX2 and generic copies of the row kernels: SciPy's float64
    bits on each (no FMA in the double copies), float32 within the bound."""
    from fastconv import _isa

    rng = np.random.default_rng(31)
    x = rng.standard_normal((37, 70))
    w = rng.standard_normal((5, 4))
    old = _isa.current_isa()
    try:
        for isa in _isa.available_isas():
            _isa.select_isa(isa)
            for mode in ("reflect", "constant", "wrap"):
                _assert_f64(fnd.correlate(x, w, mode=mode), snd.correlate(x, w, mode=mode))
                _assert_f64(fnd.gaussian_filter(x, 2.0, mode=mode),
                            snd.gaussian_filter(x, 2.0, mode=mode))
                np.testing.assert_array_equal(fnd.uniform_filter(x, 5, mode=mode),
                                              snd.uniform_filter(x, 5, mode=mode))
                np.testing.assert_array_equal(fnd.maximum_filter(x, (3, 7), mode=mode),
                                              snd.maximum_filter(x, (3, 7), mode=mode))
                x32 = x.astype(np.float32)
                ref = snd.correlate1d(x, w[:, 0], axis=0, mode=mode)
                S = snd.correlate1d(np.abs(x), np.abs(w[:, 0]), axis=0, mode=mode)
                _assert_f32(fnd.correlate1d(x32, w[:, 0], axis=0, mode=mode), ref, S, 5)
                np.testing.assert_array_equal(fnd.uniform_filter(x32, 5, mode=mode),
                                              snd.uniform_filter(x32, 5, mode=mode))
    finally:
        _isa.select_isa(old)


@pytest.mark.parametrize("size", [2, 3, 7, 32, 45, 100])
def test_min_max_1d_ties_and_van_herk(size):
    """SciPy's 1-D filters keep the last of equal values (-0.0 vs +0.0 tells them
    apart), direct and van Herk alike; windows from 32 on take van Herk's path."""
    rng = np.random.default_rng(size)
    x = rng.choice([0.0, -0.0, 1.0, -1.0], size=(60, 70))
    y = rng.standard_normal((61, 130)).astype(np.float32)
    for f in ("maximum_filter1d", "minimum_filter1d"):
        for axis in (0, 1):
            for mode in ("reflect", "constant", "wrap", "mirror"):
                got = getattr(fnd, f)(x, size, axis=axis, mode=mode, cval=-0.0)
                want = getattr(snd, f)(x, size, axis=axis, mode=mode, cval=-0.0)
                np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
                np.testing.assert_array_equal(got, want)
                np.testing.assert_array_equal(getattr(fnd, f)(y, size, axis=axis, mode=mode),
                                              getattr(snd, f)(y, size, axis=axis, mode=mode))


@pytest.mark.parametrize("ndim", [1, 2, 3, 4])
@pytest.mark.parametrize("cval", [0.0, 0.1])
def test_passes_through_output_and_one_scratch(ndim, cval):
    """1 to 4 separable passes alternating between the output and a scratch image
    (a cval float32 cannot hold sends the uniform pass through float64)."""
    rng = np.random.default_rng(ndim)
    x = rng.standard_normal((6, 7, 5, 4)[:ndim]).astype(np.float32)
    for f, args in [("uniform_filter", (3,)), ("maximum_filter", (5,)),
                    ("minimum_filter", (40,))]:
        kw = dict(mode="constant", cval=cval)
        np.testing.assert_array_equal(getattr(fnd, f)(x, *args, **kw),
                                      getattr(snd, f)(x, *args, **kw))
        out = np.empty_like(x)
        assert getattr(fnd, f)(x, *args, output=out, **kw) is out
        np.testing.assert_array_equal(out, getattr(snd, f)(x, *args, **kw))
    got = fnd.gaussian_filter(x.astype(np.float64), 1.0, **kw)
    _assert_f64(got, snd.gaussian_filter(x.astype(np.float64), 1.0, **kw))


def test_python_threads_run_concurrently_with_same_results():
    """The kernels release the GIL: filters called from several Python threads at
    once give the results of sequential calls."""
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(41)
    xs = [rng.standard_normal((200, 150)).astype(np.float32) for _ in range(6)]
    calls = [lambda x: fnd.gaussian_filter(x, 2.0), lambda x: fnd.uniform_filter(x, 7),
             lambda x: fnd.maximum_filter(x, footprint=np.eye(3, dtype=bool)),
             lambda x: fnd.convolve(x, np.ones((4, 3)))]
    want = [[c(x) for c in calls] for x in xs]
    with ThreadPoolExecutor(4) as ex:
        got = list(ex.map(lambda x: [c(x) for c in calls], xs))
    for g, w in zip(got, want):
        for a, b in zip(g, w):
            np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- float32 through conv

@pytest.mark.parametrize("mode", ["reflect", "mirror", "nearest", "wrap", "constant",
                                  "grid-wrap", "grid-constant", "grid-mirror"])
def test_float32_correlate_through_conv_has_the_kernel_bits(mode, isa, monkeypatch):
    """float32 2-D/3-D correlations run on fastconv.conv's depthwise kernels
    (_ndfilters._conv_route): the same products in the same order as the
    N-d kernel, so the same bits, for every origin, kernel size and both paths
    of the output (written in place or stored)."""
    from fastconv import _ndfilters
    monkeypatch.setattr(_ndfilters, "CONV_ROUTE_FROM", 0)    # small images too
    rng = np.random.default_rng(11)
    routed = []
    real = _ndfilters._correlate_by_conv
    monkeypatch.setattr(_ndfilters, "_correlate_by_conv",
                        lambda *a: routed.append(1) or real(*a))
    cases = [((23, 31), (3, 3)), ((17, 40), (4, 5)), ((9, 7), (7, 2)), ((6, 11, 13), (3, 2, 3)),
             ((64, 300), (5, 5)), ((2, 1), (1, 2))]
    for shape, ks in cases:
        x = rng.standard_normal(shape).astype(np.float32)
        x.flat[::17] = np.inf
        w = rng.standard_normal(ks)
        for origin in ([0] * len(ks), [-(k // 2) for k in ks], [(k - 1) // 2 for k in ks]):
            for f in (fastconv.ndimage.correlate, fastconv.ndimage.convolve):
                got = f(x, w, mode=mode, cval=-2.5, origin=origin)
                out = np.empty_like(x)
                f(x, w, output=out, mode=mode, cval=-2.5, origin=origin)
                with monkeypatch.context() as m:
                    m.setattr(_ndfilters, "_conv_route", lambda *a: None)
                    want = f(x, w, mode=mode, cval=-2.5, origin=origin)
                assert got.dtype == np.float32
                np.testing.assert_array_equal(got.view(np.int32), want.view(np.int32))
                np.testing.assert_array_equal(out.view(np.int32), want.view(np.int32))
    assert routed       # the route is really taken


def test_float32_correlate_keeps_the_kernel_where_conv_differs():
    """Skipped weights (SciPy skips |w| <= DBL_EPSILON: an inf sample times a zero
    weight adds nothing) and extensions past one reflection stay on the N-d kernel."""
    from fastconv import _ndfilters
    sci = pytest.importorskip("scipy.ndimage")
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    x[1, 1] = np.inf
    w = np.ones((3, 3))
    w[1, 1] = 0.0
    assert _ndfilters._conv_route(x.shape, w.shape, [0, 0], 2, np.dtype(np.float32),
                                  np.abs(w) > 0) is None
    np.testing.assert_array_equal(fastconv.ndimage.correlate(x, w), sci.correlate(x, w))
    big = np.ones((9, 9))
    assert _ndfilters._conv_route(x.shape, big.shape, [0, 0], 3, np.dtype(np.float32),
                                  big > 0) is None
    assert _ndfilters._conv_route(x.shape, (3, 3), [0, 0], 2, np.dtype(np.float64),
                                  np.ones((3, 3), bool)) is None


# ---------------------------------------------------------------- float32 row kernels

def _f32_passes():
    rng = np.random.default_rng(5)
    for K in (3, 9, 25, 31):
        sym = fnd._gaussian_weights(K / 8, 0, 4.0, K // 2)
        anti = fnd._gaussian_weights(K / 8, 1, 4.0, K // 2)
        general = rng.standard_normal(K)
        for w in (sym, anti, general):
            r = K // 2
            yield f"K{K} axis0", r, lambda x, w=w: fnd.correlate1d(x, w, axis=0)
            yield f"K{K} axis1", r, lambda x, w=w: fnd.correlate1d(x, w, axis=1)
            # two passes of pass1d; the Gaussian below runs the fused kernel (sep2d)
            yield f"K{K} 2-D", r, lambda x, w=w: fnd.correlate1d(
                fnd.correlate1d(x, w, axis=0), w, axis=1)
        for order in (0, (2, 1), (1, 0)):    # symmetric and antisymmetric fused passes
            yield f"K{K} gaussian {order}", K // 2, lambda x, K=K, o=order: fnd.gaussian_filter(
                x, K / 8, order=o, truncate=(K // 2) / (K / 8) + 1e-9)


def test_float32_rows_same_bits_in_any_row_group_or_column_block(isa):
    """The float32 correlation kernels (fc_ndfilter_f32.h) give each output the same
    operations whether a 4-row tile, a single row, a 4-vector block, one vector or
    the masked tail computes it: a crop of the image, shifted by 1-3 rows and
    columns (another tiling of the same outputs), gives the same bits where its
    outputs read only the crop."""
    rng = np.random.default_rng(9)
    x = rng.standard_normal((75, 160)).astype(np.float32)
    for label, r, f in _f32_passes():
        full = f(x)
        for a, c in ((1, 1), (2, 3), (3, 18), (0, 5)):
            sub = f(x[a:a + 47, c:c + 101])
            got = sub[r:47 - r, r:101 - r]
            want = full[a + r:a + 47 - r, c + r:c + 101 - r]
            np.testing.assert_array_equal(got.view(np.int32), want.view(np.int32),
                                          err_msg=f"{label} crop at {(a, c)}")


def test_float32_rows_same_bits_on_avx512_and_avx2():
    """The AVX-512 and AVX2 copies of the float32 correlation write the same FMAs."""
    from fastconv import _isa
    isas = [i for i in _isa.available_isas() if i in ("avx512", "avx2")]
    if len(isas) < 2:
        pytest.skip("needs a CPU with AVX-512 and AVX2")
    x = np.random.default_rng(4).standard_normal((40, 77, 3)).astype(np.float32)
    old = _isa.current_isa()
    try:
        for label, _r, f in _f32_passes():
            got = []
            for i in isas:
                _isa.select_isa(i)
                got.append(f(x[..., 1]).view(np.int32))
            np.testing.assert_array_equal(got[0], got[1], err_msg=label)
    finally:
        _isa.select_isa(old)


@pytest.mark.parametrize("name,kw", [
    ("minimum_filter", dict(size=1, axes=-3)), ("maximum_filter", dict(size=3, axes=-3)),
    ("uniform_filter", dict(size=1, axes=5)), ("uniform_filter", dict(size=3, axes=5)),
    ("gaussian_filter", dict(sigma=0, axes=-3)), ("gaussian_filter", dict(sigma=1, axes=-3)),
    ("maximum_filter", dict(footprint=np.array([True, False]), axes=-3)),
    ("uniform_filter", dict(size=3, axes=-1)), ("median_filter", dict(size=1, axes=-3))])
def test_single_axis_out_of_range_as_scipy(name, kw):
    """SciPy does not range-check a single ``axes``: a filter that skips the axis (size
    1, sigma 0) returns the input, one that uses it raises an IndexError (AxisError;
    found by fuzz/fuzz_arguments.py)."""
    x = np.arange(8.0, dtype=np.float32).reshape(2, 4)
    try:
        want = getattr(snd, name)(x, **kw)
    except IndexError:
        with pytest.raises(IndexError):
            getattr(fnd, name)(x, **kw)
        return
    np.testing.assert_array_equal(getattr(fnd, name)(x, **kw), want)


def test_origins_are_integers_as_scipy_reads_them():
    """A float origin is a TypeError, as in SciPy (it used to be truncated: origin=1.5
    filtered as origin=1); the N-d filters refuse a bool origin as SciPy's C layer does,
    the 1-D ones take it as 0 or 1."""
    x1, x2 = np.arange(7.0), np.arange(36.0).reshape(6, 6)
    sparse = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]], bool)
    calls = [("correlate", (x2, np.ones((3, 3))), {}), ("convolve", (x2, np.ones((3, 3))), {}),
             ("correlate1d", (x2, np.ones(3)), {}), ("convolve1d", (x2, np.ones(3)), {}),
             ("uniform_filter", (x2, 3), {}), ("uniform_filter1d", (x2, 3), {}),
             ("minimum_filter1d", (x2, 3), {}), ("maximum_filter", (x2, 3), {}),
             ("maximum_filter", (x2,), dict(footprint=sparse)),
             ("median_filter", (x2, 3), {}), ("median_filter", (x1, 3), {}),
             ("rank_filter", (x2, 1, 3), {}), ("percentile_filter", (x2, 50, 3), {}),
             ("generic_filter", (x2, np.sum, 3), {})]
    # (convolve negates its origins before the C call, a bool then an int: SciPy too)
    nd = {"correlate", "generic_filter", "rank_filter", "percentile_filter"}
    for name, args, kw in calls:
        f, g = getattr(fnd, name), getattr(snd, name)
        for bad in (1.0, np.float32(0.0), np.float64(-1.0)):
            with pytest.raises(TypeError, match="cannot be interpreted as an integer"):
                f(*args, origin=bad, **kw)
            with pytest.raises(TypeError):
                g(*args, origin=bad, **kw)
        refuses_bool = name in nd or "footprint" in kw or (name == "median_filter"
                                                            and args[0].ndim == 2)
        if refuses_bool:
            with pytest.raises(TypeError, match="an integer is required"):
                f(*args, origin=False, **kw)
            with pytest.raises(TypeError):
                g(*args, origin=False, **kw)
        else:
            np.testing.assert_array_equal(f(*args, origin=True, **kw), f(*args, origin=1, **kw))
            np.testing.assert_array_equal(f(*args, origin=True, **kw), g(*args, origin=True, **kw))
        np.testing.assert_array_equal(f(*args, origin=np.int64(-1), **kw),
                                      g(*args, origin=np.int64(-1), **kw))


def test_windows_larger_than_memory_are_a_valueerror():
    """A size whose footprint or boundary table could not fit in memory is a ValueError
    naming ``size`` (it was NumPy's MemoryError), found before anything is allocated."""
    x1, x2 = np.zeros(5), np.zeros((5, 5))
    huge = 2 ** 40
    calls = [("median_filter", (x1,), dict(size=huge)), ("rank_filter", (x2, 0), dict(size=huge)),
             ("percentile_filter", (x2, 50), dict(size=(2 ** 20, 2 ** 20))),
             ("generic_filter", (x1, np.sum), dict(size=huge)),
             ("uniform_filter", (x1,), dict(size=huge)), ("uniform_filter1d", (x1, huge), {}),
             ("maximum_filter1d", (x1, huge), {}), ("minimum_filter", (x2,), dict(size=huge)),
             ("generic_filter1d", (x1, lambda i, o: None, huge), {})]
    for name, args, kw in calls:
        with pytest.raises(ValueError, match=r"size=.* is too large"):
            getattr(fnd, name)(*args, **kw)


def test_zero_d_input_takes_scipys_footprint_rule():
    """A 0-d input: SciPy's footprint keeps the weights of magnitude above DBL_EPSILON
    (a NaN is not one), so a NaN, tiny or missing weight gives 0 whatever the input (it
    gave NaN, or INT64_MIN cast into an integer output; argument fuzzer, seed 12)."""
    for inp in (np.array(3), np.array(np.inf), np.array(2.5), np.array(-4, np.int8),
                np.array(np.nan)):
        for w in (None, np.nan, 1e-17, -1e-300, np.zeros(0), 2.0, -1.0, np.inf):
            for f in ("correlate", "convolve"):
                with np.errstate(invalid="ignore"):
                    got = getattr(fnd, f)(inp, w)
                    want = getattr(snd, f)(inp, w)
                assert got.dtype == want.dtype and got.shape == want.shape == ()
                np.testing.assert_array_equal(got, want)


def test_size_windows_cost_nothing_before_the_filter():
    """A footprint made from ``size`` is a view of one True: a 2**32-sample window on an
    empty input, or with a wrong output, costs no memory (it took 4 GB and 22 s;
    argument fuzzer, seeds 12 and 13).  (No time is asserted: speed is the benchmarks'.)"""
    import tracemalloc

    big = 2 ** 32 + 1
    tracemalloc.start()
    try:
        with pytest.raises(RuntimeError, match="output shape"):
            fnd.median_filter(np.zeros((3, 3, 3), np.int8), size=big, output=-3, axes=-3)
        for f in ("median_filter", "rank_filter", "percentile_filter", "generic_filter"):
            extra = {"rank_filter": (1,), "percentile_filter": (30,),
                     "generic_filter": (np.sum,)}.get(f, ())
            y = getattr(fnd, f)(np.zeros((0, 5)), *extra, size=big, axes=0)
            assert y.shape == (0, 5)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, peak


def test_sizes_read_as_scipy_reads_them():
    """The separable N-d filters take int(size) before their checks (a NumPy unsigned
    size beside a negative origin was NumPy's OverflowError), the 1-D ones an integer
    only (a float size was truncated; SciPy raises TypeError): SciPy as the oracle."""
    x = np.arange(16.0).reshape(4, 4)
    cases = [dict(size=np.uint16(3), origin=-1), dict(size=np.array([3, 3], np.uint16),
                                                      origin=-1),
             dict(size=2.5), dict(size=1.5), dict(size=0.5), dict(size=np.float32(3.0)),
             dict(size=(2.5, 3)), dict(size=np.uint8(3), origin=np.int64(-1))]
    for kw in cases:
        for name in ("uniform_filter", "maximum_filter", "minimum_filter1d",
                     "uniform_filter1d", "maximum_filter1d"):
            kk, args = dict(kw), (x,)
            if name.endswith("1d"):
                if np.ndim(kk["size"]) or isinstance(kk["size"], tuple):
                    continue
                args = (x, kk.pop("size"))
            try:
                want = getattr(snd, name)(*args, **kk)
            except Exception as e:      # noqa: BLE001 (SciPy's class is the oracle)
                with pytest.raises(type(e)):
                    getattr(fnd, name)(*args, **kk)
                continue
            np.testing.assert_array_equal(getattr(fnd, name)(*args, **kk), want)


@pytest.mark.parametrize("dtype", ["<U2", "S3", "V8", [("a", "f4"), ("b", "i4")]])
@pytest.mark.parametrize("name, args", [("uniform_filter", (1,)), ("uniform_filter", (3,)),
                                        ("maximum_filter", (3,)), ("median_filter", (3,)),
                                        ("gaussian_filter", (1.0,)), ("sobel", ()),
                                        ("convolve", (np.ones((2, 2)),))])
def test_string_and_record_inputs_raise_scipys_type_error(name, args, dtype):
    """SciPy's default output dtype is ``np.dtype(input.dtype.name)``: a TypeError for
    strings, bytes and records ("data type 'str64' not understood") before anything
    else, even for a filter that would copy its input (size 1)."""
    a = np.zeros((3, 4), dtype)
    for module in (fnd, snd):
        with pytest.raises(TypeError, match="not understood"):
            getattr(module, name)(a, *args)

"""fastconv.signal: SciPy's convolutions, checked against SciPy itself (the oracle,
when installed), against plain NumPy references and on exact small integers."""

import doctest
import math
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import fastconv
from fastconv import signal

DTYPES = ["?", "i1", "u1", "i4", "i8", "u8", "f2", "f4", "f8", "c8", "c16"]
MODES = ["full", "same", "valid"]


# ------------------------------------------------------------------ references

def ref_full(x, w):
    """Full N-d convolution by a loop over w's taps, in float64/complex128 (or
    Python ints for object arrays)."""
    out = tuple(a + b - 1 for a, b in zip(x.shape, w.shape))
    dt = object if x.dtype == object else np.result_type(x, w, np.float64)
    y = np.zeros(out, dtype=dt)
    xd, wd = x.astype(dt), w.astype(dt)
    for t in np.ndindex(*w.shape):
        y[tuple(slice(ti, ti + n) for ti, n in zip(t, x.shape))] += xd * wd[t]
    return y


def crop(full, s1, s2, mode, corr2d=False):
    sl = []
    for f, n1, n2 in zip(full.shape, s1, s2):
        if mode == "full":
            sl.append(slice(0, f))
        elif mode == "same":
            st = n2 // 2 if corr2d else (n2 - 1) // 2
            sl.append(slice(st, st + n1))
        else:
            sl.append(slice(n2 - 1, n1))
    return full[tuple(sl)]


def ref_convolve(x, w, mode):
    if mode == "valid" and not all(a >= b for a, b in zip(x.shape, w.shape)):
        x, w = w, x
    return crop(ref_full(x, w), x.shape, w.shape, mode)


def rand(rng, shape, dt, lo=-5, hi=6):
    dt = np.dtype(dt)
    if dt == np.bool_:
        return rng.integers(0, 2, shape).astype(bool)
    if dt.kind == "u":
        return rng.integers(0, hi, shape).astype(dt)
    if dt.kind == "i" or dt == np.float16:
        return rng.integers(lo, hi, shape).astype(dt)
    a = rng.standard_normal(shape)
    if dt.kind == "c":
        a = a + 1j * rng.standard_normal(shape)
    return a.astype(dt)


def tolerance(d1, d2, kind="direct"):
    """A relative (to sum |x||w|) tolerance for the lower-precision input."""
    eps = max(np.finfo(np.result_type(d, np.float16) if np.dtype(d).kind in "fc"
                       else np.float64).eps for d in (d1, d2))
    if np.dtype(d1).kind not in "fc" and np.dtype(d2).kind not in "fc":
        return 0.0
    return 64 * eps


def abs_bound(x, w, mode):
    return np.abs(ref_convolve(np.abs(x).astype(float), np.abs(w).astype(float), mode))


# ------------------------------------------------------------------ NumPy reference

@pytest.mark.parametrize("method", ["direct", "fft", "auto"])
@pytest.mark.parametrize("mode", MODES)
def test_convolve_matches_numpy_reference(rng, method, mode):
    for _ in range(25):
        nd = int(rng.integers(1, 5))
        s1 = tuple(int(v) for v in rng.integers(1, 7, nd))
        s2 = tuple(int(v) for v in rng.integers(1, 7, nd))
        if mode == "valid" and not (all(a >= b for a, b in zip(s1, s2))
                                    or all(b >= a for a, b in zip(s1, s2))):
            continue
        x, w = rand(rng, s1, "f8"), rand(rng, s2, "f8")
        ref = ref_convolve(x, w, mode)
        y = signal.convolve(x, w, mode, method)
        assert y.shape == ref.shape and y.dtype == np.float64
        np.testing.assert_allclose(y, ref, rtol=0, atol=1e-12 * abs_bound(x, w, mode).max())
        # correlate: convolution with the reversed, conjugated second input
        yc = signal.correlate(x, w, mode, method)
        refc = ref_convolve(x, w[(slice(None, None, -1),) * nd], mode)
        np.testing.assert_allclose(yc, refc, rtol=0, atol=1e-12 * abs_bound(x, w, mode).max())


@pytest.mark.parametrize("mode", MODES)
def test_small_integers_are_exact(rng, mode):
    """Integer-valued floats with small magnitudes: exact, any method."""
    for dt in ["f4", "f8", "i2", "i8"]:
        x = rng.integers(-8, 9, (40, 7)).astype(dt)
        w = rng.integers(-8, 9, (5, 3)).astype(dt)
        ref = ref_convolve(x, w, mode)
        for method in ["direct", "auto", "fft"]:
            y = signal.convolve(x, w, mode, method)
            assert y.dtype == np.dtype(dt)
            if method == "fft" and dt[0] == "f":
                np.testing.assert_allclose(y, ref, atol=1e-3)
            else:
                np.testing.assert_array_equal(y, ref)


def test_float32_direct_within_per_element_bound(rng):
    for s1, s2 in [((5000,), (37,)), ((64, 70), (7, 5)), ((9, 10, 11), (3, 4, 2))]:
        x = rng.standard_normal(s1).astype(np.float32)
        w = rng.standard_normal(s2).astype(np.float32)
        x[tuple(slice(0, 3) for _ in s1)] *= 1e4      # wide dynamic range
        for mode in MODES:
            y = signal.convolve(x, w, mode, method="direct")
            assert y.dtype == np.float32
            ref = ref_convolve(x.astype(np.float64), w.astype(np.float64), mode)
            K = w.size
            bound = 2 * np.sqrt(K) * 2.0 ** -24 * abs_bound(x, w, mode)
            assert np.all(np.abs(y - ref) <= bound)


def test_fft_within_normwise_bound(rng):
    for dt, eps in [("f4", 2.0 ** -24), ("f8", 2.0 ** -53), ("c8", 2.0 ** -24)]:
        x, w = rand(rng, (20000,), dt), rand(rng, (900,), dt)
        for mode in MODES:
            y = signal.fftconvolve(x, w, mode)
            assert y.dtype == np.result_type(dt, np.float32)
            ref = ref_convolve(x.astype(np.complex128), w.astype(np.complex128), mode)
            err = np.linalg.norm(y - ref)
            assert err <= 8 * eps * np.log2(x.size + w.size) * np.linalg.norm(x) * \
                np.linalg.norm(w)


# ------------------------------------------------------------------ integers

def test_integer_overflow_wraps_like_scipy():
    """SciPy's direct path sums in the integer type: int8 and int64 wrap."""
    x = np.array([100, 100, 100, 100], dtype=np.int8)
    w = np.array([2, 3], dtype=np.int8)
    ref = (ref_full(x.astype(object), w.astype(object)) % 256).astype(np.int64)
    ref = np.where(ref > 127, ref - 256, ref)
    np.testing.assert_array_equal(signal.convolve(x, w), ref.astype(np.int8))
    big = np.array([2 ** 62, 3, -(2 ** 62) + 5, 7], dtype=np.int64)
    wb = np.array([3, -2, 5], dtype=np.int64)
    exact = ref_full(big.astype(object), wb.astype(object))
    wrapped = np.array([(int(v) + 2 ** 63) % 2 ** 64 - 2 ** 63 for v in exact], dtype=np.int64)
    for method in ["direct", "auto"]:
        np.testing.assert_array_equal(signal.convolve(big, wb, method=method), wrapped)
    u = np.array([2 ** 64 - 1, 2 ** 63, 5], dtype=np.uint64)
    wu = np.array([3, 2], dtype=np.uint64)
    exact = [int(v) % 2 ** 64 for v in ref_full(u.astype(object), wu.astype(object))]
    np.testing.assert_array_equal(signal.convolve(u, wu), np.array(exact, dtype=np.uint64))


def test_large_integers_exact_in_2d(rng):
    x = rng.integers(-2 ** 40, 2 ** 40, (30, 20), dtype=np.int64)
    w = rng.integers(-2 ** 20, 2 ** 20, (4, 3), dtype=np.int64)
    exact = ref_full(x.astype(object), w.astype(object))
    for mode in MODES:
        ref = crop(exact, x.shape, w.shape, mode).astype(np.int64)
        np.testing.assert_array_equal(signal.convolve(x, w, mode), ref)
        assert signal.choose_conv_method(x, w, mode) == "direct"


def test_bool_is_logical(rng):
    x, w = rand(rng, (30,), "?"), rand(rng, (4,), "?")
    y = signal.convolve(x, w)
    assert y.dtype == np.bool_
    np.testing.assert_array_equal(y, ref_full(x.astype(int), w.astype(int)) > 0)


# ------------------------------------------------------------------ SciPy oracle

def _both(fn_fc, fn_sp, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            r = fn_sp(*args, **kw)
        except ValueError as e:
            r = e
        try:
            q = fn_fc(*args, **kw)
        except ValueError as e:
            q = e
    return q, r


def _compare(q, r, tol):
    if isinstance(r, Exception):
        # SciPy's N-d direct path has no float16/bool sums; fastconv computes them
        if "Unsupported type" in str(r) or "not available for this type" in str(r):
            return
        assert isinstance(q, ValueError), f"SciPy raised {r!r}, fastconv returned"
        return
    assert not isinstance(q, Exception), f"fastconv raised {q!r}, SciPy did not"
    assert q.dtype == r.dtype and q.shape == r.shape, (q.dtype, r.dtype, q.shape, r.shape)
    if q.dtype == np.bool_ or q.dtype == object:
        np.testing.assert_array_equal(q, r)
        return
    scale = max(1.0, float(np.abs(r).max(initial=0)))
    np.testing.assert_allclose(q, r, rtol=0, atol=tol * scale * 50)


@pytest.mark.parametrize("func", ["convolve", "correlate"])
def test_convolve_correlate_vs_scipy(rng, func):
    ss = pytest.importorskip("scipy.signal")
    for _ in range(60):
        nd = int(rng.integers(1, 5))
        s1 = tuple(int(v) for v in rng.integers(1, 7, nd))
        s2 = tuple(int(v) for v in rng.integers(1, 7, nd))
        d1, d2 = (str(d) for d in rng.choice(DTYPES, 2))
        x, w = rand(rng, s1, d1), rand(rng, s2, d2)
        tol = tolerance(d1, d2)
        for mode in MODES:
            for method in ["direct", "fft", "auto"]:
                q, r = _both(getattr(signal, func), getattr(ss, func), x, w, mode, method)
                if method == "fft" and getattr(r, "dtype", None) == np.bool_:
                    continue       # SciPy casts FFT noise to True; fastconv rounds first
                if method != "direct" and not isinstance(r, Exception) and r.dtype.kind in "fc":
                    tol = max(tol, tolerance(d1, d2, "fft"), 1e-12)
                _compare(q, r, tol)


def test_fftconvolve_oaconvolve_axes_vs_scipy(rng):
    ss = pytest.importorskip("scipy.signal")
    for _ in range(80):
        nd = int(rng.integers(1, 4))
        s1 = [int(v) for v in rng.integers(1, 9, nd)]
        s2 = [int(v) for v in rng.integers(1, 9, nd)]
        axes = None
        if rng.random() < 0.7:
            k = int(rng.integers(1, nd + 1))
            axes = [int(a) for a in rng.choice(nd, k, replace=False)]
            for a in range(nd):
                if a not in axes:
                    c = rng.integers(3)
                    if c == 0:
                        s2[a] = s1[a]
                    elif c == 1:
                        s1[a] = 1
                    else:
                        s2[a] = 1
            if rng.random() < 0.3:
                axes = [a - nd for a in axes]
        d = str(rng.choice(["f4", "f8", "c8", "c16", "i4", "?"]))
        x, w = rand(rng, s1, d), rand(rng, s2, d)
        for mode in MODES:
            for name in ["fftconvolve", "oaconvolve"]:
                q, r = _both(getattr(signal, name), getattr(ss, name), x, w, mode, axes)
                _compare(q, r, tolerance(d, d, "fft") or 1e-12)


def test_long_inputs_vs_scipy(rng):
    """Blocked FFT (overlap-save) and framed direct paths, in1 or in2 the longer."""
    ss = pytest.importorskip("scipy.signal")
    for n1, n2 in [(100_000, 300), (5000, 4000), (300, 60_000), (200_000, 17), (20_000, 3000)]:
        x, w = rng.standard_normal(n1), rng.standard_normal(n2)
        for mode in MODES:
            r = ss.fftconvolve(x, w, mode)
            for method in ["fft", "direct"]:
                q = signal.convolve(x, w, mode, method=method)
                assert q.shape == r.shape
                assert np.abs(q - r).max() <= 1e-13 * np.abs(r).max() * np.sqrt(min(n1, n2))
    img = rng.standard_normal((300, 700)).astype(np.float32)
    k = rng.standard_normal((41, 33)).astype(np.float32)
    for mode in MODES:
        r = ss.fftconvolve(img.astype(np.float64), k.astype(np.float64), mode)
        for method in ["fft", "direct"]:
            q = signal.convolve(img, k, mode, method)
            assert q.dtype == np.float32
            assert np.abs(q - r).max() <= 1e-5 * np.abs(r).max()


@pytest.mark.parametrize("func", ["convolve2d", "correlate2d"])
def test_2d_boundaries_vs_scipy(rng, func):
    ss = pytest.importorskip("scipy.signal")
    for _ in range(40):
        s1 = tuple(int(v) for v in rng.integers(1, 8, 2))
        s2 = tuple(int(v) for v in rng.integers(1, 8, 2))
        d = str(rng.choice(["f4", "f8", "c8", "c16", "i4", "u1", "i8"]))
        x, w = rand(rng, s1, d), rand(rng, s2, d)
        for mode in MODES:
            for bd in ["fill", "wrap", "symm", "circular", "symmetric"]:
                for fv in [0, 2, 1.5]:
                    q, r = _both(getattr(signal, func), getattr(ss, func), x, w, mode, bd, fv)
                    _compare(q, r, tolerance(d, d) or 0.0)


def test_2d_large_kernel_boundaries_vs_scipy(rng):
    """Frames of the direct path with wrap/symm padding and a nonzero fill."""
    ss = pytest.importorskip("scipy.signal")
    x = rng.standard_normal((20, 3000))
    w = rng.standard_normal((3, 150))
    for bd in ["fill", "wrap", "symm"]:
        for mode in MODES:
            for func in ["convolve2d", "correlate2d"]:
                q = getattr(signal, func)(x, w, mode, bd, 0.5)
                r = getattr(ss, func)(x, w, mode, bd, 0.5)
                np.testing.assert_allclose(q, r, atol=1e-11)


def test_correlate2d_even_same_offset_differs_from_correlate():
    """SciPy's documented one-sample offset between correlate2d and correlate."""
    x = np.arange(16.0).reshape(4, 4)
    w = np.zeros((2, 2))
    w[0, 0] = 1
    assert not np.array_equal(signal.correlate2d(x, w, "same"), signal.correlate(x, w, "same"))
    np.testing.assert_array_equal(signal.correlate2d(x, w, "same"), x)


@pytest.mark.parametrize("n1", [1, 2, 5, 6])
@pytest.mark.parametrize("n2", [1, 2, 3, 4, 7, 8])
def test_even_size_alignment(n1, n2):
    """An impulse at each position: 'same' keeps the outputs SciPy keeps."""
    x = np.arange(1.0, n1 + 1)
    w = np.zeros(n2)
    w[0] = 1
    full = np.convolve(x, w)                      # x followed by zeros
    st = (n2 - 1) // 2
    np.testing.assert_array_equal(signal.convolve(x, w, "same"), full[st:st + n1])
    np.testing.assert_array_equal(signal.convolve(x, w, "same", "fft").round(12),
                                  full[st:st + n1])
    np.testing.assert_array_equal(signal.correlation_lags(n1, n2, "same").size, n1)


def test_correlation_lags_vs_scipy():
    ss = pytest.importorskip("scipy.signal")
    for n1 in range(1, 9):
        for n2 in range(1, 9):
            for mode in MODES:
                np.testing.assert_array_equal(signal.correlation_lags(n1, n2, mode),
                                              ss.correlation_lags(n1, n2, mode))


# ------------------------------------------------------------------ complex, NaN, object

def test_complex_correlate_conjugates(rng):
    x = rand(rng, (50,), "c16")
    w = rand(rng, (7,), "c16")
    y = signal.correlate(x, w, "valid", "direct")
    ref = np.array([np.sum(x[i:i + 7] * np.conj(w)) for i in range(44)])
    np.testing.assert_allclose(y, ref, atol=1e-12)
    y32 = signal.correlate(x.astype(np.complex64), w.astype(np.complex64), "valid")
    assert y32.dtype == np.complex64
    np.testing.assert_allclose(y32, ref, atol=1e-4)


def test_nan_stays_local_with_direct_and_auto(rng):
    # long enough that 'auto' would pick the FFT for finite data
    x = rng.standard_normal(20000)
    w = rng.standard_normal(2000)
    x[5000] = np.nan
    for method in ["direct", "auto"]:
        y = signal.convolve(x, w, method=method)
        assert np.isnan(y[5000:7000]).all()
        assert np.isfinite(y[:5000]).all() and np.isfinite(y[7000:]).all()
    assert signal.choose_conv_method(x, w) == "direct"
    assert signal.choose_conv_method(np.nan_to_num(x), w) == "fft"
    with pytest.warns(RuntimeWarning):
        x[0] = np.inf
        signal.convolve(x, w, method="fft")


def test_object_arrays_like_scipy():
    x = np.array([1, 2, 3], dtype=object)
    y = signal.convolve(x, x)
    assert y.dtype == object
    assert list(y) == [1, 4, 10, 12, 9]
    assert signal.fftconvolve(x, x).dtype == np.float64
    assert signal.convolve(np.array([10 ** 30], dtype=object), np.array([3], dtype=object))[0] \
        == 3 * 10 ** 30


def test_scalars():
    assert signal.convolve(2.0, 3.0) == 6.0
    assert signal.correlate(2 + 1j, 3 + 2j) == (2 + 1j) * (3 - 2j)
    assert signal.fftconvolve(2.0, 3.0) == 6.0


# ------------------------------------------------------------------ errors

@pytest.mark.parametrize("call, match", [
    (lambda: signal.convolve(np.ones(3), np.ones((3, 3))), "in1 and in2"),
    (lambda: signal.correlate(np.ones(3), np.ones((3, 3))), "in1 and in2"),
    (lambda: signal.fftconvolve(np.ones(3), np.ones((3, 3))), "in1 and in2"),
    (lambda: signal.convolve(np.ones(3), np.ones(3), mode="bad"), "mode"),
    (lambda: signal.convolve(np.ones(3), np.ones(3), mode=1), "mode"),
    (lambda: signal.correlate(np.ones(3), np.ones(3), mode="bad"), "mode"),
    (lambda: signal.fftconvolve(np.ones(3), np.ones(3), mode="bad"), "mode"),
    (lambda: signal.convolve(np.ones(3), np.ones(3), method="bad"), "method"),
    (lambda: signal.correlate(np.ones(3), np.ones(3), method="fast"), "method"),
    (lambda: signal.convolve(np.ones((3, 4)), np.ones((4, 3)), "valid"), "valid"),
    (lambda: signal.correlate(np.ones((3, 4)), np.ones((4, 3)), "valid"), "valid"),
    (lambda: signal.fftconvolve(np.ones((3, 4)), np.ones((4, 3)), "valid"), "valid"),
    (lambda: signal.convolve2d(np.ones((3, 4)), np.ones((4, 3)), "valid"), "valid"),
    (lambda: signal.convolve(np.ones(0), np.ones(3)), "in1"),
    (lambda: signal.convolve(np.ones(3), np.ones(0)), "in2"),
    (lambda: signal.fftconvolve(np.ones((3, 4)), np.ones((4, 3)), axes=[0, 0]), "axes"),
    (lambda: signal.fftconvolve(np.ones((3, 4)), np.ones((4, 3)), axes=2), "axes"),
    (lambda: signal.fftconvolve(np.ones((3, 4)), np.ones((4, 3)), axes=[]), "axes"),
    (lambda: signal.fftconvolve(np.ones((3, 4)), np.ones((4, 3)), axes=1.5), "axes"),
    (lambda: signal.oaconvolve(np.ones((3, 4)), np.ones((2, 3)), axes=0), "incompatible"),
    (lambda: signal.convolve2d(np.ones(3), np.ones(3)), "2-D"),
    (lambda: signal.correlate2d(np.ones((3, 3, 1)), np.ones((3, 3, 1))), "2-D"),
    (lambda: signal.convolve2d(np.ones((3, 3)), np.ones((3, 3)), boundary="x"), "boundary"),
    (lambda: signal.convolve2d(np.ones((3, 3)), np.ones((3, 3)), fillvalue=1j), "fillvalue"),
    (lambda: signal.convolve2d(np.ones((3, 3)), np.ones((3, 3)), fillvalue=[1, 2]),
     "fillvalue"),
    (lambda: signal.correlation_lags(5, 3, "x"), "mode"),
    (lambda: signal.choose_conv_method(np.ones(3), np.ones(3), mode="x"), "mode"),
])
def test_value_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("call", [
    lambda: signal.convolve(None, np.ones(3)),
    lambda: signal.convolve(np.array(["a", "b"]), np.ones(3)),
    lambda: signal.correlation_lags(5.5, 3),
])
def test_type_errors(call):
    with pytest.raises(TypeError):
        call()


def test_errors_where_scipy_raises(rng):
    ss = pytest.importorskip("scipy.signal")
    cases = [
        (("convolve",), (np.ones(3), np.ones((3, 3)))),
        (("convolve", "correlate", "fftconvolve", "oaconvolve"),
         (np.ones((3, 4)), np.ones((4, 3)), "valid")),
        (("convolve", "correlate", "fftconvolve", "oaconvolve"),
         (np.ones(3), np.ones(3), "nope")),
        (("convolve2d", "correlate2d"), (np.ones((3, 4)), np.ones((4, 3)), "valid")),
        (("convolve2d", "correlate2d"), (np.ones((3, 3)), np.ones((2, 2)), "full", "nope")),
    ]
    for names, args in cases:
        for name in names:
            with pytest.raises(ValueError):
                getattr(ss, name)(*args)
            with pytest.raises(ValueError):
                getattr(signal, name)(*args)


# ------------------------------------------------------------------ layouts, inputs

def _odd_layouts(a):
    yield np.asfortranarray(a)
    yield a[::-1][::-1].copy()[..., ::-1][..., ::-1]
    big = np.zeros(tuple(2 * n for n in a.shape), dtype=a.dtype)
    big[tuple(slice(None, None, 2) for _ in a.shape)] = a
    yield big[tuple(slice(None, None, 2) for _ in a.shape)]
    yield a.astype(a.dtype.newbyteorder(">"))
    ro = a.copy()
    ro.flags.writeable = False
    yield ro
    raw = np.zeros(a.nbytes + 1, dtype=np.uint8)[1:].view(a.dtype).reshape(a.shape)
    raw[...] = a
    yield raw


def test_any_layout_and_inputs_unchanged(rng):
    x = rng.standard_normal((40, 30))
    w = rng.standard_normal((5, 4))
    for f in [lambda a, b: signal.convolve(a, b, "same", "direct"),
              lambda a, b: signal.convolve(a, b, "same", "fft"),
              lambda a, b: signal.correlate(a, b, "full"),
              lambda a, b: signal.oaconvolve(a, b[:1], "valid", axes=1),
              lambda a, b: signal.convolve2d(a, b, "same", "symm"),
              lambda a, b: signal.correlate2d(a, b, "full", "wrap")]:
        ref = f(x, w)
        for xa in _odd_layouts(x):
            for wa in _odd_layouts(w):
                before = (xa.copy(), wa.copy())
                np.testing.assert_allclose(f(xa, wa), ref, atol=1e-12)
                np.testing.assert_array_equal(xa, before[0])
                np.testing.assert_array_equal(wa, before[1])


def test_memmapped_input(tmp_path, rng):
    x = rng.standard_normal(300_000)
    path = tmp_path / "x.dat"
    x.tofile(path)
    mm = np.memmap(path, dtype=np.float64, mode="r")
    w = rng.standard_normal(1000)
    np.testing.assert_allclose(signal.oaconvolve(mm, w, "same"), signal.oaconvolve(x, w, "same"),
                               atol=0)
    np.testing.assert_allclose(signal.convolve(mm, w[:9], "same"),
                               signal.convolve(x, w[:9], "same"), atol=0)


def test_same_bits_for_any_thread_count(rng):
    x = rng.standard_normal(300_000).astype(np.float32)
    w = rng.standard_normal(700).astype(np.float32)
    before = fastconv.get_num_threads()
    try:
        res = []
        for n in [1, 2, 3]:
            fastconv.set_num_threads(n)
            res.append((signal.fftconvolve(x, w), signal.convolve(x, w[:20], method="direct")))
    finally:
        fastconv.set_num_threads(before)
    for a, b in res[1:]:
        np.testing.assert_array_equal(a, res[0][0])
        np.testing.assert_array_equal(b, res[0][1])


# ------------------------------------------------------------------ method choice

def test_choose_conv_method(rng):
    assert signal.choose_conv_method(np.arange(50), np.arange(7)) == "direct"
    assert signal.choose_conv_method(rng.standard_normal(10), rng.standard_normal(3)) == "direct"
    assert signal.choose_conv_method(rng.standard_normal(100_000),
                                     rng.standard_normal(4000)) == "fft"
    method, times = signal.choose_conv_method(rng.standard_normal(2000),
                                              rng.standard_normal(20), measure=True)
    assert method in ("direct", "fft") and set(times) == {"direct", "fft"}
    assert times[method] == min(times.values())


def test_plain_fillvalues_take_the_general_rules():
    """A Python int or float fillvalue into a float result skips the arrays of the
    general path: the same value, type, sign of zero and NaN."""
    for dt in (np.float16, np.float32, np.float64, np.longdouble):
        for v in (0, 1, -3, 2 ** 60 + 1, 10 ** 400, 1e300, 0.1, float("nan"), float("inf"),
                  -0.0, 3.5e38):
            with np.errstate(all="ignore"):
                try:
                    want = np.asarray(v).astype(dt)[()]
                except OverflowError:
                    with pytest.raises(OverflowError):
                        signal._as_fill(v, np.dtype(dt))
                    continue
                got = signal._as_fill(v, np.dtype(dt))
            assert type(got) is type(want), (dt, v)
            assert (np.isnan(got) and np.isnan(want)) or (
                got == want and np.signbit(got) == np.signbit(want)), (dt, v)


def test_small_calls_skip_the_cost_model_without_changing_its_answer(rng):
    """Below _DIRECT_BELOW (in1 size x in2 size, the smaller at most 64) 'auto' says
    'direct' without predicting: the cost model says so too for every such shape,
    rank, dtype and mode."""
    import types

    checked = 0
    for _ in range(3000):
        nd = int(rng.integers(1, 4))
        s1, s2 = (tuple(int(v) for v in rng.integers(1, 40, nd)) for _ in range(2))
        if not (min(math.prod(s1), math.prod(s2)) <= 64
                and math.prod(s1) * math.prod(s2) < signal._DIRECT_BELOW):
            continue
        for dt in (np.float16, np.float32, np.float64, np.complex64, np.complex128):
            for mode in ("full", "same", "valid"):
                a, b = s1, s2
                if mode == "valid":
                    if all(x <= y for x, y in zip(a, b)):
                        a, b = b, a           # SciPy's swap, made before the choice
                    elif not all(x >= y for x, y in zip(a, b)):
                        continue
                direct, fft = signal._predict(types.SimpleNamespace(shape=a, dtype=dt),
                                              types.SimpleNamespace(shape=b, dtype=dt), mode)
                assert direct <= fft, (a, b, dt, mode)
                checked += 1
    assert checked > 1000


def test_choose_conv_method_measure_takes_truth_values_like_scipy(rng):
    """SciPy tests ``if measure:``; measure=1 or np.True_ must not be a TypeError (the
    argument fuzzer found it), and a falsy value means no timing."""
    a, b = rng.standard_normal(300), rng.standard_normal(9)
    for truthy in (1, np.True_, "yes"):
        method, times = signal.choose_conv_method(a, b, measure=truthy)
        assert set(times) == {"direct", "fft"}
    for falsy in (0, None, ""):
        assert signal.choose_conv_method(a, b, measure=falsy) == "direct"
    scipy_signal = pytest.importorskip("scipy.signal")
    assert isinstance(scipy_signal.choose_conv_method(a, b, measure=1), tuple)


def test_docstring_examples():
    result = doctest.testmod(signal, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


# ------------------------------------------------------------------ memory

MEMORY_SCRIPT = textwrap.dedent("""
    import resource, numpy as np
    from fastconv import signal
    x = np.random.default_rng(0).standard_normal(10_000_000)
    w = np.random.default_rng(1).standard_normal(10_000)
    signal.convolve(x[:100_000], w[:100], "same")          # warm up imports and pools
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    y = signal.convolve(x, w, "same")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert y.shape == x.shape
    print(peak - base)
""")


MEMMAP_SCRIPT = textwrap.dedent("""
    import resource, sys, numpy as np
    from fastconv import signal
    path = sys.argv[1]
    np.random.default_rng(0).standard_normal(10_000_000).tofile(path)
    x = np.memmap(path, dtype=np.float64, mode="r")
    w = np.random.default_rng(1).standard_normal(10_000)
    signal.oaconvolve(x[:100_000], w[:100], "same")
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    y = signal.oaconvolve(x, w, "valid")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert y.shape == (10_000_000 - 10_000 + 1,)
    print(peak - base)
""")


@pytest.mark.memory
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss units differ")
def test_long_convolution_memory_is_bounded():
    """1e7 samples x 10,000 taps: the output (76 MiB) plus a few blocks."""
    out = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    grew = float(out.stdout.split()[-1])
    assert grew < 76 + 120, f"peak memory grew by {grew:.0f} MiB"


@pytest.mark.memory
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss units differ")
def test_memmapped_long_convolution_memory_is_bounded(tmp_path):
    """A memory-mapped 1e7-sample input is read by slices: output + the mapped
    pages (76 MiB each) plus a few blocks, no padded or converted copy of it."""
    out = subprocess.run([sys.executable, "-c", MEMMAP_SCRIPT, str(tmp_path / "x.f8")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    grew = float(out.stdout.split()[-1])
    assert grew < 2 * 76 + 120, f"peak memory grew by {grew:.0f} MiB"


try:
    import hypothesis
    from hypothesis import strategies as st
except ImportError:      # hypothesis is a test extra: the property test skips without it
    hypothesis = None


def _given_integer_cases(test):
    if hypothesis is None:
        return pytest.mark.skip(reason="hypothesis is not installed")(test)
    return hypothesis.settings(max_examples=60, deadline=None)(hypothesis.given(
        shapes=st.integers(1, 3).flatmap(lambda nd: st.tuples(
            st.lists(st.integers(1, 6), min_size=nd, max_size=nd),
            st.lists(st.integers(1, 6), min_size=nd, max_size=nd))),
        mode=st.sampled_from(MODES), method=st.sampled_from(["direct", "fft", "auto"]),
        seed=st.integers(0, 2 ** 32 - 1))(test))


@_given_integer_cases
def test_property_integer_valued_exact(shapes, mode, method, seed):
    """Small integers: every method gives the exact NumPy-reference result
    (to rounding for the FFT), shapes and dtypes included."""
    s1, s2 = shapes
    if mode == "valid" and not (all(a >= b for a, b in zip(s1, s2))
                                or all(b >= a for a, b in zip(s1, s2))):
        with pytest.raises(ValueError):
            signal.convolve(np.ones(s1), np.ones(s2), mode, method)
        return
    r = np.random.default_rng(seed)
    x = r.integers(-8, 9, s1)
    w = r.integers(-8, 9, s2)
    ref = ref_convolve(x.astype(object), w.astype(object), mode).astype(np.int64)
    y = signal.convolve(x, w, mode, method)
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y, ref)
    yf = signal.convolve(x.astype(np.float32), w.astype(np.float32), mode, method)
    assert yf.dtype == np.float32
    np.testing.assert_allclose(yf, ref, atol=1e-3 if method != "direct" else 0)


def _bound_ratio(x, w, y, mode="same"):
    ref = np.convolve(x.astype(np.float64), w.astype(np.float64), mode)
    S = np.convolve(np.abs(x).astype(np.float64), np.abs(w).astype(np.float64), mode)
    bound = 2 * np.sqrt(w.size) * 2.0 ** -24 * S
    return np.max(np.abs(y - ref) / np.where(bound > 0, bound, np.inf))


@pytest.mark.parametrize("case", ["noise", "half_quiet", "spike", "zero_background"])
def test_auto_keeps_per_element_bound(rng, case):
    """'auto' never leaves the direct path's per-element float32 bound: wide
    dynamic ranges (where an FFT would) stay direct."""
    x = rng.standard_normal(100_000).astype(np.float32)
    w = rng.standard_normal(900).astype(np.float32)
    if case == "half_quiet":
        x[:50_000] *= 1e-3
    elif case == "spike":
        x[30_000] = 1e4
    elif case == "zero_background":
        x[:80_000] = 0
    method = signal.choose_conv_method(x, w, "same")
    assert method == ("fft" if case == "noise" else "direct")
    y = signal.convolve(x, w, "same")
    assert y.dtype == np.float32
    assert _bound_ratio(x, w, y) <= 1.0
    if case != "noise":
        # the FFT would have broken the bound: the guard is needed
        assert _bound_ratio(x, w, signal.convolve(x, w, "same", method="fft")) > 1.0


# ------------------------------------------------------------------ benchmark hooks

def test_bench_suite_runners():
    pytest.importorskip("scipy")
    from fastconv.bench.signal_suite import SYSTEMS, WORKLOADS, signal_runner

    assert "conv1d_k16" in WORKLOADS and "fastconv" in SYSTEMS
    with pytest.raises(NotImplementedError):
        signal_runner("conv1d_k16", "opencv.filter2D")
    with pytest.raises(NotImplementedError):
        signal_runner("conv1d_k16", "nope")
    a = signal_runner("matched_c64", "fastconv", threads=1)()
    b = signal_runner("matched_c64", "scipy.convolve", threads=1)()
    assert a.dtype == b.dtype == np.complex64 and a.shape == b.shape
    assert np.linalg.norm(a - b) <= 1e-5 * np.linalg.norm(b)


def test_bench_cli_signal_suite():
    pytest.importorskip("scipy")
    r = subprocess.run([sys.executable, "-m", "fastconv", "bench", "--suite", "signal",
                        "--workloads", "conv1d_k16", "--repeat", "1", "--no-progress"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "conv1d_k16" in r.stdout and "geomean fastconv/SciPy-best" in r.stdout


def test_numpy_fft_backend_without_scipy(monkeypatch, rng):
    """``pip install fastconv`` has no SciPy: numpy.fft gives the same results,
    float32 kept in float32, blocked paths included."""
    from fastconv import _fftconv

    x = rng.standard_normal((3, 20_000)).astype(np.float32)
    w = rng.standard_normal((1, 700)).astype(np.float32)
    xc = (x[0] + 1j * x[1]).astype(np.complex64)
    with_scipy = [signal.fftconvolve(x, w, "same"), signal.fftconvolve(xc, xc[:99], "valid")]
    monkeypatch.setattr(_fftconv, "_sfft", None)
    assert _fftconv.backend() == "numpy.fft"
    assert _fftconv.next_fast_len(2049) == 2160
    without = [signal.fftconvolve(x, w, "same"), signal.fftconvolve(xc, xc[:99], "valid")]
    for a, b in zip(without, with_scipy):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert np.linalg.norm(a - b) <= 1e-5 * np.linalg.norm(b)
    ref = ref_convolve(x.astype(np.float64), w.astype(np.float64), "same")
    assert np.linalg.norm(without[0] - ref) <= 1e-5 * np.linalg.norm(ref)


def test_results_are_c_contiguous(rng):
    x, w = rng.standard_normal((30, 40, 3)), rng.standard_normal((5, 1, 2))
    for f in [lambda: signal.convolve(x, w, "same", "direct"),
              lambda: signal.convolve(x, w, "full", "fft"),
              lambda: signal.correlate(x.astype(np.complex64), w, "valid"),
              lambda: signal.fftconvolve(x, w, "same", axes=[0, 2]),
              lambda: signal.correlate2d(x[:, :, 0], w[:, :, 0].T, "valid")]:
        assert f().flags.c_contiguous


def test_fft_nan_spreads_over_its_blocks_only(rng):
    """A NaN poisons the overlap-save blocks that read it, not the whole output
    (SciPy's one big transform spreads it everywhere)."""
    x = rng.standard_normal(1_000_000)
    w = rng.standard_normal(100)
    x[10] = np.nan
    y = signal.fftconvolve(x, w)
    assert np.isnan(y[10:110]).all()
    assert np.isfinite(y[-500_000:]).all()


@pytest.mark.parametrize("kshape", [(5, 5), (4, 6), (1, 7), (3, 1), (2, 2)])
@pytest.mark.parametrize("mode", ["same", "valid"])
@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_2d_runs_the_fir_kernel(rng, monkeypatch, kshape, mode, dt):
    """2-D calls with zero padding run through fastconv.signal's FIR kernel (one
    plane, or rows when the kernel has one row): the same shapes as SciPy, within the
    per-element bound (odd and even kernels, convolve and correlate)."""
    from fastconv import _sig_kernels

    used = []
    real = _sig_kernels.fir
    # the kernel entry itself: a repeated call (correlate's, of convolve's shapes) runs
    # it from its recipe without _fir
    monkeypatch.setattr(_sig_kernels, "fir", lambda *a: used.append(1) or real(*a))
    x = rng.standard_normal((37, 41)).astype(dt)
    w = rng.standard_normal(kshape).astype(dt)
    eps = 2.0 ** -24 if dt == np.float32 else 2.0 ** -53
    for func, ref_w in [(signal.convolve, w), (signal.correlate, w[::-1, ::-1])]:
        y = func(x, w, mode, method="direct")
        assert y.dtype == dt
        ref = ref_convolve(x.astype(np.float64), ref_w.astype(np.float64), mode)
        bound = 2 * np.sqrt(w.size) * eps * abs_bound(x, ref_w, mode) * (1 + (dt == np.float64))
        assert y.shape == ref.shape
        assert np.all(np.abs(y - ref) <= bound)
    assert len(used) == 2


@pytest.mark.parametrize("dt", [np.float64, np.float32, np.complex128, np.complex64])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_auto_sees_nonfinite_anywhere(rng, dt, bad):
    """'auto' looks at every sample for NaN/inf (not a sample of them), real or complex,
    at either extreme, before choosing the FFT."""
    x = rng.standard_normal(200_000).astype(dt)
    w = rng.standard_normal(3000).astype(dt)
    assert signal.choose_conv_method(x, w) == "fft"
    x[123_457] = bad
    assert signal.choose_conv_method(x, w) == "direct"
    if np.dtype(dt).kind == "c":
        x[123_457] = complex(0, bad)
        assert signal.choose_conv_method(x, w) == "direct"


@pytest.mark.parametrize("a,b", [
    (np.inf, 3), (np.array([np.inf, 1.0]), np.array([1, 2])), (np.array([np.nan]), np.array([2])),
    (np.array([], int), np.array([1])), (np.uint8(3), np.float32(np.nan)),
    (np.array([2 ** 40, 3]), np.array([2 ** 20, 1])), (np.array([1.0, np.inf]), np.array([1.0]))])
def test_auto_integer_rule_as_scipy(a, b):
    """'auto' starts with SciPy's check of integers past float64's exact range, whose
    int() of the maxima fails for an inf or NaN beside an integer input (found by
    fuzz/fuzz_arguments.py): the same answers and the same exception classes."""
    ss = pytest.importorskip("scipy.signal")
    for ours, theirs in ((signal.convolve, ss.convolve), (signal.correlate, ss.correlate),
                         (signal.choose_conv_method, ss.choose_conv_method)):
        try:
            want = theirs(a, b)
        except Exception as exc:     # noqa: BLE001 - the class is what is compared
            with pytest.raises(type(exc)):
                ours(a, b)
            continue
        got = ours(a, b)
        if isinstance(want, str):
            assert got == want
        else:
            np.testing.assert_allclose(got, want)
            assert np.asarray(got).dtype == np.asarray(want).dtype


# ------------------------------------------------------------------ repeated calls

REPEATABLE = ["convolve", "correlate", "convolve2d", "correlate2d"]


def _layouts(a):
    """The same values as ``a`` in other layouts: reversed strides, read-only,
    misaligned (a float64 view one byte into a buffer)."""
    rev = np.ascontiguousarray(a[::-1])[::-1]
    ro = a.copy()
    ro.flags.writeable = False
    buf = np.zeros(a.nbytes + 1, np.uint8)
    mis = buf[1:].view(a.dtype).reshape(a.shape)
    mis[...] = a
    return [rev, ro, mis]


@pytest.mark.parametrize("name", REPEATABLE)
def test_repeated_calls_take_their_recipe_and_give_the_same_bits(rng, name):
    """A repeat of a small direct call (same classes, shapes, dtypes and parameters)
    runs its first call's FIR kernel call from a recipe: the same bits as the first
    call, for any layout of the same values, the inputs unchanged, SciPy's values."""
    sp = pytest.importorskip("scipy.signal")
    fastconv.clear_caches()
    f, g = getattr(signal, name), getattr(sp, name)
    used = 0
    for _ in range(150):
        nd = 2 if name.endswith("2d") else int(rng.integers(1, 3))
        s1, s2 = (tuple(int(v) for v in rng.integers(1, 9, nd)) for _ in range(2))
        a = rng.standard_normal(s1).astype(rng.choice(["f4", "f8"]))
        b = rng.standard_normal(s2).astype(rng.choice(["f4", "f8"]))
        mode = str(rng.choice(MODES))
        if name.endswith("2d"):
            kw = dict(boundary=str(rng.choice(["fill", "wrap", "symm"])),
                      fillvalue=float(rng.choice([0.0, -0.0, 1.5])))
        else:
            kw = dict(method=str(rng.choice(["auto", "direct"])))
        try:
            first = f(a, b, mode, **kw)
        except ValueError:
            continue
        n = len(fastconv._fastpath.RECIPES)
        a0, b0 = a.copy(), b.copy()
        for x, w in [(a, b)] + list(zip(_layouts(a), _layouts(b))):
            again = f(x, w, mode, **kw)
            assert again.dtype == first.dtype and again.flags.c_contiguous
            np.testing.assert_array_equal(again, first)
        assert np.array_equal(a, a0) and np.array_equal(b, b0)
        used += n > 0
        want = g(a.astype(np.float64), b.astype(np.float64), mode, **kw)
        assert first.shape == want.shape
        tol = 8 * np.finfo(first.dtype).eps * math.sqrt(b.size) * (np.abs(a).max() * np.abs(b).sum()
                                                                    + 1.5 * np.abs(b).sum())
        assert np.abs(first - want).max() <= tol
    assert used > 50 and len(fastconv._fastpath.RECIPES) > 0


def test_a_recipe_skips_the_full_path(monkeypatch):
    """The repeat really is the recipe's kernel call (the full path would raise)."""
    fastconv.clear_caches()
    a, b = np.arange(12.0).reshape(3, 4), np.array([[1.0, -2.0], [0.5, 3.0]])
    want = [signal.convolve2d(a, b), signal.correlate2d(a, b, "valid"), signal.convolve(a, b),
            signal.correlate(a[0], b[0], "same")]

    def refuse(*args, **kwargs):
        raise AssertionError("the full path ran")

    monkeypatch.setattr(signal, "correlate_padded", refuse)
    got = [signal.convolve2d(a, b), signal.correlate2d(a, b, "valid"), signal.convolve(a, b),
           signal.correlate(a[0], b[0], "same")]
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    # other shapes, dtypes or parameters are new calls
    with pytest.raises(AssertionError, match="full path"):
        signal.convolve2d(a, b, "same")
    with pytest.raises(AssertionError, match="full path"):
        signal.convolve(a.astype(np.float32), b)


def test_no_recipe_where_the_values_chose(rng):
    """'auto' chose the direct sums for a NaN (a value, not the shapes): a repeat with
    finite values of the same shapes takes the FFT as a first call would."""
    fastconv.clear_caches()
    x = rng.standard_normal(200_000)
    w = rng.standard_normal(3000)
    bad = x.copy()
    bad[5] = np.nan
    assert signal.choose_conv_method(bad, w) == "direct"
    signal.convolve(bad, w)
    np.testing.assert_array_equal(signal.convolve(x, w), signal.convolve(x, w, method="fft"))
    # integers: their rule reads the values too
    xi, wi = np.arange(30), np.arange(4)
    signal.convolve(xi, wi)
    assert not [k for k in fastconv._fastpath.RECIPES if k[0] is signal._CONVOLVE]


def test_no_recipe_for_other_classes_and_fills(rng):
    """Lists, subclasses, NaN/inf fills and verbose calls take the full path each time."""
    fastconv.clear_caches()
    a, b = rng.standard_normal((5, 6)), rng.standard_normal((2, 3))
    for _ in range(2):
        signal.convolve2d(a.tolist(), b)
        signal.convolve2d(a, b, fillvalue=np.nan)
        signal.convolve2d(a, b, fillvalue=np.float64(2.0))
        signal.convolve(np.ma.masked_array(a), b)
    tags = (signal._CONVOLVE, signal._CONV2D, signal._CORR2D)
    assert not [k for k in fastconv._fastpath.RECIPES if k[0] in tags]
    r = signal.convolve2d(a, b, fillvalue=np.nan)
    assert np.isnan(r[0, 0]) and np.isfinite(r[2, 2])

"""fastconv.ndimage's rank filters (rank_filter, median_filter, percentile_filter)
and Python-function filters (generic_filter, generic_filter1d): a NumPy reference
(np.pad + sliding windows + np.sort), scipy.ndimage as oracle, properties."""

import itertools
import warnings

import numpy as np
import pytest

import fastconv
from fastconv import ndimage as fnd

snd = pytest.importorskip("scipy.ndimage")

MODES = ["reflect", "constant", "nearest", "mirror", "wrap", "grid-constant", "grid-mirror",
         "grid-wrap"]
NP_PAD = {"reflect": "symmetric", "grid-mirror": "symmetric", "mirror": "reflect",
          "nearest": "edge", "wrap": "wrap", "grid-wrap": "wrap", "constant": "constant",
          "grid-constant": "constant"}
DTYPES = [np.float64, np.float32, np.uint8, np.int16, np.int32, np.uint32, np.int64,
          np.uint64, np.bool_]


def _rand(rng, shape, dtype):
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.integers(0, 2, shape).astype(bool)
    lo = 0 if dtype.kind == "u" else -20
    return rng.integers(lo, 60, shape).astype(dtype)


def _same(got, want):
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
    if got.dtype.kind == "f":
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


# ---- the NumPy reference ------------------------------------------------------------

def _np_windows(x, fshape, origins, mode, cval):
    """(outputs..., taps) float64 window values of each output, np.pad's padding
    (within one reflection of each axis, where np.pad's rules and SciPy's agree)."""
    pads = []
    for k, o in zip(fshape, origins):
        lo = k // 2 + o
        pads.append((lo, k - 1 - lo))
    x = np.asarray(x, dtype=np.float64)
    kw = {"constant_values": cval} if NP_PAD[mode] == "constant" else {}
    xp = np.pad(x, pads, mode=NP_PAD[mode], **kw)
    return np.lib.stride_tricks.sliding_window_view(xp, tuple(fshape))


def _np_rank(x, rank, footprint, mode, cval=0.0, origins=None):
    footprint = np.asarray(footprint, dtype=bool)
    origins = origins or [0] * x.ndim
    w = _np_windows(x, footprint.shape, origins, mode, cval)[..., footprint]
    return np.sort(w, axis=-1)[..., rank]


@pytest.mark.parametrize("mode", MODES)
def test_rank_against_numpy_reference(mode):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((11, 13))
    fp = np.array([[1, 0, 1], [1, 1, 0], [0, 1, 1], [1, 1, 1]], dtype=bool)
    T = int(fp.sum())
    for rank, origin in itertools.product([1, T // 2, T - 2], [(0, 0), (1, -1), (-2, 1)]):
        want = _np_rank(x, rank, fp, mode, 0.75, list(origin))
        got = fnd.rank_filter(x, rank, footprint=fp, mode=mode, cval=0.75, origin=origin)
        np.testing.assert_array_equal(got, want)
    want = _np_rank(x, 12, np.ones((5, 5)), mode, -1.5)
    np.testing.assert_array_equal(fnd.median_filter(x, 5, mode=mode, cval=-1.5), want)


def test_median_1d_against_numpy_reference():
    rng = np.random.default_rng(2)
    x = rng.standard_normal(200)
    for size, mode in itertools.product([2, 3, 8, 31], MODES):
        np.testing.assert_array_equal(fnd.median_filter(x, size, mode=mode, cval=0.3),
                                      _np_rank(x, size // 2, np.ones(size), mode, 0.3))


# ---- SciPy as oracle ----------------------------------------------------------------

def _cases(rng, n):
    for _ in range(n):
        nd = int(rng.integers(1, 4))
        shape = tuple(int(s) for s in rng.integers(1, 9, nd))
        if rng.random() < 0.5:
            fp = rng.random(tuple(int(s) for s in rng.integers(1, 5, nd))) < 0.6
            kw = {"footprint": fp}
            fs = fp.shape
        else:
            fs = tuple(int(s) for s in rng.integers(1, 6, nd))
            kw = {"size": fs}
        kw["origin"] = [int(rng.integers(-(f // 2), (f - 1) // 2 + 1)) for f in fs]
        kw["mode"] = MODES[int(rng.integers(0, len(MODES)))]
        kw["cval"] = float(rng.choice([0.0, 2.5, -3.0, 300.0]))
        # SciPy's 1-D path reads outside its buffer for windows longer than a
        # reflected or wrapped line (its result is then undefined)
        if nd == 1 and fs[0] > shape[0] and kw["mode"] not in ("nearest", "constant",
                                                               "grid-constant"):
            continue
        yield shape, kw


def _oracle(name, x, *args, **kw):
    outs = []
    for mod in (snd, fnd):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            try:
                outs.append(getattr(mod, name)(x, *args, **kw))
            except Exception as exc:  # noqa: BLE001 - the types are compared
                outs.append(exc)
    want, got = outs
    if isinstance(want, Exception) or isinstance(got, Exception):
        assert type(got) is type(want), (want, got)
    else:
        _same(got, want)


@pytest.mark.parametrize("dtype", DTYPES)
def test_rank_filters_against_scipy(dtype):
    rng = np.random.default_rng(3 + DTYPES.index(dtype))
    for shape, kw in _cases(rng, 70):
        x = _rand(rng, shape, dtype)
        _oracle("median_filter", x, **kw)
        _oracle("rank_filter", x, int(rng.integers(-4, 4)), **kw)
        _oracle("percentile_filter", x, float(rng.uniform(-110, 110)), **kw)


def test_generic_filter_against_scipy():
    rng = np.random.default_rng(4)
    funcs = [np.sum, lambda v: v.max() - v.min() if v.size else -1.0,
             lambda v: v[0] * 2.5 - v[-1] if v.size else 7.0, len]
    for (shape, kw), dtype in zip(_cases(rng, 60), itertools.cycle(DTYPES)):
        x = _rand(rng, shape, dtype)
        _oracle("generic_filter", x, funcs[int(rng.integers(0, len(funcs)))], **kw)


def test_generic_filter1d_against_scipy():
    rng = np.random.default_rng(5)

    def fir(iline, oline, a, b=1.0):
        oline[...] = a * iline[:oline.size] + b * iline[-oline.size:]

    for mode, dtype in zip(MODES * 3, itertools.cycle(DTYPES)):
        x = _rand(rng, (4, 7, 5), dtype)
        size = int(rng.integers(1, 9))
        origin = int(rng.integers(-(size // 2), (size - 1) // 2 + 1))
        axis = int(rng.integers(-3, 3))
        for out in (None, np.float32, np.int16):
            _oracle("generic_filter1d", x, fir, size, axis, out, mode, 2.25, origin, (0.5,),
                    {"b": -1.5})


def test_nan_data_n_d_as_scipy():
    # the N-d filter partitions each window as SciPy does: NaN placement too
    rng = np.random.default_rng(6)
    for dtype in (np.float64, np.float32):
        x = rng.standard_normal((17, 19)).astype(dtype)
        x[rng.random(x.shape) < 0.2] = np.nan
        x[rng.random(x.shape) < 0.1] = -0.0
        x[rng.random(x.shape) < 0.1] = 0.0
        for size in (3, (4, 5)):
            _same(fnd.median_filter(x, size), snd.median_filter(x, size))
        fp = [[1, 0, 1], [0, 1, 1]]
        _same(fnd.rank_filter(x, 2, footprint=fp, mode="constant", cval=np.nan),
              snd.rank_filter(x, 2, footprint=fp, mode="constant", cval=np.nan))


def test_scipy_1d_rules():
    x = np.arange(10.0)
    # a 1-D footprint with holes: SciPy's 1-D path takes a window of footprint.size
    _same(fnd.rank_filter(x, 1, footprint=[1, 0, 1, 1]),
          snd.rank_filter(x, 1, footprint=[1, 0, 1, 1]))
    u = np.array([5, 0, 9, 3, 200, 7], dtype=np.uint8)
    # cval cast to int64 (1-D) vs to the input's type (N-d)
    for cval in (300, -2.7):
        _same(fnd.median_filter(u, 3, mode="constant", cval=cval),
              snd.median_filter(u, 3, mode="constant", cval=cval))
        _same(fnd.median_filter(u[None], (1, 3), mode="constant", cval=cval),
              snd.median_filter(u[None], (1, 3), mode="constant", cval=cval))
    h = np.array([3, 1, 2, 8, 5], dtype=np.float16)      # float16: 1-D path only
    _same(fnd.median_filter(h, 3), snd.median_filter(h, 3))
    with pytest.raises(RuntimeError):
        fnd.median_filter(h[None], 3)
    big = np.array([2**63 + 5, 1, 2**64 - 1, 7], dtype=np.uint64)  # wraps through int64
    _same(fnd.median_filter(big, 3), snd.median_filter(big, 3))
    with pytest.raises(ValueError):
        fnd.median_filter(np.arange(5), 3, mode="constant", cval=np.nan)


# ---- arguments and errors -------------------------------------------------------------

def test_errors():
    x = np.arange(20.0).reshape(4, 5)
    with pytest.raises(RuntimeError, match="rank"):
        fnd.rank_filter(x, 9, size=3)
    with pytest.raises(RuntimeError, match="rank"):
        fnd.rank_filter(x, -10, size=3)
    with pytest.raises(RuntimeError, match="percentile"):
        fnd.percentile_filter(x, 100.5, size=3)
    with pytest.raises(RuntimeError, match="percentile"):
        fnd.percentile_filter(x, -101, size=3)
    with pytest.raises(TypeError):
        fnd.rank_filter(x, 1.5, size=3)
    with pytest.raises(TypeError):
        fnd.median_filter(x + 1j, 3)
    with pytest.raises(RuntimeError):
        fnd.median_filter(x)
    with pytest.raises(ValueError, match="origin"):
        fnd.median_filter(x, 3, origin=2)
    with pytest.raises(RuntimeError, match="sequence of modes"):
        fnd.median_filter(x, 3, mode=["reflect", "wrap"])
    with pytest.raises(RuntimeError):
        fnd.median_filter(x, 3, mode="bogus")
    with pytest.raises(RuntimeError):
        fnd.median_filter(x.astype(np.float16), 3)
    with pytest.warns(UserWarning, match="footprint"):
        fnd.median_filter(x, 3, footprint=np.ones((3, 3)))
    with pytest.raises(RuntimeError, match="filter size"):
        fnd.generic_filter1d(x, lambda i, o: None, 0)
    with pytest.raises(TypeError, match="callable"):
        fnd.generic_filter(x, 3.0, size=3)
    with pytest.raises(TypeError, match="real number"):
        fnd.generic_filter(x, lambda v: "1.5", size=3)
    with pytest.raises(ZeroDivisionError):
        fnd.generic_filter(x, lambda v: 1 / 0, size=3)
    scipy = pytest.importorskip("scipy")
    from scipy.ndimage import _ctest
    with pytest.raises(TypeError, match="LowLevelCallable"):
        fnd.generic_filter(x, scipy.LowLevelCallable(_ctest.filter1d(3)), size=3)


def test_min_max_ranks_and_mode_sequences_as_scipy():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((9, 8, 3))
    for rank in (0, -1):
        for mode in (["wrap", "mirror"], ["constant", "nearest"]):
            _same(fnd.rank_filter(x, rank, size=(3, 4), mode=mode, axes=(0, 1)),
                  snd.rank_filter(x, rank, size=(3, 4), mode=mode, axes=(0, 1)))
    _same(fnd.median_filter(x, (2, 3), axes=(2, 0), origin=(0, -1)),
          snd.median_filter(x, (2, 3), axes=(2, 0), origin=(0, -1)))
    with pytest.raises(ValueError):   # SciPy's footprint keeps the axes' sorted order
        fnd.median_filter(x, (3, 2), axes=(2, 0), origin=(1, -1))


def test_output_argument_and_in_place():
    rng = np.random.default_rng(8)
    x = rng.integers(0, 100, (12, 10)).astype(np.int32)
    for out in (np.float32, np.uint8, "int64"):
        _same(fnd.median_filter(x, 3, output=out), snd.median_filter(x, 3, output=out))
    out = np.empty_like(x, dtype=np.float64)
    assert fnd.percentile_filter(x, 70, size=4, output=out) is out
    _same(out, snd.percentile_filter(x, 70, size=4).astype(np.float64))
    want = snd.median_filter(x, 3)
    y = x.copy()
    fnd.median_filter(y, 3, output=y)                # in place, as SciPy allows
    _same(y, want)
    z = x.astype(np.float64)
    fnd.generic_filter(z, np.median, size=3, output=z)
    _same(z, want.astype(np.float64))


def test_layouts_and_input_untouched():
    rng = np.random.default_rng(9)
    base = rng.standard_normal((20, 30))
    want = snd.median_filter(base[::2, 1::3], 3)
    for x in (base[::2, 1::3], np.asfortranarray(base[::2, 1::3]),
              base[::2, 1::3].astype(">f8")):
        x.flags.writeable = False
        _same(fnd.median_filter(x, 3), want)
    buf = np.zeros(base[::2, 1::3].size * 8 + 1, dtype=np.uint8)[1:].view(np.float64)
    buf[...] = base[::2, 1::3].ravel()
    _same(fnd.median_filter(buf.reshape(10, 10), 3), want)


def test_same_bits_any_thread_count(monkeypatch):
    from fastconv import _ndfilters
    # every call on the whole team, whatever its size
    monkeypatch.setattr(_ndfilters, "team", lambda work: fastconv.get_num_threads())
    rng = np.random.default_rng(10)
    x = rng.standard_normal((300, 257)).astype(np.float32)
    x[rng.random(x.shape) < 0.05] = np.nan
    u = rng.integers(0, 256, (300, 257)).astype(np.uint8)
    y = rng.standard_normal((300, 257))
    calls = [lambda: fnd.median_filter(x, 5),                 # partition (NaN)
             lambda: fnd.median_filter(np.nan_to_num(x), 3),  # 3x3 median
             lambda: fnd.rank_filter(y, 7, size=(4, 6)),     # sorted windows
             lambda: fnd.median_filter(u, 9),                 # histogram
             lambda: fnd.median_filter(y.ravel(), 5001)]      # tree
    wants = [f() for f in calls]
    for n in (1, 2):
        with _nthreads(n), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)   # more threads than cores
            for f, want in zip(calls, wants):
                _same(f(), want)


class _nthreads:
    def __init__(self, n):
        self.n = n

    def __enter__(self):
        self.old = fastconv.get_num_threads()
        fastconv.set_num_threads(self.n)

    def __exit__(self, *exc):
        fastconv.set_num_threads(self.old)


def test_properties_exact():
    rng = np.random.default_rng(11)
    x = rng.integers(-1000, 1000, (16, 16)).astype(np.float64)
    # order statistics commute with monotone maps and are values of the window
    np.testing.assert_array_equal(fnd.rank_filter(-x, 2, size=3), -fnd.rank_filter(x, 6, size=3))
    np.testing.assert_array_equal(fnd.median_filter(3 * x + 1, 5), 3 * fnd.median_filter(x, 5) + 1)
    m = fnd.median_filter(x, 3)
    assert np.all(fnd.minimum_filter(x, 3) <= m) and np.all(m <= fnd.maximum_filter(x, 3))
    assert np.isin(m, x).all()
    c = np.full((6, 7), 4.0)
    np.testing.assert_array_equal(fnd.median_filter(c, 3), c)


def test_generic_filter_calls_like_scipy():
    calls = []

    def f(v, scale, *, shift):
        calls.append((v.dtype.name, v.shape, v.flags.c_contiguous))
        return scale * v.sum() + shift

    x = np.arange(12, dtype=np.int16).reshape(3, 4)
    got = fnd.generic_filter(x, f, size=(2, 3), extra_arguments=(2,),
                             extra_keywords={"shift": 0.5}, mode="constant", cval=1.25)
    want = snd.generic_filter(x, f, size=(2, 3), extra_arguments=(2,),
                              extra_keywords={"shift": 0.5}, mode="constant", cval=1.25)
    _same(got, want)
    assert set(calls) == {("float64", (6,), True)}


def test_generic_filter_memory_bounded(monkeypatch):
    from fastconv import _ndfilters
    monkeypatch.setattr(_ndfilters, "GENERIC_BLOCK_BYTES", 256)
    rng = np.random.default_rng(12)
    x = rng.standard_normal((23, 9))
    _same(fnd.generic_filter(x, np.max, size=(3, 4)), snd.generic_filter(x, np.max, size=(3, 4)))

    def shift(i, o):
        o[...] = i[4:]

    _same(fnd.generic_filter1d(x, shift, 5, axis=0), snd.generic_filter1d(x, shift, 5, axis=0))


def test_dask_median_uneven_chunks():
    da = pytest.importorskip("dask.array")
    rng = np.random.default_rng(13)
    x = rng.standard_normal((37, 29)).astype(np.float32)
    d = da.from_array(x, chunks=((10, 20, 7), (13, 16)))
    for kw in ({"size": (5, 3), "mode": "wrap"}, {"footprint": np.eye(3), "origin": (1, 0)}):
        _same(fnd.median_filter(d, **kw).compute(), fnd.median_filter(x, **kw))
    _same(fnd.median_filter(x, 5), snd.median_filter(x, 5))


# ---- the fast selections (3x3 median, sorted windows along rows) ----------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.uint8, np.bool_, np.int16,
                                   np.int64])
def test_fast_selections_as_scipy(dtype):
    rng = np.random.default_rng(14)
    x = _rand(rng, (2, 19, 23), dtype)            # many ties
    for mode in MODES:
        for origin in ((0, 0), (1, -1), (-1, 1)):
            kw = {"mode": mode, "cval": 3.0, "origin": origin, "axes": (1, 2)}
            _oracle("median_filter", x, size=3, **kw)
            _oracle("median_filter", x[0], size=3, mode=mode, cval=-1.0, origin=origin)
            _oracle("rank_filter", x, 3, size=(1, 9), **kw)
            _oracle("median_filter", x, size=(4, 5), **kw)
            _oracle("rank_filter", x[1], -5, size=5, mode=mode, cval=3.0, origin=origin)
            _oracle("percentile_filter", x[1], 60.0, size=(1, 12), mode=mode, cval=2.0,
                    origin=origin)
    line = _rand(rng, 300, dtype)
    for mode, size in itertools.product(MODES, (8, 9, 31, 300)):
        _oracle("median_filter", line, size, mode=mode, cval=5.0)
        _oracle("rank_filter", line, -3, size=size, mode=mode, cval=5.0, origin=-(size // 2))


def test_fast_selections_against_numpy_reference():
    rng = np.random.default_rng(15)
    x = rng.standard_normal((64, 70))
    x[::3] = np.round(x[::3])                     # ties of floats
    for mode in ("reflect", "constant", "wrap"):
        np.testing.assert_array_equal(fnd.median_filter(x, 3, mode=mode, cval=0.5),
                                      _np_rank(x, 4, np.ones((3, 3)), mode, 0.5))
        np.testing.assert_array_equal(fnd.rank_filter(x, 7, size=(1, 20), mode=mode, cval=0.5),
                                      _np_rank(x, 7, np.ones((1, 20)), mode, 0.5))
    big = rng.integers(-2**62, 2**62, 500)         # int64 beyond 2**53: compared exactly
    np.testing.assert_array_equal(fnd.median_filter(big, 11),
                                  _np_rank_int(big, 5, 11))


def _np_rank_int(x, rank, size):
    xp = np.pad(x, (size // 2, size - 1 - size // 2), mode="symmetric")
    return np.sort(np.lib.stride_tricks.sliding_window_view(xp, size), axis=-1)[:, rank]


def test_zero_dim_input_as_scipy():
    x = np.array(3.5)
    for name, args, kw in [("median_filter", (), {"size": 1}), ("rank_filter", (0,), {"size": 3}),
                           ("percentile_filter", (50,), {"size": 2}),
                           ("generic_filter", (np.sum,), {"size": 1}),
                           ("generic_filter", (lambda v: v.size + 1,),
                            {"footprint": np.zeros((), bool)})]:
        _oracle(name, x, *args, **kw)


INTERRUPT = """
import os, signal, threading, time, json
import numpy as np
from fastconv import ndimage
rng = np.random.default_rng(0)
x = {setup}
fired = []
def fire():
    time.sleep(0.3)
    fired.append(time.perf_counter())
    os.kill(os.getpid(), signal.SIGINT)
threading.Thread(target=fire).start()
try:
    ndimage.median_filter(x, {size})
    raised = None
except KeyboardInterrupt:
    raised = "KeyboardInterrupt"
end = time.perf_counter()
a = rng.random((6, 7))
w = np.lib.stride_tricks.sliding_window_view(np.pad(a, 1, mode="symmetric"), (3, 3))
ok = np.array_equal(ndimage.median_filter(a, 3), np.median(w, axis=(-2, -1)))
print(json.dumps(dict(raised=raised, latency=end - fired[0], ok=ok)))
"""


@pytest.mark.skipif(__import__("sys").platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("setup, size", [
    # the partition (NaN in the data) and the sorted-window kernels, each seconds long
    ("rng.random((3000, 3000)); x[::7, ::5] = np.nan", 15),
    ("rng.random((3000, 3000))", 41)])
def test_ctrl_c_interrupts_promptly(setup, size):
    import json
    import subprocess
    import sys
    script = INTERRUPT.format(setup=setup, size=size)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["raised"] == "KeyboardInterrupt" and res["latency"] < 1.0 and res["ok"], res


def test_long_windows_tree_as_scipy(monkeypatch):
    from fastconv import _ndfilters
    monkeypatch.setattr(_ndfilters, "FENWICK_FROM", 8)   # the tree for short windows too
    monkeypatch.setattr(_ndfilters, "FENWICK_BLOCK_SAMPLES", 100)   # rows in blocks
    rng = np.random.default_rng(16)
    for dtype in (np.float64, np.float32, np.int64, np.int16):
        line = _rand(rng, 200, dtype)
        for mode, size in itertools.product(MODES, (8, 33, 200)):
            _oracle("median_filter", line, size, mode=mode, cval=5.0)
            _oracle("rank_filter", line, 2, size=size, mode=mode, cval=-5.0, origin=size // 2 - 1)
        x = _rand(rng, (3, 5, 40), dtype)
        _oracle("percentile_filter", x, 35.0, size=(1, 1, 17), mode="wrap")
        np.testing.assert_array_equal(fnd.median_filter(x, (1, 1, 9), mode="nearest"),
                                      _np_rank(x, 4, np.ones((1, 1, 9)), "nearest"))


def test_rank_and_percentile_given_as_arrays_stay_unchanged():
    """A negative rank or percentile given as a 0-d array is counted from the end without
    changing the caller's array (``+=`` on it did; argument fuzzer, seed 13)."""
    x = np.arange(25.0).reshape(5, 5)
    p, r = np.array(-30.0, np.float32), np.array(-2)
    got = (fnd.percentile_filter(x, p, size=3), fnd.rank_filter(x, r, size=3))
    assert p == -30.0 and r == -2
    np.testing.assert_array_equal(got[0], fnd.percentile_filter(x, 70.0, size=3))
    np.testing.assert_array_equal(got[1], fnd.rank_filter(x, 7, size=3))

"""The lane-parallel overlap-save FFT of fastconv.signal (_fft_kernels, fc_fft.h).

The transform against numpy.fft for every size and real type at every
instruction-set level, round trips, and the convolutions it runs against a
float64 reference with the norm-wise FFT bound of tests/test_signal.py, under
every instruction set, with the same bits for any thread count."""

import numpy as np
import pytest

import fastconv
from fastconv import _fft_kernels, _fftconv, signal

LEVELS = [lv for lv in (0, 1, 2) if lv <= _fft_kernels.simd_levels()]
EPS = {"f": 2.0 ** -24, "d": 2.0 ** -53}


def _aligned(shape, dt):
    n = int(np.prod(shape))
    it = np.dtype(dt).itemsize
    raw = np.empty(n + 64 // it, dt)
    off = (-raw.ctypes.data % 64) // it
    return raw[off:off + n].reshape(shape)


def _freq(N):
    """The frequency at each position of the forward transform's output
    (digit-reversed: radix 4, then one radix-2 stage last when log2 N is odd)."""
    lg = N.bit_length() - 1
    radices = [4] * (lg >> 1) + ([2] if lg & 1 else [])
    rem, size, mult, f = np.arange(N), N, 1, np.zeros(N, int)
    for r in radices:
        size //= r
        f += (rem // size) * mult
        rem, mult = rem % size, mult * r
    return f


def _load(z, dt, level):
    """(V, N) complex lanes -> the kernel's (N, 2, V) buffer."""
    buf = _aligned((z.shape[1], 2, z.shape[0]), dt)
    buf[:, 0, :] = z.real.T
    buf[:, 1, :] = z.imag.T
    return buf


SIZES = [4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384]


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("N", SIZES)
def test_transform_against_numpy(rng, level, dt, N):
    V = _fft_kernels.lanes(level, np.dtype(dt).itemsize)
    z = rng.standard_normal((V, N)) + 1j * rng.standard_normal((V, N))
    z = z.astype(np.complex64 if dt == np.float32 else np.complex128)
    buf = _load(z, dt, level)
    tw = _fftconv._twiddles(N, np.dtype(dt))
    _fft_kernels.transform(buf, tw, False, level)
    got = (buf[:, 0, :] + 1j * buf[:, 1, :]).T
    ref = np.fft.fft(z.astype(np.complex128), axis=1)[:, _freq(N)]
    eps = EPS[np.dtype(dt).char]
    for lane in range(V):
        err = np.linalg.norm(got[lane] - ref[lane])
        assert err <= 2 * eps * np.log2(N) * np.linalg.norm(ref[lane])
    # N times the inverse, digit-reversed in: back to N z
    _fft_kernels.transform(buf, tw, True, level)
    back = (buf[:, 0, :] + 1j * buf[:, 1, :]).T / N
    for lane in range(V):
        err = np.linalg.norm(back[lane] - z[lane])
        assert err <= 4 * eps * np.log2(N) * np.linalg.norm(z[lane])


@pytest.mark.parametrize("level", LEVELS)
def test_lanes_are_independent(rng, level):
    """A lane's result does not depend on what the other lanes hold."""
    N, dt = 256, np.float64
    V = _fft_kernels.lanes(level, 8)
    z = rng.standard_normal((V, N)) + 1j * rng.standard_normal((V, N))
    tw = _fftconv._twiddles(N, np.dtype(dt))
    a = _load(z, dt, level)
    z2 = z.copy()
    z2[1:] = np.nan
    b = _load(z2, dt, level)
    for buf in (a, b):
        _fft_kernels.transform(buf, tw, False, level)
    assert np.array_equal(a[:, :, 0], b[:, :, 0])


def test_transform_rejects_bad_buffers():
    V = _fft_kernels.lanes(0, 8)
    tw = _fftconv._twiddles(16, np.dtype(np.float64))
    with pytest.raises(ValueError, match="shape"):
        _fft_kernels.transform(_aligned((16, 2, V + 1), np.float64), tw, False, 0)
    raw = np.zeros(16 * 2 * V + 8)
    off = (-raw.ctypes.data % 64) // 8 + 1
    with pytest.raises(ValueError, match="aligned"):
        _fft_kernels.transform(raw[off:off + 16 * 2 * V].reshape(16, 2, V), tw, False, 0)


def test_twiddle_cache_is_bounded():
    for lg in range(4, 16):
        for dt in (np.float32, np.float64):
            _fftconv._twiddles(1 << lg, np.dtype(dt))
    assert len(_fftconv._TWIDDLES) <= _fftconv._TWIDDLES_MAX


# ------------------------------------------------------------ convolutions

def _ref(x, w, mode):
    """SciPy's convolve of two 1-D arrays, in complex128 with numpy.convolve."""
    full = np.convolve(x.astype(np.complex128), w.astype(np.complex128))
    n, k = len(x), len(w)
    if mode == "full":
        return full
    if mode == "same":
        s = (k - 1) // 2
        return full[s:s + n]
    return full[k - 1:n] if n >= k else full[n - 1:k]


def _bound(x, w, eps):
    """tests/test_signal.py's norm-wise FFT bound."""
    return 8 * eps * np.log2(x.size + w.size) * np.linalg.norm(x) * np.linalg.norm(w)


def _rand(rng, n, dt):
    a = rng.standard_normal(n)
    if np.dtype(dt).kind == "c":
        a = a + 1j * rng.standard_normal(n)
    return a.astype(dt)


@pytest.fixture
def lanes_calls(monkeypatch):
    """Counts the calls of the lane kernel (to check a case runs on it)."""
    calls = []
    real = _fft_kernels.convolve
    monkeypatch.setattr(_fft_kernels, "convolve", lambda *a: calls.append(a[-3:]) or real(*a))
    return calls


CASES = [  # n, k, mode
    (1000, 10, "full"), (1000, 10, "same"), (1000, 10, "valid"),
    (20000, 900, "same"), (5000, 255, "valid"), (300, 400, "full"), (300, 400, "valid"),
    (7, 3, "full"), (1, 1, "full"), (33, 33, "valid"), (100_003, 2048, "same"),
    (4099, 1, "same"),
]


@pytest.mark.parametrize("dt", ["f4", "f8", "c8", "c16"])
@pytest.mark.parametrize("case", CASES)
def test_convolution_within_normwise_bound(isa, rng, lanes_calls, dt, case):
    n, k, mode = case
    x, w = _rand(rng, n, dt), _rand(rng, k, dt)
    y = signal.fftconvolve(x, w, mode)
    assert y.dtype == np.dtype(dt)
    ref = _ref(x, w, mode)
    assert y.shape == ref.shape
    assert np.linalg.norm(y - ref) <= _bound(x, w, EPS[np.dtype(dt).char.lower()])
    # a length-1 axis is a product, not a transform
    assert bool(lanes_calls) == (n > 1 and k > 1)


@pytest.mark.parametrize("pair", [("f4", "c8"), ("c8", "f4"), ("f8", "c16"), ("c16", "f8"),
                                  ("f4", "f8"), ("i4", "f4")])
def test_mixed_dtypes(isa, rng, lanes_calls, pair):
    x, w = _rand(rng, 3000, pair[0]) * 3, _rand(rng, 70, pair[1])
    x = x.astype(pair[0]) if pair[0] == "i4" else x
    for mode in ("full", "same", "valid"):
        y = signal.fftconvolve(x, w, mode)
        assert y.dtype == np.result_type(x.dtype, w.dtype, np.float32)
        eps = EPS[y.dtype.char.lower()]
        assert np.linalg.norm(y - _ref(x, w, mode)) <= _bound(x, w, eps)
    assert lanes_calls


@pytest.mark.parametrize("dt", ["f4", "f8", "c8"])
def test_rows_and_columns(isa, rng, lanes_calls, dt):
    """Rows of a 2-D array (axis -1), columns (axis 0), a 3-D batch, and layouts:
    strided, reversed, Fortran-ordered, read-only, big-endian."""
    x = _rand(rng, 5 * 3001, dt).reshape(5, 3001)
    w = _rand(rng, 99, dt)
    eps = EPS[np.dtype(dt).char.lower()]
    ref = np.stack([_ref(r, w, "same") for r in x])
    bound = np.sqrt(5) * _bound(x[0], w, eps) * 2
    y = signal.fftconvolve(x, w[None], "same")
    assert np.linalg.norm(y - ref) <= bound
    y = signal.fftconvolve(x.T, w[:, None], "same")
    assert y.flags.c_contiguous and np.linalg.norm(y - ref.T) <= bound
    big = np.asfortranarray(x).astype(np.dtype(dt).newbyteorder(">"))
    big.flags.writeable = False
    y = signal.fftconvolve(big, w[None], "same")
    assert np.linalg.norm(y - ref) <= bound
    y = signal.fftconvolve(x[::-1, ::-1], w[None], "same")
    ref_rev = np.stack([_ref(r, w, "same") for r in x[::-1, ::-1]])
    assert np.linalg.norm(y - ref_rev) <= bound
    x3 = np.stack([x[:, ::2][:, :1500], x[:, 1::2]])
    y = signal.fftconvolve(x3, w[None, None], "valid", axes=2)
    ref3 = np.stack([[_ref(r, w, "valid") for r in p] for p in x3])
    assert y.shape == ref3.shape
    assert np.linalg.norm(y - ref3) <= np.sqrt(10) * _bound(x3[0, 0], w, eps) * 2
    assert len(lanes_calls) == 5


def test_inputs_are_not_modified(rng):
    x, w = rng.standard_normal(5000), rng.standard_normal(300)
    x0, w0 = x.copy(), w.copy()
    signal.fftconvolve(x, w, "same")
    assert np.array_equal(x, x0) and np.array_equal(w, w0)


@pytest.mark.parametrize("dt", ["f4", "f8", "c8"])
def test_same_bits_for_any_thread_count(rng, dt):
    x = _rand(rng, 200_000, dt)
    w = _rand(rng, 1000, dt)
    rows = _rand(rng, 30 * 4000, dt).reshape(30, 4000)
    old = fastconv.get_num_threads()
    try:
        res = []
        for n in (1, 2):
            fastconv.set_num_threads(n)
            res.append((signal.fftconvolve(x, w, "same"),
                        signal.fftconvolve(rows, w[None, :77], "full")))
    finally:
        fastconv.set_num_threads(old)
    for a, b in zip(*res):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("dt", ["f4", "f8", "c8"])
def test_nonfinite_stays_near_its_block(rng, lanes_calls, bad, dt):
    """As on the pocketfft path: a NaN/inf poisons the outputs that read it (and
    the rest of its blocks, and of the block sharing its lane), not the output."""
    x = _rand(rng, 1_000_000, dt)
    w = _rand(rng, 100, dt)
    x[500_000] = bad
    y = signal.fftconvolve(x, w)
    assert not np.isfinite(y[500_000:500_100]).any()
    assert np.isfinite(y[:400_000]).all() and np.isfinite(y[600_000:]).all()
    assert lanes_calls


def test_without_scipy(monkeypatch, rng, lanes_calls):
    """numpy-only installs run the lanes too (no scipy.fft needed)."""
    monkeypatch.setattr(_fftconv, "_sfft", None)
    x, w = rng.standard_normal(50_000).astype(np.float32), rng.standard_normal(500)
    y = signal.fftconvolve(x, w.astype(np.float32), "same")
    assert np.linalg.norm(y - _ref(x, w.astype(np.float32), "same")) <= \
        _bound(x, w, EPS["f"])
    assert lanes_calls


def test_block_size_model():
    """Powers of two with at least k + 1 elements; None past the largest block."""
    for k in (1, 15, 100, 2048, 9000):
        N = _fftconv._lanes_size(k, 10**6, 1, 16, 8, 8)
        assert N & (N - 1) == 0 and N >= max(16, k + 1)
    assert _fftconv._lanes_size(_fftconv._LANES_NMAX, 10**6, 1, 16, 8, 8) is None


def test_three_axes_and_varying_kernels_stay_on_pocketfft(rng, lanes_calls, lanes2_calls):
    """Three transformed axes, or a kernel that differs along a broadcast axis."""
    x, w = rng.standard_normal((20, 30, 40)), rng.standard_normal((3, 5, 6))
    y = signal.fftconvolve(x, w, "same")
    assert np.allclose(y, signal.convolve(x, w, "same", method="direct"), atol=1e-10)
    x, w = rng.standard_normal((3, 40, 50)), rng.standard_normal((3, 5, 6))
    y = signal.fftconvolve(x, w, "same", axes=(1, 2))
    ref = np.stack([signal.convolve(a, b, "same", method="direct") for a, b in zip(x, w)])
    assert np.allclose(y, ref, atol=1e-10)
    assert not lanes_calls and not lanes2_calls


# ------------------------------------------------------------ 2-D tiles

@pytest.fixture
def lanes2_calls(monkeypatch):
    calls = []
    real = _fft_kernels.convolve2
    monkeypatch.setattr(_fft_kernels, "convolve2", lambda *a: calls.append(a[-4:]) or real(*a))
    return calls


def _ref2(x, w, mode):
    """SciPy's 2-D convolve, in complex128 by sums of shifted planes."""
    n, k = x.shape, w.shape
    full = np.zeros((n[0] + k[0] - 1, n[1] + k[1] - 1), complex)
    for a in range(k[0]):
        for b in range(k[1]):
            full[a:a + n[0], b:b + n[1]] += w[a, b] * x.astype(complex)
    if mode == "full":
        return full
    if mode == "same":
        s = [(kk - 1) // 2 for kk in k]
        return full[s[0]:s[0] + n[0], s[1]:s[1] + n[1]]
    return full[k[0] - 1:n[0], k[1] - 1:n[1]]


CASES2 = [  # x shape, w shape, mode
    ((300, 200), (31, 31), "same"), ((100, 77), (5, 9), "full"), ((64, 300), (20, 3), "valid"),
    ((10, 12), (3, 40), "full"), ((40, 500), (2, 2), "same"), ((7, 200), (7, 17), "valid"),
]


@pytest.mark.parametrize("dt", ["f4", "f8", "c8", "c16"])
@pytest.mark.parametrize("case", CASES2)
def test_2d_within_normwise_bound(isa, rng, lanes2_calls, dt, case):
    xs, ks, mode = case
    x = _rand(rng, int(np.prod(xs)), dt).reshape(xs)
    w = _rand(rng, int(np.prod(ks)), dt).reshape(ks)
    y = signal.fftconvolve(x, w, mode)
    ref = _ref2(x, w, mode)
    assert y.dtype == np.dtype(dt) and y.shape == ref.shape
    assert np.linalg.norm(y - ref) <= _bound(x, w, EPS[np.dtype(dt).char.lower()])
    assert lanes2_calls


def test_2d_tile_sizes(rng, monkeypatch):
    """Every tile shape gives the convolution (not only the model's choice)."""
    x = rng.standard_normal((90, 70)).astype(np.float32)
    w = rng.standard_normal((9, 13)).astype(np.float32)
    ref = _ref2(x, w, "same")
    for size in [(16, 16), (16, 64), (64, 16), (32, 32), (128, 128), (256, 16)]:
        monkeypatch.setattr(_fftconv, "_lanes2_size", lambda *a, size=size: size)
        y = signal.fftconvolve(x, w, "same")
        assert np.linalg.norm(y - ref) <= _bound(x, w, EPS["f"]), size


def test_1d_block_sizes(rng, monkeypatch):
    x = rng.standard_normal(5000)
    w = rng.standard_normal(200)
    ref = _ref(x, w, "same")
    for N in [256, 512, 1024, 2048, 8192, 16384]:
        monkeypatch.setattr(_fftconv, "_lanes_size", lambda *a, N=N: N)
        y = signal.fftconvolve(x, w, "same")
        assert np.linalg.norm(y - ref) <= _bound(x, w, EPS["d"]), N


def test_2d_batches_axes_and_layouts(isa, rng, lanes2_calls):
    x = rng.standard_normal((3, 50, 60)).astype(np.float32)
    w = rng.standard_normal((1, 7, 5)).astype(np.float32)
    ref = np.stack([_ref2(p, w[0], "same") for p in x])
    bound = np.sqrt(3) * _bound(x[0], w, EPS["f"])
    y = signal.fftconvolve(x, w, "same", axes=(1, 2))
    assert np.linalg.norm(y - ref) <= bound
    y = signal.fftconvolve(x.transpose(1, 0, 2), w.transpose(1, 0, 2), "same", axes=(0, 2))
    assert y.flags.c_contiguous and np.linalg.norm(y - ref.transpose(1, 0, 2)) <= bound
    y = signal.fftconvolve(x.transpose(0, 2, 1), w.transpose(0, 2, 1), "same", axes=(2, 1))
    assert np.linalg.norm(y - ref.transpose(0, 2, 1)) <= bound
    xs = x[:, ::-1, ::2]
    refs = np.stack([_ref2(p, w[0], "valid") for p in xs])
    y = signal.fftconvolve(xs, w, "valid", axes=(1, 2))
    assert np.linalg.norm(y - refs) <= bound
    assert len(lanes2_calls) == 4


def test_2d_same_bits_for_any_thread_count(rng):
    x = rng.standard_normal((700, 300)).astype(np.float32)
    w = rng.standard_normal((31, 31)).astype(np.float32)
    old = fastconv.get_num_threads()
    try:
        res = []
        for n in (1, 2):
            fastconv.set_num_threads(n)
            res.append(signal.fftconvolve(x, w, "same"))
    finally:
        fastconv.set_num_threads(old)
    assert np.array_equal(res[0], res[1])


def test_2d_nonfinite_stays_near_its_tile(rng, lanes2_calls):
    x = rng.standard_normal((1000, 1000)).astype(np.float32)
    w = rng.standard_normal((9, 9)).astype(np.float32)
    x[500, 500] = np.nan
    y = signal.fftconvolve(x, w)
    assert np.isnan(y[500:509, 500:509]).all()
    assert np.isfinite(y[:300]).all() and np.isfinite(y[700:]).all()
    assert lanes2_calls

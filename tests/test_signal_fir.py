"""fastconv.signal's direct FIR kernel (fc_sigfir.h via _sig_kernels.pyx), rows and
planes: a NumPy reference, SciPy as the oracle, the float32 per-element bound, the
plain, banded and blocked forms agreeing bit for bit, chunk and thread
independence, NaN/inf locality, padding with a fill value, every instruction-set
level."""

import numpy as np
import pytest

import fastconv
from fastconv import _sigdirect, signal

_sig_kernels = pytest.importorskip("fastconv._sig_kernels")

LEVELS = [lv for lv in (0, 1, 2) if lv <= _sig_kernels.simd_levels()]


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def _fir(x, v, lo_h, lo_w, ho, wo, fill=0.0, chunk=2048, level=2, band=False, blocked=1):
    """Direct call of the kernel: x (B, H, W), v (kh, kw)."""
    out = np.full((x.shape[0], ho, wo), np.nan, dtype=x.dtype)
    tab = _sigdirect._band_table(v, _sig_kernels.lanes(level, x.itemsize)) if band else None
    _sig_kernels.fir(x, v, tab, out, lo_h, lo_w, fill, chunk, level, blocked)
    return out


def _ref(x, v, lo_h, lo_w, ho, wo, fill):
    """The same correlation in float64 with numpy.pad, and S = the sum of |terms|."""
    kh, kw = v.shape
    xp = np.pad(x.astype(np.float64), [(0, 0), (lo_h, ho + kh), (lo_w, wo + kw)],
                constant_values=fill)
    y = np.zeros((x.shape[0], ho, wo))
    s = np.zeros_like(y)
    for a in range(kh):
        for b in range(kw):
            part = xp[:, a:a + ho, b:b + wo] * float(v[a, b])
            y += part
            s += np.abs(part)
    return y, s


CASES = [  # B, H, W, kh, kw, lo_h, lo_w, ho, wo
    (2, 1, 100, 1, 7, 0, 3, 1, 100),
    (1, 5, 37, 3, 4, 1, 2, 7, 40),
    (3, 1, 1000, 1, 130, 0, 70, 1, 1000),
    (1, 9, 9, 4, 12, 0, 20, 3, 30),
    (1, 1, 5, 1, 40, 0, 39, 1, 44),       # kernel longer than the input
    (2, 1, 3000, 1, 29, 0, 0, 1, 2972),   # 'valid'
    (1, 6, 80, 3, 30, 1, 10, 6, 70),       # a plane, banded rows
]


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES)
def test_kernel_against_numpy_reference(rng, level, dt, case):
    b, h, w, kh, kw, lo_h, lo_w, ho, wo = case
    x = rng.standard_normal((b, h, w)).astype(dt)
    v = rng.standard_normal((kh, kw)).astype(dt)
    ref, s = _ref(x, v, lo_h, lo_w, ho, wo, 0.5)
    eps = np.finfo(dt).eps / 2
    bound = 2 * np.sqrt(kh * kw) * eps * s + np.finfo(dt).tiny
    plain = _fir(x, v, lo_h, lo_w, ho, wo, 0.5, chunk=64, level=level)
    assert plain.dtype == dt
    assert (np.abs(plain - ref) <= bound).all()
    for chunk in (1, 7, 64, 2048):
        for band in (False, True):
            for blocked in (0, 1):
                y = _fir(x, v, lo_h, lo_w, ho, wo, 0.5, chunk=chunk, level=level, band=band,
                         blocked=blocked)
                # the same bits for any chunking, plain, banded or blocked form
                np.testing.assert_array_equal(y, plain)


# planes around the blocked form's sizes: 4 output rows a block, blocks of 4 (AVX-512)
# or 2 vectors of 2-16 lanes a row, then single vectors, then single outputs
BLOCK_CASES = [  # B, H, W, kh, kw, lo_h, lo_w, ho, wo
    (1, 4, 64, 3, 3, 1, 1, 4, 64),
    (2, 8, 65, 5, 5, 2, 2, 8, 65),
    (1, 7, 63, 5, 5, 2, 2, 7, 63),
    (1, 5, 129, 7, 7, 3, 3, 5, 129),
    (1, 13, 31, 9, 9, 4, 4, 13, 31),
    (1, 9, 40, 1, 5, 0, 2, 9, 40),         # 1 x k: each input row feeds one output row
    (1, 11, 33, 6, 1, 2, 0, 11, 33),       # k x 1
    (1, 6, 17, 2, 9, 1, 4, 7, 17),         # even sizes
    (1, 3, 100, 3, 3, 1, 1, 3, 100),       # fewer rows than a block
    (2, 17, 200, 4, 30, 1, 15, 18, 200),   # wide: the last rows in the banded form
    (1, 20, 50, 15, 15, 7, 7, 20, 50),
    (1, 6, 6, 5, 5, 4, 4, 10, 10),         # 'full': rows of fill at both ends
    (1, 12, 70, 5, 5, 0, 0, 8, 66),        # 'valid': every chunk inside the input
    (1, 9, 300, 5, 5, 2, 2, 9, 300),       # chunks at both ends: a padded vector, the rest in place
    (1, 6, 40, 3, 33, 1, 16, 6, 40),       # a kernel nearly as wide as the input
    (1, 5, 20, 3, 3, 1, 1, 5, 20),         # a chunk of fewer outputs than two vectors
]


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("case", BLOCK_CASES)
def test_blocked_form_vs_reference_and_plain_form(rng, level, dt, case):
    b, h, w, kh, kw, lo_h, lo_w, ho, wo = case
    x = rng.standard_normal((b, h, w)).astype(dt)
    v = rng.standard_normal((kh, kw)).astype(dt)
    ref, s = _ref(x, v, lo_h, lo_w, ho, wo, -1.5)
    eps = np.finfo(dt).eps / 2
    bound = 2 * np.sqrt(kh * kw) * eps * s + np.finfo(dt).tiny
    blocked = _fir(x, v, lo_h, lo_w, ho, wo, -1.5, chunk=256, level=level, band=kw >= 28)
    assert (np.abs(blocked - ref) <= bound).all()
    # each output sums its products in the plain form's order: the same bits, for
    # any chunking (chunks of 1 and 7 outputs end mid-vector)
    plain = _fir(x, v, lo_h, lo_w, ho, wo, -1.5, chunk=256, level=level, blocked=0)
    np.testing.assert_array_equal(blocked, plain)
    for chunk in (1, 7, 64):
        y = _fir(x, v, lo_h, lo_w, ho, wo, -1.5, chunk=chunk, level=level)
        np.testing.assert_array_equal(y, plain)


def test_blocked_form_small_integers_exact(rng):
    # small integers: every partial sum exact, so any order gives the exact result
    x = rng.integers(-20, 20, (2, 37, 101)).astype(np.float32)
    v = rng.integers(-5, 5, (5, 7)).astype(np.float32)
    for level in LEVELS:
        y = _fir(x, v, 2, 3, 37, 101, 3.0, chunk=256, level=level)
        ref, _ = _ref(x, v, 2, 3, 37, 101, 3.0)
        np.testing.assert_array_equal(y, ref.astype(np.float32))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("k", [(3, 3), (5, 5), (4, 7), (9, 2)])
def test_blocked_form_nonfinite_stays_local(rng, bad, k):
    x = rng.standard_normal((41, 150)).astype(np.float32)
    at = (18, 77)
    x[at] = bad
    w = rng.standard_normal(k).astype(np.float32)
    for level in LEVELS:
        # 'full' over a padded copy: every output near the bad sample
        y = _fir(np.pad(x, [(k[0] - 1,) * 2, (k[1] - 1,) * 2])[None], w, 0, 0,
                 41 + k[0] - 1, 150 + k[1] - 1, level=level, chunk=64)[0]
        hit = np.zeros(y.shape, bool)
        hit[at[0]:at[0] + k[0], at[1]:at[1] + k[1]] = True
        assert np.isfinite(y[~hit]).all()
        x2 = x.copy()
        x2[at] = 0
        y2 = _fir(np.pad(x2, [(k[0] - 1,) * 2, (k[1] - 1,) * 2])[None], w, 0, 0,
                  41 + k[0] - 1, 150 + k[1] - 1, level=level, chunk=64)[0]
        np.testing.assert_array_equal(y[~hit], y2[~hit])
        # an inf times weights of both signs: inf, -inf, or NaN where they meet
        assert not np.isfinite(y[hit]).any()


def test_blocked_planes_same_bits_for_any_thread_count(rng, isa):
    x = rng.standard_normal((3, 301, 517)).astype(np.float32)
    w = rng.standard_normal((1, 5, 5)).astype(np.float32)
    before = fastconv.get_num_threads()
    try:
        res = []
        for n in (1, 2):
            fastconv.set_num_threads(n)
            res.append(signal.convolve(x, w, "same", method="direct"))
    finally:
        fastconv.set_num_threads(before)
    np.testing.assert_array_equal(res[0], res[1])


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("k", [(3, 3), (5, 5), (7, 7), (9, 9), (15, 15), (1, 5), (5, 1)])
def test_planes_vs_scipy(rng, isa, dt, k):
    ss = pytest.importorskip("scipy.signal")
    x = rng.standard_normal((67, 93)).astype(dt)
    w = rng.standard_normal(k).astype(dt)
    eps = np.finfo(dt).eps / 2
    xa, wa = np.abs(x).astype(np.float64), np.abs(w).astype(np.float64)
    for fn in ("convolve2d", "correlate2d"):
        for fill in (0, 0.75):
            y = getattr(signal, fn)(x, w, "same", fillvalue=fill)
            ref = getattr(ss, fn)(x.astype(np.float64), w.astype(np.float64), "same",
                                  fillvalue=fill)
            sf = getattr(ss, fn)(xa, wa, "same", fillvalue=fill)
            assert y.dtype == dt
            # fastconv and SciPy's float64 sums: within the bound of each other
            assert (np.abs(y - ref) <= 2 * np.sqrt(w.size) * eps * sf
                    + 2 * np.sqrt(w.size) * 2 ** -53 * sf).all()


def test_blocked_and_row_by_row_same_bits_through_signal(rng, isa, monkeypatch):
    x = rng.standard_normal((130, 257))
    w = rng.standard_normal((5, 5))
    blocked = signal.convolve(x, w, "same", method="direct")
    monkeypatch.setattr(_sigdirect, "_BLOCKED", False)
    rows = signal.convolve(x, w, "same", method="direct")
    np.testing.assert_array_equal(blocked, rows)


def _corr_ld(x, w, mode):
    """SciPy's correlate(x, w, mode) in long double (an exact enough reference for
    float64 sums of a few hundred terms), and the sums of |terms|."""
    n, k = x.size, w.size
    xl, wl = x.astype(np.longdouble), w.astype(np.longdouble)
    xp = np.concatenate([np.zeros(k - 1, np.longdouble), xl, np.zeros(k - 1, np.longdouble)])
    full = n + k - 1
    y = np.zeros(full, np.longdouble)
    s = np.zeros(full, np.longdouble)
    for t in range(k):
        y += xp[t:t + full] * wl[t]
        s += np.abs(xp[t:t + full] * wl[t])
    if mode == "same":
        # SciPy's centring (correlate's full output is convolve's with w reversed)
        c = (k - 1) // 2
        y, s = y[c:c + n], s[c:c + n]
    elif mode == "valid":
        y, s = y[k - 1:n], s[k - 1:n]
    return y.astype(np.float64), s.astype(np.float64), y


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("k", [1, 2, 27, 28, 29, 255])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_convolve_1d_vs_reference_and_scipy(rng, dt, k, mode):
    x = rng.standard_normal(5003).astype(dt)
    w = rng.standard_normal(k).astype(dt)
    eps = np.finfo(dt).eps / 2
    for fn, ww in (("correlate", w), ("convolve", w[::-1])):
        y = getattr(signal, fn)(x, w, mode, method="direct")
        ref, s, ref_ld = _corr_ld(x, ww, mode)
        assert y.dtype == dt and y.shape == ref.shape
        err = np.abs(y.astype(np.longdouble) - ref_ld).astype(np.float64)
        assert (err <= 2 * np.sqrt(k) * eps * s + np.finfo(dt).tiny).all()
        ss = pytest.importorskip("scipy.signal")
        sp = getattr(ss, fn)(x, w, mode, method="direct")
        assert sp.shape == y.shape and sp.dtype == y.dtype
        # both within the bound of the exact sum
        assert (np.abs(y.astype(np.float64) - sp) <= 4 * np.sqrt(k) * eps * s
                + np.finfo(dt).tiny).all()


def test_banded_and_plain_forms_same_bits(rng, monkeypatch):
    x = rng.standard_normal(20_000)
    w = rng.standard_normal(100)
    banded = signal.convolve(x, w, "same", method="direct")
    monkeypatch.setattr(_sigdirect, "_BAND_MIN_TAPS", 10 ** 9)
    plain = signal.convolve(x, w, "same", method="direct")
    np.testing.assert_array_equal(banded, plain)


def test_small_integers_exact_through_the_kernel(rng):
    x = rng.integers(-50, 50, 10_000).astype(np.float64)
    w = rng.integers(-50, 50, 300).astype(np.float64)
    np.testing.assert_array_equal(signal.convolve(x, w, method="direct"), np.convolve(x, w))
    xi = x.astype(np.int32)
    wi = w.astype(np.int32)
    np.testing.assert_array_equal(signal.convolve(xi, wi, method="direct"), np.convolve(xi, wi))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("k", [9, 100])
def test_nonfinite_stays_local(rng, bad, k):
    x = rng.standard_normal(10_000)
    x[4321] = bad
    w = rng.standard_normal(k)
    y = signal.convolve(x, w, method="direct")
    hit = np.zeros(y.size, bool)
    hit[4321:4321 + k] = True
    assert np.isfinite(y[~hit]).all()
    assert not np.isfinite(y[hit]).any()
    # the finite outputs are those of the same signal without the bad sample
    x2 = x.copy()
    x2[4321] = 0
    y2 = signal.convolve(x2, w, method="direct")
    np.testing.assert_array_equal(y[~hit], y2[~hit])


def test_same_bits_for_any_thread_count(rng):
    x = rng.standard_normal((3, 70_000)).astype(np.float32)
    w = rng.standard_normal((1, 200)).astype(np.float32)
    before = fastconv.get_num_threads()
    try:
        res = []
        for n in (1, 2):
            fastconv.set_num_threads(n)
            res.append(signal.convolve(x, w, "same", method="direct"))
    finally:
        fastconv.set_num_threads(before)
    np.testing.assert_array_equal(res[0], res[1])


def test_batched_rows_and_fill_value_vs_scipy(rng):
    ss = pytest.importorskip("scipy.signal")
    x = rng.standard_normal((6, 500))
    w = rng.standard_normal((1, 40))
    for mode in ("full", "same", "valid"):
        for fill in (0, 2.5):
            for fn in ("convolve2d", "correlate2d"):
                y = getattr(signal, fn)(x, w, mode, fillvalue=fill)
                ref = getattr(ss, fn)(x, w, mode, fillvalue=fill)
                np.testing.assert_allclose(y, ref, rtol=0, atol=1e-12)
    # rows of a 2-D array along the last axis, any layout
    xt = np.asfortranarray(x)
    np.testing.assert_allclose(signal.convolve(xt, w, "same"), ss.convolve(x, w, "same"),
                               rtol=0, atol=1e-12)


def test_complex_through_the_kernel_vs_scipy(rng):
    ss = pytest.importorskip("scipy.signal")
    x = (rng.standard_normal(3000) + 1j * rng.standard_normal(3000)).astype(np.complex64)
    w = (rng.standard_normal(40) + 1j * rng.standard_normal(40)).astype(np.complex64)
    y = signal.correlate(x, w, "valid", method="direct")
    ref = ss.correlate(x.astype(np.complex128), w.astype(np.complex128), "valid")
    s = ss.correlate(np.abs(x.real) + np.abs(x.imag), np.abs(w.real) + np.abs(w.imag), "valid")
    assert y.dtype == np.complex64
    # each part: two float32 sums of 40 terms (the per-element bound each), then one
    # rounded subtraction/addition; the complex modulus at most sqrt(2) times that
    assert (np.abs(y - ref) <= np.sqrt(2) * (2 * np.sqrt(40) + 1) * 2 ** -24 * s).all()


def test_input_not_modified(rng):
    x = rng.standard_normal(5000)
    w = rng.standard_normal(50)
    xc, wc = x.copy(), w.copy()
    signal.convolve(x, w, "same", method="direct")
    np.testing.assert_array_equal(x, xc)
    np.testing.assert_array_equal(w, wc)


_HARNESS = r"""
#include "fc_sigfir.h"
#include <stdio.h>
int main(void) {
    double x[2][300], v[2 * 40], out[250], tab[2 * (40 + 7) * 8];
    const double *rows[2] = {x[0], x[1]};
    int i, q, r, t;
    for (i = 0; i < 300; i++) { x[0][i] = (i * 37 % 101) - 50; x[1][i] = (i * 11 % 53) - 26; }
    for (i = 0; i < 80; i++) v[i] = (i * 7 % 13) - 6;
    /* the band table for 8 lanes (double, AVX-512), unused where there is none */
    for (i = 0; i < 2 * 47 * 8; i++) tab[i] = 0;
    for (r = 0; r < 2; r++)
        for (q = 0; q < 8; q++)
            for (t = 0; t < 40; t++) tab[(r * 47 + q + t) * 8 + q] = v[r * 40 + t];
    fcsf_rowb_d(fcsf_lanes(2, 8) == 8 ? 2 : 0, rows, 2, v, tab, 40, out, 250);
    for (i = 0; i < 250; i++) printf("%.17g\n", out[i]);
    printf("%d\n", fcsf_finite_d(0, x[0], 300));
    {   /* the blocked form: 4 output rows of a 3 x 5 kernel over 6 input rows */
        static double y[6][300], o4[4][250];
        const double *r6[6];
        for (r = 0; r < 6; r++) {
            for (i = 0; i < 300; i++) y[r][i] = ((i + 5 * r) * 29 % 61) - 30;
            r6[r] = y[r];
        }
        fcsf_rows_d(fcsf_lanes(2, 8) == 8 ? 2 : 0, r6, 3, v, 5, o4[0], 250, 250);
        for (r = 0; r < 4; r++)
            for (i = 0; i < 250; i++) printf("%.17g\n", o4[r][i]);
    }
    return 0;
}
"""


@pytest.mark.parametrize("vec", ["", "-DFCSF_VEC=0"])
def test_header_builds_with_and_without_vector_extensions(tmp_path, vec):
    """fc_sigfir.h compiled on its own: GCC/Clang vectors, and the plain loops that
    compilers without them (MSVC) get (the banded and blocked forms then hand every
    output to the plain loops); small integers, so the sums are exact."""
    import os
    import shutil
    import subprocess

    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler")
    src = tmp_path / "h.c"
    src.write_text(_HARNESS)
    # the sources' headers (wheels ship none; the source tree or an sdist has them)
    inc = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "fastconv",
                       "_src")
    if not os.path.exists(os.path.join(inc, "fc_sigfir.h")):
        inc = os.path.join(os.path.dirname(fastconv.__file__), "_src")
    if not os.path.exists(os.path.join(inc, "fc_sigfir.h")):
        pytest.skip("the C headers are not installed")
    exe = tmp_path / "h"
    subprocess.run([cc, "-std=c99", "-O2", "-I", inc] + ([vec] if vec else [])
                   + [str(src), "-o", str(exe)], check=True)
    lines = subprocess.run([str(exe)], check=True, capture_output=True,
                           text=True).stdout.split()
    i = np.arange(300)
    x = np.stack([(i * 37 % 101) - 50, (i * 11 % 53) - 26]).astype(np.float64)
    v = ((np.arange(80) * 7 % 13) - 6).astype(np.float64).reshape(2, 40)
    ref = sum(np.correlate(x[r], v[r], "valid")[:250] for r in range(2))
    np.testing.assert_array_equal(np.array(lines[:250], dtype=np.float64), ref)
    assert lines[250] == "1"
    y = np.array([[((j + 5 * r) * 29 % 61) - 30 for j in range(300)] for r in range(6)],
                 dtype=np.float64)
    v3 = v.reshape(-1)[:15].reshape(3, 5)
    ref4 = [sum(np.correlate(y[i + a], v3[a], "valid")[:250] for a in range(3))
            for i in range(4)]
    np.testing.assert_array_equal(np.array(lines[251:], dtype=np.float64), np.concatenate(ref4))

"""Unit tests of the shape arithmetic (fastconv._shapes) and the padding index maps
(fastconv._padmaps), each against a brute-force definition."""

import itertools
import math

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from fastconv import _padmaps, _shapes

# --------------------------------------------------------------------------- output sizes

def brute_conv_output_size(n, k, s, d, lo, hi):
    """Number of window positions i*s whose last tap lies inside the padded input."""
    count = 0
    i = 0
    while i * s + d * (k - 1) <= n + lo + hi - 1:
        count += 1
        i += 1
    return count


@pytest.mark.parametrize("n, k, s, d", list(itertools.product(range(1, 8), range(1, 5),
                                                              range(1, 4), range(1, 3))))
def test_conv_output_size_brute_force(n, k, s, d):
    for lo, hi in itertools.product(range(0, 4), repeat=2):
        got = _shapes.conv_output_size(n, k, s, d, lo, hi)
        want = brute_conv_output_size(n, k, s, d, lo, hi)
        if want == 0:
            assert got is None, (n, k, s, d, lo, hi)
        else:
            assert got == want, (n, k, s, d, lo, hi)
            assert got == (n + lo + hi - d * (k - 1) - 1) // s + 1


def test_conv_output_shape_and_error():
    assert _shapes.conv_output_shape((8, 8), (3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1)) == (4, 4)
    assert _shapes.conv_output_shape((224,), (7,), (2,), ((3, 3),), (1,)) == (112,)
    with pytest.raises(ValueError, match="axis 1"):
        _shapes.conv_output_shape((8, 2), (3, 3), (1, 1), ((0, 0), (0, 0)), (1, 1))
    with pytest.raises(ValueError, match="too large"):
        _shapes.conv_output_shape((8,), (3,), (1,), ((2**40, 2**40),), (1,))


@pytest.mark.parametrize("n, k, s, d, lo, hi, op", [
    (4, 3, 2, 1, 1, 1, 1), (5, 3, 1, 1, 0, 0, 0), (3, 4, 3, 2, 2, 1, 2), (1, 1, 1, 1, 0, 0, 0)])
def test_conv_transpose_output_size_inverts_forward(n, k, s, d, lo, hi, op):
    m = _shapes.conv_transpose_output_size(n, k, s, d, lo, hi, op)
    assert m == (n - 1) * s - lo - hi + d * (k - 1) + op + 1
    # the forward conv maps the transposed output size back to n (output_padding < stride)
    assert _shapes.conv_output_size(m, k, s, d, lo, hi) == n


def brute_pool_output_size(n, k, s, lo, d, ceil_mode, hi):
    """Windows start at i*s (padded coordinates).  Floor mode: the window lies in the
    padded input.  Ceil mode: it may overhang the end by less than a stride, but it
    must start inside the input or the left padding."""
    count = 0
    for i in range(n + lo + hi + 1):
        start, end = i * s, i * s + d * (k - 1)
        if ceil_mode:
            ok = end <= n + lo + hi - 1 + (s - 1) and start < n + lo
        else:
            ok = end <= n + lo + hi - 1
        count += ok
    return count


@pytest.mark.parametrize("ceil_mode", [False, True])
def test_pool_output_size_brute_force(ceil_mode):
    checked = 0
    for n, k, s, d in itertools.product(range(1, 10), range(1, 5), range(1, 5), range(1, 3)):
        for p in range(0, k // 2 + 1):   # PyTorch allows padding <= kernel // 2
            got = _shapes.pool_output_size(n, k, s, p, d, ceil_mode)
            assert got == brute_pool_output_size(n, k, s, p, d, ceil_mode, p), (n, k, s, p, d)
            checked += 1
    assert checked > 500


def test_pool_output_size_examples():
    assert _shapes.pool_output_size(112, 2, 2, 0, 1, False) == 56
    assert _shapes.pool_output_size(5, 2, 2, 0, 1, True) == 3
    assert _shapes.pool_output_size(5, 2, 2, 0, 1, False) == 2
    # ceil mode: the last window (start 6, padded coordinates) would start in the
    # right padding, so it is dropped (PyTorch gives 3 too)
    assert _shapes.pool_output_size(5, 2, 2, 1, 1, True) == 3
    # ... but one starting in the input is kept
    assert _shapes.pool_output_size(6, 3, 3, 1, 1, True) == 3
    # ceil mode: a window may overhang the end of the input by less than a stride,
    # even when the input is shorter than the window (PyTorch: 1 output)
    assert _shapes.pool_output_size(1, 2, 2, 0, 1, True) == 1
    assert _shapes.pool_output_size(2, 3, 2, 0, 1, True) == 1
    assert _shapes.pool_output_size(1, 3, 1, 0, 1, False) == 0


def test_pool_output_size_matches_torch():
    torch = pytest.importorskip("torch")
    for n, k, s, p, d, ceil in itertools.product(range(1, 9), range(1, 5), range(1, 4),
                                                 range(0, 3), range(1, 3), [False, True]):
        if p > k // 2:
            continue
        try:
            t = torch.nn.functional.max_pool1d(torch.zeros(1, 1, n), k, s, p, dilation=d,
                                               ceil_mode=ceil).shape[-1]
        except RuntimeError:   # torch refuses an empty output
            t = 0
        assert _shapes.pool_output_size(n, k, s, p, d, ceil) == t, (n, k, s, p, d, ceil)


# --------------------------------------------------------------------------- parameters

def test_as_int():
    assert _shapes.as_int(3, "stride") == 3
    assert _shapes.as_int(np.int64(5), "stride") == 5
    assert type(_shapes.as_int(np.uint8(5), "stride")) is int
    for bad in (1.5, 2.0, "2", True, np.bool_(True), None, [1]):
        with pytest.raises(TypeError, match="stride"):
            _shapes.as_int(bad, "stride")


def test_int_tuple():
    assert _shapes.int_tuple(2, 3, "stride", minimum=1) == (2, 2, 2)
    assert _shapes.int_tuple((1, 2), 2, "dilation", minimum=1) == (1, 2)
    assert _shapes.int_tuple([np.int32(1), 3], 2, "dilation") == (1, 3)
    assert _shapes.int_tuple(range(1, 4), 3, "stride") == (1, 2, 3)
    with pytest.raises(ValueError, match="stride"):
        _shapes.int_tuple((1, 2), 3, "stride")
    with pytest.raises(ValueError, match="stride"):
        _shapes.int_tuple((), 1, "stride")
    with pytest.raises(ValueError, match="stride"):
        _shapes.int_tuple(0, 1, "stride", minimum=1)
    with pytest.raises(ValueError, match="stride"):
        _shapes.int_tuple(2**41, 1, "stride", minimum=1)
    with pytest.raises(TypeError, match="stride"):
        _shapes.int_tuple("12", 2, "stride")
    with pytest.raises(TypeError, match="stride"):
        _shapes.int_tuple((1, 1.5), 2, "stride")


def _same(n, k, s, d):
    out = math.ceil(n / s)
    total = max(0, (out - 1) * s + d * (k - 1) + 1 - n)
    return total // 2, total - total // 2


def test_padding_pairs_every_form():
    pp = _shapes.padding_pairs
    assert pp(0, (5, 5), (3, 3), (1, 1), (1, 1)) == ((0, 0), (0, 0))
    assert pp(2, (5,), (3,), (1,), (1,)) == ((2, 2),)
    assert pp(np.int64(2), (5,), (3,), (1,), (1,)) == ((2, 2),)
    assert pp((1, 2), (5, 5), (3, 3), (1, 1), (1, 1)) == ((1, 1), (2, 2))
    assert pp([1, 2, 3], (5,) * 3, (3,) * 3, (1,) * 3, (1,) * 3) == ((1, 1), (2, 2), (3, 3))
    assert pp(((0, 1), (2, 3)), (5, 5), (3, 3), (1, 1), (1, 1)) == ((0, 1), (2, 3))
    assert pp(((0, 1), 2), (5, 5), (3, 3), (1, 1), (1, 1)) == ((0, 1), (2, 2))
    assert pp([[4, 0]], (5,), (3,), (1,), (1,)) == ((4, 0),)
    assert pp("valid", (5, 5), (3, 3), (2, 2), (1, 1)) == ((0, 0), (0, 0))
    assert pp("Valid", (5,), (3,), (1,), (1,)) == ((0, 0),)
    assert pp("full", (5, 5), (3, 4), (1, 1), (1, 2)) == ((2, 2), (6, 6))
    assert pp("same", (10,), (4,), (1,), (1,)) == ((1, 2),)
    assert pp("same", (10, 7), (3, 3), (2, 3), (1, 2)) == (_same(10, 3, 2, 1), _same(7, 3, 3, 2))
    for bad, exc in [(-1, ValueError), ((1, -1), ValueError), (((0, -1),), ValueError),
                     ("half", ValueError), (None, TypeError), (1.0, TypeError),
                     (((1, 2, 3),), ValueError), ((1, 2, 3), ValueError), ((), ValueError),
                     (("1",), TypeError), (b"same", TypeError), (2**41, ValueError)]:
        with pytest.raises(exc, match="padding"):
            pp(bad, (5,) if np.ndim(bad) != 1 or len(bad) != 2 else (5, 5),
               (3,) if np.ndim(bad) != 1 or len(bad) != 2 else (3, 3),
               (1,) * (2 if np.ndim(bad) == 1 and len(bad) == 2 else 1),
               (1,) * (2 if np.ndim(bad) == 1 and len(bad) == 2 else 1))


@pytest.mark.parametrize("n", range(1, 13))
@pytest.mark.parametrize("k", range(1, 6))
@pytest.mark.parametrize("s", range(1, 5))
@pytest.mark.parametrize("d", [1, 2, 3])
def test_same_semantics(n, k, s, d):
    ((lo, hi),) = _shapes.padding_pairs("same", (n,), (k,), (s,), (d,))
    assert lo <= hi <= lo + 1
    assert _shapes.conv_output_size(n, k, s, d, lo, hi) == -(-n // s)
    # minimal: no smaller total padding gives ceil(n / s) outputs
    total = lo + hi
    if total > 0:
        t = total - 1
        got = _shapes.conv_output_size(n, k, s, d, t // 2, t - t // 2)
        assert got is None or got < -(-n // s)
    if s == 1:   # PyTorch's 'same': total d*(k-1), the extra on the right
        assert (lo, hi) == (d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2)


@pytest.mark.parametrize("n, k, d", list(itertools.product(range(1, 7), range(1, 5), range(1, 3))))
def test_full_semantics(n, k, d):
    ((lo, hi),) = _shapes.padding_pairs("full", (n,), (k,), (1,), (d,))
    assert lo == hi == d * (k - 1)
    assert _shapes.conv_output_size(n, k, 1, d, lo, hi) == n + d * (k - 1)
    # every output sees at least one real input element
    assert d * (k - 1) + 1 - lo >= 1


def test_same_matches_torch():
    torch = pytest.importorskip("torch")
    for n, k, d in itertools.product(range(1, 8), range(1, 5), range(1, 3)):
        ((lo, hi),) = _shapes.padding_pairs("same", (n,), (k,), (1,), (d,))
        x = torch.arange(float(n)).reshape(1, 1, n)
        w = torch.arange(1.0, k + 1).reshape(1, 1, k)
        t = torch.nn.functional.conv1d(x, w, padding="same", dilation=d)
        xp = torch.nn.functional.pad(x, (lo, hi))
        assert torch.equal(t, torch.nn.functional.conv1d(xp, w, dilation=d)), (n, k, d)


# --------------------------------------------------------------------------- padding maps

ALL_MODES = ["zeros", "constant", "reflect", "edge", "wrap", "symmetric"]


@pytest.mark.parametrize("mode", ALL_MODES)
@pytest.mark.parametrize("n", range(1, 7))
def test_source_index_matches_numpy_pad(mode, n):
    for lo, hi in itertools.product([0, 1, 2, 5, 13], [0, 1, 3, 7, 20]):   # wider than n too
        j = np.arange(-lo, n + hi)
        got = _padmaps.source_index(j, n, mode)
        if mode in ("zeros", "constant"):
            want = np.pad(np.arange(n), (lo, hi), mode="constant", constant_values=-1)
        else:
            want = np.pad(np.arange(n), (lo, hi), mode=mode)
        assert_array_equal(got, want, err_msg=f"mode={mode} n={n} lo={lo} hi={hi}")


def test_padding_mode_names():
    norm = _padmaps.normalize_padding_mode
    assert norm("zeros") == "zeros"
    assert norm("replicate") == norm("edge") == norm("EDGE") == "edge"
    assert norm("circular") == norm("wrap") == "wrap"
    assert norm("reflect") == "reflect" and norm("symmetric") == "symmetric"
    assert norm("constant") == "constant"
    with pytest.raises(ValueError, match="padding_mode"):
        norm("mirror")
    with pytest.raises(TypeError, match="padding_mode"):
        norm(None)


@pytest.mark.parametrize("mode", ALL_MODES)
@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_kernel_padding_matches_numpy_pad(mode, n):
    """The kernels' closed forms (fc_src: no index tables) give np.pad's
    source of every padded position, padding many times the input included."""
    from fastconv import _conv_kernels
    for lo, hi in ((0, 0), (4, 3), (0, 11), (13, 0), (2 * n + 1, 3 * n + 2)):
        ext = n + lo + hi
        got = _conv_kernels.padded_source(n, lo, ext, _padmaps.MODE_CODES[mode])
        if mode in ("zeros", "constant"):
            want = np.pad(np.arange(n), (lo, hi), mode="constant", constant_values=-1)
        else:
            want = np.pad(np.arange(n), (lo, hi), mode=mode)
        np.testing.assert_array_equal(got, want)

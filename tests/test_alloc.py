"""fastconv._alloc.empty: big results start on a huge-page boundary, small ones are
np.empty's; either way an ordinary C-contiguous array the caller owns."""

import pickle
import sys

import numpy as np
import pytest

import fastconv
from fastconv import _alloc, ndimage

LINUX = sys.platform.startswith("linux")


@pytest.mark.parametrize("shape, dtype", [((1024, 1024), np.float32), ((3, 512, 700), np.float64),
                                          ((1 << 18,), np.complex128), ((2, 1 << 20), np.int64)])
def test_big_results_start_on_a_huge_page(shape, dtype):
    a = _alloc.empty(shape, dtype)
    assert a.shape == shape and a.dtype == dtype
    assert a.flags.c_contiguous and a.flags.writeable and a.flags.aligned
    if LINUX:
        assert a.ctypes.data % _alloc.HUGE_PAGE == 0
    # the whole array is usable and independent of other results
    a[...] = 7
    b = _alloc.empty(shape, dtype)
    b[...] = 1
    assert np.all(a == 7) and not np.shares_memory(a, b)
    c = pickle.loads(pickle.dumps(a))
    assert np.array_equal(c, a) and c.dtype == a.dtype


@pytest.mark.parametrize("shape", [(), (0,), (5, 0, 3), (7,), (1023, 511)])
def test_small_results_are_plain(shape):
    a = _alloc.empty(shape, np.float32)
    assert a.shape == shape and a.dtype == np.float32 and a.flags.c_contiguous
    assert a.nbytes < _alloc.HUGE_PAGE and a.base is None


def test_shape_as_an_integer():
    assert _alloc.empty(1 << 20, np.float32).shape == (1 << 20,)


def test_results_of_big_calls_are_aligned_and_exact():
    """The ops that allocate with it return the same values as before (against a
    NumPy reference on small integers, which float sums hold exactly)."""
    rng = np.random.default_rng(0)
    x = rng.integers(-3, 4, size=(1024, 1024)).astype(np.float32)
    w = rng.integers(-2, 3, size=(3, 3)).astype(np.float32)
    y = ndimage.correlate(x, w, mode="constant")
    xp = np.pad(x, 1)
    ref = sum(w[i, j] * xp[i:i + 1024, j:j + 1024] for i in range(3) for j in range(3))
    np.testing.assert_array_equal(y, ref)
    c = fastconv.conv2d(x[None, None], w[None, None], padding=1)[0, 0]
    np.testing.assert_array_equal(c, ref)
    if LINUX:
        assert y.ctypes.data % _alloc.HUGE_PAGE == 0
        assert c.ctypes.data % _alloc.HUGE_PAGE == 0      # (a view of the 4-d result)

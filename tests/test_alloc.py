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


# ---------------------------------------------------------------- the pool

@pytest.fixture
def pool():
    """An empty pool of the default limit, emptied again afterwards."""
    fastconv.clear_caches()
    yield _alloc._POOL
    fastconv.clear_caches()


needs_pool = pytest.mark.skipif(not LINUX or _alloc.pool_limit() < 8 * _alloc.HUGE_PAGE,
                                reason="huge-page results and a pool (Linux, FASTCONV_POOL_MB)")


@needs_pool
def test_a_freed_result_is_recycled_for_the_next_of_its_size(pool):
    a = _alloc.empty((1024, 1024), np.float32)
    addr = a.ctypes.data
    del a
    assert _alloc.pool_bytes() == 2 * _alloc.HUGE_PAGE
    b = _alloc.empty((2, 512, 1024), np.float32)      # the same 2 huge pages
    assert b.ctypes.data == addr and _alloc.pool_bytes() == 0
    c = _alloc.empty((3 << 20,), np.uint8)            # 2 pages as well, but b holds them
    assert not np.shares_memory(b, c)


@needs_pool
def test_a_block_stays_leased_while_any_view_of_it_lives(pool):
    a = _alloc.empty((1024, 1024), np.float32)
    a[...] = 5
    views = [a[10:20], a.T, a.reshape(-1)[::7], np.asarray(memoryview(a))]
    del a
    assert _alloc.pool_bytes() == 0
    b = _alloc.empty((1024, 1024), np.float32)
    b[...] = -1
    for v in views:
        assert not np.shares_memory(b, v) and np.all(v == 5)
    del views, v
    assert _alloc.pool_bytes() == 2 * _alloc.HUGE_PAGE


@needs_pool
def test_the_pool_is_bounded_and_keeps_the_newest(pool):
    limit = _alloc.pool_limit()
    n = limit // (2 * _alloc.HUGE_PAGE) + 3
    arrays = [_alloc.empty((1024, 1024), np.float32) for _ in range(n)]
    addrs = [a.ctypes.data for a in arrays]
    for i in range(n):                   # freed in order: arrays[0] first
        arrays[i] = None
    assert _alloc.pool_bytes() <= limit
    again = [_alloc.empty((1024, 1024), np.float32)
             for _ in range(limit // (2 * _alloc.HUGE_PAGE))]
    kept = {a.ctypes.data for a in again}
    assert addrs[-1] in kept and addrs[0] not in kept
    del again
    fastconv.clear_caches()
    big = _alloc.empty((limit // 4 + 1, 4), np.uint8)      # one byte over the limit
    del big
    assert _alloc.pool_bytes() == 0


@needs_pool
def test_clear_caches_frees_the_pool(pool):
    a = _alloc.empty((1 << 19,), np.float64)
    del a
    assert _alloc.pool_bytes() > 0
    fastconv.clear_caches()
    assert _alloc.pool_bytes() == 0


def test_results_from_threads_stay_their_own(pool):
    import threading

    errors = []

    def work(k):
        for _ in range(30):
            a = _alloc.empty((512, 1024), np.float32)
            a[...] = k
            b = a[::2]
            del a
            if not np.all(b == k):
                errors.append(k)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert _alloc.pool_bytes() <= _alloc.pool_limit()


@pytest.mark.parametrize("value, ok", [("0", True), ("8", True), ("abc", False), ("-1", False)])
def test_pool_limit_from_the_environment(value, ok):
    import os
    import subprocess

    code = ("import numpy as np; from fastconv import _alloc; "
            "a = _alloc.empty((1024, 1024), np.float32); del a; "
            "print(_alloc.pool_limit(), _alloc.pool_bytes())")
    env = dict(os.environ, FASTCONV_POOL_MB=value)
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if ok:
        assert r.returncode == 0, r.stderr
        limit, kept = map(int, r.stdout.split())
        assert limit == int(value) << 20
        assert kept == (min(limit, 2 * _alloc.HUGE_PAGE) if LINUX and limit >= 2 * _alloc.HUGE_PAGE
                        else 0)
    else:
        assert r.returncode != 0 and "FASTCONV_POOL_MB" in r.stderr and value in r.stderr


@pytest.mark.parametrize("dtype", [">f8", "<c16", "?", "u2", "M8[ns]", [("a", "f4"), ("b", "i4")],
                                   ("f4", (2,))])
def test_every_dtype_np_empty_takes(dtype):
    """Numeric kinds (any byte order) get huge pages; the others are np.empty's."""
    shape = (np.int64(2048), 1024)
    a = _alloc.empty(shape, dtype)
    b = np.empty(shape, dtype)
    assert a.dtype == b.dtype and a.shape == b.shape and a.flags.c_contiguous
    if LINUX and np.dtype(dtype).kind in "biufc":
        assert a.ctypes.data % _alloc.HUGE_PAGE == 0


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="os.fork")
def test_a_forked_child_writes_its_own_copy():
    """Results are private memory, as np.empty's: a child's writes stay in the child."""
    import os

    a = _alloc.empty((1024, 1024), np.float32)
    a[...] = 1
    pid = os.fork()
    if pid == 0:
        a[...] = 42
        os._exit(0 if np.all(a == 42) else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0 and np.all(a == 1)

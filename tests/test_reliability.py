"""Reliability: no leaks over 10^5 calls, Python threads calling fastconv concurrently,
set_num_threads racing a running call, allocation failure, and argument objects that
are not plain ndarrays (subclasses, memmaps, ``__array__``)."""

import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import fastconv


def _run(script, timeout=600):
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True,
                         text=True, timeout=timeout)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


LEAK_SCRIPT = """
    import gc, tracemalloc, numpy as np, fastconv

    def rss_mib():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096 / 2**20

    # one thread: the calls are tiny, and on a busy 2-core machine a team of two
    # waits on a descheduled thread (the threaded paths are covered by the thread tests)
    fastconv.set_num_threads(1)
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((n, c, h, h)).astype(dt) for n, c, h, dt in
          [(1, 1, 8, np.float32), (2, 3, 9, np.float64), (1, 4, 13, np.float32)]]
    def step(i):
        x = xs[i % 3]
        c = x.shape[1]
        k = 1 + i % 3
        w = np.ones((2, c, k, k), x.dtype)
        mode = ("zeros", "reflect", "circular", "symmetric")[i % 4]
        y = fastconv.conv2d(x, w, padding=k // 2, padding_mode=mode, stride=1 + i % 2)
        gx, gw, gb = fastconv.conv_backward(y, x, w, padding=k // 2, padding_mode=mode,
                                            stride=1 + i % 2)
        p, idx = fastconv.max_pool2d(x, 2, return_indices=True, ceil_mode=bool(i % 2))
        fastconv.max_pool2d_backward(p, idx, x.shape)
        a = fastconv.avg_pool2d(x, 2 + i % 2, padding=1)
        fastconv.avg_pool2d_backward(a, x.shape, 2 + i % 2, padding=1)
        fastconv.conv_transpose2d(y, np.ones((2, c, 2, 2), x.dtype), stride=2)
        fastconv.conv1d(x[:, :, 0], w[:, :, 0], padding="same")
        try:
            fastconv.conv2d(x, w, padding=-1)        # the error path too
        except ValueError:
            pass

    CALLS_PER_STEP = 10
    steps = {steps}
    for i in range(steps // 10):                    # warm up: caches fill to their bound
        step(i)
    gc.collect()
    rss0 = rss_mib()
    tracemalloc.start()
    snap0 = tracemalloc.take_snapshot()
    for i in range(steps // 10, steps):
        step(i)
    gc.collect()
    snap1 = tracemalloc.take_snapshot()
    grown = sum(s.size_diff for s in snap1.compare_to(snap0, "filename"))
    print(steps * CALLS_PER_STEP, rss_mib() - rss0, grown / 2**20)
"""


@pytest.mark.memory
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
def test_no_leak_over_100k_calls():
    """10^5 calls of mixed ops, shapes, modes and dtypes (errors included): resident
    memory and Python-level allocations stay flat after the warm-up."""
    calls, rss_drift, py_drift = map(float, _run(LEAK_SCRIPT.format(steps=10_000)).split())
    assert calls == 100_000
    assert rss_drift < 8, f"RSS grew {rss_drift:.1f} MiB over {calls:.0f} calls"
    assert py_drift < 1, f"Python allocations grew {py_drift:.2f} MiB over {calls:.0f} calls"


def _work_items():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 8, 20, 20)).astype(np.float32)
    w = rng.standard_normal((16, 8, 3, 3)).astype(np.float32)
    x64 = x.astype(np.float64)
    return {
        "conv": lambda: fastconv.conv2d(x, w, padding=1),
        "conv_reflect": lambda: fastconv.conv2d(x64, w, padding=2, padding_mode="reflect"),
        "input_grad": lambda: fastconv.conv_input_grad(np.ones((2, 16, 9, 9), np.float32), w,
                                                       x.shape, stride=2),
        "weight_grad": lambda: fastconv.conv_weight_grad(x, np.ones((2, 16, 18, 18),
                                                                    np.float32), w.shape),
        "transpose": lambda: fastconv.conv_transpose2d(x, w.transpose(1, 0, 2, 3), stride=2),
        "max_pool": lambda: fastconv.max_pool2d(x, 3, 2, 1, return_indices=True)[0],
        "avg_pool": lambda: fastconv.avg_pool2d(x64, 2),
        "depthwise": lambda: fastconv.conv2d(x, w[:8, :1], padding=1, groups=8),
    }


def test_python_threads_calling_concurrently_give_serial_bits(restore_threads):
    """8 Python threads, each calling a different op 20 times (kernels release the
    GIL, so their OpenMP teams overlap): every result equals the serial one bit for bit."""
    items = _work_items()
    serial = {k: f() for k, f in items.items()}
    results, errors = {}, []

    def worker(name):
        try:
            results[name] = [items[name]() for _ in range(20)]
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append((name, exc))

    threads = [threading.Thread(target=worker, args=(k,)) for k in items]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert not errors, errors
    assert len(threads) == 8
    for name, outs in results.items():
        for y in outs:
            assert_array_equal(y, serial[name], err_msg=name)


def test_set_num_threads_from_another_thread_mid_call(restore_threads):
    """A thread flipping the thread count while others compute: no crash, same bits."""
    items = _work_items()
    serial = {k: f() for k, f in items.items()}
    stop = threading.Event()

    def flipper():
        n = 0
        while not stop.is_set():
            fastconv.set_num_threads(1 + n % 2)
            n += 1

    t = threading.Thread(target=flipper)
    t.start()
    try:
        for _ in range(10):
            for name, f in items.items():
                assert_array_equal(f(), serial[name], err_msg=name)
    finally:
        stop.set()
        t.join(timeout=60)


@pytest.mark.memory
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS")
def test_allocation_failure_raises_memory_error_and_leaves_a_usable_process():
    """Under an address-space limit a call too big for it raises MemoryError (from the
    output or a kernel workspace), and the next call gives the right answer."""
    out = _run("""
        import resource, numpy as np, fastconv
        x = np.ones((1, 4, 16, 16), np.float32)
        w = np.ones((4, 4, 3, 3), np.float32)
        good = fastconv.conv2d(x, w, padding=1)
        with open("/proc/self/statm") as f:
            vm = int(f.read().split()[0]) * 4096
        resource.setrlimit(resource.RLIMIT_AS, (vm + (256 << 20), resource.RLIM_INFINITY))
        failed = 0
        for shape in [(64, 64, 128, 128), (1, 1, 2**15, 2**15), (512, 64, 64, 64)]:
            big = np.broadcast_to(np.float32(1), shape)
            try:
                fastconv.max_pool2d(big, 2) if shape[1] == 1 else fastconv.conv2d(
                    big, np.ones((64, shape[1], 3, 3), np.float32), padding=1)
            except MemoryError:
                failed += 1
        assert np.array_equal(fastconv.conv2d(x, w, padding=1), good)
        print(failed)
    """)
    assert int(out) == 3


def _fault_cases():
    """Calls whose kernels take workspaces from fc_malloc (counted: 2-6 each, one
    per thread of a parallel region and per buffer)."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, 64, 64, 64)).astype(np.float32)   # 1 MiB: streamed rows
    w = rng.standard_normal((8, 64, 3, 3)).astype(np.float32)
    gy = rng.standard_normal((1, 8, 62, 62)).astype(np.float32)
    xd = rng.standard_normal((4, 32, 64, 64))
    wd = rng.standard_normal((32, 1, 3, 3))
    gyd = rng.standard_normal((4, 32, 64, 64))
    return {
        "gemm forward": lambda: fastconv.conv2d(x, w),
        "gemm backward": lambda: fastconv.conv_backward(gy, x, w),
        "transpose": lambda: fastconv.conv_transpose2d(x, w.transpose(1, 0, 2, 3), stride=2,
                                                       padding=1),
        "depthwise rows": lambda: fastconv.conv2d(xd, wd, padding=1, groups=32,
                                                  padding_mode="reflect"),
        "depthwise backward": lambda: fastconv.conv_backward(gyd, xd, wd, padding=1, groups=32,
                                                             padding_mode="reflect"),
        "depthwise dilated backward": lambda: fastconv.conv_backward(
            gyd, xd, wd, padding=2, dilation=2, groups=32),
    }


def _bits(result):
    parts = result if isinstance(result, tuple) else (result,)
    return [None if p is None else np.asarray(p).tobytes() for p in parts]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("case", list(_fault_cases()))
def test_every_workspace_allocation_failure_is_a_memory_error_or_the_right_answer(case,
                                                                                   threads):
    """Fault injection: the n-th workspace allocation of a call fails, for every n the
    call reaches.  Each call either raises MemoryError or returns the exact result
    (some kernels fall back to a path without the workspace), and the next call, with
    nothing injected, gives the exact result again (no state left corrupted)."""
    from fastconv import _conv_kernels as kern
    call = _fault_cases()[case]
    before = fastconv.get_num_threads()
    fastconv.set_num_threads(threads)
    try:
        want = _bits(call())
        failures = 0
        for n in range(200):
            kern._fail_allocation(n)
            try:
                got = call()
            except MemoryError:
                failures += 1
            else:
                assert _bits(got) == want, f"allocation {n} failed: a wrong result"
            finally:
                left = kern._allocation_failure_pending()
                kern._fail_allocation(-1)
            assert _bits(call()) == want, f"the call after failing allocation {n}"
            if left >= 0:       # the call made fewer than n + 1 allocations: all were tried
                break
        else:
            pytest.fail("more than 200 workspace allocations in one call")
        assert n > 0, "the call takes no workspace: the case tests nothing"
    finally:
        kern._fail_allocation(-1)
        fastconv.set_num_threads(before)


# --------------------------------------------------------------------------- argument objects

def test_masked_arrays_memmaps_and_array_likes(tmp_path):
    """Subclasses compute on their data (like np.convolve does) and return ndarrays;
    objects with __array__ are converted once."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((1, 2, 9, 9))
    w = rng.standard_normal((3, 2, 3, 3))
    want = fastconv.conv2d(x, w)

    m = np.ma.masked_array(x, mask=np.zeros_like(x, bool))
    assert_array_equal(np.asarray(fastconv.conv2d(m, w)), want)

    path = tmp_path / "x.npy"
    np.save(path, x)
    mm = np.load(path, mmap_mode="r")
    assert_array_equal(fastconv.conv2d(mm, w), want)

    class Wrapped:
        def __init__(self, a):
            self.a = a

        def __array__(self, dtype=None, copy=None):
            return self.a if dtype is None else self.a.astype(dtype)

    assert_array_equal(fastconv.conv2d(Wrapped(x), Wrapped(w)), want)
    assert_array_equal(fastconv.max_pool2d(Wrapped(x), 2), fastconv.max_pool2d(x, 2))


@pytest.mark.parametrize("value", [np.int64(2), np.int32(2), np.uint8(2), 2.0, np.float64(2.0)])
def test_numpy_and_float_scalars_as_integer_parameters(value):
    """NumPy integer scalars are integers; floats (even integral ones) are refused,
    as PyTorch refuses them."""
    x = np.ones((1, 1, 8, 8), np.float32)
    w = np.ones((1, 1, 3, 3), np.float32)
    if isinstance(value, (float, np.floating)):
        with pytest.raises(TypeError, match="stride"):
            fastconv.conv2d(x, w, stride=value)
    else:
        assert_array_equal(fastconv.conv2d(x, w, stride=value), fastconv.conv2d(x, w, stride=2))


@pytest.mark.parametrize("name", ["stride", "dilation", "groups", "padding"])
def test_bool_parameters_are_refused(name):
    x = np.ones((1, 2, 8, 8), np.float32)
    w = np.ones((2, 2, 3, 3), np.float32)
    with pytest.raises(TypeError, match=name):
        fastconv.conv2d(x, w, **{name: True})


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_nan_and_inf_parameters(bad):
    x = np.ones((1, 1, 8, 8), np.float32)
    w = np.ones((1, 1, 3, 3), np.float32)
    with pytest.raises((TypeError, ValueError)):
        fastconv.conv2d(x, w, stride=bad)
    with pytest.raises(ValueError, match="pad_value"):
        fastconv.conv2d(x, w, padding=1, padding_mode="constant", pad_value=bad)

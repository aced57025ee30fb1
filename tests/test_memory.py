"""Memory: bounded workspaces (no whole-batch im2col, no index tables of outputs
x taps, slabs for images bigger than a thread's share of the workspace
limit), bounded caches, and ValueErrors for absurd sizes.  Peaks are measured
in subprocesses (ru_maxrss)."""

import math
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastconv

SCRIPT = textwrap.dedent("""
    import resource, numpy as np, fastconv
    def peak():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MiB on Linux
    x = np.random.default_rng(0).standard_normal((64, 64, 56, 56), dtype=np.float32)
    w = np.random.default_rng(1).standard_normal((64, 64, 3, 3), dtype=np.float32)
    fastconv.conv2d(x[:1], w, padding=1)           # import-time and first-call costs
    before = peak()
    y = fastconv.conv2d(x, w, padding=1)
    print(peak() - before - y.nbytes / 2**20)
""")


@pytest.mark.memory
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss units differ")
def test_vgg3x3_forward_workspace_is_bounded(tmp_path):
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr
    workspace_mib = float(out.stdout.split()[-1])
    assert workspace_mib <= 64, f"forward workspace {workspace_mib:.1f} MiB > 64 MiB"


# ---------------------------------------------------------------- long kernels, volumes

PEAK = textwrap.dedent("""
    import resource, sys, numpy as np, fastconv
    def peak():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MiB on Linux
    case, op = sys.argv[1], sys.argv[2]
    if case == "long":       # the issue's OOM: 1e6 samples x 2000 taps
        x = np.ones((1, 1, 10**6), np.float32)
        w = np.ones((1, 1, 2000), np.float32)
        kw = dict(padding="same", padding_mode="reflect")
    elif case == "volume":   # 3-D: one padded image > a thread's share of 64 MiB
        x = np.ones((1, 8, 96, 128, 128), np.float32)
        w = np.ones((8, 8, 3, 3, 3), np.float32)
        kw = dict(padding=1, padding_mode="circular")
    else:                    # depthwise volume
        x = np.ones((1, 8, 96, 128, 128), np.float32)
        w = np.ones((8, 1, 3, 3, 3), np.float32)
        kw = dict(padding=1, groups=8)
    y_shape = fastconv.conv(x[..., :40], w, **kw).shape[:-1] + (x.shape[-1],)
    g = np.ones(y_shape, np.float32)
    before = peak()
    if op == "forward":
        r = fastconv.conv(x, w, **kw)
    elif op == "input_grad":
        r = fastconv.conv_input_grad(g, w, x.shape, **kw)
    else:
        r = fastconv.conv_weight_grad(x, g, w.shape, **kw)
    print(peak() - before - r.nbytes / 2**20)
""")


@pytest.mark.memory
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss units differ")
@pytest.mark.parametrize("case", ["long", "volume", "depthwise"])
@pytest.mark.parametrize("op", ["forward", "input_grad", "weight_grad"])
def test_peak_memory_is_input_output_and_workspace(case, op, tmp_path):
    """No temporary grows with outputs x taps (the issue's 1e6 x 2000 taps was
    killed at 24 GB), and a padded image bigger than a thread's share of the
    64 MiB workspace is cut into slabs: the peak above the inputs stays under
    the result + 64 MiB."""
    out = subprocess.run([sys.executable, "-c", PEAK, case, op], capture_output=True,
                         text=True, cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr
    extra = float(out.stdout.split()[-1])
    assert extra <= 64, f"{case} {op}: {extra:.1f} MiB above inputs and result"


RSS_OF_PROCESS = textwrap.dedent("""
    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096 / 2**20
""")


RSS_RETURNS = RSS_OF_PROCESS + textwrap.dedent("""
    import gc, numpy as np, fastconv
    rng = np.random.default_rng(0)
    w = rng.standard_normal((1, 1, 1000)).astype(np.float32)
    fastconv.conv1d(rng.standard_normal((1, 1, 5000)).astype(np.float32), w)
    gc.collect()
    base = rss()
    for n in range(10_000, 100_001, 10_000):    # the issue: 4.1 GB kept after these
        x = rng.standard_normal((1, 1, n)).astype(np.float32)
        y = fastconv.conv1d(x, w, padding="same", padding_mode="reflect")
        fastconv.conv_input_grad(y, w, x.shape, padding="same", padding_mode="reflect")
        fastconv.max_pool1d(x, 3)
    del x, y
    gc.collect()
    print(rss() - base)
""")


@pytest.mark.memory
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/statm")
def test_resident_memory_returns_after_calls_of_many_shapes(tmp_path):
    out = subprocess.run([sys.executable, "-c", RSS_RETURNS], capture_output=True, text=True,
                         cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr
    kept = float(out.stdout.split()[-1])
    assert kept < 16, f"{kept:.1f} MiB still resident after the calls"


RSS_BIG_RESULTS = RSS_OF_PROCESS + textwrap.dedent("""
    import gc, numpy as np, fastconv
    from fastconv import _alloc, ndimage
    rng = np.random.default_rng(0)
    w = rng.standard_normal((1, 1, 9)).astype(np.float32)
    gc.collect()
    base = rss()
    for n in range(1 << 19, 6 << 20, 1 << 19):   # results of 2 to 22 MiB, each size new
        y = fastconv.conv1d(np.ones((1, 1, n), np.float32), w, padding=4)
        y = ndimage.gaussian_filter(y[0, 0], 2.0)
    del y
    gc.collect()
    print(_alloc.pool_bytes() / 2**20, rss() - base)
""")


@pytest.mark.memory
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/statm")
@pytest.mark.parametrize("pool_mb", ["0", "16", ""])
def test_freed_results_kept_stay_within_the_pool_limit(pool_mb, tmp_path):
    import os

    # glibc's own retention out of the way (as in a dask worker): what stays resident
    # is what fastconv keeps
    env = dict(os.environ, FASTCONV_POOL_MB=pool_mb, MALLOC_TRIM_THRESHOLD_="65536")
    out = subprocess.run([sys.executable, "-c", RSS_BIG_RESULTS], capture_output=True,
                         text=True, cwd=tmp_path, timeout=300, env=env)
    assert out.returncode == 0, out.stderr
    pooled, kept = map(float, out.stdout.split())
    limit = int(pool_mb or 64)
    assert pooled <= limit
    assert kept < limit + 16, f"{kept:.1f} MiB still resident (pool limit {limit} MiB)"


@pytest.mark.parametrize("value, expect", [("", 64 << 20), ("128", 128 << 20),
                                           ("0", 1 << 20), ("x", None)])
def test_workspace_limit_from_the_environment(value, expect, tmp_path):
    import os

    env = dict(os.environ, FASTCONV_WORKSPACE_MB=value)
    out = subprocess.run([sys.executable, "-c",
                          "import fastconv; print(fastconv.get_workspace_limit())"],
                         capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    if expect is None:
        assert out.returncode != 0 and "FASTCONV_WORKSPACE_MB" in out.stderr
        assert "'x'" in out.stderr
    else:
        assert out.returncode == 0, out.stderr
        assert int(out.stdout) == expect


# ---------------------------------------------------------------- slabs

MODES = ("zeros", "constant", "reflect", "replicate", "circular", "symmetric")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("nd, spatial", [(1, (50_000,)), (2, (260, 170)), (3, (40, 30, 50))])
@pytest.mark.parametrize("stride, dilation, padding, groups",
                         [(1, 1, 2, 1), (2, 1, 3, 1), (1, 2, 5, 3), (3, 1, 1, 3)])
def test_slabs_give_the_same_result(mode, nd, spatial, stride, dilation, padding, groups, rng):
    """Slab by slab (lo < 0: slabs that start inside the input, padding of every
    mode read from the whole input) equals the whole image: exact on small
    integers, forward, both gradients, grouped and depthwise."""
    cin, cout = 3, 6 if groups == 1 else 3
    k = (5,) * nd if nd < 3 else (3, 2, 3)
    x = rng.integers(-3, 4, (2, cin) + spatial).astype(np.float32)
    w = rng.integers(-3, 4, (cout, cin // groups) + k).astype(np.float32)
    kw = dict(stride=stride, dilation=dilation, padding=padding, groups=groups,
              padding_mode=mode)
    if mode == "constant":
        kw["pad_value"] = 2.0
    y = fastconv.conv(x, w, **kw)
    g = rng.integers(-3, 4, y.shape).astype(np.float32)
    dx = fastconv.conv_input_grad(g, w, x.shape, **kw)
    dw = fastconv.conv_weight_grad(x, g, w.shape, **kw)
    before = fastconv.get_workspace_limit()
    fastconv.set_workspace_limit(1 << 20)
    try:
        from fastconv import _conv_plan
        plan = _conv_plan.make_plan(x.shape, w.shape, stride=stride, padding=padding,
                                    dilation=dilation, groups=groups, padding_mode=mode,
                                    pad_value=kw.get("pad_value", 0.0), flip=False)
        channels = 1 if groups == cin else cin
        assert _conv_plan._slabs(plan, 4, channels, cout) is not None   # really cut
        np.testing.assert_array_equal(fastconv.conv(x, w, **kw), y)
        np.testing.assert_array_equal(fastconv.conv_input_grad(g, w, x.shape, **kw), dx)
        np.testing.assert_array_equal(fastconv.conv_weight_grad(x, g, w.shape, **kw), dw)
    finally:
        fastconv.set_workspace_limit(before)


def test_workspace_limit_checks():
    before = fastconv.get_workspace_limit()
    with pytest.raises(ValueError, match="nbytes"):
        fastconv.set_workspace_limit(1000)
    with pytest.raises(TypeError, match="nbytes"):
        fastconv.set_workspace_limit(1.5e8)
    assert fastconv.get_workspace_limit() == before


# ---------------------------------------------------------------- caches

def test_caches_are_bounded_and_cleared():
    from fastconv import _caches

    w = np.ones((2, 1, 3), np.float32)
    from fastconv import ndimage

    for n in range(5, 2000, 3):
        fastconv.conv1d(np.ones((1, 1, n), np.float32), w)
        fastconv.max_pool1d(np.ones((1, 1, n), np.float32), 2)
        fastconv.avg_pool1d(np.ones((1, 1, n), np.float32), 2)
        ndimage.correlate(np.ones((3, n % 90 + 2)), np.ones((2, 3)))
    if "fastconv._dask._halo" in sys.modules:   # its plans' cache is registered: fill it
        import dask.array as da

        for n in range(20, 200, 9):
            fastconv.conv1d(da.ones((1, 1, n), chunks=(1, 1, 8), dtype=np.float32), w)
    info = _caches.cache_info()
    assert info, "no cache registered"
    for name, (entries, most) in info.items():
        assert 0 < entries <= most, name
    # every entry is a description of a call, never data: the whole lot pickles small
    size = sum(len(pickle.dumps(list(c.items()))) for c in _caches._registry)
    assert size < _caches.MAX_TOTAL_BYTES, size
    fastconv.clear_caches()
    assert all(entries == 0 for entries, _ in _caches.cache_info().values())


def test_cached_plans_never_skip_a_check():
    """A repeated call with a value that hashes like a cached one (True, 1.0)
    still gets its TypeError."""
    x, w = np.ones((1, 1, 9), np.float32), np.ones((1, 1, 3), np.float32)
    fastconv.conv1d(x, w, stride=1)
    with pytest.raises(TypeError, match="stride"):
        fastconv.conv1d(x, w, stride=True)
    with pytest.raises(TypeError, match="stride"):
        fastconv.conv1d(x, w, stride=1.0)
    fastconv.max_pool1d(x, 2, ceil_mode=False)
    with pytest.raises(TypeError, match="ceil_mode"):
        fastconv.max_pool1d(x, 2, ceil_mode=0)


def test_negative_zero_pad_value_is_not_the_cached_positive_one():
    """-0.0 == 0.0 (and hashes alike), but pads differently: its own plan, and
    the same bits as without any cache."""
    x = np.zeros((1, 1, 4), np.float32)
    w = -np.ones((1, 1, 3), np.float32)
    kw = dict(padding=1, padding_mode="constant")
    fastconv.clear_caches()
    fresh = fastconv.conv1d(x, w, pad_value=-0.0, **kw)
    fastconv.clear_caches()
    fastconv.conv1d(x, w, pad_value=0.0, **kw)
    again = fastconv.conv1d(x, w, pad_value=-0.0, **kw)
    np.testing.assert_array_equal(np.signbit(again), np.signbit(fresh))
    from fastconv import _conv_plan
    keys = [k for k in _conv_plan._PLANS if k[0] == (1, 1, 4)]
    assert {math.copysign(1.0, k[7]) for k in keys} == {1.0, -1.0}


# ---------------------------------------------------------------- absurd parameters

@pytest.mark.parametrize("call, name", [
    (lambda: fastconv.conv1d(np.ones((1, 1, 5)), np.ones((1, 1, 3)), padding=10**9),
     "padding"),
    (lambda: fastconv.conv1d(np.broadcast_to(np.float32(1), (1, 1, 10**12)),
                             np.ones((1, 1, 3), np.float32)), "x"),
    (lambda: fastconv.conv_input_grad(np.ones((1, 1, 3)), np.ones((1, 1, 3)),
                                      (1, 1, 10**12)), "input_shape"),
    (lambda: fastconv.max_pool1d(np.broadcast_to(np.float32(1), (1, 1, 10**12)), 2), "x"),
    (lambda: fastconv.avg_pool2d(np.broadcast_to(np.float32(1), (1, 1, 10**6, 10**6)), 2),
     "x"),
    (lambda: fastconv.conv_transpose1d(np.ones((1, 1, 5)), np.ones((1, 1, 3)),
                                       stride=10**10), "stride"),
])
def test_absurd_sizes_raise_before_allocating(call, name):
    with pytest.raises(ValueError, match=rf"^{name}="):
        call()


@pytest.mark.parametrize("name", ["fastconv._caches", "fastconv._workspace",
                                  "fastconv.bench.latency"])
def test_docstring_examples(name):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name),
                             optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0

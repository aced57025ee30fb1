"""The fast path of repeated calls (fastconv._fastpath): a cached recipe gives
the same bits and the same errors as the full path, never serves a call that
differs in anything that decides the plan, and stays bounded."""

import numpy as np
import pytest

import fastconv
from fastconv import _fastpath
from fastconv._fastpath import NO, RECIPES, freeze, frozen_kwargs

# (name, public call, the full path: the undecorated function, no recipe)
F32 = np.float32


def _rng():
    return np.random.default_rng(17)


def _arrays(shape, wshape, dtype=F32, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape).astype(dtype) * 3,
            rng.standard_normal(wshape).astype(dtype) * 3,
            rng.standard_normal(wshape[0]).astype(dtype) * 3)


def _same_bits(a, b):
    if isinstance(a, tuple):
        assert isinstance(b, tuple) and len(a) == len(b)
        for p, q in zip(a, b):
            _same_bits(p, q)
        return
    if a is None:
        assert b is None
        return
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()


CONV_CASES = [
    ((1, 1, 8, 8), (1, 1, 3, 3), dict(padding=1)),
    ((2, 3, 9, 7), (4, 3, 3, 2), dict(padding="same", padding_mode="reflect")),
    ((3, 9, 11), (6, 3, 3), dict(groups=3, stride=2, dilation=2, flip=True)),
    ((1, 2, 5, 5, 5), (2, 2, 2, 2, 2),
     dict(padding=((1, 0), 1, (0, 2)), padding_mode="constant", pad_value=-0.0)),
    ((4, 8, 8), (4, 1, 3, 3), dict(groups=4, padding=1)),
    ((1, 8, 24, 24), (8, 8, 3, 3), dict(padding=1)),
    ((2, 2, 6, 6), (3, 2, 2, 2), dict(padding=(1, 2), padding_mode="constant", pad_value=1.5)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.int16])
@pytest.mark.parametrize("shape, wshape, kw", CONV_CASES)
def test_conv_hit_has_the_bits_of_the_full_path(shape, wshape, kw, dtype):
    x, w, b = _arrays(shape, wshape, dtype)
    full = fastconv.conv.__wrapped__(x, w, b, **kw)
    fastconv.clear_caches()
    first = fastconv.conv(x, w, b, **kw)            # miss: full path, then a recipe
    assert len(RECIPES) == 1
    hit = fastconv.conv(x, w, b, **kw)
    _same_bits(first, full)
    _same_bits(hit, full)
    nd = len(wshape) - 2
    fixed = getattr(fastconv, f"conv{nd}d")
    _same_bits(fixed(x, w, bias=b, **kw), full)
    _same_bits(fixed(x, w, bias=b, **kw), full)     # conv{nd}d's own key: hit too
    nobias = fastconv.conv.__wrapped__(x, w, **kw)
    fastconv.conv(x, w, **kw)
    _same_bits(fastconv.conv(x, w, **kw), nobias)


# layers whose recipe holds a compiled ConvCall (dw_forward3: depthwise 3x3
# padded by one zero, stride 1 or 2): (x shape, weight shape, keywords)
COMPILED_CASES = [
    ((1, 1, 8, 8), (1, 1, 3, 3), dict(padding=1)),
    ((1, 8, 8), (1, 1, 3, 3), dict(padding=1)),                      # unbatched
    ((2, 3, 9, 14), (6, 1, 3, 3), dict(groups=3, padding=1)),       # two per group
    ((1, 4, 17, 10), (4, 1, 3, 3), dict(groups=4, padding=1, stride=2)),
    ((3, 2, 5, 33), (2, 1, 3, 3), dict(groups=2, padding=(1, 1), stride=(2, 1))),
    ((1, 1, 12, 12), (1, 1, 3, 3), dict(padding="same")),
    ((1, 1, 6, 6), (1, 1, 3, 3), dict(padding=((1, 3), (1, 0)), padding_mode="constant")),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, wshape, kw", COMPILED_CASES)
def test_compiled_conv_call_has_the_bits_of_the_full_path(shape, wshape, kw, dtype, isa):
    from fastconv import _conv_kernels
    from fastconv._conv_kernels import ConvCall
    x, w, b = _arrays(shape, wshape, dtype)
    for bias in (b, None):
        full = fastconv.conv.__wrapped__(x, w, bias, **kw)
        fastconv.clear_caches()
        _same_bits(fastconv.conv(x, w, bias, **kw), full)
        (recipe,) = RECIPES.values()
        assert isinstance(recipe[3], ConvCall)
        # the compiled path is really taken wherever the full path runs dw_forward3
        # (on the generic instruction set, only at stride 2 along W)
        plan = recipe[0]
        inplace = _conv_kernels.depthwise_forward_kernel(
            plan.kernel_args[0], plan.pad_value, np.dtype(dtype).itemsize) == "inplace"
        assert inplace == (isa != "generic" or plan.stride[-1] == 2)
        assert (recipe[3](x, w, bias) is not None) == inplace
        _same_bits(fastconv.conv(x, w, bias, **kw), full)
        _same_bits(fastconv.conv(x, w, bias, **kw), full)


def test_compiled_conv_call_threads_give_the_same_bits():
    from fastconv import _select
    # above the serial grain, so that two threads really run
    x, w, b = _arrays((2, 16, 130, 130), (16, 1, 3, 3))
    assert 2 * 16 * 9 * 130 * 130 >= _select.SERIAL_BELOW
    before = fastconv.get_num_threads()
    try:
        fastconv.set_num_threads(1)
        one = fastconv.conv.__wrapped__(x, w, b, groups=16, padding=1)
        fastconv.set_num_threads(2)
        fastconv.clear_caches()
        for _ in range(3):
            _same_bits(fastconv.conv(x, w, b, groups=16, padding=1), one)
    finally:
        fastconv.set_num_threads(before)


def test_compiled_conv_call_steps_aside():
    """Where the full path must run (another kernel forced, the verbose log, an
    array to convert), the ConvCall answers None and the result is the full path's."""
    from fastconv import _conv_kernels, _select
    x, w, b = _arrays((1, 2, 9, 9), (2, 1, 3, 3))
    kw = dict(groups=2, padding=1)
    full = fastconv.conv.__wrapped__(x, w, b, **kw)
    fastconv.clear_caches()
    fastconv.conv(x, w, b, **kw)
    (recipe,) = RECIPES.values()
    call = recipe[3]
    for variant in ("strided", "fortran", "bigendian", "misaligned"):
        xv, wv = _variants(x)[variant], _variants(w)[variant]
        assert call(xv, w, b) is None and call(x, wv, b) is None
        _same_bits(fastconv.conv(xv, wv, b, **kw), full)
        if variant != "fortran":        # (a 1-D array in Fortran order is C-contiguous)
            bv = _variants(b)[variant]
            assert call(x, w, bv) is None
            _same_bits(fastconv.conv(x, w, bv, **kw), full)
    assert call(x.astype(np.float64), w, b) is None
    _conv_kernels.set_depthwise_kernel("rows")
    try:
        assert call(x, w, b) is None
        _same_bits(fastconv.conv(x, w, b, **kw), fastconv.conv.__wrapped__(x, w, b, **kw))
    finally:
        _conv_kernels.set_depthwise_kernel("auto")
    old = _select.VERBOSE
    _select.VERBOSE = True
    try:
        assert call(x, w, b) is None
    finally:
        _select.VERBOSE = old
    assert call(x, w, b) is not None


@pytest.mark.parametrize("shape, wshape, kw", CONV_CASES)
def test_conv_backward_hit_has_the_bits_of_the_full_path(shape, wshape, kw):
    x, w, _ = _arrays(shape, wshape)
    y = fastconv.conv(x, w, **kw)
    g = np.random.default_rng(1).standard_normal(y.shape).astype(F32)
    for needs in (("input", "weight", "bias"), "weight", ("bias", "input")):
        full = fastconv.conv_backward.__wrapped__(g, x, w, needs=needs, **kw)
        fastconv.clear_caches()
        first = fastconv.conv_backward(g, x, w, needs=needs, **kw)
        hit = fastconv.conv_backward(g, x, w, needs=needs, **kw)
        assert len(RECIPES) == 1
        _same_bits(first, full)
        _same_bits(hit, full)
    # mixed dtypes: each gradient in its own result dtype
    g64 = g.astype(np.float64)
    full = fastconv.conv_backward.__wrapped__(g64, x, w, **kw)
    fastconv.conv_backward(g64, x, w, **kw)
    _same_bits(fastconv.conv_backward(g64, x, w, **kw), full)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, wshape, kw", [c for c in COMPILED_CASES if "stride" not in c[2]])
def test_compiled_input_gradient_has_the_bits_of_the_full_path(shape, wshape, kw, dtype, isa):
    """A stride-1 depthwise 3x3 layer padded by one zero: its input gradient is
    the forward of the transposed layer, which a ConvCall serves on repeated calls."""
    from fastconv._conv_kernels import ConvCall
    x, w, _ = _arrays(shape, wshape, dtype)
    g = np.random.default_rng(1).standard_normal(fastconv.conv(x, w, **kw).shape).astype(dtype)
    full = fastconv.conv_backward.__wrapped__(g, x, w, **kw)
    fastconv.clear_caches()
    _same_bits(fastconv.conv_backward(g, x, w, **kw), full)
    (recipe,) = RECIPES.values()
    plan = recipe[0]
    # the transposed layer: depthwise where each group has one output channel, and
    # padded by one where the layer is (3x3: 2 - 1 on each side)
    if plan.out_channels == plan.groups and all(p == (1, 1) for p in plan.pads):
        assert isinstance(recipe[4], ConvCall)
    for _ in range(2):
        _same_bits(fastconv.conv_backward(g, x, w, **kw), full)
        _same_bits(fastconv.conv_backward(g, x, w, needs="input", **kw)[0], full[0])


POOL_CALLS = [
    ("max_pool2d", (2,)), ("max_pool2d", (3, 1, 1)), ("max_pool2d", (3, 2, 1, 2, True)),
    ("max_pool2d", (2, None, 0, 1, False, True)), ("avg_pool2d", (2,)),
    ("avg_pool2d", (3, 2, 1, True, False)), ("avg_pool2d", ((2, 3), None, 0, False, True, 5)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
@pytest.mark.parametrize("name, args", POOL_CALLS)
def test_pool_hit_has_the_bits_of_the_full_path(name, args, dtype):
    x = (np.random.default_rng(3).standard_normal((2, 3, 9, 8)) * 5).astype(dtype)
    generic = getattr(fastconv, name[:-2])
    full = generic.__wrapped__(x, *args)
    fastconv.clear_caches()
    for call in (lambda: getattr(fastconv, name)(x, *args), lambda: generic(x, *args),
                 lambda: generic(x, *args, _nd=2)):
        _same_bits(call(), full)        # miss
        _same_bits(call(), full)        # hit
    assert len(RECIPES) == 3
    # unbatched input: its own key
    full = generic.__wrapped__(x[0], *args, _nd=2)
    getattr(fastconv, name)(x[0], *args)
    _same_bits(getattr(fastconv, name)(x[0], *args), full)


# ---------------------------------------------------------------- same errors

def _error(call):
    with pytest.raises((TypeError, ValueError)) as info:
        call()
    return info.type, str(info.value)


@pytest.mark.parametrize("bad", [
    dict(padding=True), dict(padding=1.0), dict(padding=(1, True)), dict(padding=[1, 1.5]),
    dict(stride=0), dict(groups=True), dict(flip=1),
    dict(padding_mode="zeros", pad_value=1.0), dict(pad_value=float("nan")),
    dict(padding_mode="nope"), dict(bogus=1), dict(dilation=(1, 1.0)),
])
def test_a_cached_call_does_not_skip_a_check(bad):
    x, w, _ = _arrays((1, 1, 8, 8), (1, 1, 3, 3))
    fastconv.clear_caches()
    kw = dict(padding=1)
    expected = _error(lambda: fastconv.conv2d(x, w, **{**kw, **bad}))
    fastconv.conv2d(x, w, **kw)
    fastconv.conv2d(x, w, **kw)
    fastconv.conv(x, w, **kw)
    assert _error(lambda: fastconv.conv2d(x, w, **{**kw, **bad})) == expected
    assert _error(lambda: fastconv.conv(x, w, **{**kw, **bad})) == expected


@pytest.mark.parametrize("other", [dict(padding=np.int64(1)), dict(padding=[1, 1]),
                                   dict(padding=(1, 1)), dict(padding=((1, 1), (1, 1)))])
def test_values_of_other_types_take_the_full_path_or_their_own_key(other):
    x, w, _ = _arrays((1, 2, 8, 8), (2, 2, 3, 3))
    ref = fastconv.conv.__wrapped__(x, w, padding=1)
    fastconv.clear_caches()
    for _ in range(2):
        _same_bits(fastconv.conv2d(x, w, padding=1), ref)
        _same_bits(fastconv.conv2d(x, w, **other), ref)
        _same_bits(fastconv.conv(x, w, **other), ref)


def test_cached_shapes_still_check_arrays():
    x, w, b = _arrays((1, 2, 8, 8), (2, 2, 3, 3))
    fastconv.conv(x, w, b)
    fastconv.conv(x, w, b)
    for args in [(x.astype(complex), w, b), (x, w, b[:1]), (x, w[:, :1], b),
                 (x, w, b.astype(object)), (x[:, :1], w, b), (x, w, np.ones((2, 1), F32))]:
        fastconv.clear_caches()
        expected = _error(lambda args=args: fastconv.conv(*args))
        fastconv.conv(x, w, b)
        fastconv.conv(x, w, b)
        assert _error(lambda args=args: fastconv.conv(*args)) == expected
    y = fastconv.conv(x, w)
    g = np.ones(y.shape, F32)
    fastconv.conv_backward(g, x, w)
    fastconv.conv_backward(g, x, w)
    for args, kw in [((g[..., :-1], x, w), {}), ((g, x, w), {"needs": "bias!"}),
                     ((g, x, w), {"needs": ["input", "nope"]}), ((g.astype(complex), x, w), {})]:
        fastconv.clear_caches()
        expected = _error(lambda args=args, kw=kw: fastconv.conv_backward(*args, **kw))
        fastconv.conv_backward(g, x, w)
        fastconv.conv_backward(g, x, w)
        assert _error(lambda args=args, kw=kw: fastconv.conv_backward(*args, **kw)) == expected


@pytest.mark.parametrize("name, bad", [
    ("max_pool2d", dict(ceil_mode=0)), ("max_pool2d", dict(return_indices=1)),
    ("max_pool2d", dict(kernel_size=2.0)), ("max_pool2d", dict(stride=(True, 1))),
    ("max_pool2d", dict(padding=2)), ("avg_pool2d", dict(count_include_pad=1)),
    ("avg_pool2d", dict(divisor_override=0)), ("avg_pool2d", dict(divisor_override=True)),
    ("avg_pool2d", dict(kernel_size=(2, 2, 2))), ("avg_pool2d", dict(stride=2.5)),
])
def test_a_cached_pooling_does_not_skip_a_check(name, bad):
    x = np.ones((1, 1, 8, 8), F32)
    f = getattr(fastconv, name)
    generic = getattr(fastconv, name[:-2])
    kw = dict(kernel_size=2)
    fastconv.clear_caches()
    expected = _error(lambda: f(x, **{**kw, **bad}))
    for _ in range(2):
        f(x, **kw)
        f(x, 2)
        generic(x, 2)
    assert _error(lambda: f(x, **{**kw, **bad})) == expected
    assert _error(lambda: generic(x, **{**kw, **bad})) == _error(
        lambda: generic.__wrapped__(x, **{**kw, **bad}))


# ---------------------------------------------------------------- changed inputs

def _variants(a):
    """a's values in other layouts: strided, Fortran, read-only, big-endian, misaligned."""
    big = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), a.dtype)
    big[..., ::2] = a
    ro = a.copy()
    ro.flags.writeable = False
    raw = np.zeros(a.nbytes + 1, np.uint8)
    mis = np.frombuffer(raw.data, dtype=a.dtype, count=a.size, offset=1).reshape(a.shape)
    mis[...] = a
    assert not mis.flags.aligned
    return {"strided": big[..., ::2], "fortran": np.asfortranarray(a), "readonly": ro,
            "bigendian": a.astype(a.dtype.newbyteorder(">")), "misaligned": mis,
            "float64": a.astype(np.float64), "int32": np.round(a).astype(np.int32)}


@pytest.mark.parametrize("variant", ["strided", "fortran", "readonly", "bigendian", "misaligned",
                                     "float64", "int32"])
def test_same_shape_other_layout_or_dtype(variant):
    x, w, b = _arrays((2, 3, 8, 10), (4, 3, 3, 3))
    kw = dict(padding=1, stride=(1, 2))
    fastconv.clear_caches()
    for _ in range(2):       # recipes of the contiguous float32 calls
        fastconv.conv2d(x, w, b, **kw)
        fastconv.max_pool2d(x, 2)
        fastconv.max_pool2d(x, 3, 2, 1, return_indices=True)
        fastconv.avg_pool2d(x, 3, 1, 1)
        y = fastconv.conv2d(x, w, b, **kw)
        g = np.ones(y.shape, F32)
        fastconv.conv_backward(g, x, w, **kw)
    xv = _variants(x)[variant]
    wv = _variants(w)[variant]
    before = (xv.copy(), wv.copy())
    for _ in range(2):
        _same_bits(fastconv.conv2d(xv, wv, b, **kw), fastconv.conv.__wrapped__(xv, wv, b, **kw))
        _same_bits(fastconv.max_pool2d(xv, 2), fastconv.max_pool.__wrapped__(xv, 2))
        _same_bits(fastconv.max_pool2d(xv, 3, 2, 1, return_indices=True),
                   fastconv.max_pool.__wrapped__(xv, 3, 2, 1, return_indices=True))
        _same_bits(fastconv.avg_pool2d(xv, 3, 1, 1), fastconv.avg_pool.__wrapped__(xv, 3, 1, 1))
        _same_bits(fastconv.conv_backward(g, xv, wv, **kw),
                   fastconv.conv_backward.__wrapped__(g, xv, wv, **kw))
    # and the values: as the contiguous float32 call (exactly, for layouts)
    if variant not in ("float64", "int32"):
        _same_bits(fastconv.conv2d(xv, wv, b, **kw).astype(F32), fastconv.conv2d(x, w, b, **kw))
    np.testing.assert_array_equal(xv, before[0])
    np.testing.assert_array_equal(wv, before[1])


def test_results_are_fresh_arrays():
    x, w, _ = _arrays((1, 1, 8, 8), (1, 1, 3, 3))
    a = fastconv.conv2d(x, w, padding=1)
    b = fastconv.conv2d(x, w, padding=1)
    assert not np.shares_memory(a, b) and not np.shares_memory(a, x)
    a[...] = 0
    assert fastconv.conv2d(x, w, padding=1).tobytes() == b.tobytes()
    p = fastconv.max_pool2d(x, 2)
    assert not np.shares_memory(p, fastconv.max_pool2d(x, 2))


def test_out_takes_the_full_path():
    x, w, _ = _arrays((1, 2, 8, 8), (2, 2, 3, 3))
    fastconv.conv(x, w, padding=1)
    ref = fastconv.conv(x, w, padding=1)
    out = np.empty_like(ref)
    assert fastconv.conv(x, w, padding=1, out=out) is out
    _same_bits(out, ref)
    with pytest.raises(ValueError, match="read-only"):
        out.flags.writeable = False
        fastconv.conv(x, w, padding=1, out=out)
    # out=None explicitly: a recipe of its own
    _same_bits(fastconv.conv(x, w, padding=1, out=None), ref)


def test_settings_are_read_on_every_call():
    """A recipe holds the plan, not the settings: the thread count, the workspace
    limit (slabs) and Winograd are those of the moment."""
    x, w, _ = _arrays((1, 16, 40, 40), (16, 16, 3, 3))
    full = fastconv.conv.__wrapped__(x, w, padding=1)
    fastconv.conv(x, w, padding=1)
    limit, threads, wino = (fastconv.get_workspace_limit(), fastconv.get_num_threads(),
                            fastconv.get_winograd())
    try:
        fastconv.set_workspace_limit(1 << 20)        # slabs (a 128 KiB share)
        _same_bits(fastconv.conv(x, w, padding=1), fastconv.conv.__wrapped__(x, w, padding=1))
        fastconv.set_workspace_limit(limit)
        fastconv.set_num_threads(1)
        _same_bits(fastconv.conv(x, w, padding=1), full)
        fastconv.set_winograd(not wino)
        _same_bits(fastconv.conv(x, w, padding=1), fastconv.conv.__wrapped__(x, w, padding=1))
    finally:
        fastconv.set_workspace_limit(limit)
        fastconv.set_num_threads(threads)
        fastconv.set_winograd(wino)


def test_verbose_lines_on_hits(monkeypatch, capsys):
    from fastconv import _select
    x, w, _ = _arrays((1, 1, 8, 8), (1, 1, 3, 3))
    fastconv.conv2d(x, w, padding=1)
    monkeypatch.setattr(_select, "VERBOSE", True)
    fastconv.conv2d(x, w, padding=1)
    assert "fastconv_verbose,conv_forward" in capsys.readouterr().err


# ---------------------------------------------------------------- bounded, cleared

def test_recipes_are_bounded_and_cleared():
    fastconv.clear_caches()
    w = np.ones((1, 1, 3), F32)
    for n in range(3, 3 + 2 * _fastpath.MAX_RECIPES):
        x = np.ones((1, 1, n), F32)
        fastconv.conv1d(x, w)
        fastconv.max_pool1d(x, 2)
    assert len(RECIPES) == _fastpath.MAX_RECIPES
    # the newest are kept, and still right
    x = np.arange(2 + 2 * _fastpath.MAX_RECIPES, dtype=F32)[None, None]
    np.testing.assert_array_equal(fastconv.conv1d(x, w), fastconv.conv.__wrapped__(x, w))
    fastconv.clear_caches()
    assert len(RECIPES) == 0
    assert fastconv._caches.cache_info()["call recipes"] == (0, _fastpath.MAX_RECIPES)


def test_big_pooling_tables_get_no_recipe():
    from fastconv import pool
    x = np.ones((1, 1, 600), F32)
    fastconv.clear_caches()
    fastconv.max_pool1d(x, 2, 1)
    assert all(v is pool.FULL for v in RECIPES.values())
    np.testing.assert_array_equal(fastconv.max_pool1d(x, 2, 1), np.ones((1, 1, 599), F32))


def test_recipes_hold_no_data():
    import pickle
    fastconv.clear_caches()
    x = np.ones((1, 4, 200, 200), F32)
    w = np.ones((4, 4, 3, 3), F32)
    for _ in range(2):
        fastconv.conv2d(x, w)
        fastconv.max_pool2d(x, 2)
        y = fastconv.conv2d(x, w)
        fastconv.conv_backward(np.ones_like(y), x, w)
    assert len(pickle.dumps(list(RECIPES.items()))) < 64 << 10


# ---------------------------------------------------------------- keys

def test_freeze_tells_apart_what_hashes_alike():
    values = [1, True, 1.0, -0.0, 0.0, 0, False, None, "1", (1,), (True,), (1.0,), ((1, 1),),
              ((1, True),)]
    keys = [freeze(v) for v in values]
    for i, a in enumerate(keys):
        for j, b in enumerate(keys):
            assert (a == b) == (i == j), (values[i], values[j])
    for v in ([1], np.int64(1), np.float32(1), np.array(1), {1: 2}, (1, [2]), b"1"):
        assert freeze(v) is NO
    assert freeze((2, None, (1, 2))) == (2, None, (1, 2))
    assert freeze((2, True)) != freeze((2, 1))
    assert frozen_kwargs({"a": 1, "b": [1]}) is NO
    assert frozen_kwargs({"a": 1, "b": 2}, skip=("b",)) == ("a", 1)


def test_positional_misuse_still_raises():
    """The full path's helpers take more positionally than the public functions:
    a call the public signature refuses must not get through them."""
    x = np.ones((1, 1, 8, 8), F32)
    w = np.ones((1, 1, 3, 3), F32)
    for _ in range(2):
        with pytest.raises(TypeError):
            fastconv.max_pool(x, 2, None, 0, 1, False, False, 2)
        with pytest.raises(TypeError):
            fastconv.avg_pool(x, 2, None, 0, False, True, None, 2)
        with pytest.raises(TypeError):
            fastconv.conv(x, w, None, 1)
        with pytest.raises(TypeError):
            fastconv.conv_backward(x, x, w, 1)
        with pytest.raises(TypeError, match="unexpected keyword"):
            fastconv.conv(x, w, strides=1)
        with pytest.raises(TypeError, match="max_pool"):
            fastconv.max_pool(x, 2, bogus=1)


def test_a_first_call_that_fails_in_the_kernel_is_not_run_again():
    """Only a failed check sends a first call to the full path's error; an error from
    the kernel itself (MemoryError here, through the workspace fault injection; a SIGINT
    handler's exception likewise) propagates, and the call is not silently run again."""
    from fastconv import _conv_kernels as kern
    rng = np.random.default_rng(7)
    xd = rng.standard_normal((4, 32, 64, 64))
    wd = rng.standard_normal((32, 1, 3, 3))
    fastconv.clear_caches()
    kern._fail_allocation(0)
    try:
        with pytest.raises(MemoryError):
            fastconv.conv2d(xd, wd, padding=1, groups=32, padding_mode="reflect")
    finally:
        kern._fail_allocation(-1)
    want = fastconv.conv2d(xd, wd, padding=1, groups=32, padding_mode="reflect")
    assert np.array_equal(fastconv.conv2d(xd, wd, padding=1, groups=32,
                                          padding_mode="reflect"), want)

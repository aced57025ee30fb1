"""Forward convolution: oracle tests against the NumPy reference and PyTorch,
exact integer tests, property tests and a table of bad inputs."""

import functools
import random
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_array_equal
from reference import (
    NP_PAD_MODE,
    assert_conv_close,
    assert_unchanged,
    conv_ref,
    reduction_length,
    relayout,
    resolve_padding,
    snapshot,
    tolerance,
)

import fastconv
from fastconv import _conv_kernels

MODES = list(NP_PAD_MODE)  # every public mode name, aliases included
LAYOUTS = ["c", "c", "c", "fortran", "negative", "strided", "bigendian", "readonly", "misaligned"]
FIXED_RANK = {1: fastconv.conv1d, 2: fastconv.conv2d, 3: fastconv.conv3d}
# run under every instruction set, with each forward GEMM
oracle = pytest.mark.usefixtures("isa", "forward_kernel")


# --------------------------------------------------------------------------- helpers

def params_of(cfg):
    keys = ("stride", "padding", "dilation", "groups", "padding_mode", "flip")
    p = {k: cfg[k] for k in keys}
    if cfg["pad_value"] is not None:
        p["pad_value"] = cfg["pad_value"]
    return p


def ref_params(cfg):
    p = params_of(cfg)
    p.pop("pad_value", None)
    return p


# --------------------------------------------------------------------------- configurations

def _pick_pad(r, n):
    """A padding amount; sometimes wider than the input (n)."""
    return n + r.randint(0, 4) if r.random() < 0.25 else r.randint(0, 3)


def make_config(i):
    """Configuration number i, drawn from a seeded generator (reproducible)."""
    r = random.Random(7000 + i)
    nd = r.choice([1, 1, 2, 2, 2, 3])
    kind = r.choice(["plain", "plain", "grouped", "depthwise"])
    if kind == "plain":
        g, cg, mg = 1, r.randint(1, 4), r.randint(1, 4)
    elif kind == "grouped":
        g, cg, mg = r.randint(2, 3), r.randint(1, 3), r.randint(1, 3)
    else:
        g, cg, mg = r.randint(2, 4), 1, r.choice([1, 1, 2])
    kmax, nmax = {1: (5, 14), 2: (4, 8), 3: (3, 5)}[nd]
    kernel = [r.randint(1, kmax) for _ in range(nd)]
    dil = [r.choice([1, 1, 1, 2, 3]) for _ in range(nd)]
    strd = [r.choice([1, 1, 2, 3]) for _ in range(nd)]
    n = [r.randint(1, nmax) for _ in range(nd)]
    mode = r.choice(MODES)
    form = r.choice(["int", "perdim", "pairs", "pairs", "valid", "same", "same", "full"])
    if form == "int":
        p = _pick_pad(r, min(n))
        padding, pairs = p, [(p, p)] * nd
    elif form == "perdim":
        padding = tuple(_pick_pad(r, m) for m in n)
        pairs = [(p, p) for p in padding]
    elif form == "pairs":
        pairs = [(_pick_pad(r, m), _pick_pad(r, m)) for m in n]
        padding = tuple(pairs)
    else:
        padding, pairs = form, None
    if pairs is not None:
        # make the dilated kernel fit the padded input
        for a in range(nd):
            extent = dil[a] * (kernel[a] - 1) + 1
            if n[a] + sum(pairs[a]) < extent:
                n[a] = extent - sum(pairs[a]) + r.randint(0, 2)
    if form == "valid":
        n = [max(m, dil[a] * (kernel[a] - 1) + 1) for a, m in enumerate(n)]
    batch = r.choice([1, 2, 3, None])  # None: unbatched
    cfg = dict(
        index=i, nd=nd, x_shape=((batch,) if batch else ()) + (cg * g,) + tuple(n),
        w_shape=(mg * g, cg) + tuple(kernel),
        stride=strd[0] if r.random() < 0.5 and len(set(strd)) == 1 else tuple(strd),
        dilation=dil[0] if r.random() < 0.5 and len(set(dil)) == 1 else tuple(dil),
        padding=padding, groups=g, padding_mode=mode,
        pad_value=(r.choice([0.0, 1.5, -2.0]) if mode == "constant"
                   else r.choice([None, 0.0])),
        flip=r.random() < 0.3, bias=r.random() < 0.5,
        dtype=np.dtype([np.float32, np.float64][i % 2]),
        layout=r.choice(LAYOUTS), use_out=r.random() < 0.2,
    )
    return cfg


def cfg_id(cfg):
    return (f"{cfg['index']}-{cfg['nd']}d-{cfg['dtype'].name}-{cfg['padding_mode']}-"
            f"{cfg['layout']}")


N_CONFIGS = 220
CONFIGS = [make_config(i) for i in range(N_CONFIGS)]


@functools.cache
def float_case(i):
    """(x, w, b, reference, bound) of configuration i, random normal data."""
    cfg = CONFIGS[i]
    rng = np.random.default_rng(i)
    dt = cfg["dtype"]
    x = rng.standard_normal(cfg["x_shape"]).astype(dt)
    w = rng.standard_normal(cfg["w_shape"]).astype(dt)
    b = rng.standard_normal(cfg["w_shape"][0]).astype(dt) if cfg["bias"] else None
    pv = cfg["pad_value"] or 0.0
    ref = conv_ref(x, w, b, pad_value=pv, **ref_params(cfg))
    bound = tolerance(x, w, b, dtype=dt, pad_value=pv, **ref_params(cfg))
    return x, w, b, ref, bound


@functools.cache
def int_case(i):
    """(x, w, b, reference) of configuration i, small-integer data."""
    cfg = CONFIGS[i]
    rng = np.random.default_rng(10_000 + i)
    dt = cfg["dtype"]
    x = rng.integers(-8, 9, cfg["x_shape"]).astype(dt)
    w = rng.integers(-8, 9, cfg["w_shape"]).astype(dt)
    b = rng.integers(-8, 9, cfg["w_shape"][0]).astype(dt) if cfg["bias"] else None
    pv = -3.0 if cfg["padding_mode"] == "constant" else 0.0
    ref = conv_ref(x, w, b, pad_value=pv, **ref_params(cfg))
    return x, w, b, ref


def test_configurations_cover_the_space():
    """The drawn configurations really exercise every feature."""
    seen = {k: set() for k in ("nd", "padding_mode", "layout", "flip", "bias", "use_out")}
    forms = set()
    for c in CONFIGS:
        for k in seen:
            seen[k].add(c[k])
        p = c["padding"]
        forms.add(p if isinstance(p, str) else type(p).__name__ + (
            "-pairs" if isinstance(p, tuple) and isinstance(p[0], tuple) else ""))
    assert seen["nd"] == {1, 2, 3}
    assert seen["padding_mode"] == set(MODES)
    assert seen["layout"] == set(LAYOUTS)
    assert seen["flip"] == seen["bias"] == seen["use_out"] == {False, True}
    assert {"valid", "same", "full", "int", "tuple", "tuple-pairs"} <= forms
    assert any(c["groups"] > 1 and c["w_shape"][1] == 1 for c in CONFIGS)  # depthwise
    assert sum(len(c["x_shape"]) == c["nd"] + 1 for c in CONFIGS) > 10  # unbatched
    wide = [c for c in CONFIGS if not isinstance(c["padding"], str) and any(
        max(pair) > n for pair, n in zip(resolve_padding(c["padding"], c["x_shape"][-c["nd"]:],
                                                         c["w_shape"][2:], (1,) * c["nd"],
                                                         (1,) * c["nd"]), c["x_shape"][-c["nd"]:]))]
    assert len({c["padding_mode"] for c in wide}) == len(MODES)


# --------------------------------------------------------------------------- oracle tests

@oracle
@pytest.mark.parametrize("cfg", CONFIGS, ids=cfg_id)
def test_random_config_matches_reference(cfg):
    x0, w0, b0, ref, bound = float_case(cfg["index"])
    x, w = relayout(x0, cfg["layout"]), relayout(w0, cfg["layout"])
    b = None if b0 is None else relayout(b0, cfg["layout"])
    snaps = snapshot(x, w, b)
    params = params_of(cfg)
    y = fastconv.conv(x, w, b, **params)
    assert_unchanged((x, w, b), snaps)
    assert_conv_close(y, ref, bound, dtype=cfg["dtype"])
    assert y.flags.c_contiguous and y.flags.writeable
    # the fixed-rank entry point gives the same bits
    y2 = FIXED_RANK[cfg["nd"]](x, w, b, **params)
    assert_array_equal(y2, y)
    if cfg["use_out"]:
        # a non-contiguous out= (every second element of a bigger array)
        big = np.full(tuple(2 * s for s in y.shape), np.nan, y.dtype)
        out = big[(slice(None, None, 2),) * y.ndim]
        res = fastconv.conv(x, w, b, out=out, **params)
        assert res is out
        assert_array_equal(out, y)
        # the elements between are untouched
        assert np.isnan(big[(slice(1, None, 2),) * y.ndim]).all()
        out_c = np.empty_like(y)
        assert fastconv.conv(x, w, b, out=out_c, **params) is out_c
        assert_array_equal(out_c, y)
        assert_unchanged((x, w, b), snaps)


@oracle
@pytest.mark.parametrize("cfg", [c for c in CONFIGS
                                 if c["w_shape"][1] * np.prod(c["w_shape"][2:]) <= 4096][:120],
                         ids=cfg_id)
def test_small_integers_are_exact(cfg):
    x0, w0, b0, ref = int_case(cfg["index"])
    x, w = relayout(x0, cfg["layout"]), relayout(w0, cfg["layout"])
    b = None if b0 is None else relayout(b0, cfg["layout"])
    params = params_of(cfg)
    if cfg["padding_mode"] == "constant":
        params["pad_value"] = -3.0
    y = fastconv.conv(x, w, b, **params)
    assert y.dtype == cfg["dtype"]
    assert_array_equal(y, ref.astype(cfg["dtype"]))


@oracle
@pytest.mark.parametrize("shape, kernel, groups", [
    ((1, 64, 10, 10), (8, 8), 1),        # K = 64 * 64 = 4096, the limit of exactness
    ((2, 16, 40), (16,), 1),              # K = 256
    ((1, 12, 5, 5, 5), (3, 3, 3), 3),     # grouped 3-d, K = 108
])
def test_exact_extremes(shape, kernel, groups, dtype, rng):
    """All-extreme values |x| = |w| = 8 and random signs: still exact."""
    cin = shape[1]
    x = (8 * rng.choice([-1, 1], shape)).astype(dtype)
    w = (8 * rng.choice([-1, 1], (6, cin // groups) + kernel)).astype(dtype)
    w[0] = 8  # one channel with no cancellation at all: |y| = 64 K
    x[0] = 8
    b = rng.integers(-8, 9, 6).astype(dtype)
    y = fastconv.conv(x, w, b, groups=groups, padding="same")
    ref = conv_ref(x, w, b, groups=groups, padding="same")
    assert_array_equal(y, ref.astype(dtype))
    assert np.abs(y).max() >= 64 * reduction_length(w) // 4


@oracle
def test_larger_float32_problem_within_tolerance(rng):
    """A problem big enough to take several pixel tiles and register blocks."""
    x = rng.standard_normal((2, 24, 23, 29)).astype(np.float32)
    w = rng.standard_normal((37, 24, 3, 3)).astype(np.float32)
    b = rng.standard_normal(37).astype(np.float32)
    y = fastconv.conv2d(x, w, b, padding=1)
    assert_conv_close(y, conv_ref(x, w, b, padding=1),
                      tolerance(x, w, b, dtype=np.float32, padding=1), dtype=np.float32)


@oracle
@pytest.mark.parametrize("wshape", [(133, 70, 1, 1), (9, 70, 3, 2)])
def test_large_unpadded_image_within_tolerance(rng, wshape):
    """An image over 1 MiB read in place (the B rows are packed whole first);
    more than 128 output channels (several row passes) and several K blocks."""
    x = rng.standard_normal((1, 70, 61, 64)).astype(np.float32)
    w = rng.standard_normal(wshape).astype(np.float32)
    b = rng.standard_normal(wshape[0]).astype(np.float32)
    y = fastconv.conv2d(x, w, b)
    assert_conv_close(y, conv_ref(x, w, b), tolerance(x, w, b, dtype=np.float32),
                      dtype=np.float32)


@oracle
@pytest.mark.parametrize("xshape, wshape", [
    ((1, 300, 30, 31), (13, 300, 1, 1)),         # 2 K blocks, a partial last column block
    ((2, 40, 5, 30, 60), (7, 40, 1, 1, 1)),      # 3-d: tiles of each output plane
], ids=["2d", "3d"])
def test_streamed_1x1_exact(xshape, wshape, dtype):
    """A 1x1 layer over an image above 1 MiB, read in place K block by K block
    over whole tiles (gemm_stream), partial sums kept in the output: small
    integers, exact."""
    rng = np.random.default_rng(5)
    x = rng.integers(-4, 5, xshape).astype(dtype)
    w = rng.integers(-4, 5, wshape).astype(dtype)
    b = rng.integers(-4, 5, wshape[0]).astype(dtype)
    y = fastconv.conv(x, w, b)
    assert_array_equal(y, conv_ref(x, w, b).astype(dtype))


@oracle
def test_many_output_channels_padded_within_tolerance(rng):
    """Over 128 output channels written through the virtual grid (several row
    passes, masked stores at the row ends) with several K blocks."""
    x = rng.standard_normal((2, 20, 13, 21)).astype(np.float32)
    w = rng.standard_normal((133, 20, 3, 3)).astype(np.float32)
    b = rng.standard_normal(133).astype(np.float32)
    y = fastconv.conv2d(x, w, b, padding=(1, 2), stride=(1, 2))
    params = dict(padding=(1, 2), stride=(1, 2))
    assert_conv_close(y, conv_ref(x, w, b, **params),
                      tolerance(x, w, b, dtype=np.float32, **params), dtype=np.float32)


@oracle
@pytest.mark.parametrize("stride,mode", [((2, 2), "zeros"), ((1, 2), "reflect"),
                                         ((2, 2), "circular"), ((3, 2), "zeros")])
def test_strided_wide_rows_exact(stride, mode):
    """Stride-2 phases of rows long enough for the vector deinterleave, small
    integers: exact."""
    rng = np.random.default_rng(8)
    x = rng.integers(-4, 5, (2, 3, 7, 83)).astype(np.float32)
    w = rng.integers(-4, 5, (4, 3, 3, 5)).astype(np.float32)
    y = fastconv.conv2d(x, w, stride=stride, padding=(1, 2), padding_mode=mode)
    ref = conv_ref(x, w, stride=stride, padding=(1, 2), padding_mode=mode)
    assert_array_equal(y, ref.astype(np.float32))


@oracle
@pytest.mark.parametrize("xshape, wshape, kw", [
    ((1, 3, 2, 5), (33, 3, 3, 3), dict(padding=1)),            # fewer positions than a block
    ((2, 70, 9, 13), (70, 70, 3, 3), dict(padding=1)),         # 3 channel blocks, K blocks
    ((1, 4, 3, 40), (5, 4, 1, 1), dict(stride=(1, 2))),        # strided 1x1: no virtual columns
    ((2, 7, 50), (40, 7, 5), dict(padding=2, dilation=3)),     # 1-d, the last block overlaps
    ((1, 3, 4, 5, 6), (36, 3, 3, 3, 3), dict(padding=1)),      # 3-d, one plane per tile
    ((1, 4, 11, 12), (64, 2, 3, 3), dict(padding=(2, 1), groups=2, stride=2)),
    ((1, 5, 9, 30), (40, 5, 3, 3), dict(padding=2, dilation=2)),  # taps in threes 2 apart
    ((1, 3, 5, 40), (32, 3, 2, 6), dict(padding=(1, 3))),         # two threes per row
], ids=["tiny", "blocks", "1x1-strided", "1d", "3d", "grouped-strided", "dilated", "kw6"])
def test_forward_blocks_exact(xshape, wshape, kw, dtype):
    """Small integers through every block edge of both forward GEMMs (partial
    channel blocks, K blocks, positions fewer than a block or overlapping the
    previous one, grids with and without virtual columns, taps one at a time
    or in threes): exact."""
    rng = np.random.default_rng(11)
    x = rng.integers(-4, 5, xshape).astype(dtype)
    w = rng.integers(-4, 5, wshape).astype(dtype)
    b = rng.integers(-4, 5, wshape[0]).astype(dtype)
    y = fastconv.conv(x, w, b, **kw)
    assert_array_equal(y, conv_ref(x, w, b, **kw).astype(dtype))


@pytest.mark.usefixtures("isa", "forward_kernel")
@pytest.mark.parametrize("width", [1, 7, 8, 15, 16, 17, 33, 56, 63, 64, 100, 127, 128, 129,
                                   200, 257])
@pytest.mark.parametrize("kw", [dict(padding=1), dict(padding=(0, 3), dilation=(1, 2)),
                                dict(padding=2, dilation=2),
                                dict(padding=(2, 1), stride=(2, 1), dilation=(2, 1)),
                                dict(padding=1, stride=2), dict(padding=(1, 4), stride=3),
                                dict(padding=(2, 3), stride=(1, 2), dilation=(1, 3))],
                         ids=["same", "dilated-w", "dilated", "row-step-2", "stride-2",
                              "stride-3", "stride-2-dilated"])
def test_depthwise_row_widths_exact(width, kw, dtype):
    """The depthwise row kernels compute up to 8 vectors of a row at once, the
    last one partial, and two rows at once where the row step equals the
    dilation along H, from column phases of the padded plane when strided; the
    virtual-grid kernel runs over whole planes, storing only real outputs.
    Every number of vectors and of lanes in the last, one chunk or several, an
    odd row left over, strides 1-3 along the row, against the reference on small
    integers (exact)."""
    rng = np.random.default_rng(width)
    x = rng.integers(-4, 5, (2, 3, 7, width)).astype(dtype)
    w = rng.integers(-4, 5, (6, 1, 3, 3)).astype(dtype)
    b = rng.integers(-4, 5, 6).astype(dtype)
    y = fastconv.conv2d(x, w, b, groups=3, **kw)
    assert_array_equal(y, conv_ref(x, w, b, groups=3, **kw).astype(dtype))


DEPTHWISE_KERNELS = ("rows", "vgrid", "inplace")


def _each_depthwise_kernel(f):
    """{kernel: f()} with each depthwise forward forced in turn."""
    out = {}
    for kernel in DEPTHWISE_KERNELS:
        _conv_kernels.set_depthwise_kernel(kernel)
        try:
            out[kernel] = f()
        finally:
            _conv_kernels.set_depthwise_kernel("auto")
    return out


@pytest.mark.usefixtures("isa")
@pytest.mark.parametrize("height", [1, 3, 6])
@pytest.mark.parametrize("width", [1, 2, 7, 15, 16, 17, 31, 33, 56, 97, 129])
@pytest.mark.parametrize("stride", [1, 2, (1, 2), (2, 1)], ids=["s1", "s2", "s1x2", "s2x1"])
@pytest.mark.parametrize("padding", [1, ((1, 0), (1, 0)), ((1, 2), (1, 3))],
                         ids=["same", "lo-only", "wide-hi"])
def test_depthwise_in_place_3x3_bits(height, width, stride, padding, dtype):
    """3x3 depthwise layers at stride 1 or 2 with one element of zero padding
    before each axis read their planes in place (dw_forward3), the padding
    coming in as zero lanes: every width (chunks of several vectors, a partial
    last vector, the element after a full one; at stride 2 even and odd lanes of
    two loads), odd heights (a row left alone), rows and columns past the plane
    read as padding, two outputs per group.  It adds the products of the row and
    virtual-grid kernels on the padded plane in the same order, so on random
    floats all three give the same bits, inside the bound."""
    if padding == ((1, 0), (1, 0)):
        height, width = height + 1, width + 1   # a 3-tap kernel needs 2 + 1 padding
    rng = np.random.default_rng(100 * height + width)
    x = rng.standard_normal((2, 4, height, width)).astype(dtype)
    w = rng.standard_normal((8, 1, 3, 3)).astype(dtype)
    b = rng.standard_normal(8).astype(dtype)
    kw = dict(groups=4, padding=padding, stride=stride)
    ys = _each_depthwise_kernel(lambda: fastconv.conv2d(x, w, b, **kw))
    assert_array_equal(ys["inplace"], ys["rows"])
    assert_array_equal(ys["inplace"], ys["vgrid"])
    assert_conv_close(ys["inplace"], conv_ref(x, w, b, **kw),
                      tolerance(x, w, b, dtype=dtype, **kw), dtype=dtype)


@pytest.mark.usefixtures("isa")
@pytest.mark.parametrize("mode, value", [("zeros", 0.0), ("constant", 0.0), ("constant", -0.0),
                                         ("constant", 2.5), ("replicate", 0.0),
                                         ("reflect", 0.0)])
def test_depthwise_in_place_padding_modes_same_bits(mode, value):
    """Only zero padding (+0.0) is read in place; other values and modes pad the
    plane first.  Either way the kernels agree bit for bit: with pad -0.0, sums
    of +-0 keep the sign that the padded products give them."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((1, 3, 5, 40)).astype(np.float32)
    x[0, 1] = 0.0
    w = rng.standard_normal((3, 1, 3, 3)).astype(np.float32)
    kw = dict(groups=3, padding=1, padding_mode=mode, pad_value=value)
    ys = _each_depthwise_kernel(lambda: fastconv.conv2d(x, w, **kw))
    for kernel in DEPTHWISE_KERNELS:
        assert_array_equal(np.signbit(ys[kernel]), np.signbit(ys["rows"]))
        assert_array_equal(ys[kernel], ys["rows"])
    assert_conv_close(ys["inplace"], conv_ref(x, w, **kw),
                      tolerance(x, w, dtype=np.float32, **kw), dtype=np.float32)


@pytest.mark.usefixtures("isa")
def test_depthwise_in_place_padding_times_inf_is_nan():
    """An infinite weight times the zero padding is NaN in the direct sum, and
    in the in-place kernel too: its zeros are real lanes, not skipped taps."""
    x = np.ones((1, 2, 4, 20), np.float32)
    w = np.zeros((2, 1, 3, 3), np.float32)
    w[:, 0, 0, 0] = np.inf   # the tap above and left: padding for row 0 and column 0
    ys = _each_depthwise_kernel(lambda: fastconv.conv2d(x, w, groups=2, padding=1))
    expect = np.full((1, 2, 4, 20), np.inf, np.float32)
    expect[:, :, 0, :] = np.nan
    expect[:, :, :, 0] = np.nan
    for kernel in DEPTHWISE_KERNELS:
        assert_array_equal(ys[kernel], expect)


@pytest.mark.parametrize("setter, kinds", [
    (_conv_kernels.set_forward_kernel, "'auto', 'rows', 'bcast', 'direct', 'winograd'"),
    (_conv_kernels.set_depthwise_kernel, "'auto', 'rows', 'vgrid', 'inplace'"),
])
def test_kernel_switches_reject_unknown_names(setter, kinds):
    with pytest.raises(ValueError, match=f"one of {kinds}, got 'tiles'"):
        setter("tiles")
    setter("auto")


def test_cancellation_needs_the_absolute_bound(rng):
    """Results near zero from large cancelling terms are judged by S, not by |ref|."""
    x = np.full((1, 1, 64), 1e4, np.float32) + rng.standard_normal((1, 1, 64)).astype(np.float32)
    w = np.array([[[1.0, -1.0]]], np.float32)
    y = fastconv.conv(x, w)
    ref = conv_ref(x, w)
    assert_conv_close(y, ref, tolerance(x, w, dtype=np.float32))


@pytest.mark.parametrize("xdt, wdt, bdt, expected", [
    (np.float32, np.float32, None, np.float32),
    (np.float32, np.float64, None, np.float64),
    (np.float32, np.float32, np.float64, np.float64),
    (np.float16, np.float16, None, np.float32),
    (np.float16, np.float32, np.float16, np.float32),
    (np.int8, np.int8, None, np.float32),
    (np.int16, np.float32, None, np.float32),
    (np.uint8, np.uint8, np.int8, np.float32),
    (np.int32, np.float32, None, np.float64),
    (np.int64, np.int64, None, np.float64),
    (np.uint64, np.float32, None, np.float64),
    (np.bool_, np.bool_, None, np.float32),
    (np.bool_, np.float64, None, np.float64),
])
def test_dtype_promotion(xdt, wdt, bdt, expected, rng):
    def make(shape, dt):
        if np.dtype(dt).kind == "b":
            return rng.integers(0, 2, shape).astype(dt)
        if np.dtype(dt).kind == "u":
            return rng.integers(0, 5, shape).astype(dt)
        return rng.integers(-4, 5, shape).astype(dt)

    x, w = make((2, 3, 9), xdt), make((4, 3, 3), wdt)
    b = None if bdt is None else make(4, bdt)
    y = fastconv.conv(x, w, b, padding=1)
    assert y.dtype == np.dtype(expected)
    assert_array_equal(y, conv_ref(x, w, b, padding=1).astype(expected))


def test_array_likes_are_accepted():
    x = [[[1, 2, 3, 4]]]
    w = [[[1, -1]]]
    y = fastconv.conv(x, w, [0.5])
    assert y.dtype == np.float64  # Python ints are int64
    assert_array_equal(y, [[[-0.5, -0.5, -0.5]]])
    y = fastconv.conv(np.arange(4.0, dtype=np.float32)[None], np.ones((1, 1, 2), np.float32),
                      stride=np.int64(2), padding=(np.int32(1),), dilation=(np.uint8(1),),
                      groups=np.int16(1))
    assert_array_equal(y, [[0.0, 3.0, 3.0]])


def test_docstring_examples():
    x = np.arange(5.0).reshape(1, 1, 5)
    w = np.array([[[1.0, 0.0, -1.0]]])
    assert_array_equal(fastconv.conv(x, w), [[[-2.0, -2.0, -2.0]]])
    assert_array_equal(fastconv.conv(x, w, flip=True), [[[2.0, 2.0, 2.0]]])
    assert_array_equal(fastconv.conv(x, w, padding="same", padding_mode="replicate"),
                       [[[-1.0, -2.0, -2.0, -2.0, -1.0]]])


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_empty_batch(nd, dtype):
    x = np.zeros((0, 2) + (5,) * nd, dtype)
    w = np.ones((3, 2) + (2,) * nd, dtype)
    y = fastconv.conv(x, w, np.ones(3, dtype), padding=1, stride=2)
    assert y.shape == (0, 3) + (3,) * nd and y.dtype == dtype
    out = np.empty((0, 3) + (3,) * nd, dtype)
    assert fastconv.conv(x, w, padding=1, stride=2, out=out) is out


def test_zero_output_channels():
    """C_out = 0: an empty result, or a ValueError that says what is wrong."""
    x = np.ones((1, 2, 5))
    w = np.ones((0, 2, 3))
    try:
        y = fastconv.conv(x, w)
    except ValueError as exc:
        assert re.search("weight|channel|C_out", str(exc)), f"unhelpful message: {exc}"
    else:
        assert y.shape == (1, 0, 3)


def test_zero_input_channels():
    """C_in = 0: an empty sum (the bias), or a ValueError that names the channels."""
    x = np.ones((2, 0, 5))
    w = np.ones((3, 0, 3))
    b = np.array([1.0, 2.0, 3.0])
    try:
        y = fastconv.conv(x, w, b)
    except ValueError as exc:
        assert re.search("weight|channel|C_in", str(exc)), f"unhelpful message: {exc}"
    else:
        assert_array_equal(y, np.broadcast_to(b[None, :, None], (2, 3, 3)))


@oracle
def test_out_overlapping_an_input(dtype):
    """out= that shares memory with the input: the result is as if computed first."""
    buf = np.arange(2 * 3 * 8, dtype=dtype).reshape(2, 3, 8) % 7 - 3
    w = (np.arange(3 * 3 * 3, dtype=dtype).reshape(3, 3, 3) % 5) - 2
    expected = conv_ref(buf, w, padding="same").astype(dtype)
    res = fastconv.conv(buf, w, padding="same", out=buf)
    assert res is buf
    assert_array_equal(buf, expected)


def test_unbatched_equals_batched(dtype, rng):
    x = rng.standard_normal((3, 6, 7)).astype(dtype)
    w = rng.standard_normal((4, 3, 2, 3)).astype(dtype)
    y = fastconv.conv(x, w, padding="same", stride=2)
    assert y.shape == (4, 3, 4)
    assert_array_equal(y, fastconv.conv(x[None], w, padding="same", stride=2)[0])


def test_padding_string_case_and_pad_value_types():
    x = np.arange(6.0).reshape(1, 1, 6)
    w = np.ones((1, 1, 3))
    assert_array_equal(fastconv.conv(x, w, padding="SAME"), fastconv.conv(x, w, padding="same"))
    y = fastconv.conv(x, w, padding=1, padding_mode="constant", pad_value=np.float32(2))
    assert_array_equal(y, conv_ref(x, w, padding=1, padding_mode="constant", pad_value=2.0))
    y = fastconv.conv(x, w, padding=1, padding_mode="constant", pad_value=3)
    assert y[0, 0, 0] == 3 + 0 + 1


# --------------------------------------------------------------------------- PyTorch oracle

TORCH_CASES = [
    # (x_shape, w_shape, dict(stride, padding, dilation, groups), mode)
    ((2, 3, 17), (4, 3, 5), dict(stride=1, padding=2, dilation=1, groups=1), "zeros"),
    ((2, 4, 17), (6, 2, 3), dict(stride=2, padding=1, dilation=2, groups=2), "zeros"),
    ((1, 3, 16), (3, 1, 4), dict(stride=1, padding="same", dilation=1, groups=3), "zeros"),
    ((1, 3, 16), (5, 3, 4), dict(stride=1, padding="same", dilation=3, groups=1), "zeros"),
    ((2, 3, 12), (2, 3, 3), dict(stride=1, padding=2, dilation=1, groups=1), "reflect"),
    ((2, 3, 12), (2, 3, 3), dict(stride=3, padding=4, dilation=2, groups=1), "replicate"),
    ((2, 3, 12), (2, 3, 3), dict(stride=1, padding=5, dilation=1, groups=1), "circular"),
    ((2, 3, 9, 11), (4, 3, 3, 3), dict(stride=1, padding=1, dilation=1, groups=1), "zeros"),
    ((2, 3, 9, 11), (4, 3, 3, 2), dict(stride=1, padding="same", dilation=1, groups=1), "zeros"),
    ((1, 4, 9, 11), (4, 1, 3, 3), dict(stride=2, padding=(1, 2), dilation=1, groups=4), "zeros"),
    ((1, 4, 9, 11), (6, 2, 2, 3), dict(stride=(2, 1), padding=(0, 1), dilation=(2, 1),
                                       groups=2), "zeros"),
    ((2, 3, 9, 11), (4, 3, 3, 3), dict(stride=1, padding=(2, 3), dilation=1, groups=1),
     "reflect"),
    ((2, 3, 9, 11), (4, 3, 3, 3), dict(stride=2, padding=(3, 1), dilation=(1, 2), groups=1),
     "replicate"),
    ((2, 3, 9, 11), (4, 3, 3, 3), dict(stride=1, padding=(4, 4), dilation=1, groups=1),
     "circular"),
    ((1, 2, 7, 30, 30), (3, 2, 3, 3, 3), dict(stride=1, padding=1, dilation=1, groups=1),
     "zeros"),
    ((1, 4, 6, 7, 8), (4, 2, 2, 3, 2), dict(stride=(1, 2, 3), padding=(1, 0, 2),
                                         dilation=(2, 1, 1), groups=2), "zeros"),
    ((1, 2, 6, 7, 8), (3, 2, 3, 3, 3), dict(stride=1, padding="same", dilation=1, groups=1),
     "zeros"),
    ((1, 2, 6, 7, 8), (3, 2, 3, 3, 3), dict(stride=1, padding=(1, 2, 2), dilation=1,
                                         groups=1), "reflect"),
    ((1, 2, 6, 7, 8), (3, 2, 3, 3, 3), dict(stride=2, padding=2, dilation=1, groups=1),
     "circular"),
]


def _torch_conv(torch, x, w, b, p, mode):
    import torch.nn.functional as F
    nd = w.ndim - 2
    conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[nd]
    tx, tw = torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.ascontiguousarray(w))
    tb = None if b is None else torch.from_numpy(b)
    pad = p["padding"]
    if mode == "zeros":
        return conv(tx, tw, tb, stride=p["stride"], padding=pad, dilation=p["dilation"],
                    groups=p["groups"]).numpy()
    pads = (pad,) * nd if isinstance(pad, int) else pad
    flat = []
    for q in reversed(pads):  # F.pad lists the last axis first
        flat += [q, q]
    tx = F.pad(tx, flat, mode=mode)
    return conv(tx, tw, tb, stride=p["stride"], padding=0, dilation=p["dilation"],
                groups=p["groups"]).numpy()


@oracle
@pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")
@pytest.mark.parametrize("case", range(len(TORCH_CASES)))
def test_matches_torch(case, dtype, torch):
    x_shape, w_shape, p, mode = TORCH_CASES[case]
    rng = np.random.default_rng(case)
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0]) if case % 3 else None
    t64 = _torch_conv(torch, x, w, b, p, mode)
    y = fastconv.conv(x.astype(dtype), w.astype(dtype), None if b is None else b.astype(dtype),
                      padding_mode=mode, **p)
    assert y.shape == t64.shape
    if dtype == np.float32:
        x, w = x.astype(np.float32), w.astype(np.float32)
        b = None if b is None else b.astype(np.float32)
        t64 = _torch_conv(torch, x.astype(np.float64), w.astype(np.float64),
                          None if b is None else b.astype(np.float64), p, mode)
    bound = tolerance(x, w, b, dtype=dtype, padding_mode=mode, **p)
    # torch's float64 result has its own rounding error of the same size as ours
    if dtype == np.float64:
        bound = 2 * bound
    assert_conv_close(y, t64, bound, dtype=dtype)
    if dtype == np.float32:
        t32 = _torch_conv(torch, x, w, b, p, mode)
        assert_conv_close(y, t32, 2 * bound)


# --------------------------------------------------------------------------- properties

@st.composite
def small_problem(draw):
    nd = draw(st.integers(1, 3))
    g = draw(st.integers(1, 3))
    cg = draw(st.integers(1, 3))
    mg = draw(st.integers(1, 3))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    mode = draw(st.sampled_from(MODES))
    padding = draw(st.one_of(
        st.sampled_from(["valid", "same", "full"]),
        st.integers(0, 4),
        st.tuples(*[st.tuples(st.integers(0, 6), st.integers(0, 6)) for _ in range(nd)])))
    pairs = resolve_padding(padding, (1,) * nd, kernel, stride, dilation)
    n = []
    for a in range(nd):
        extent = dilation[a] * (kernel[a] - 1) + 1
        lo_n = 1 if isinstance(padding, str) and padding != "valid" else max(
            1, extent - sum(pairs[a]))
        n.append(draw(st.integers(lo_n, lo_n + 5)))
    batch = draw(st.integers(1, 2))
    return dict(x_shape=(batch, g * cg) + tuple(n), w_shape=(g * mg, cg) + kernel,
                params=dict(stride=stride, dilation=dilation, padding=padding, groups=g,
                            padding_mode=mode, flip=draw(st.booleans())),
                bias=draw(st.booleans()), seed=draw(st.integers(0, 2**31)))


@settings(max_examples=60, deadline=None)
@given(small_problem(), st.sampled_from([np.float32, np.float64]))
def test_property_matches_reference(prob, dt):
    rng = np.random.default_rng(prob["seed"])
    x = rng.standard_normal(prob["x_shape"]).astype(dt)
    w = rng.standard_normal(prob["w_shape"]).astype(dt)
    b = rng.standard_normal(prob["w_shape"][0]).astype(dt) if prob["bias"] else None
    y = fastconv.conv(x, w, b, **prob["params"])
    assert_conv_close(y, conv_ref(x, w, b, **prob["params"]),
                      tolerance(x, w, b, dtype=dt, **prob["params"]), dtype=dt)


@settings(max_examples=40, deadline=None)
@given(small_problem(), st.integers(-3, 3), st.integers(-3, 3))
def test_property_linearity_exact(prob, a, c):
    rng = np.random.default_rng(prob["seed"])
    x1 = rng.integers(-4, 5, prob["x_shape"]).astype(np.float32)
    x2 = rng.integers(-4, 5, prob["x_shape"]).astype(np.float32)
    w = rng.integers(-4, 5, prob["w_shape"]).astype(np.float32)
    p = prob["params"]
    lhs = fastconv.conv(a * x1 + c * x2, w, **p)
    rhs = a * fastconv.conv(x1, w, **p) + c * fastconv.conv(x2, w, **p)
    assert_array_equal(lhs, rhs)
    # and linear in the weight
    w2 = rng.integers(-4, 5, prob["w_shape"]).astype(np.float32)
    assert_array_equal(fastconv.conv(x1, a * w + c * w2, **p),
                       a * fastconv.conv(x1, w, **p) + c * fastconv.conv(x1, w2, **p))


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 3).flatmap(lambda nd: st.tuples(
    st.lists(st.integers(1, 12), min_size=nd, max_size=nd),
    st.lists(st.integers(1, 5), min_size=nd, max_size=nd),
    st.lists(st.integers(1, 4), min_size=nd, max_size=nd),
    st.lists(st.integers(1, 3), min_size=nd, max_size=nd))))
def test_property_same_gives_ceil(shapes):
    n, k, s, d = shapes
    nd = len(n)
    x = np.ones((1, 1) + tuple(n), np.float32)
    w = np.ones((1, 1) + tuple(k), np.float32)
    y = fastconv.conv(x, w, padding="same", stride=tuple(s), dilation=tuple(d))
    assert y.shape[2:] == tuple(-(-a // b) for a, b in zip(n, s))
    y_full = fastconv.conv(x, w, padding="full", dilation=tuple(d))
    assert y_full.shape[2:] == tuple(a + e * (b - 1) for a, b, e in zip(n, k, d))
    assert nd == y.ndim - 2


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-8, 8), min_size=1, max_size=40),
       st.lists(st.integers(-8, 8), min_size=1, max_size=12))
def test_property_full_flip_is_numpy_convolve(xs, ws):
    expected = np.convolve(np.array(xs, np.float64), np.array(ws, np.float64), mode="full")
    for dt in (np.float32, np.float64):
        x = np.array(xs, dt)[None, None]
        w = np.array(ws, dt)[None, None]
        y = fastconv.conv(x, w, padding="full", flip=True)
        assert_array_equal(y[0, 0], expected.astype(dt))
        # and cross-correlation is np.correlate
        yc = fastconv.conv(x, w, padding="full")
        assert_array_equal(yc[0, 0], np.correlate(np.array(xs, float), np.array(ws, float),
                                                  mode="full"))


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 9), st.integers(1, 9), st.integers(1, 5), st.integers(1, 5),
       st.integers(0, 2**31))
def test_property_full_flip_is_scipy_convolve_2d(h, wd, kh, kw, seed):
    signal = pytest.importorskip("scipy.signal")
    rng = np.random.default_rng(seed)
    x = rng.integers(-8, 9, (h, wd)).astype(np.float64)
    k = rng.integers(-8, 9, (kh, kw)).astype(np.float64)
    y = fastconv.conv(x[None, None], k[None, None], padding="full", flip=True)
    assert_array_equal(y[0, 0], signal.convolve(x, k, mode="full", method="direct"))
    if h >= kh and wd >= kw:
        yv = fastconv.conv(x[None, None], k[None, None], padding="valid")
        assert_array_equal(yv[0, 0], signal.correlate(x, k, mode="valid", method="direct"))


# --------------------------------------------------------------------------- bad inputs

def _x(shape=(1, 2, 6)):
    return np.ones(shape, np.float32)


def _w(shape=(3, 2, 3)):
    return np.ones(shape, np.float32)


BAD = [
    # id, (x, weight, bias), kwargs, exception, match
    ("channels", (_x((1, 3, 6)), _w(), None), {}, ValueError, "channels"),
    ("groups-0", (_x(), _w(), None), dict(groups=0), ValueError, "groups"),
    ("groups-neg", (_x(), _w(), None), dict(groups=-2), ValueError, "groups"),
    ("groups-not-dividing-cin", (_x((1, 3, 6)), _w((2, 1, 3)), None), dict(groups=2),
     ValueError, "groups"),
    ("groups-not-dividing-cout", (_x((1, 4, 6)), _w((3, 2, 3)), None), dict(groups=2),
     ValueError, "groups"),
    ("groups-float", (_x(), _w(), None), dict(groups=1.5), TypeError, "groups"),
    ("groups-bool", (_x(), _w(), None), dict(groups=True), TypeError, "groups"),
    ("groups-none", (_x(), _w(), None), dict(groups=None), TypeError, "groups"),
    ("weight-rank-2", (_x(), _w((3, 2)), None), {}, ValueError, "weight"),
    ("weight-rank-6", (_x(), _w((3, 2, 1, 1, 1, 1)), None), {}, ValueError, "weight"),
    ("x-rank-too-high", (_x((1, 1, 2, 6)), _w(), None), {}, ValueError, "x"),
    ("x-rank-too-low", (_x((6,)), _w(), None), {}, ValueError, "x"),
    ("x-rank-vs-2d-weight", (_x(), _w((3, 2, 3, 3)), None), {}, ValueError, "x"),
    ("bias-shape", (_x(), _w(), np.ones(2, np.float32)), {}, ValueError, "bias"),
    ("bias-2d", (_x(), _w(), np.ones((3, 1), np.float32)), {}, ValueError, "bias"),
    ("kernel-too-big", (_x((1, 2, 4)), _w((3, 2, 5)), None), {}, ValueError, "kernel"),
    ("dilated-kernel-too-big", (_x((1, 2, 6)), _w(), None), dict(dilation=3),
     ValueError, "kernel"),
    ("zero-spatial", (_x((1, 2, 0)), _w(), None), {}, ValueError, "x"),
    ("zero-spatial-2d", (_x((1, 2, 5, 0)), _w((3, 2, 1, 1)), None), dict(padding=1),
     ValueError, "x"),
    ("zero-kernel", (_x(), _w((3, 2, 0)), None), {}, ValueError, "weight"),
    ("stride-0", (_x(), _w(), None), dict(stride=0), ValueError, "stride"),
    ("stride-neg", (_x(), _w(), None), dict(stride=-1), ValueError, "stride"),
    ("stride-tuple-0", (_x((1, 2, 6, 6)), _w((3, 2, 3, 3)), None), dict(stride=(1, 0)),
     ValueError, "stride"),
    ("dilation-0", (_x(), _w(), None), dict(dilation=0), ValueError, "dilation"),
    ("dilation-neg", (_x(), _w(), None), dict(dilation=-2), ValueError, "dilation"),
    ("padding-neg", (_x(), _w(), None), dict(padding=-1), ValueError, "padding"),
    ("padding-pair-neg", (_x(), _w(), None), dict(padding=((0, -1),)), ValueError, "padding"),
    ("stride-len", (_x((1, 2, 6, 6)), _w((3, 2, 3, 3)), None), dict(stride=(1, 1, 1)),
     ValueError, "stride"),
    ("stride-empty", (_x(), _w(), None), dict(stride=()), ValueError, "stride"),
    ("dilation-len", (_x((1, 2, 6, 6)), _w((3, 2, 3, 3)), None), dict(dilation=(1,)),
     ValueError, "dilation"),
    ("padding-len", (_x((1, 2, 6, 6)), _w((3, 2, 3, 3)), None), dict(padding=(1, 1, 1)),
     ValueError, "padding"),
    ("padding-empty", (_x(), _w(), None), dict(padding=()), ValueError, "padding"),
    ("padding-pair-len", (_x(), _w(), None), dict(padding=((1, 1, 1),)), ValueError, "padding"),
    ("padding-pair-empty", (_x(), _w(), None), dict(padding=((),)), ValueError, "padding"),
    ("stride-float", (_x(), _w(), None), dict(stride=1.5), TypeError, "stride"),
    ("stride-str", (_x(), _w(), None), dict(stride="2"), TypeError, "stride"),
    ("stride-bool", (_x(), _w(), None), dict(stride=True), TypeError, "stride"),
    ("stride-none", (_x(), _w(), None), dict(stride=None), TypeError, "stride"),
    ("stride-tuple-float", (_x(), _w(), None), dict(stride=(1.0,)), TypeError, "stride"),
    ("dilation-float", (_x(), _w(), None), dict(dilation=1.5), TypeError, "dilation"),
    ("dilation-str", (_x(), _w(), None), dict(dilation="2"), TypeError, "dilation"),
    ("dilation-bool", (_x(), _w(), None), dict(dilation=True), TypeError, "dilation"),
    ("dilation-none", (_x(), _w(), None), dict(dilation=None), TypeError, "dilation"),
    ("padding-float", (_x(), _w(), None), dict(padding=1.5), TypeError, "padding"),
    ("padding-bool", (_x(), _w(), None), dict(padding=True), TypeError, "padding"),
    ("padding-none", (_x(), _w(), None), dict(padding=None), TypeError, "padding"),
    ("padding-pair-float", (_x(), _w(), None), dict(padding=((1, 0.5),)), TypeError, "padding"),
    ("padding-str-int", (_x(), _w(), None), dict(padding="2"), ValueError, "padding"),
    ("padding-unknown", (_x(), _w(), None), dict(padding="half"), ValueError, "padding"),
    ("padding-bytes", (_x(), _w(), None), dict(padding=b"same"), TypeError, "padding"),
    ("mode-unknown", (_x(), _w(), None), dict(padding=1, padding_mode="mirror"),
     ValueError, "padding_mode"),
    ("mode-none", (_x(), _w(), None), dict(padding_mode=None), TypeError, "padding_mode"),
    ("pad-value-with-reflect", (_x(), _w(), None),
     dict(padding=1, padding_mode="reflect", pad_value=1.0), ValueError, "pad_value"),
    ("pad-value-with-zeros", (_x(), _w(), None), dict(padding=1, pad_value=2.0),
     ValueError, "pad_value"),
    ("pad-value-str", (_x(), _w(), None), dict(padding_mode="constant", pad_value="1"),
     TypeError, "pad_value"),
    ("pad-value-nan", (_x(), _w(), None), dict(padding_mode="constant", pad_value=float("nan")),
     ValueError, "pad_value"),
    ("flip-str", (_x(), _w(), None), dict(flip="yes"), TypeError, "flip"),
    ("flip-none", (_x(), _w(), None), dict(flip=None), TypeError, "flip"),
    ("x-none", (None, _w(), None), {}, TypeError, "x"),
    ("x-scalar", (np.float32(1.0), _w(), None), {}, ValueError, "x"),
    ("bias-scalar", (_x(), _w(), np.float32(1.0)), {}, ValueError, "bias"),
    ("weight-none", (_x(), None, None), {}, TypeError, "weight"),
    ("x-object", (object(), _w(), None), {}, TypeError, "x"),
    ("x-object-dtype", (np.ones((1, 2, 6), object), _w(), None), {}, TypeError, "x"),
    ("x-ragged", ([[[1, 2], [3]]], _w(), None), {}, TypeError, "x"),
    ("x-complex", (np.ones((1, 2, 6), complex), _w(), None), {}, TypeError, "x"),
    ("weight-complex", (_x(), np.ones((3, 2, 3), np.complex64), None), {}, TypeError, "weight"),
    ("bias-complex", (_x(), _w(), np.ones(3, complex)), {}, TypeError, "bias"),
    ("x-str", (np.full((1, 2, 6), "a"), _w(), None), {}, TypeError, "x"),
    ("weight-bytes", (_x(), np.full((3, 2, 3), b"a"), None), {}, TypeError, "weight"),
    ("x-datetime", (np.ones((1, 2, 6), "datetime64[s]"), _w(), None), {}, TypeError, "x"),
    ("stride-2**62", (_x(), _w(), None), dict(stride=2**62), ValueError, "stride"),
    ("stride-2**63", (_x(), _w(), None), dict(stride=2**63), ValueError, "stride"),
    ("stride-2**64-tuple", (_x(), _w(), None), dict(stride=(2**64,)), ValueError, "stride"),
    ("dilation-2**62", (_x(), _w(), None), dict(dilation=2**62), ValueError, "dilation"),
    ("dilation-2**63", (_x(), _w(), None), dict(dilation=2**63), ValueError, "dilation"),
    ("dilation-2**39-padded", (_x(), _w(), None), dict(dilation=2**39, padding="full"),
     ValueError, "pad|dilat|kernel"),
    ("padding-2**62", (_x(), _w(), None), dict(padding=2**62), ValueError, "padding"),
    ("padding-2**63", (_x(), _w(), None), dict(padding=2**63), ValueError, "padding"),
    ("padding-pair-2**63", (_x(), _w(), None), dict(padding=((0, 2**63),)), ValueError,
     "padding"),
    ("padding-2**39-each-side", (_x(), _w(), None), dict(padding=2**39), ValueError, "pad"),
    ("huge-output-2d", (_x((1, 2, 6, 6)), _w((3, 2, 1, 1)), None), dict(padding=2**38),
     ValueError, "output|pad"),
    ("huge-output-3d", (_x((1, 2, 2, 2, 2)), _w((3, 2, 1, 1, 1)), None),
     dict(padding=2**20), ValueError, "output|pad"),
    ("groups-2**63", (_x(), _w(), None), dict(groups=2**63), ValueError, "groups"),
]


@pytest.mark.parametrize("args, kwargs, exc, match", [b[1:] for b in BAD],
                         ids=[b[0] for b in BAD])
def test_bad_input(args, kwargs, exc, match):
    x, w, b = args
    snaps = snapshot(*[a if isinstance(a, np.ndarray) else None for a in args])
    with pytest.raises(exc, match=match):
        fastconv.conv(x, w, b, **kwargs)
    assert_unchanged([a if isinstance(a, np.ndarray) else None for a in args], snaps)


OUT_BAD = [
    ("shape", np.empty((1, 3, 5), np.float32), ValueError),
    ("unbatched-shape", np.empty((3, 4), np.float32), ValueError),
    ("dtype", np.empty((1, 3, 4), np.float64), ValueError),
    ("readonly", np.lib.stride_tricks.as_strided(np.empty((1, 3, 4), np.float32),
                                                 writeable=False), ValueError),
    ("broadcast", np.broadcast_to(np.empty(4, np.float32), (1, 3, 4)), ValueError),
    ("list", [[[0.0] * 4] * 3], TypeError),
    ("none-like-string", "out", TypeError),
]


@pytest.mark.parametrize("out, exc", [o[1:] for o in OUT_BAD], ids=[o[0] for o in OUT_BAD])
def test_bad_out(out, exc):
    with pytest.raises(exc, match="out"):
        fastconv.conv(_x(), _w(), out=out)


@pytest.mark.parametrize("fn, wshape", [(fastconv.conv2d, (3, 2, 3)),
                                        (fastconv.conv1d, (3, 2, 3, 3)),
                                        (fastconv.conv3d, (3, 2, 3, 3)),
                                        (fastconv.conv2d, (3, 2, 3, 3, 3))])
def test_fixed_rank_checks_weight(fn, wshape):
    with pytest.raises(ValueError, match=rf"{fn.__name__}.*weight"):
        fn(_x((1, 2, 6, 6, 6)), _w(wshape))


def test_bad_out_does_not_touch_out():
    out = np.full((1, 3, 4), 7.0, np.float64)
    with pytest.raises(ValueError, match="out"):
        fastconv.conv(_x(), _w(), out=out)
    assert (out == 7.0).all()

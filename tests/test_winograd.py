"""Winograd F(2x2, 3x3) and F(2x2x2, 3x3x3) forward (fastconv/_kernels/winograd.pxi):
when the policy picks it, exact results on small integers, the float tolerance
against the reference, and the corners of its tiling (odd planes and volumes,
dilation phases, several work items and K blocks, groups, every padding
mode)."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from reference import assert_conv_close, conv_ref, tolerance

import fastconv
from fastconv import _config, _conv_kernels


@pytest.fixture
def winograd():
    """Force Winograd wherever it applies (any channel count)."""
    _conv_kernels.set_forward_kernel("winograd")
    try:
        yield
    finally:
        _conv_kernels.set_forward_kernel("auto")


@pytest.fixture
def enabled():
    """Let "auto" pick Winograd (fastconv.set_winograd(True))."""
    before = fastconv.get_winograd()
    fastconv.set_winograd(True)
    try:
        yield
    finally:
        fastconv.set_winograd(before)


D1 = (1, 1)
P56 = (56, 56)
D3 = (1, 1, 1)
K3 = (3, 3, 3)
V32 = (32, 32, 32)


@pytest.mark.parametrize("nd, kernel, stride, dilation, out, cg, mg, expected", [
    (2, (3, 3), (1, 1), D1, P56, 64, 64, True),        # vgg3x3
    (2, (3, 3), (1, 1), (2, 2), P56, 64, 64, True),    # dil3x3d2: 28x28 phase planes
    (2, (3, 3), (1, 1), D1, P56, 16, 32, True),
    (2, (3, 3), (1, 1), D1, (28, 28), 256, 64, True),
    (2, (3, 3), (1, 1), D1, P56, 8, 64, False),         # too few channels to pay
    (2, (3, 3), (1, 1), D1, P56, 64, 16, False),
    (2, (3, 3), (1, 1), D1, (14, 14), 256, 256, False),  # 49 tiles: half-empty blocks
    (2, (3, 3), (1, 1), (4, 4), P56, 64, 64, False),   # 16 phase planes, rows of 7 tiles
    (2, (3, 3), (1, 1), (2, 2), (28, 28), 64, 64, False),  # rows of 7 tiles
    (2, (3, 3), (1, 1), D1, (7, 7), 512, 512, False),
    (2, (3, 3), (2, 2), D1, P56, 64, 128, False),     # strided
    (2, (5, 5), (1, 1), D1, P56, 64, 64, False),
    (2, (3, 1), (1, 1), D1, P56, 64, 64, False),
    (1, (3,), (1,), (1,), (56,), 64, 64, False),
    (1, (7,), (1,), (1,), (4096,), 128, 64, True),        # eeg1d_k7
    (1, (9,), (1,), (2,), (4096,), 32, 64, True),
    (1, (11,), (1,), (1,), (4096,), 64, 64, True),
    (1, (5,), (1,), (1,), (4096,), 128, 64, False),       # accuracy: >= 7 taps
    (1, (15,), (1,), (1,), (4096,), 64, 64, False),       # the direct sum is faster
    (1, (7,), (1,), (1,), (4096,), 16, 64, False),
    (1, (7,), (1,), (1,), (4096,), 64, 32, False),
    (1, (7,), (2,), (1,), (4096,), 128, 64, False),       # strided
    (3, K3, D3, D3, V32, 16, 32, True),                 # vol3d
    (3, K3, D3, D3, V32, 8, 16, True),
    (3, K3, D3, D3, (16, 16, 16), 128, 128, True),
    (3, K3, D3, (2, 2, 2), V32, 16, 32, True),            # 16^3 phase volumes
    (3, K3, D3, D3, V32, 4, 8, False),                   # too few channels
    (3, K3, D3, D3, V32, 16, 8, False),
    (3, K3, D3, D3, (8, 8, 8), 128, 128, False),         # rows of 4 tiles
    (3, K3, (2, 2, 2), D3, V32, 16, 32, False),          # strided
    (3, (3, 3, 1), D3, D3, V32, 16, 32, False),
])
@pytest.mark.usefixtures("enabled")
def test_policy(nd, kernel, stride, dilation, out, cg, mg, expected):
    if min(out) < 56 and _config.current_isa() != "avx512":
        pytest.skip("small planes: how full the GEMM blocks are depends on their width")
    for itemsize in (4, 8):
        assert _conv_kernels.use_winograd(nd, kernel, stride, dilation, out, cg, mg,
                                          itemsize) is expected


def test_off_by_default():
    """Without set_winograd(True) "auto" never picks it, on any layer."""
    assert fastconv.get_winograd() is False
    assert not _conv_kernels.use_winograd(2, (3, 3), (1, 1), D1, P56, 64, 64, 4)
    assert not _conv_kernels.use_winograd(3, K3, D3, D3, V32, 16, 32, 4)
    assert not _conv_kernels.use_winograd(1, (7,), (1,), (1,), (4096,), 128, 64, 4)


def test_set_winograd_checks_its_argument():
    with pytest.raises(TypeError, match="enabled must be a bool, got 1"):
        fastconv.set_winograd(1)
    assert fastconv.get_winograd() is False


@pytest.mark.parametrize("value, expected", [("", False), ("0", False), ("1", True),
                                             ("on", True), (" TRUE ", True)])
def test_environment_variable(monkeypatch, value, expected):
    from fastconv import _config

    monkeypatch.setenv("FASTCONV_WINOGRAD", value)
    assert _config._from_environment() is expected
    monkeypatch.setenv("FASTCONV_WINOGRAD", "2")
    with pytest.raises(ValueError, match="FASTCONV_WINOGRAD must be 0 or 1, got '2'"):
        _config._from_environment()


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_default_path_keeps_the_bound_where_winograd_does_not(nd):
    """Why Winograd is off by default: a large centre weight over zeros among
    ones, small weights around it.  Each output's own terms are small, its
    tile's are not: the default kernels stay inside the per-element bound,
    Winograd (forced) does not."""
    c = 16
    k = 7 if nd == 1 else 3
    w = np.full((4, c) + (k,) * nd, 1e-3, np.float32)
    w[(slice(None), slice(None)) + (k // 2,) * nd] = 1
    x = np.ones((1, c) + (16,) * nd, np.float32)
    x[(Ellipsis,) + (slice(1, None, 2),) * nd] = 0
    kw = dict(padding=k // 2)
    ref = conv_ref(x, w, **kw)
    bound = tolerance(x, w, dtype=np.float32, **kw)
    assert_conv_close(fastconv.conv(x, w, **kw), ref, bound, dtype=np.float32)
    _conv_kernels.set_forward_kernel("winograd")
    try:
        y = fastconv.conv(x, w, **kw)
    finally:
        _conv_kernels.set_forward_kernel("auto")
    assert np.max(np.abs(y - ref) / bound) > 2


def test_forcing_does_not_widen_the_shapes(winograd):
    assert _conv_kernels.use_winograd(2, (3, 3), (1, 1), D1, (1, 1), 1, 1, 4)
    assert not _conv_kernels.use_winograd(2, (3, 3), (2, 1), D1, P56, 64, 64, 4)
    assert not _conv_kernels.use_winograd(2, (3, 3), (1, 1), D1, P56, 0, 64, 4)
    assert _conv_kernels.use_winograd(3, K3, D3, D3, (1, 1, 1), 1, 1, 8)
    assert not _conv_kernels.use_winograd(3, (3, 3, 2), D3, D3, V32, 16, 32, 4)
    assert not _conv_kernels.use_winograd(1, (3,), (1,), (1,), (64,), 64, 64, 4)
    assert not _conv_kernels.use_winograd(1, (6,), (1,), (1,), (64,), 64, 64, 4)
    assert _conv_kernels.use_winograd(1, (7,), (1,), (1,), (1,), 1, 1, 4)
    assert _conv_kernels.use_winograd(1, (31,), (1,), (1,), (64,), 2, 1, 8)
    for name in ("rows", "bcast", "direct"):
        _conv_kernels.set_forward_kernel(name)
        assert not _conv_kernels.use_winograd(2, (3, 3), (1, 1), D1, P56, 64, 64, 4)


# x shape, w shape, kwargs: odd and even planes (a partial last tile row and
# column), planes narrower than a vector of tiles, dilation phases of unequal
# sizes, groups, several work items per plane (130 channels: 48 tiles per item)
# and two K blocks (130 > 128 channels), several images per pass; in 3-D the
# same along depth (a partial last tile slice, phases of unequal depth, tiles
# whose every output lies past a small phase volume, 2 K blocks); 1-D below.
CASES = [
    ((2, 5, 8, 8), (7, 5, 3, 3), dict(padding=1)),
    ((1, 3, 9, 13), (4, 3, 3, 3), dict(padding=0)),
    ((2, 4, 3, 3), (2, 4, 3, 3), dict(padding=0)),           # a single output
    ((1, 2, 4, 40), (3, 2, 3, 3), dict(padding=1)),
    ((2, 6, 11, 7), (6, 3, 3, 3), dict(padding=(2, 1), groups=2)),
    ((1, 4, 13, 12), (5, 4, 3, 3), dict(padding=2, dilation=2)),
    ((1, 3, 17, 10), (4, 3, 3, 3), dict(padding=(3, 1), dilation=(3, 2))),
    ((1, 130, 20, 21), (9, 130, 3, 3), dict(padding=1)),
    ((3, 16, 30, 30), (17, 16, 3, 3), dict(padding="same")),
    ((1, 2, 2, 9), (3, 2, 3, 3), dict(padding=(3, 1), dilation=(3, 1))),  # an empty phase
    ((2, 3, 6, 7, 9), (4, 3, 3, 3, 3), dict(padding=1)),
    ((1, 2, 3, 3, 3), (3, 2, 3, 3, 3), dict(padding=0)),     # a single output
    ((1, 4, 5, 4, 34), (2, 2, 3, 3, 3), dict(padding=(0, 1, 1), groups=2)),
    ((1, 3, 9, 8, 7), (5, 3, 3, 3, 3), dict(padding=(3, 1, 2), dilation=(3, 1, 2))),
    ((1, 2, 2, 5, 6), (3, 2, 3, 3, 3), dict(padding=(3, 1, 1), dilation=(3, 1, 1))),
    ((1, 130, 4, 5, 6), (3, 130, 3, 3, 3), dict(padding=1)),
    ((2, 8, 12, 12, 12), (16, 8, 3, 3, 3), dict(padding="same")),
    # 1-D: 7, 8 and 9 taps (one, two or no taps summed directly), odd lengths,
    # dilation phases (one empty), groups, 2 items and 2 K blocks (KW = 2 x 65
    # channels), the longest kernels
    ((2, 3, 40), (4, 3, 7), dict(padding=3)),
    ((1, 2, 8), (3, 2, 8), dict(padding=0)),                   # a single output
    ((2, 4, 31), (6, 2, 9), dict(padding=((4, 2),), groups=2)),
    ((1, 3, 37), (5, 3, 7), dict(padding=2, dilation=3)),
    ((1, 2, 14), (2, 2, 7), dict(padding=0, dilation=2, groups=1)),
    ((1, 2, 10), (2, 2, 8), dict(padding=((5, 0),), dilation=(2,))),  # an empty phase
    ((1, 65, 230), (9, 65, 7), dict(padding="same")),
    ((2, 5, 90), (3, 5, 31), dict(padding=15, dilation=1)),
]


@pytest.mark.usefixtures("isa", "winograd")
@pytest.mark.parametrize("case", range(len(CASES)))
def test_exact_on_small_integers(case, dtype, rng):
    """|x|, |w| <= 8: every product and partial sum (multiples of 1/4 after the
    weight transform's halves, below 2**22) is exact in float32."""
    xs, ws, kw = CASES[case]
    x = rng.integers(-8, 9, xs).astype(dtype)
    w = rng.integers(-8, 9, ws).astype(dtype)
    b = rng.integers(-8, 9, ws[0]).astype(dtype)
    y = fastconv.conv(x, w, b, **kw)
    assert_array_equal(y, conv_ref(x, w, b, **kw).astype(dtype))


@pytest.mark.usefixtures("isa", "winograd")
@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("mode", ["zeros", "constant", "reflect", "replicate", "circular",
                                  "symmetric"])
def test_within_the_tolerance(case, mode, dtype, rng):
    xs, ws, kw = CASES[case]
    pad_value = 1.5 if mode == "constant" else 0.0
    x = rng.standard_normal(xs).astype(dtype)
    w = rng.standard_normal(ws).astype(dtype)
    b = rng.standard_normal(ws[0]).astype(dtype)
    y = fastconv.conv(x, w, b, padding_mode=mode, pad_value=pad_value, **kw)
    ref = conv_ref(x, w, b, padding_mode=mode, pad_value=pad_value, **kw)
    assert_conv_close(y, ref, tolerance(x, w, b, dtype=dtype, padding_mode=mode,
                                        pad_value=pad_value, **kw), dtype=dtype)


@pytest.mark.usefixtures("winograd")
@pytest.mark.parametrize("shape", [(7, 9), (5, 7, 9)])
def test_non_finite_inputs_give_the_direct_sums_infinities(shape):
    """An inf in x makes some output infinite, so the call falls back to the
    direct sum (the transforms' differences would make NaNs of some of them):
    infinities exactly where the reference has them, the rest exact."""
    x = np.ones((1, 2) + shape, np.float32)
    x[(0, 1) + tuple(n - 1 for n in shape)] = np.inf
    w = np.ones((3, 2) + (3,) * len(shape), np.float32)
    y = fastconv.conv(x, w, padding=0)
    ref = conv_ref(x, w, padding=0)
    assert_array_equal(np.isinf(y), np.isinf(ref))
    assert_array_equal(y[np.isfinite(ref)], ref[np.isfinite(ref)].astype(np.float32))


@pytest.mark.usefixtures("enabled")
def test_auto_runs_it_on_vgg_like_layers(rng):
    """Enabled, the policy takes this layer (64 -> 64 channels), and gives the
    exact integer result."""
    assert _conv_kernels.use_winograd(2, (3, 3), (1, 1), D1, (30, 30), 64, 64, 4)
    x = rng.integers(-8, 9, (1, 64, 30, 30)).astype(np.float32)
    w = rng.integers(-8, 9, (64, 64, 3, 3)).astype(np.float32)
    assert_array_equal(fastconv.conv2d(x, w, padding=1),
                       conv_ref(x, w, padding=1).astype(np.float32))


@pytest.mark.usefixtures("enabled")
def test_auto_runs_it_on_volumes(rng):
    """Enabled, the policy takes vol3d's 16 -> 32 channels, and gives the exact
    integer result."""
    assert _conv_kernels.use_winograd(3, K3, D3, D3, (16, 16, 16), 16, 32, 4)
    x = rng.integers(-8, 9, (1, 16, 16, 16, 16)).astype(np.float32)
    w = rng.integers(-8, 9, (32, 16, 3, 3, 3)).astype(np.float32)
    assert_array_equal(fastconv.conv3d(x, w, padding=1),
                       conv_ref(x, w, padding=1).astype(np.float32))


@pytest.mark.usefixtures("enabled")
def test_auto_runs_it_on_long_signals(rng):
    """Enabled, the policy takes eeg1d_k7's 128 -> 64 channels over 7 taps, and
    gives the exact integer result."""
    assert _conv_kernels.use_winograd(1, (7,), (1,), (1,), (1000,), 128, 64, 4)
    x = rng.integers(-8, 9, (2, 128, 1000)).astype(np.float32)
    w = rng.integers(-8, 9, (64, 128, 7)).astype(np.float32)
    assert_array_equal(fastconv.conv1d(x, w, padding=3),
                       conv_ref(x, w, padding=3).astype(np.float32))


@pytest.mark.usefixtures("winograd")
@pytest.mark.parametrize("shape, kernel", [((6, 8), (3, 3)), ((3, 4, 8), (3, 3, 3)),
                                           ((12,), (7,))])
def test_transform_overflow_falls_back_to_the_direct_sum(shape, kernel):
    """Columns of +-2e38: the input transform's differences overflow float32
    (4e38), the direct sum (18, 54 or 14 products of 2e35) does not.  (Two
    input channels: one would be the depthwise kernels' layer.)"""
    x = np.full((1, 2) + shape, 2e38, np.float32)
    x[..., 1::2] = -2e38
    w = np.full((2, 2) + kernel, 1e-3, np.float32)
    y = fastconv.conv(x, w, padding=1)
    ref = conv_ref(x, w, padding=1)
    assert np.all(np.isfinite(y))
    assert_conv_close(y, ref, tolerance(x, w, dtype=np.float32, padding=1), dtype=np.float32)

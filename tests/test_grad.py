"""Gradients of conv and the transposed convolution.

Proven three ways: adjoint identities and central finite differences in float64
(properties that need no oracle), PyTorch autograd where installed, and exact
results on small integers.
"""

import numpy as np
import pytest

import fastconv
from fastconv._config import get_num_threads, set_num_threads

MODES = ["zeros", "constant", "reflect", "replicate", "circular", "symmetric"]


def _random_config(rng):
    """A small random convolution exercising every option of conv()."""
    nd = int(rng.integers(1, 4))
    groups = int(rng.choice([1, 1, 2, 3]))
    cin = groups * int(rng.integers(1, 3))
    cout = groups * int(rng.integers(1, 3))
    kernel = tuple(int(v) for v in rng.integers(1, 4, nd))
    dilation = tuple(int(v) for v in rng.integers(1, 3, nd))
    stride = tuple(int(v) for v in rng.integers(1, 4, nd))
    size = 7 if nd < 3 else 5
    spatial = tuple(int(v) for v in rng.integers(size - 2, size + 2, nd))
    mode = str(rng.choice(MODES))
    kind = rng.integers(0, 4)
    if kind == 0:
        padding = int(rng.integers(0, 3))
    elif kind == 1:
        padding = tuple((int(a), int(b)) for a, b in rng.integers(0, 4, (nd, 2)))
    elif kind == 2:
        padding = "same"
    else:
        padding = "full" if mode == "zeros" else "valid"
    opts = dict(stride=stride, padding=padding, dilation=dilation, groups=groups,
                padding_mode=mode, flip=bool(rng.integers(0, 2)))
    batch = int(rng.integers(1, 3))
    x_shape = (batch, cin) + spatial
    if rng.integers(0, 4) == 0:  # unbatched
        x_shape = x_shape[1:]
    w_shape = (cout, cin // groups) + kernel
    return x_shape, w_shape, opts


def _configs(count, seed):
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < count:
        x_shape, w_shape, opts = _random_config(rng)
        try:
            fastconv.conv(np.zeros(x_shape), np.zeros(w_shape), **opts)
        except ValueError:  # kernel larger than the padded input: draw again
            continue
        out.append((x_shape, w_shape, opts))
    return out


CONFIGS = _configs(60, 1234)


@pytest.mark.parametrize("x_shape,w_shape,opts", CONFIGS)
def test_adjoint_identities(x_shape, w_shape, opts, isa):
    rng = np.random.default_rng(abs(hash((x_shape, w_shape))) % 2**32)
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal(w_shape)
    y = fastconv.conv(x, w, **opts)
    g = rng.standard_normal(y.shape)
    gx = fastconv.conv_input_grad(g, w, x.shape, **opts)
    gw = fastconv.conv_weight_grad(x, g, w.shape, **opts)
    lhs = np.vdot(y, g)
    scale = np.vdot(np.abs(fastconv.conv(np.abs(x), np.abs(w), **opts)), np.abs(g)) + 1e-300
    assert gx.shape == x.shape and gw.shape == w.shape
    assert abs(lhs - np.vdot(x, gx)) <= 1e-12 * scale
    assert abs(lhs - np.vdot(w, gw)) <= 1e-12 * scale


@pytest.mark.parametrize("x_shape,w_shape,opts", CONFIGS[:20])
def test_finite_differences(x_shape, w_shape, opts):
    """Central differences of L = <conv(x, w) + b, g> along random directions."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    opts = dict(opts, padding_mode="constant", pad_value=0.75) \
        if opts["padding_mode"] == "zeros" else opts
    y = fastconv.conv(x, w, b, **opts)
    g = rng.standard_normal(y.shape)

    def loss(x_, w_, b_):
        return np.vdot(fastconv.conv(x_, w_, b_, **opts), g)

    gx, gw, gb = fastconv.conv_backward(g, x, w, **opts)
    h = 1e-3
    for grad, arg in ((gx, 0), (gw, 1), (gb, 2)):
        args = [x, w, b]
        v = rng.standard_normal(args[arg].shape)
        plus = list(args)
        minus = list(args)
        plus[arg] = args[arg] + h * v
        minus[arg] = args[arg] - h * v
        fd = (loss(*plus) - loss(*minus)) / (2 * h)
        assert fd == pytest.approx(np.vdot(grad, v), rel=1e-8, abs=1e-8)


def test_constant_padding_gets_no_gradient():
    x = np.ones((1, 1, 3))
    w = np.ones((1, 1, 3))
    g = np.ones((1, 1, 5))
    gx = fastconv.conv_input_grad(g, w, x.shape, padding=2, padding_mode="constant",
                                  pad_value=5.0)
    np.testing.assert_array_equal(gx, [[[3.0, 3.0, 3.0]]])
    # the padding value does take part in the weight gradient
    gw = fastconv.conv_weight_grad(x, g, w.shape, padding=2, padding_mode="constant",
                                   pad_value=5.0)
    # padded input [5, 5, 1, 1, 1, 5, 5]: every tap sees 5 + 5 + 1 + 1 + 1 = 13
    np.testing.assert_array_equal(gw, [[[13.0, 13.0, 13.0]]])


def test_reflect_padding_folds_gradient_back():
    # x = [a, b, c], reflect padding 1: [b, a, b, c, b]; kernel [1] reads each once
    g = np.array([[[1.0, 10.0, 100.0, 1000.0, 10000.0]]])
    gx = fastconv.conv_input_grad(g, np.ones((1, 1, 1)), (1, 1, 3), padding=1,
                                  padding_mode="reflect")
    np.testing.assert_array_equal(gx, [[[10.0, 1 + 100.0 + 10000.0, 1000.0]]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_exact_small_integers(dtype, isa):
    rng = np.random.default_rng(3)
    x = rng.integers(-4, 5, (2, 4, 9, 8)).astype(dtype)
    w = rng.integers(-4, 5, (6, 2, 3, 3)).astype(dtype)
    opts = dict(stride=2, padding=1, groups=2)
    g = rng.integers(-4, 5, fastconv.conv(x, w, **opts).shape).astype(dtype)
    gx, gw, gb = fastconv.conv_backward(g, x, w, **opts)
    gx64, gw64, gb64 = fastconv.conv_backward(g.astype(np.float64), x.astype(np.float64),
                                              w.astype(np.float64), **opts)
    # every partial sum is an integer below 2**24: float32 is exact
    np.testing.assert_array_equal(gx, gx64)
    np.testing.assert_array_equal(gw, gw64)
    np.testing.assert_array_equal(gb, gb64)
    assert gx.dtype == gw.dtype == gb.dtype == dtype


@pytest.mark.parametrize("kernel", [(1, 1), (3, 2)])
def test_weight_grad_of_large_unpadded_image_is_exact(kernel, isa):
    """An image over 1 MiB read in place (its rows copied whole first), small
    integers: exact, against an integer einsum."""
    rng = np.random.default_rng(5)
    x = rng.integers(-2, 3, (1, 70, 61, 64))
    oh, ow = 61 - kernel[0] + 1, 64 - kernel[1] + 1
    g = rng.integers(-2, 3, (1, 9, oh, ow))
    windows = np.lib.stride_tricks.sliding_window_view(x, kernel, axis=(2, 3))
    ref = np.einsum("nmij,ncijab->mcab", g, windows)
    gw = fastconv.conv_weight_grad(x.astype(np.float32), g.astype(np.float32),
                                   (9, 70) + kernel)
    np.testing.assert_array_equal(gw, ref.astype(np.float32))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("width", [1, 7, 15, 16, 17, 33, 56])
@pytest.mark.parametrize("stride,dilation,mult", [((1, 1), 1, 1), ((2, 1), 1, 2), ((1, 1), 2, 1)])
def test_depthwise_weight_grad_widths_exact(width, stride, dilation, mult, dtype, isa):
    """The depthwise 3x3 weight gradient keeps nine vectors of partial sums over
    a plane, each row's last width % lanes outputs in masked vectors: every
    number of whole vectors and of lanes in the last, small integers (exact),
    against sums of shifted slices of the zero-padded input."""
    rng = np.random.default_rng(width)
    c, pad = 3, dilation
    x = rng.integers(-3, 4, (2, c, 5, width)).astype(dtype)
    opts = dict(stride=stride, padding=pad, dilation=dilation, groups=c)
    w_shape = (c * mult, 1, 3, 3)
    y_shape = fastconv.conv(x, np.zeros(w_shape, dtype), **opts).shape
    g = rng.integers(-3, 4, y_shape).astype(dtype)
    gw = fastconv.conv_weight_grad(x, g, w_shape, **opts)
    xp = np.pad(x.astype(np.int64), ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = y_shape[2:]
    ref = np.zeros(w_shape, np.int64)
    for m in range(c * mult):
        for kh in range(3):
            for kw in range(3):
                win = xp[:, m // mult, kh * dilation:kh * dilation + stride[0] * oh:stride[0],
                         kw * dilation:kw * dilation + stride[1] * ow:stride[1]]
                ref[m, 0, kh, kw] = np.sum(win * g[:, m].astype(np.int64))
    np.testing.assert_array_equal(gw, ref.astype(dtype))


@pytest.mark.parametrize("stride", [(2, 2), (1, 2), (2, 3)])
def test_strided_input_grad_of_wide_rows_is_exact(stride, isa):
    """Strided input gradients (GEMM + col2im; stride 2 along W takes vector
    adds) on rows long enough for them, small integers, against an explicit
    scatter-add of every term."""
    rng = np.random.default_rng(6)
    x_shape, w = (2, 3, 9, 75), rng.integers(-3, 4, (5, 3, 3, 4))
    g = rng.integers(-3, 4, fastconv.conv(np.zeros(x_shape), w, stride=stride,
                                          padding=1).shape)
    ref = np.zeros((2, 3, 9 + 2, 75 + 2), dtype=np.int64)  # padded by 1 on each side
    for kh in range(3):
        for kw in range(4):
            # output (oh, ow) tap (kh, kw) reads padded position (oh*sh + kh, ow*sw + kw)
            contrib = np.einsum("nmij,mc->ncij", g, w[:, :, kh, kw])
            rows = np.arange(g.shape[2]) * stride[0] + kh
            cols = np.arange(g.shape[3]) * stride[1] + kw
            np.add.at(ref, (slice(None), slice(None), rows[:, None], cols[None, :]), contrib)
    gx = fastconv.conv_input_grad(g.astype(np.float32), w.astype(np.float32), x_shape,
                                  stride=stride, padding=1)
    np.testing.assert_array_equal(gx, ref[:, :, 1:-1, 1:-1].astype(np.float32))


def test_empty_batch_gives_zero_gradients():
    x = np.empty((0, 3, 5, 5), dtype=np.float32)
    w = np.ones((4, 3, 3, 3), dtype=np.float32)
    g = np.empty((0, 4, 3, 3), dtype=np.float32)
    gx, gw, gb = fastconv.conv_backward(g, x, w)
    assert gx.shape == x.shape
    np.testing.assert_array_equal(gw, np.zeros_like(w))
    np.testing.assert_array_equal(gb, np.zeros(4, dtype=np.float32))


def test_needs_and_unbatched():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 6, 6))
    w = rng.standard_normal((2, 3, 3, 3))
    g = rng.standard_normal((2, 4, 4))
    gx, gw, gb = fastconv.conv_backward(g, x, w, needs=("weight",))
    assert gx is None and gb is None and gw.shape == w.shape
    gx, gw, gb = fastconv.conv_backward(g, x, w)
    gx1, gw1, gb1 = fastconv.conv_backward(g[None], x[None], w)
    np.testing.assert_array_equal(gx, gx1[0])
    np.testing.assert_array_equal(gw, gw1)
    np.testing.assert_array_equal(gb, gb1)


def test_layouts_and_inputs_unmodified():
    rng = np.random.default_rng(11)
    x = np.asfortranarray(rng.standard_normal((2, 3, 10, 9)))[:, :, ::-1, ::2]
    w = rng.standard_normal((4, 3, 3, 3)).astype(">f8")
    g = rng.standard_normal((2, 4, 8, 3))[..., ::-1]
    copies = [a.copy() for a in (x, w, g)]
    for a in (x, w, g):
        a.flags.writeable = False
    gx, gw, gb = fastconv.conv_backward(g, x, w)
    ex, ew, eb = fastconv.conv_backward(np.ascontiguousarray(g), np.ascontiguousarray(x),
                                        np.ascontiguousarray(w, dtype=np.float64))
    np.testing.assert_array_equal(gx, ex)
    np.testing.assert_array_equal(gw, ew)
    np.testing.assert_array_equal(gb, eb)
    for a, c in zip((x, w, g), copies):
        np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize("batch,opts", [
    (5, dict(stride=1, padding=1)),
    (1, dict(stride=2, padding=1, padding_mode="reflect")),   # col2im path, one image
    (2, dict(stride=(2, 1), padding=2, dilation=2)),
])
def test_thread_count_does_not_change_bits(batch, opts):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((batch, 8, 23, 19)).astype(np.float32)
    w = rng.standard_normal((16, 8, 3, 3)).astype(np.float32)
    g = rng.standard_normal(fastconv.conv(x, w, **opts).shape).astype(np.float32)
    old = get_num_threads()
    results = []
    try:
        for n in (1, 2, 3):
            set_num_threads(n)
            results.append(fastconv.conv_backward(g, x, w, **opts))
            results.append((fastconv.conv_transpose(g, w, padding=1, stride=opts["stride"]),))
    finally:
        set_num_threads(old)
    for a, b in zip(results[0::2][1:], results[0::2][:-1]):
        for u, v in zip(a, b):
            assert np.array_equal(u, v)
    for a, b in zip(results[1::2][1:], results[1::2][:-1]):
        assert np.array_equal(a[0], b[0])


def test_transpose_is_input_gradient_plus_bias():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 4, 5, 6))
    w = rng.standard_normal((4, 3, 3, 2))
    b = rng.standard_normal(6)
    y = fastconv.conv_transpose(x, w, b, stride=2, padding=1, groups=2, output_padding=1)
    # forward conv: input (2, 6, ...) -> output x's shape, weight (4, 3, ...)
    gx = fastconv.conv_input_grad(x, w, y.shape, stride=2, padding=1, groups=2)
    np.testing.assert_allclose(y, gx + b[None, :, None, None], rtol=0, atol=1e-12)


def test_transpose_1d_small_integers():
    y = fastconv.conv_transpose1d(np.array([[[1.0, 2.0, 3.0]]]), np.array([[[1.0, 1.0]]]),
                                  stride=2, output_padding=1)
    np.testing.assert_array_equal(y, [[[1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 0.0]]])


BAD = [
    ("input_grad", dict(input_shape=(2, 3, 8)), ValueError, "input_shape"),
    ("input_grad", dict(input_shape="abc"), TypeError, "input_shape"),
    ("input_grad", dict(input_shape=(2, 3, -8, 8)), ValueError, "input_shape"),
    # an array where the shape belongs (arguments swapped): named briefly, not dumped
    ("input_grad", dict(input_shape=np.zeros((2, 3, 8, 8))), TypeError,
     r"^input_shape must be a tuple of integers, got an array of shape \(2, 3, 8, 8\)$"),
    ("input_grad", dict(input_shape=(2, 5, 8, 8)), ValueError, "channels"),
    ("input_grad", dict(grad_output=np.zeros((2, 4, 5, 6))), ValueError, "grad_output"),
    ("input_grad", dict(stride=0), ValueError, "stride"),
    ("input_grad", dict(padding_mode="bogus"), ValueError, "padding_mode"),
    ("input_grad", dict(grad_output=None), TypeError, "grad_output"),
    ("weight_grad", dict(weight_shape=(4, 3, 3)), ValueError, "x"),
    ("weight_grad", dict(weight_shape=(4, 2, 3, 3)), ValueError, "channels"),
    ("weight_grad", dict(weight_shape=(4, 3, 3, 1.5)), TypeError, "weight_shape"),
    ("weight_grad", dict(grad_output=np.zeros((2, 4, 6, 7))), ValueError, "grad_output"),
    ("weight_grad", dict(x=np.zeros((2, 3, 8, 8), dtype=complex)), TypeError, "x"),
    ("weight_grad", dict(dilation=2 ** 63), ValueError, "dilation"),
    ("backward", dict(needs=("input", "gamma")), ValueError, "needs"),
    ("backward", dict(groups=2), ValueError, "groups"),
    ("bias_grad", dict(grad_output=np.zeros(4)), ValueError, "grad_output"),
]


@pytest.mark.parametrize("which,change,exc,match", BAD)
def test_bad_input(which, change, exc, match):
    args = dict(x=np.zeros((2, 3, 8, 8)), w=np.zeros((4, 3, 3, 3)),
                grad_output=np.zeros((2, 4, 6, 6)))
    args.update({k: v for k, v in change.items() if k in ("x", "grad_output")})
    opts = {k: v for k, v in change.items()
            if k not in ("x", "grad_output", "input_shape", "weight_shape")}
    with pytest.raises(exc, match=match):
        if which == "input_grad":
            fastconv.conv_input_grad(args["grad_output"], args["w"],
                                     change.get("input_shape", (2, 3, 8, 8)), **opts)
        elif which == "weight_grad":
            fastconv.conv_weight_grad(args["x"], args["grad_output"],
                                      change.get("weight_shape", (4, 3, 3, 3)), **opts)
        elif which == "backward":
            fastconv.conv_backward(args["grad_output"], args["x"], args["w"], **opts)
        else:
            fastconv.conv_bias_grad(args["grad_output"])


TRANSPOSE_BAD = [
    (dict(output_padding=2, stride=2), ValueError, "output_padding"),
    (dict(output_padding=-1), ValueError, "output_padding"),
    (dict(padding="same"), ValueError, "padding"),
    (dict(padding=5), ValueError, "padding"),
    (dict(groups=3), ValueError, "groups"),
    (dict(bias=np.zeros(3)), ValueError, "bias"),
    (dict(stride=(1, 2, 3)), ValueError, "stride"),
    (dict(out=np.zeros((2, 5, 9, 9))), ValueError, "out"),
    (dict(out=np.zeros((2, 5, 10, 10), dtype=np.float32)), ValueError, "out"),
]


@pytest.mark.parametrize("change,exc,match", TRANSPOSE_BAD)
def test_transpose_bad_input(change, exc, match):
    x = np.zeros((2, 4, 8, 8))
    w = np.zeros((4, 5, 3, 3))
    with pytest.raises(exc, match=match):
        fastconv.conv_transpose(x, w, **change)


def test_transpose_channel_mismatch():
    with pytest.raises(ValueError, match="C_in"):
        fastconv.conv_transpose(np.zeros((1, 3, 5)), np.zeros((4, 2, 3)))
    with pytest.raises(ValueError, match="conv_transpose2d"):
        fastconv.conv_transpose2d(np.zeros((1, 4, 5)), np.zeros((4, 2, 3)))


# ------------------------------------------------------------------ PyTorch oracle

TORCH_CASES = [
    (1, dict(stride=2, padding=1, dilation=1, groups=1)),
    (1, dict(stride=1, padding=3, dilation=3, groups=2)),
    (2, dict(stride=1, padding=1, dilation=1, groups=1)),
    (2, dict(stride=2, padding=(1, 0), dilation=(1, 2), groups=2)),
    (2, dict(stride=3, padding=2, dilation=2, groups=4)),
    (3, dict(stride=1, padding=1, dilation=1, groups=1)),
    (3, dict(stride=2, padding=0, dilation=(1, 2, 1), groups=2)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nd,opts", TORCH_CASES)
def test_against_torch_autograd(nd, opts, dtype, isa):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(nd)
    cin, cout = 4, 8
    x = rng.standard_normal((2, cin) + (9,) * nd).astype(dtype)
    w = rng.standard_normal((cout, cin // opts["groups"]) + (3,) * nd).astype(dtype)
    b = rng.standard_normal(cout).astype(dtype)
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(w, requires_grad=True)
    tb = torch.tensor(b, requires_grad=True)
    ty = [F.conv1d, F.conv2d, F.conv3d][nd - 1](tx, tw, tb, **opts)
    g = rng.standard_normal(tuple(ty.shape)).astype(dtype)
    ty.backward(torch.tensor(g))
    gx, gw, gb = fastconv.conv_backward(g, x, w, **opts)
    # tolerance: the float32 rule of DESIGN.md with the reduction length of each gradient
    eps = 2.0 ** -24 if dtype == np.float32 else 2.0 ** -53
    ax, aw, ag = np.abs(x).astype(np.float64), np.abs(w).astype(np.float64), np.abs(g)
    sx = fastconv.conv_input_grad(ag.astype(np.float64), aw, x.shape, **opts)
    sw = fastconv.conv_weight_grad(ax, ag.astype(np.float64), w.shape, **opts)
    kx = cout // opts["groups"] * 3 ** nd
    kw = g.size // cout
    tgx = tx.grad.numpy().astype(np.float64)
    tgw = tw.grad.numpy().astype(np.float64)
    # both fastconv and torch round: allow the bound for each
    assert np.all(np.abs(gx - tgx) <= 4 * np.sqrt(kx) * eps * sx + 1e-30)
    assert np.all(np.abs(gw - tgw) <= 4 * np.sqrt(kw) * eps * sw + 1e-30)
    np.testing.assert_allclose(gb, tb.grad.numpy(), rtol=4 * np.sqrt(kw) * eps * 10)


@pytest.mark.parametrize("mode,torch_mode", [("reflect", "reflect"), ("replicate", "replicate"),
                                             ("circular", "circular")])
def test_padding_mode_gradients_against_torch(mode, torch_mode):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 3, 8, 7))
    w = rng.standard_normal((4, 3, 3, 3))
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(w, requires_grad=True)
    ty = F.conv2d(F.pad(tx, (2, 1, 1, 2), mode=torch_mode), tw)
    g = rng.standard_normal(tuple(ty.shape))
    ty.backward(torch.tensor(g))
    opts = dict(padding=((1, 2), (2, 1)), padding_mode=mode)
    gx, gw, _ = fastconv.conv_backward(g, x, w, **opts)
    np.testing.assert_allclose(gx, tx.grad.numpy(), rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(gw, tw.grad.numpy(), rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("stride,padding,output_padding,dilation,groups", [
    (1, 0, 0, 1, 1), (2, 1, 1, 1, 2), (3, 2, 2, 1, 1), (2, 0, 1, 2, 1), (1, 1, 1, 2, 2)])
def test_conv_transpose_against_torch(nd, stride, padding, output_padding, dilation, groups,
                                     isa):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(nd * 10 + stride)
    x = rng.standard_normal((2, 4) + (5,) * nd)
    w = rng.standard_normal((4, 6 // groups) + (3,) * nd)
    b = rng.standard_normal(6)
    opts = dict(stride=stride, padding=padding, output_padding=output_padding,
                dilation=dilation, groups=groups)
    y = fastconv.conv_transpose(x, w, b, **opts)
    ty = [F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d][nd - 1](
        torch.tensor(x), torch.tensor(w), torch.tensor(b), **opts).numpy()
    assert y.shape == ty.shape
    np.testing.assert_allclose(y, ty, rtol=1e-12, atol=1e-12)
    y32 = fastconv.conv_transpose(x.astype(np.float32), w.astype(np.float32),
                                  b.astype(np.float32), **opts)
    assert y32.dtype == np.float32
    bound = 4 * np.sqrt(w.shape[0] * 3 ** nd) * 2.0 ** -24 * (
        fastconv.conv_transpose(np.abs(x), np.abs(w), np.abs(b), **opts))
    assert np.all(np.abs(y32 - ty) <= bound)

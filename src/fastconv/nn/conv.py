"""Convolution layers: Conv1d/2d/3d and ConvTranspose1d/2d/3d on fastconv's kernels."""

import numpy as np

import fastconv
from fastconv.nn.init import reset_weight_bias
from fastconv.nn.module import Module, Parameter, _as_dtype

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
           "ConvTranspose3d"]

_MODES = ("zeros", "reflect", "replicate", "circular")
_REUSE_BYTES = 1 << 17


def _tuple(v, nd, name):
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return (int(v),) * nd
    try:
        t = tuple(int(a) for a in v)
    except TypeError:
        raise TypeError(f"{name} must be an int or a tuple of {nd} ints, got {v!r}") from None
    if len(t) != nd:
        raise ValueError(f"{name} must be an int or a tuple of {nd} ints, got {v!r}")
    return t


def _batched(x, nd, dtype, name):
    """x as an array of ``dtype`` with a batch axis; whether one was added."""
    if type(x) is not np.ndarray or x.dtype != dtype:
        x = np.asarray(x, dtype=dtype)
    if x.ndim == nd + 1:
        return x[None], True
    if x.ndim != nd + 2:
        raise ValueError(f"{name} expects input of shape (N, C, {nd} spatial) or (C, {nd} "
                         f"spatial), got {x.shape}")
    return x, False


class _ConvNd(Module):
    _nd = 0
    keeps_output = False

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                 groups, bias, padding_mode, dtype, transposed, output_padding=0):
        super().__init__()
        nd = self._nd
        name = type(self).__name__
        in_channels, out_channels, groups = int(in_channels), int(out_channels), int(groups)
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) and out_channels "
                             f"({out_channels}) must be divisible by groups ({groups})")
        if padding_mode not in _MODES:
            raise ValueError(f"{name}: padding_mode must be one of {_MODES}, got "
                             f"{padding_mode!r}")
        if transposed and padding_mode != "zeros":
            raise ValueError(f"{name}: only padding_mode='zeros' is supported, got "
                             f"{padding_mode!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = _tuple(kernel_size, nd, "kernel_size")
        self.stride = _tuple(stride, nd, "stride")
        if isinstance(padding, str):
            if padding not in ("same", "valid") or transposed:
                raise ValueError(f"{name}: padding must be 'same', 'valid' or ints, got "
                                 f"{padding!r}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{name}: padding='same' needs stride 1, got {self.stride}")
            self.padding = padding
        else:
            self.padding = _tuple(padding, nd, "padding")
        self.dilation = _tuple(dilation, nd, "dilation")
        self.output_padding = _tuple(output_padding, nd, "output_padding")
        self.padding_mode = padding_mode
        self.transposed = transposed
        self.dtype = _as_dtype(dtype)
        if transposed:
            wshape = (in_channels, out_channels // groups) + self.kernel_size
        else:
            wshape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = Parameter(np.empty(wshape, self.dtype))
        self.bias = Parameter(np.empty(out_channels, self.dtype)) if bias else None
        self._parameters["weight"] = self.weight
        self._parameters["bias"] = self.bias
        reset_weight_bias(self.weight.data, self.bias.data if bias else None)
        self._opts = dict(stride=self.stride, padding=self.padding, dilation=self.dilation,
                          groups=groups)
        if not transposed:
            self._opts["padding_mode"] = padding_mode
        self._x = None
        self._y_for = None

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * self._nd:
            s += f", padding={self.padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s

    def _run(self, x, w, b, out):
        if self.transposed:
            return fastconv.conv_transpose(x, w, b, output_padding=self.output_padding,
                                           out=out, **self._opts)
        return fastconv.conv(x, w, b, out=out, **self._opts)

    def forward(self, x):
        x, unbatched = _batched(x, self._nd, self.dtype, type(self).__name__)
        w = self.weight.data
        b = None if self.bias is None else self.bias.data
        self._x = x
        if self._reuse_out and not unbatched:
            # big outputs go to the buffer of the previous call: a fresh one would be
            # faulted in page by page (small ones come from malloc's free lists)
            y = self._bufs.get("y")
            if y is not None and self._y_for == x.shape:
                return self._run(x, w, b, y)
            y = self._run(x, w, b, None)
            if y.nbytes >= _REUSE_BYTES:
                self._bufs["y"], self._y_for = y, x.shape
            return y
        y = self._run(x, w, b, None)
        return y[0] if unbatched else y

    def _backward(self, grad_output, need_input_grad):
        x = self._x
        if x is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        gy = np.asarray(grad_output, dtype=self.dtype)
        if gy.ndim == x.ndim - 1:
            gy = gy[None]
        w = self.weight.data
        opts = self._opts
        if self.transposed:
            # y = conv_transpose(x, w): x is the output of conv(y, w) with the same settings
            gw = fastconv.conv_weight_grad(gy, x, w.shape, **opts)
        else:
            gw = fastconv.conv_weight_grad(x, gy, w.shape, **opts)
        self.weight.grad += gw
        if self.bias is not None:
            self.bias.grad += gy.sum(axis=(0,) + tuple(range(2, gy.ndim)))
        if not need_input_grad:
            return None
        if self.transposed:
            gx = fastconv.conv(gy, w, **opts)
        else:
            gx = fastconv.conv_input_grad(gy, w, x.shape, **opts)
        return gx[0] if np.ndim(grad_output) == x.ndim - 1 else gx


def _conv_class(nd):
    class ConvNd(_ConvNd):
        _nd = nd

        def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                     dilation=1, groups=1, bias=True, padding_mode="zeros", dtype=None):
            super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                             groups, bias, padding_mode, dtype, transposed=False)

    ConvNd.__name__ = ConvNd.__qualname__ = f"Conv{nd}d"
    ConvNd.__doc__ = f"""{nd}-d convolution layer, as ``torch.nn.Conv{nd}d``.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size, stride, padding, dilation : int or tuple of {nd} ints
        ``padding`` may also be 'same' (stride 1) or 'valid'.
    groups : int, default 1
    bias : bool, default True
    padding_mode : {{'zeros', 'reflect', 'replicate', 'circular'}}
    dtype : float32 (default) or float64

    Attributes
    ----------
    weight : Parameter, shape (out_channels, in_channels // groups, *kernel_size)
    bias : Parameter, shape (out_channels,), or None

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import nn
    >>> conv = nn.Conv{nd}d(2, 4, 3, padding=1)
    >>> x = np.ones((5, 2) + (6,) * {nd}, dtype=np.float32)
    >>> y = conv(x)
    >>> y.shape == (5, 4) + (6,) * {nd}, conv.weight.shape == (4, 2) + (3,) * {nd}
    (True, True)
    >>> gx = conv.backward(np.ones_like(y))      # adds to conv.weight.grad, conv.bias.grad
    >>> gx.shape == x.shape, float(conv.bias.grad[0]) == 5 * 6 ** {nd}
    (True, True)
    """
    return ConvNd


def _conv_transpose_class(nd):
    class ConvTransposeNd(_ConvNd):
        _nd = nd

        def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                     output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                     dtype=None):
            super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                             groups, bias, padding_mode, dtype, transposed=True,
                             output_padding=output_padding)

    ConvTransposeNd.__name__ = ConvTransposeNd.__qualname__ = f"ConvTranspose{nd}d"
    ConvTransposeNd.__doc__ = f"""{nd}-d transposed convolution, as ``torch.nn.ConvTranspose{nd}d``.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size, stride, padding, output_padding, dilation : int or tuple of {nd} ints
    groups : int, default 1
    bias : bool, default True
    padding_mode : 'zeros'
    dtype : float32 (default) or float64

    Attributes
    ----------
    weight : Parameter, shape (in_channels, out_channels // groups, *kernel_size)
    bias : Parameter, shape (out_channels,), or None

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import nn
    >>> up = nn.ConvTranspose{nd}d(4, 2, 2, stride=2)
    >>> up(np.ones((1, 4) + (3,) * {nd}, dtype=np.float32)).shape == (1, 2) + (6,) * {nd}
    True
    """
    return ConvTransposeNd


Conv1d, Conv2d, Conv3d = (_conv_class(n) for n in (1, 2, 3))
ConvTranspose1d, ConvTranspose2d, ConvTranspose3d = (_conv_transpose_class(n) for n in (1, 2, 3))

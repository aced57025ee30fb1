"""Linear (fully connected) layer and Flatten."""

import numpy as np

import fastconv
from fastconv.nn.init import reset_weight_bias
from fastconv.nn.module import Module, Parameter, _as_dtype

__all__ = ["Linear", "Flatten"]

# OpenBLAS runs a GEMM on one thread when m * n * k <= 4 * 65536 (interface/gemm.c).
# Its worker threads spin after a call and fight fastconv's OpenMP team for the
# cores, so matrix products here stay under that size, in row chunks, and larger
# ones run as a 1x1 convolution on fastconv's own threads.
_ONE_THREAD_MNK = 4 * 65536
_MIN_CHUNK_ROWS = 4


def matmul(a, b, out):
    """``out[...] = a @ b`` for 2-d float arrays without waking BLAS threads."""
    m, k = a.shape
    n = b.shape[1]
    if m * n * k <= _ONE_THREAD_MNK:
        return np.matmul(a, b, out=out)
    rows = _ONE_THREAD_MNK // (n * k)
    if rows >= _MIN_CHUNK_ROWS:
        for s in range(0, m, rows):
            np.matmul(a[s:s + rows], b, out=out[s:s + rows])
        return out
    # out (m, n) = sum_c a[m, c] b[c, n]: a convolution of b as one image with k
    # channels and n positions by m filters of width 1
    fastconv.conv1d(np.ascontiguousarray(b)[None], a[:, :, None], out=out[None])
    return out


class Linear(Module):
    """``y = x @ weight.T + bias``, as ``torch.nn.Linear(in_features, out_features, bias=True)``.

    Parameters
    ----------
    in_features, out_features : int
    bias : bool, default True
    dtype : float32 (default) or float64

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import nn
    >>> fc = nn.Linear(3, 2)
    >>> fc.weight.shape, fc.bias.shape
    ((2, 3), (2,))
    >>> fc(np.zeros((4, 3), dtype=np.float32)).shape
    (4, 2)
    """

    keeps_output = False

    def __init__(self, in_features, out_features, bias=True, dtype=None):
        super().__init__()
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.dtype = _as_dtype(dtype)
        self.weight = Parameter(np.empty((self.out_features, self.in_features), self.dtype))
        self.bias = Parameter(np.empty(self.out_features, self.dtype)) if bias else None
        self._parameters["weight"] = self.weight
        self._parameters["bias"] = self.bias
        reset_weight_bias(self.weight.data, self.bias.data if bias else None)
        self._x = None

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")

    def forward(self, x):
        x = np.asarray(x)
        if x.dtype != self.dtype:
            x = x.astype(self.dtype)
        if x.shape[-1:] != (self.in_features,):
            raise ValueError(f"Linear expects input of shape (..., {self.in_features}), got "
                             f"{x.shape}")
        self._x = x
        y = self._buf("y", x.shape[:-1] + (self.out_features,), self.dtype, self._reuse_out)
        matmul(x.reshape(-1, self.in_features), self.weight.data.T,
               y.reshape(-1, self.out_features))
        if self.bias is not None:
            y += self.bias.data
        return y

    def _backward(self, grad_output, need_input_grad):
        x = self._x
        if x is None:
            raise RuntimeError("Linear.backward called before forward")
        gy = np.asarray(grad_output, dtype=self.dtype)
        g2 = gy.reshape(-1, self.out_features)
        x2 = x.reshape(-1, self.in_features)
        gw = self._buf("gw", self.weight.shape, self.dtype)
        matmul(g2.T, x2, gw)
        self.weight.grad += gw
        if self.bias is not None:
            self.bias.grad += g2.sum(axis=0)
        if not need_input_grad:
            return None
        gx = self._buf("gx", x.shape, self.dtype, self._reuse_gin)
        matmul(g2, self.weight.data, gx.reshape(-1, self.in_features))
        return gx


class Flatten(Module):
    """Flatten axes ``start_dim..end_dim`` into one, as ``torch.nn.Flatten(start_dim=1,
    end_dim=-1)``; a view where the input allows."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = int(start_dim), int(end_dim)
        self._shape = None

    def forward(self, x):
        x = np.asarray(x)
        self._shape = x.shape
        s = self.start_dim % max(x.ndim, 1)
        e = self.end_dim % max(x.ndim, 1)
        return x.reshape(x.shape[:s] + (-1,) + x.shape[e + 1:])

    def _backward(self, grad_output, need_input_grad):
        if not need_input_grad:
            return None
        return np.asarray(grad_output).reshape(self._shape)

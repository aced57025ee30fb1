"""Element-wise activations: ReLU, Tanh, Sigmoid (NumPy, in place where safe)."""

import numpy as np

from fastconv.nn.module import Module

__all__ = ["ReLU", "Tanh", "Sigmoid"]


class _Elementwise(Module):
    def __init__(self):
        super().__init__()
        self._y = None

    def _out(self, x):
        x = np.asarray(x)
        if not np.issubdtype(x.dtype, np.floating):
            x = x.astype(np.float32)
        return x, self._buf("y", x.shape, x.dtype, self._reuse_out)

    def _gin(self, gy, y):
        if self._y is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        gy = np.asarray(gy)
        if self._own_grad and gy.dtype == y.dtype and gy.flags.writeable:
            return gy
        return self._buf("gx", y.shape, y.dtype, self._reuse_gin)


class ReLU(Module):
    """``max(x, 0)``, as ``torch.nn.ReLU(inplace=False)``.

    In a Sequential, after a layer whose backward does not read its own output
    (convolution, linear, pooling), it overwrites that output instead of writing
    a new array (``inplace=True`` asks for that everywhere, on the caller's
    array too).

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import nn
    >>> relu = nn.ReLU()
    >>> relu(np.array([-1.0, 2.0]))
    array([0., 2.])
    >>> relu.backward(np.array([5.0, 5.0]))
    array([0., 5.])
    """

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = bool(inplace)
        self.inplace_ok = False
        self._y = None

    def forward(self, x):
        if type(x) is not np.ndarray:
            x = np.asarray(x)
        if x.dtype.kind != "f":
            x = x.astype(np.float32)
        if (self.inplace or self.inplace_ok) and x.flags.writeable:
            y = x
        else:
            y = self._buf("y", x.shape, x.dtype, self._reuse_out)
        np.maximum(x, 0, out=y)
        self._y = y
        return y

    def _backward(self, grad_output, need_input_grad):
        y = self._y
        if y is None:
            raise RuntimeError("ReLU.backward called before forward")
        if not need_input_grad:
            return None
        gy = np.asarray(grad_output)
        if self._own_grad and gy.dtype == y.dtype and gy.flags.writeable:
            gx = gy
        else:
            gx = self._buf("gx", y.shape, np.result_type(gy, y), self._reuse_gin)
        mask = self._buf("mask", y.shape, np.bool_)
        np.greater(y, 0, out=mask)
        np.multiply(gy, mask, out=gx)
        return gx


class Tanh(_Elementwise):
    """``tanh(x)``, as ``torch.nn.Tanh``; backward ``gy * (1 - y**2)``."""

    def forward(self, x):
        x, y = self._out(x)
        np.tanh(x, out=y)
        self._y = y
        return y

    def _backward(self, grad_output, need_input_grad):
        y = self._y
        gx = self._gin(grad_output, y)
        if not need_input_grad:
            return None
        t = self._buf("t", y.shape, y.dtype)
        np.multiply(y, y, out=t)
        np.subtract(1, t, out=t)
        np.multiply(grad_output, t, out=gx)
        return gx


class Sigmoid(_Elementwise):
    """``1 / (1 + exp(-x))``, as ``torch.nn.Sigmoid``; backward ``gy * y * (1 - y)``."""

    def forward(self, x):
        x, y = self._out(x)
        np.negative(x, out=y)
        np.exp(y, out=y)
        y += 1
        np.reciprocal(y, out=y)
        self._y = y
        return y

    def _backward(self, grad_output, need_input_grad):
        y = self._y
        gx = self._gin(grad_output, y)
        if not need_input_grad:
            return None
        t = self._buf("t", y.shape, y.dtype)
        np.subtract(1, y, out=t)
        t *= y
        np.multiply(grad_output, t, out=gx)
        return gx

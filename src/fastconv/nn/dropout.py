"""Dropout (inverted: scaled by 1 / (1 - p) in training, identity in eval)."""

import numpy as np

from fastconv.nn import init
from fastconv.nn.module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    """Zero each element with probability ``p`` in training and scale the rest by
    ``1 / (1 - p)``, as ``torch.nn.Dropout(p=0.5, inplace=False)``.

    The mask comes from :func:`fastconv.nn.init.get_rng` (NumPy's generator), so
    its draws differ from PyTorch's.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import nn
    >>> drop = nn.Dropout(0.5)
    >>> y = drop(np.ones((2, 1000), dtype=np.float32))
    >>> sorted(set(y.ravel().tolist()))
    [0.0, 2.0]
    >>> drop.eval()(np.ones(3))
    array([1., 1., 1.])
    """

    keeps_output = False

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        p = float(p)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout probability has to be between 0 and 1, got {p}")
        self.p, self.inplace = p, bool(inplace)
        self._scale = None

    def extra_repr(self):
        return f"p={self.p}"

    def forward(self, x):
        x = np.asarray(x)
        if not self.training or self.p == 0.0:
            self._scale = None
            return x
        y = x if self.inplace else self._buf("y", x.shape, x.dtype, self._reuse_out)
        # the mask, already divided by (1 - p), as PyTorch's bernoulli_(1 - p).div_(1 - p)
        scale = self._buf("scale", x.shape, x.dtype)
        if self.p == 1.0:
            scale[...] = 0
        else:
            init.get_rng().random(dtype=scale.dtype, out=scale)
            np.greater_equal(scale, self.p, out=scale, casting="unsafe")
            scale *= x.dtype.type(1.0 / (1.0 - self.p))
        np.multiply(x, scale, out=y)
        self._scale = scale
        return y

    def _backward(self, grad_output, need_input_grad):
        if not need_input_grad:
            return None
        if self._scale is None:
            return grad_output
        gy = np.asarray(grad_output)
        gx = gy if self._own_grad and gy.flags.writeable else \
            self._buf("gx", gy.shape, gy.dtype, self._reuse_gin)
        np.multiply(gy, self._scale, out=gx)
        return gx

"""Pooling layers: MaxPool1d/2d/3d and AvgPool1d/2d/3d on fastconv's kernels."""

import numpy as np

from fastconv.nn.module import Module
from fastconv.pool import avg_pool, avg_pool_backward, max_pool, max_pool_backward

__all__ = ["MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d"]


class _MaxPoolNd(Module):
    _nd = 0
    keeps_output = False

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.return_indices, self.ceil_mode = dilation, return_indices, ceil_mode
        self._args = (kernel_size, stride, padding, dilation, ceil_mode)
        self._ind = None
        self._xshape = None

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, x):
        # indices only where backward or the caller needs them
        want = self.training or self.return_indices
        r = max_pool(x, *self._args, return_indices=want, _nd=self._nd)
        if not want:
            self._ind = None        # a backward now would use another input's windows
            return r
        y, self._ind = r
        self._xshape = np.shape(x)
        return (y, self._ind) if self.return_indices else y

    def _backward(self, grad_output, need_input_grad):
        if self._ind is None:
            raise RuntimeError(f"{type(self).__name__}.backward needs a forward in train mode")
        if not need_input_grad:
            return None
        return max_pool_backward(grad_output, self._ind, self._xshape, spatial_ndim=self._nd)


class _AvgPoolNd(Module):
    _nd = 0
    keeps_output = False

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad
        self.divisor_override = divisor_override
        self._args = (kernel_size, stride, padding, ceil_mode, count_include_pad,
                      divisor_override)
        self._xshape = None

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, x):
        self._xshape = np.shape(x)
        return avg_pool(x, *self._args, _nd=self._nd)

    def _backward(self, grad_output, need_input_grad):
        if self._xshape is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        if not need_input_grad:
            return None
        return avg_pool_backward(grad_output, self._xshape, *self._args, _nd=self._nd)


class MaxPool1d(_MaxPoolNd):
    """1-d max pooling, as ``torch.nn.MaxPool1d(kernel_size, stride=None, padding=0,
    dilation=1, return_indices=False, ceil_mode=False)``."""
    _nd = 1


class MaxPool2d(_MaxPoolNd):
    """2-d max pooling, as ``torch.nn.MaxPool2d`` (same arguments and defaults).

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import nn
    >>> pool = nn.MaxPool2d(2)
    >>> y = pool(np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4))
    >>> y[0, 0]
    array([[ 5.,  7.],
           [13., 15.]], dtype=float32)
    >>> pool.backward(np.ones_like(y))[0, 0]
    array([[0., 0., 0., 0.],
           [0., 1., 0., 1.],
           [0., 0., 0., 0.],
           [0., 1., 0., 1.]], dtype=float32)
    """
    _nd = 2


class MaxPool3d(_MaxPoolNd):
    """3-d max pooling, as ``torch.nn.MaxPool3d`` (same arguments and defaults)."""
    _nd = 3


class AvgPool1d(_AvgPoolNd):
    """1-d mean pooling, as ``torch.nn.AvgPool1d(kernel_size, stride=None, padding=0,
    ceil_mode=False, count_include_pad=True)``."""
    _nd = 1

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True):
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad)


class AvgPool2d(_AvgPoolNd):
    """2-d mean pooling, as ``torch.nn.AvgPool2d`` (same arguments and defaults)."""
    _nd = 2


class AvgPool3d(_AvgPoolNd):
    """3-d mean pooling, as ``torch.nn.AvgPool3d`` (same arguments and defaults)."""
    _nd = 3

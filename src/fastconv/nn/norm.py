"""Batch normalisation: BatchNorm1d and BatchNorm2d (PyTorch's statistics and buffers)."""

import numpy as np

from fastconv.nn.module import Module, Parameter, _as_dtype

__all__ = ["BatchNorm1d", "BatchNorm2d"]


class _BatchNorm(Module):
    _ndims = ()
    keeps_output = False

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, dtype=None):
        super().__init__()
        self.num_features = int(num_features)
        self.eps, self.momentum = float(eps), momentum
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)
        self.dtype = _as_dtype(dtype)
        c = self.num_features
        if affine:
            self.weight = Parameter(np.ones(c, self.dtype))
            self.bias = Parameter(np.zeros(c, self.dtype))
        else:
            self.weight = self.bias = None
        self._parameters["weight"] = self.weight
        self._parameters["bias"] = self.bias
        if track_running_stats:
            self._buffers["running_mean"] = np.zeros(c, self.dtype)
            self._buffers["running_var"] = np.ones(c, self.dtype)
            self._buffers["num_batches_tracked"] = np.zeros((), np.int64)
        self._xhat = None

    @property
    def running_mean(self):
        return self._buffers.get("running_mean")

    @property
    def running_var(self):
        return self._buffers.get("running_var")

    @property
    def num_batches_tracked(self):
        return self._buffers.get("num_batches_tracked")

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"

    def _check(self, x):
        x = np.asarray(x)
        if x.dtype != self.dtype:
            x = x.astype(self.dtype)
        if x.ndim not in self._ndims or x.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}({self.num_features}) expects input of "
                             f"{' or '.join(f'{n}-d' for n in self._ndims)} shape with "
                             f"{self.num_features} channels on axis 1, got {x.shape}")
        return x

    def forward(self, x):
        x = self._check(x)
        c = self.num_features
        bshape = (1, c) + (1,) * (x.ndim - 2)
        axes = (0,) + tuple(range(2, x.ndim))
        batch_stats = self.training or not self.track_running_stats
        if batch_stats:
            m = x.size // c
            if m <= 1:
                raise ValueError(f"Expected more than 1 value per channel when training, got "
                                 f"input size {x.shape}")
            # statistics in float64, as PyTorch's CPU kernels accumulate
            mean = x.mean(axis=axes, dtype=np.float64)
            xc = self._buf("xhat", x.shape, self.dtype, True)
            np.subtract(x, mean.astype(self.dtype).reshape(bshape), out=xc)
            var = np.square(xc, dtype=np.float64).mean(axis=axes)
            invstd = (1.0 / np.sqrt(var + self.eps)).astype(self.dtype)
            if self.training and self.track_running_stats:
                nbt = self._buffers["num_batches_tracked"]
                nbt += 1
                mom = self.momentum if self.momentum is not None else 1.0 / float(nbt)
                rm, rv = self._buffers["running_mean"], self._buffers["running_var"]
                rm *= 1 - mom
                rm += (mom * mean).astype(self.dtype)
                rv *= 1 - mom
                rv += (mom * var * m / (m - 1)).astype(self.dtype)
        else:
            mean = self._buffers["running_mean"]
            invstd = (1.0 / np.sqrt(self._buffers["running_var"].astype(np.float64)
                                    + self.eps)).astype(self.dtype)
            xc = self._buf("xhat", x.shape, self.dtype, True)
            np.subtract(x, mean.reshape(bshape), out=xc)
        xc *= invstd.reshape(bshape)
        self._xhat, self._invstd, self._batch_stats = xc, invstd, batch_stats
        y = self._buf("y", x.shape, self.dtype, self._reuse_out)
        if self.affine:
            np.multiply(xc, self.weight.data.reshape(bshape), out=y)
            y += self.bias.data.reshape(bshape)
        else:
            np.copyto(y, xc)
        return y

    def _backward(self, grad_output, need_input_grad):
        xhat = self._xhat
        if xhat is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        gy = np.asarray(grad_output, dtype=self.dtype)
        c = self.num_features
        bshape = (1, c) + (1,) * (gy.ndim - 2)
        axes = (0,) + tuple(range(2, gy.ndim))
        sum_gy = gy.sum(axis=axes, dtype=np.float64)
        t = self._buf("t", gy.shape, self.dtype)
        np.multiply(gy, xhat, out=t)
        sum_gyx = t.sum(axis=axes, dtype=np.float64)
        if self.affine:
            self.weight.grad += sum_gyx.astype(self.dtype)
            self.bias.grad += sum_gy.astype(self.dtype)
        if not need_input_grad:
            return None
        scale = self._invstd * (self.weight.data if self.affine else 1)
        gx = self._buf("gx", gy.shape, self.dtype, self._reuse_gin)
        if not self._batch_stats:
            np.multiply(gy, scale.reshape(bshape).astype(self.dtype), out=gx)
            return gx
        m = gy.size // c
        # gx = scale * (gy - mean(gy) - xhat * mean(gy * xhat))
        np.multiply(xhat, (sum_gyx / m).astype(self.dtype).reshape(bshape), out=gx)
        np.subtract(gy, gx, out=gx)
        gx -= (sum_gy / m).astype(self.dtype).reshape(bshape)
        gx *= scale.astype(self.dtype).reshape(bshape)
        return gx


class BatchNorm1d(_BatchNorm):
    """Batch normalisation over (N, C) or (N, C, L), as ``torch.nn.BatchNorm1d(num_features,
    eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)``.

    state_dict keys: weight, bias, running_mean, running_var, num_batches_tracked.
    """
    _ndims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation over (N, C, H, W), as ``torch.nn.BatchNorm2d`` (same arguments).

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import nn
    >>> bn = nn.BatchNorm2d(3)
    >>> list(bn.state_dict())
    ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']
    >>> y = bn(np.arange(24, dtype=np.float32).reshape(2, 3, 2, 2))
    >>> bool(abs(y.mean()) < 1e-6), int(bn.num_batches_tracked)
    (True, 1)
    """
    _ndims = (4,)

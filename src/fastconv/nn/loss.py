"""Losses: CrossEntropyLoss and MSELoss; ``loss = fn(y, t)`` then ``fn.backward()``."""

import numpy as np

__all__ = ["CrossEntropyLoss", "MSELoss"]

_REDUCTIONS = ("mean", "sum")


class _Loss:
    def __init__(self, reduction="mean"):
        if reduction not in _REDUCTIONS:
            raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
        self.reduction = reduction
        self._g = None

    def backward(self):
        """dL/dy of the last call (an array this loss reuses on its next call)."""
        if self._g is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before the loss")
        return self._g

    def _buf(self, shape, dtype):
        g = self._g
        if g is None or g.shape != shape or g.dtype != dtype:
            g = np.empty(shape, dtype)
        return g


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy of logits ``(N, C)`` against integer class targets ``(N,)``,
    as ``torch.nn.CrossEntropyLoss(reduction='mean')``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import nn
    >>> fn = nn.CrossEntropyLoss()
    >>> round(fn(np.zeros((2, 4), dtype=np.float32), np.array([0, 3])), 6)
    1.386294
    >>> fn.backward()
    array([[-0.375,  0.125,  0.125,  0.125],
           [ 0.125,  0.125,  0.125, -0.375]], dtype=float32)
    """

    def __call__(self, logits, target):
        x = np.asarray(logits)
        if not np.issubdtype(x.dtype, np.floating):
            x = x.astype(np.float32)
        t = np.asarray(target)
        if x.ndim != 2:
            raise ValueError(f"CrossEntropyLoss expects logits of shape (N, C), got {x.shape}")
        if t.shape != (x.shape[0],) or not np.issubdtype(t.dtype, np.integer):
            raise ValueError(f"CrossEntropyLoss expects integer targets of shape "
                             f"({x.shape[0]},), got {t.dtype} {t.shape}")
        n, c = x.shape
        if n and (t.min() < 0 or t.max() >= c):
            raise ValueError(f"CrossEntropyLoss: targets must lie in [0, {c}), got "
                             f"[{t.min()}, {t.max()}]")
        g = self._buf(x.shape, x.dtype)
        # log_softmax as PyTorch: x - max - log(sum(exp(x - max)))
        np.subtract(x, x.max(axis=1, keepdims=True), out=g)
        rows = np.arange(n)
        picked = g[rows, t]
        np.exp(g, out=g)
        s = g.sum(axis=1, keepdims=True)
        nll = np.log(s[:, 0]) - picked
        loss = float(nll.sum(dtype=np.float64))
        g /= s
        g[rows, t] -= 1
        if self.reduction == "mean":
            loss /= max(n, 1)
            g *= x.dtype.type(1.0 / n) if n else 0
        self._g = g
        return loss


class MSELoss(_Loss):
    """Mean squared error ``mean((y - t)**2)``, as ``torch.nn.MSELoss(reduction='mean')``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import nn
    >>> fn = nn.MSELoss()
    >>> fn(np.array([1.0, 3.0]), np.array([0.0, 0.0]))
    5.0
    >>> fn.backward()
    array([1., 3.])
    """

    def __call__(self, y, target):
        y = np.asarray(y)
        if not np.issubdtype(y.dtype, np.floating):
            y = y.astype(np.float32)
        t = np.asarray(target)
        if t.shape != y.shape:
            raise ValueError(f"MSELoss: target shape {t.shape} differs from input shape "
                             f"{y.shape}")
        g = self._buf(y.shape, y.dtype)
        np.subtract(y, t, out=g, casting="same_kind")
        loss = float(np.square(g, dtype=np.float64).sum())
        if self.reduction == "mean":
            loss /= max(y.size, 1)
            g *= y.dtype.type(2.0 / y.size) if y.size else 0
        else:
            g *= 2
        self._g = g
        return loss

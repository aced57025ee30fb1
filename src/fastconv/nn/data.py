"""Data helpers: a fixed-seed train/validation split and mini-batch iteration."""

import numpy as np

__all__ = ["train_val_split", "batches", "accuracy"]


def train_val_split(x, y, val_fraction=0.2, seed=0):
    """Shuffle with a fixed seed and split off the last ``val_fraction`` for validation.

    Returns
    -------
    x_train, y_train, x_val, y_val : ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv.nn.data import train_val_split
    >>> xt, yt, xv, yv = train_val_split(np.arange(10), np.arange(10), 0.3)
    >>> len(xt), len(xv)
    (7, 3)
    """
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"x and y differ in length: {len(x)} and {len(y)}")
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must lie in (0, 1), got {val_fraction}")
    order = np.random.default_rng(seed).permutation(len(x))
    n_val = max(1, int(round(len(x) * val_fraction)))
    tr, va = order[:-n_val], order[-n_val:]
    return x[tr], y[tr], x[va], y[va]


def batches(x, y, batch_size, shuffle=True, rng=None, drop_last=False):
    """Yield ``(x_batch, y_batch)`` pairs, reshuffled on each call when ``shuffle``.

    The batches are gathered into two arrays reused from one batch to the next
    (no fresh pages each step): use each batch before asking for the next.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv.nn.data import batches
    >>> [b.tolist() for b, _ in batches(np.arange(5), np.arange(5), 2, shuffle=False)]
    [[0, 1], [2, 3], [4]]
    """
    x, y = np.asarray(x), np.asarray(y)
    n = len(x)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    order = (rng if rng is not None else np.random.default_rng()).permutation(n) \
        if shuffle else np.arange(n)
    bx = np.empty((min(batch_size, n),) + x.shape[1:], x.dtype)
    by = np.empty((min(batch_size, n),) + y.shape[1:], y.dtype)
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size]
        k = len(idx)
        if k < batch_size and drop_last:
            return
        np.take(x, idx, axis=0, out=bx[:k])
        np.take(y, idx, axis=0, out=by[:k])
        yield bx[:k], by[:k]


def accuracy(model, x, y, batch_size=1000):
    """Fraction of rows of ``x`` whose arg-max output equals ``y`` (model in eval mode,
    restored afterwards)."""
    was = model.training
    model.eval()
    correct = 0
    for s in range(0, len(x), batch_size):
        out = model(x[s:s + batch_size])
        correct += int((out.argmax(axis=1) == y[s:s + batch_size]).sum())
    model.train(was)
    return correct / max(len(x), 1)

"""PyTorch's default initialisation and the random generator of fastconv.nn.

Weights of convolutions and linear layers: ``kaiming_uniform_(a=sqrt(5))``, i.e.
uniform on ``(-1/sqrt(fan_in), 1/sqrt(fan_in))``; biases uniform on the same
interval.  The numbers come from NumPy's generator, not PyTorch's: to start both
from the same weights, load one model's ``state_dict`` into the other.
"""

import math

import numpy as np

__all__ = ["manual_seed", "get_rng", "calculate_fan_in", "uniform_", "kaiming_uniform_",
           "zeros_", "ones_"]

_rng = np.random.default_rng()


def manual_seed(seed):
    """Seed the generator used by initialisation and dropout.

    Examples
    --------
    >>> from fastconv import nn
    >>> nn.init.manual_seed(0); a = nn.Linear(3, 2).weight.data.copy()
    >>> nn.init.manual_seed(0); b = nn.Linear(3, 2).weight.data
    >>> bool((a == b).all())
    True
    """
    global _rng
    _rng = np.random.default_rng(seed)


def get_rng():
    """The generator of fastconv.nn (a ``numpy.random.Generator``)."""
    return _rng


def calculate_fan_in(shape):
    """``shape[1] * prod(shape[2:])``, as ``torch.nn.init._calculate_fan_in_and_fan_out``."""
    if len(shape) < 2:
        raise ValueError(f"fan in needs at least 2 dimensions, got shape {tuple(shape)}")
    return int(shape[1]) * math.prod(int(s) for s in shape[2:])


def uniform_(a, low, high):
    """Fill ``a`` in place from U(low, high); returns ``a``."""
    a[...] = _rng.uniform(low, high, size=a.shape)
    return a


def kaiming_uniform_(a, alpha=0.0):
    """He uniform initialisation with negative slope ``alpha`` (PyTorch's ``a``), in place."""
    fan_in = calculate_fan_in(a.shape)
    gain = math.sqrt(2.0 / (1 + alpha * alpha))
    bound = math.sqrt(3.0) * gain / math.sqrt(fan_in) if fan_in else 0.0
    return uniform_(a, -bound, bound)


def zeros_(a):
    a[...] = 0
    return a


def ones_(a):
    a[...] = 1
    return a


def reset_weight_bias(weight, bias):
    """PyTorch's ``reset_parameters`` of convolutions and linear layers."""
    kaiming_uniform_(weight, alpha=math.sqrt(5))
    if bias is not None:
        fan_in = calculate_fan_in(weight.shape)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        uniform_(bias, -bound, bound)

"""The module protocol: Parameter, Module and Sequential (PyTorch's names and keys).

A layer's ``forward`` keeps what its ``backward`` needs; ``backward(grad_output)``
returns the gradient with respect to the input and adds the parameter gradients to
``parameter.grad``.  There is no autograd: a model is a chain of layers whose
backward passes run in reverse order (``Sequential.backward``).
"""

from collections import OrderedDict

import numpy as np

from fastconv._dask import dask_aware

__all__ = ["Parameter", "Module", "Sequential"]


class Parameter:
    """A trainable array and its gradient, like ``torch.nn.Parameter``.

    Parameters
    ----------
    data : ndarray
        The values; kept as given (no copy).

    Attributes
    ----------
    data : ndarray
        The values.  Layers read ``parameter.data`` on every call, so an optimiser
        may rebind it to a view of one flat buffer.
    grad : ndarray
        Same shape and dtype; ``backward`` adds to it, ``zero_grad`` clears it.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv.nn import Parameter
    >>> p = Parameter(np.ones((2, 3), dtype=np.float32))
    >>> p.shape, p.grad.sum()
    ((2, 3), np.float32(0.0))
    """

    __slots__ = ("data", "grad")

    def __init__(self, data):
        self.data = data
        self.grad = np.zeros_like(data)

    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def size(self):
        return self.data.size

    def __repr__(self):
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"


def _as_dtype(dtype):
    dtype = np.dtype(np.float32 if dtype is None else dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64, got {dtype}")
    return dtype


class Module:
    """Base class of layers: parameters, buffers, children, modes and state_dict.

    Subclasses register their parameters in ``self._parameters``, their buffers
    (running statistics) in ``self._buffers`` and implement ``forward(x)`` and
    ``_backward(grad_output, need_input_grad)``.
    """

    #: whether backward reads this layer's own output (an in-place op after it would break it)
    keeps_output = True

    def __init__(self):
        self._parameters = OrderedDict()
        self._buffers = OrderedDict()
        self._modules = OrderedDict()
        self.training = True
        # Set by Sequential: the output array may be reused by the next call
        # (reuse_out), the grad_output passed in may be overwritten (own_grad),
        # and the returned input gradient may be a reused buffer (reuse_gin).
        self._reuse_out = False
        self._own_grad = False
        self._reuse_gin = False
        self._bufs = {}

    # ---------------------------------------------------------------- calls
    @dask_aware("module")
    def __call__(self, x):
        return self.forward(x)

    def forward(self, x):
        raise NotImplementedError

    def backward(self, grad_output):
        """Gradient with respect to the last forward's input; adds parameter gradients."""
        return self._backward(grad_output, True)

    def _backward(self, grad_output, need_input_grad):
        raise NotImplementedError

    def _buf(self, name, shape, dtype, reuse=True):
        """An uninitialised array; the same one as last time when ``reuse`` and shapes agree."""
        if not reuse:
            return np.empty(shape, dtype)
        b = self._bufs.get(name)
        if b is None or b.shape != shape or b.dtype != dtype:
            b = np.empty(shape, dtype)
            self._bufs[name] = b
        return b

    # ----------------------------------------------------------- structure
    def children(self):
        return iter(self._modules.values())

    def named_parameters(self, prefix=""):
        """(name, Parameter) pairs in PyTorch's order: own parameters, then children's."""
        for name, p in self._parameters.items():
            if p is not None:
                yield prefix + name, p
        for cname, child in self._modules.items():
            yield from child.named_parameters(prefix + cname + ".")

    def parameters(self):
        """The trainable Parameters, in PyTorch's order."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self):
        for p in self.parameters():
            p.grad[...] = 0

    def train(self, mode=True):
        self.training = bool(mode)
        for child in self._modules.values():
            child.train(mode)
        return self

    def eval(self):
        return self.train(False)

    # ---------------------------------------------------------- state_dict
    def _state_items(self, prefix):
        for name, p in self._parameters.items():
            if p is not None:
                yield prefix + name, p.data
        for name, b in self._buffers.items():
            if b is not None:
                yield prefix + name, b
        for cname, child in self._modules.items():
            yield from child._state_items(prefix + cname + ".")

    def state_dict(self):
        """Copies of the parameters and buffers under PyTorch's keys ('0.weight', ...)."""
        return OrderedDict((k, np.array(v, copy=True)) for k, v in self._state_items(""))

    def load_state_dict(self, state_dict, strict=True):
        """Copy values in place from a mapping of arrays (PyTorch's keys and shapes).

        ``{k: v.numpy() for k, v in torch_model.state_dict().items()}`` and the
        result of ``np.load`` on an ``np.savez`` of a state_dict both load as they are.
        Values are cast to each parameter's dtype.

        Returns
        -------
        (missing_keys, unexpected_keys) : tuple of lists
            Both empty unless ``strict=False``.
        """
        own = OrderedDict(self._state_items(""))
        keys = list(state_dict.keys())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in keys if k not in own]
        if strict and (missing or unexpected):
            raise KeyError(f"load_state_dict: missing keys {missing}, unexpected keys "
                           f"{unexpected}")
        for k, dst in own.items():
            if k not in state_dict:
                continue
            src = np.asarray(state_dict[k])
            if src.shape != dst.shape:
                raise ValueError(f"load_state_dict: {k!r} has shape {src.shape}, the model's "
                                 f"has shape {dst.shape}")
            np.copyto(dst, src, casting="unsafe")
        return missing, unexpected

    def __repr__(self):
        lines = [type(self).__name__ + "(" + self.extra_repr()]
        for name, child in self._modules.items():
            lines.append(f"  ({name}): " + repr(child).replace("\n", "\n  "))
        return lines[0] + ")" if len(lines) == 1 else "\n".join(lines) + "\n)"

    def extra_repr(self):
        return ""


class Sequential(Module):
    """Layers run in order; ``backward`` runs their backward passes in reverse.

    Inside a Sequential, the layers write their outputs and gradients into
    buffers they keep from one call to the next (no fresh pages each step), and
    a ReLU right after a layer that does not need its output (convolution,
    linear, pooling, batch norm) works in place.  The model's own output and
    input gradient are fresh arrays.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import nn
    >>> model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    >>> [k for k in model.state_dict()]
    ['0.weight', '0.bias', '2.weight', '2.bias']
    >>> x = np.ones((5, 4), dtype=np.float32)
    >>> y = model(x)
    >>> gx = model.backward(np.ones_like(y))
    >>> y.shape, gx.shape, model[0].weight.grad.shape
    ((5, 2), (5, 4), (3, 4))
    """

    def __init__(self, *layers):
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], (dict, OrderedDict)):
            items = list(layers[0].items())
        else:
            items = [(str(i), m) for i, m in enumerate(layers)]
        for name, m in items:
            if not isinstance(m, Module):
                raise TypeError(f"Sequential takes Modules, got {type(m).__name__}")
            self._modules[name] = m
        self._layers = [m for _, m in items]
        self._wire()

    def _wire(self):
        layers = self._layers
        n = len(layers)
        for i, m in enumerate(layers):
            m._reuse_out = i < n - 1 or self._reuse_out
            m._own_grad = i < n - 1 or self._own_grad
            m._reuse_gin = i > 0 or self._reuse_gin
            if hasattr(m, "inplace_ok"):
                # in place only on an array this model owns whose producer
                # does not read it again in its backward pass
                prev = layers[i - 1] if i > 0 else None
                m.inplace_ok = (prev is not None and prev._reuse_out and not prev.keeps_output
                                and m._reuse_out)
            if isinstance(m, Sequential):
                m._wire()

    def __getitem__(self, i):
        return self._layers[i]

    def __len__(self):
        return len(self._layers)

    def __iter__(self):
        return iter(self._layers)

    def forward(self, x):
        for m in self._layers:
            x = m.forward(x)
        return x

    def backward(self, grad_output, input_grad=True):
        """Backward through every layer; ``input_grad=False`` skips the first layer's
        input gradient (returns None), as PyTorch does for inputs without grad."""
        return self._backward(grad_output, input_grad)

    def _backward(self, grad_output, need_input_grad):
        g = grad_output
        last = len(self._layers) - 1
        for i in range(last, -1, -1):
            g = self._layers[i]._backward(g, need_input_grad or i > 0)
        return g

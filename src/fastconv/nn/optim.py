"""Optimisers SGD and Adam, updating exactly as PyTorch's (``torch.optim``, for-loop form).

Both keep their parameters in one flat buffer per dtype: on construction the
parameters' ``data`` and ``grad`` are copied there and rebound to views of it
(layers always read ``parameter.data``), so a step is a handful of NumPy calls
whatever the number of layers.  Every operation is element-wise and in
PyTorch's order, with scalars rounded to the parameters' dtype as PyTorch does.
"""

import numpy as np

__all__ = ["Optimizer", "SGD", "Adam"]


class _Fma:
    """``out = a * b + c`` rounded once, as PyTorch's vectorised ``fmadd`` (its ``add`` with
    ``alpha``, ``lerp`` and ``addcmul`` kernels).  float32 arrays go through float64,
    where the product of two float32 numbers is exact, so the result is rounded once
    (twice only when the float64 sum lands on a float32 tie: rarely, by one ulp).
    float64 arrays are multiplied and added (NumPy has no fused multiply-add)."""

    def __init__(self, n, dtype):
        self.wide = np.empty(n, np.float64) if dtype == np.float32 else None

    def __call__(self, a, b, c, out):
        w = self.wide
        if w is None:
            if out is c:
                c += np.multiply(a, b)
            else:
                np.multiply(a, b, out=out)
                out += c
            return out
        np.multiply(a, b, out=w, dtype=np.float64)
        np.add(w, c, out=w)
        np.copyto(out, w, casting="same_kind")
        return out


class _Group:
    """Parameters of one dtype, their data and grads as views of two flat arrays."""

    def __init__(self, params):
        self.params = params
        dtype = params[0].data.dtype
        n = sum(p.data.size for p in params)
        self.data = np.empty(n, dtype)
        self.grad = np.empty(n, dtype)
        self.bind()

    def bind(self):
        off = 0
        for p in self.params:
            k = p.data.size
            d, g = self.data[off:off + k], self.grad[off:off + k]
            d[...] = p.data.reshape(-1)
            g[...] = p.grad.reshape(-1)
            p.data, p.grad = d.reshape(p.data.shape), g.reshape(p.data.shape)
            off += k
        self.views = [(p.data, p.grad) for p in self.params]

    def check(self):
        # someone rebound a parameter's arrays: gather them again
        for p, (d, g) in zip(self.params, self.views):
            if p.data is not d or p.grad is not g:
                self.bind()
                return


class Optimizer:
    """Base class: groups the parameters by dtype; ``zero_grad()`` clears their grads."""

    def __init__(self, params, defaults):
        params = list(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        for p in params:
            if not hasattr(p, "data") or not hasattr(p, "grad"):
                raise TypeError(f"optimizer takes Parameters (with .data and .grad), got "
                                f"{type(p).__name__}")
        if len({id(p) for p in params}) != len(params):
            raise ValueError("optimizer got some parameters more than once")
        self.defaults = defaults
        by_dtype = {}
        for p in params:
            by_dtype.setdefault(p.data.dtype, []).append(p)
        self._groups = [_Group(ps) for ps in by_dtype.values()]
        self._fma = [_Fma(g.data.size, g.data.dtype) for g in self._groups]
        self.params = params

    def zero_grad(self):
        for g in self._groups:
            g.check()
            g.grad[...] = 0

    def step(self):
        for i, g in enumerate(self._groups):
            g.check()
            self._update(i, g.data, g.grad)


def _check_nonneg(name, value):
    if not value >= 0.0:
        raise ValueError(f"Invalid {name} value: {value}")


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, as ``torch.optim.SGD``.

    ``g = grad + weight_decay * p``; with momentum ``b = momentum * b + (1 - dampening) * g``
    (``b = g`` on the first step), ``g = g + momentum * b`` (nesterov) or ``g = b``;
    ``p -= lr * g``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import nn
    >>> fc = nn.Linear(2, 1)
    >>> opt = nn.optim.SGD(fc.parameters(), lr=0.5)
    >>> fc.load_state_dict({"weight": np.zeros((1, 2)), "bias": np.zeros(1)})
    ([], [])
    >>> fc.weight.grad[...] = 1.0
    >>> opt.step()
    >>> fc.weight.data
    array([[-0.5, -0.5]], dtype=float32)
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False):
        for name, v in (("learning rate", lr), ("momentum", momentum),
                        ("weight_decay", weight_decay)):
            _check_nonneg(name, v)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))
        self.lr, self.momentum, self.dampening = float(lr), float(momentum), float(dampening)
        self.weight_decay, self.nesterov = float(weight_decay), bool(nesterov)
        self._buf = [None] * len(self._groups)
        self._tmp = [None] * len(self._groups)

    def _update(self, i, p, grad):
        f = p.dtype.type
        fma = self._fma[i]
        tmp = self._tmp[i]
        if tmp is None:
            tmp = self._tmp[i] = np.empty_like(p)
        g = grad
        if self.weight_decay != 0:
            g = fma(p, f(self.weight_decay), grad, tmp)      # grad.add(p, alpha=wd)
        if self.momentum != 0:
            buf = self._buf[i]
            if buf is None:
                buf = self._buf[i] = g.copy()
            else:
                buf *= f(self.momentum)                       # buf.mul_(momentum)
                fma(g, f(1 - self.dampening), buf, buf)       # .add_(g, alpha=1 - dampening)
            if self.nesterov:
                g = fma(buf, f(self.momentum), g, tmp)        # g.add(buf, alpha=momentum)
            else:
                g = buf
        fma(g, f(-self.lr), p, p)                             # p.add_(g, alpha=-lr)


class Adam(Optimizer):
    """Adam, as ``torch.optim.Adam`` (``amsgrad`` too; L2 ``weight_decay`` added to the grad).

    Per step t: ``m = lerp(m, g, 1 - beta1)``, ``v = beta2 * v + (1 - beta2) * g * g``,
    ``denom = sqrt(v) / sqrt(1 - beta2**t) + eps``, ``p += -(lr / (1 - beta1**t)) * m / denom``
    with the same order of operations, fused multiply-adds and scalar roundings as
    PyTorch's for-loop implementation: given the same gradients, float32 moments are
    PyTorch's bit for bit.  The parameters can differ by an ulp now and then, where
    PyTorch's square root (Intel MKL's vector sqrt in the x86 wheels) is not correctly
    rounded and NumPy's is.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import nn
    >>> fc = nn.Linear(2, 1)
    >>> opt = nn.optim.Adam(fc.parameters(), lr=0.1)
    >>> fc.load_state_dict({"weight": np.zeros((1, 2)), "bias": np.zeros(1)})
    ([], [])
    >>> fc.weight.grad[...] = 3.0
    >>> opt.step()
    >>> fc.weight.data
    array([[-0.1, -0.1]], dtype=float32)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False):
        _check_nonneg("learning rate", lr)
        _check_nonneg("epsilon value", eps)
        _check_nonneg("weight_decay value", weight_decay)
        b1, b2 = betas
        if not 0.0 <= b1 < 1.0 or not 0.0 <= b2 < 1.0:
            raise ValueError(f"Invalid beta parameters: {betas}")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad))
        self.lr, self.betas, self.eps = float(lr), (float(b1), float(b2)), float(eps)
        self.weight_decay, self.amsgrad = float(weight_decay), bool(amsgrad)
        self.step_count = 0
        self._state = [None] * len(self._groups)

    def step(self):
        self.step_count += 1
        super().step()

    def _update(self, i, p, grad):
        st = self._state[i]
        if st is None:
            z = np.zeros_like(p)
            st = self._state[i] = dict(m=z, v=np.zeros_like(p), t1=np.empty_like(p),
                                       t2=np.empty_like(p),
                                       vmax=np.zeros_like(p) if self.amsgrad else None)
        f = p.dtype.type
        fma = self._fma[i]
        b1, b2 = self.betas
        m, v, t1, t2 = st["m"], st["v"], st["t1"], st["t2"]
        g = grad
        if self.weight_decay != 0:
            g = fma(p, f(self.weight_decay), grad, t1)        # grad.add(p, alpha=wd)
        # m.lerp_(g, 1 - beta1), as PyTorch's vectorised lerp:
        # fma(w, g - m, m) for |w| < 0.5, else fma(w - 1, g - m, g)
        w = f(1 - b1)
        np.subtract(g, m, out=t2)
        if abs(w) < 0.5:
            fma(t2, w, m, m)
        else:
            fma(t2, w - f(1), g, m)
        # v.mul_(beta2).addcmul_(g, g, value=1 - beta2): fma(value * g, g, v)
        v *= f(b2)
        np.multiply(g, f(1 - b2), out=t2)
        fma(t2, g, v, v)
        t = self.step_count
        # bias corrections in Python floats, in PyTorch's order
        bias_correction1 = 1 - b1 ** t
        bias_correction2 = 1 - b2 ** t
        step_size = self.lr / bias_correction1
        bias_correction2_sqrt = bias_correction2 ** 0.5
        if self.amsgrad:
            np.maximum(st["vmax"], v, out=st["vmax"])
            np.sqrt(st["vmax"], out=t2)
        else:
            np.sqrt(v, out=t2)
        t2 /= f(bias_correction2_sqrt)                        # denom = sqrt(v) / bc2_sqrt
        t2 += f(self.eps)                                     # .add_(eps)
        # p.addcdiv_(m, denom, value=-step_size): p + (value * m) / denom
        np.multiply(m, f(-step_size), out=t1)
        t1 /= t2
        p += t1

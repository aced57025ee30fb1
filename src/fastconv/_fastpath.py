"""Repeated calls' fast path: a bounded cache of call recipes.

A tiny call (a conv on 8x8 pixels, a pooling of one small image) costs a few
microseconds in its kernel and, before this path existed, as much again in
checking and normalising its arguments.  The first call of a given signature
goes the full, validating way; when it succeeds, the public function stores a
*recipe* (the validated plan, the compute dtype, what the kernels need) under a
key made of everything that decides the plan:

* each array's exact class (``numpy.ndarray`` only), shape and dtype (byte
  order included: ``>f4`` and ``<f4`` are different dtypes);
* every other argument, by value *and* type (``1``, ``1.0``, ``True`` and
  ``np.int64(1)`` hash alike in Python but are checked differently, so only
  ints, strings, None, bools, floats and tuples of those make a key; bools
  and floats are tagged with their type, a float with its sign).

A repeated call with the same key skips the checks (they passed for exactly
these shapes, dtypes and values) and goes to the same drivers as the full path:
the same bits.  Layout is *not* part of the key: the fast path converts its
arrays exactly as the full path does (a contiguous, aligned, native copy only
when needed), so a strided, read-only or misaligned array of a cached shape
is still handled correctly.  ``out=`` and every argument of another type
(lists, NumPy scalars, dask arrays...) take the full path every time.

``fastconv.signal``'s direct convolutions keep recipes in the same cache, under
the same kind of key (``signal._recipe_key``): a repeat runs its first call's FIR
kernel call.

The cache keeps at most ``MAX_RECIPES`` recipes (plans and small index
tables, never data) and is emptied by :func:`fastconv.clear_caches`.
"""

import math

import numpy as np

from fastconv._caches import BoundedCache

__all__ = ["RECIPES", "MAX_RECIPES", "NO", "first_call", "freeze", "frozen_kwargs"]

MAX_RECIPES = 256
RECIPES = BoundedCache("call recipes", MAX_RECIPES)

# "no key": an argument that takes the full path
NO = object()

# tags that no caller's value can equal (fresh objects, compared by identity)
_TRUE = object()
_FALSE = object()
_FLOAT = object()

ndarray = np.ndarray


def freeze(v):
    """A hashable key of ``v`` that tells apart values the checks treat
    differently, or ``NO``.

    >>> freeze((1, 2)), freeze("same"), freeze(None), freeze((2, None, "x"))
    ((1, 2), 'same', None, (2, None, 'x'))
    >>> freeze(True) == freeze(1), freeze(1.0) == freeze(1), freeze(0.0) == freeze(-0.0)
    (False, False, False)
    >>> freeze([1, 2]) is NO, freeze(np.int64(1)) is NO
    (True, True)
    """
    t = v.__class__
    if t is int or t is str or v is None:
        return v
    if t is tuple:
        # the common case first: ints, strings and None stand for themselves
        for e in v:
            et = e.__class__
            if not (et is int or et is str or e is None):
                break
        else:
            return v
        out = []
        for e in v:
            f = freeze(e)
            if f is NO:
                return NO
            out.append(f)
        return tuple(out)
    if t is bool:
        return _TRUE if v else _FALSE
    if t is float:
        return (_FLOAT, v, math.copysign(1.0, v))
    return NO


def frozen_kwargs(kwargs, skip=()):
    """The keyword arguments as a key (in the caller's order), or ``NO``."""
    key = []
    for name, v in kwargs.items():
        if name in skip:
            continue
        f = freeze(v)
        if f is NO:
            return NO
        key.append(name)
        key.append(f)
    return tuple(key)


def first_call(key, checked, func, args, kwargs):
    """A call whose key has no recipe yet: the full path ``checked`` makes every
    check once and returns the result with its recipe, kept under ``key``.

    A failed check (``TypeError``/``ValueError``) is answered by the public
    function ``func`` itself, so that the error is its own, word for word (a bad
    keyword included).  Anything the kernel raises (its ``MemoryError``, what a
    SIGINT handler raised mid-run) propagates as it is: the call never runs twice.
    """
    try:
        result, recipe = checked(*args, **kwargs)
    except (TypeError, ValueError):
        return func(*args, **kwargs)
    RECIPES.put(key, recipe)
    return result

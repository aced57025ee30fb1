"""Lazy dask-array paths of the public functions.

``@dask_aware(name)`` on a public function sends a call that holds a dask array
to the handler ``name`` (``fastconv._dask._ops`` / ``_signal``), which returns a
lazy dask array; every other call goes straight to the function.  This module
never imports dask: a dask array is recognised by its type's module, so NumPy
users pay one type check per argument and need no dask installed.

How the chunks are computed (exactly, not approximately), the thread rule and
what does not scale yet: see ``fastconv._dask._engine``.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Callable, TypeVar

import numpy as np

from fastconv._fastpath import NO

if TYPE_CHECKING:   # typing.ParamSpec is Python >= 3.10; only type checkers need it
    from typing_extensions import ParamSpec

    P = ParamSpec("P")

__all__ = ["dask_aware", "is_dask"]

R = TypeVar("R")


def is_dask(value):
    """True for a dask collection (checked without importing dask)."""
    return type(value).__module__[:5] == "dask." and hasattr(value, "__dask_graph__")


_PLAIN = frozenset((np.ndarray, int, float, str, bool, tuple, list, type(None)))


def _holds_dask(args, kwargs):
    # the common case (ndarrays and plain parameters) costs one set lookup each
    for a in args:
        t = type(a)
        if t not in _PLAIN and t.__module__[:5] == "dask." and hasattr(a, "__dask_graph__"):
            return True
    if kwargs:
        for a in kwargs.values():
            t = type(a)
            if t not in _PLAIN and t.__module__[:5] == "dask." and hasattr(a, "__dask_graph__"):
                return True
    return False


def dask_aware(name: str, fast: Callable | None = None
               ) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorator: calls that hold a dask array go to the lazy handler ``name``.

    ``fast(func, args, kwargs)``, if given, is tried first: the result of a
    call it can serve (NumPy arrays and plain parameters only, so never a dask
    call; see fastconv._fastpath), or ``NO`` for the usual way.

    Typed as the identity on signatures, so type checkers see the decorated
    function's own parameters and result."""
    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        if fast is None:
            @functools.wraps(func)
            def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
                if _holds_dask(args, kwargs):
                    from fastconv._dask._dispatch import dispatch

                    return dispatch(name, func, wrapper, args, kwargs)
                return func(*args, **kwargs)
        else:
            @functools.wraps(func)
            def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
                result = fast(func, args, kwargs)
                if result is not NO:
                    return result
                if _holds_dask(args, kwargs):
                    from fastconv._dask._dispatch import dispatch

                    return dispatch(name, func, wrapper, args, kwargs)
                return func(*args, **kwargs)

        return wrapper

    return decorate

"""Thread control for the OpenMP kernels, and fork safety.

The default team size is OpenMP's own (``OMP_NUM_THREADS``, or the CPU count),
so ``threadpoolctl.threadpool_limits(n, user_api="openmp")`` is honoured.
``set_num_threads`` sets it for the calling thread, at most the number of
cores the process may use (more is capped, with a warning).  Calls whose work
is below a grain size run on one thread whatever the setting.

GNU OpenMP is not fork-safe: a child forked after the parent ran a parallel
region hangs when it starts one.  After a fork the child therefore runs the
kernels on one thread (which never touches libgomp's thread pool), for good:
``set_num_threads`` warns there instead of risking the hang.
"""

from __future__ import annotations

import os
import warnings

from fastconv import _conv_kernels

__all__ = ["get_num_threads", "set_num_threads"]

_forked_child = False


def _after_fork_in_child():
    global _forked_child
    _forked_child = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def available_cores():
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def get_num_threads() -> int:
    """Number of threads the kernels use.

    Returns
    -------
    int

    Examples
    --------
    >>> import fastconv
    >>> fastconv.get_num_threads() >= 1
    True
    """
    if _forked_child:
        return 1
    return max(1, _conv_kernels.omp_max_threads())


def set_num_threads(n: int) -> None:
    """Set the number of threads the kernels use (for the calling thread).

    Parameters
    ----------
    n : int
        At least 1.  The result of every function is bit-identical for any ``n``.
        More than the cores this process may use is capped to that number, with
        a RuntimeWarning.  Calls with little work run on one thread whatever
        ``n`` (see docs/performance.md, "Threads").

    Examples
    --------
    >>> import fastconv
    >>> old = fastconv.get_num_threads()
    >>> fastconv.set_num_threads(1)
    >>> fastconv.get_num_threads()
    1
    >>> fastconv.set_num_threads(old)
    """
    from fastconv._shapes import as_int

    n = as_int(n, "n")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    cores = available_cores()
    if n > cores:
        # more threads than cores only ever wait for each other (a parallel
        # region ends when its slowest thread does): measured 7x slower
        warnings.warn(f"fastconv: set_num_threads({n}) capped to the {cores} cores this "
                      f"process may use", RuntimeWarning, stacklevel=2)
        n = cores
    if _forked_child and n > 1:
        warnings.warn("fastconv: this process was forked after OpenMP threads ran; GNU "
                      "OpenMP would hang in it, so fastconv stays on one thread here",
                      RuntimeWarning, stacklevel=2)
    _conv_kernels.omp_set_num_threads(n)

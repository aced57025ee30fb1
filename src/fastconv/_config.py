"""Runtime configuration of the kernels: threads, the Winograd switch, the
instruction set, and show_config.

Threads
-------
Thread control for the OpenMP kernels, and fork safety.

The default team size is OpenMP's own (``OMP_NUM_THREADS``, or the CPU count),
so ``threadpoolctl.threadpool_limits(n, user_api="openmp")`` is honoured.
``set_num_threads`` sets it for the calling thread, at most the number of
cores the process may use (more is capped, with a warning).  Calls whose work
is below a grain size run on one thread whatever the setting.

GNU OpenMP is not fork-safe: a child forked after the parent ran a parallel
region hangs when it starts one.  After a fork the child therefore runs the
kernels on one thread (which never touches libgomp's thread pool), for good:
``set_num_threads`` warns there instead of risking the hang.

Winograd
--------
Whether the forward convolution may use Winograd's fewer multiplies.

Off by default.  fastconv's direct kernels keep every float32 output within
``2 sqrt(K) eps conv(|x|, |w|)`` of the exact result, the bound the tests hold
every default path to.  Winograd (F(2x2, 3x3), F(2x2x2, 3x3x3), and F(2, 3) on
each three taps of 1-D kernels of 7-11 taps) takes 0.6-0.9x the time on the
layers it suits, and is as deterministic, but its rounding errors scale with
the magnitudes of a whole tile of inputs, not with each output's own terms.  On
random data it stays inside that bound (0.03-0.63 of it, measured); an output
whose terms are small next to its neighbours' (a large centre weight over a
zero among ones, small weights around it) can be far past it: 4-100x with side
weights of 1e-3, up to ~10^5x with 1e-6, measured.  Turn it on with
``set_winograd(True)`` or the environment variable ``FASTCONV_WINOGRAD=1``
(read at import).

Instruction set
---------------
Choice of the SIMD instruction set, made once at import.

The best set the CPU supports is used unless the environment variable
``FASTCONV_ISA`` (``avx512``, ``avx2`` or ``generic``) asks for another one, so
the tests can run every path the machine supports.
"""

from __future__ import annotations

import os
import warnings
from typing import TextIO

from fastconv import _conv_kernels

__all__ = ["get_num_threads", "set_num_threads", "available_cores", "get_winograd",
           "set_winograd", "show_config", "select_isa", "available_isas", "current_isa",
           "config"]


# ---------------------------------------------------------------- threads

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

# ---------------------------------------------------------------- instruction set

available_isas = _conv_kernels.available_isas
current_isa = _conv_kernels.current_isa


def select_isa(name=None):
    """Use instruction set ``name`` (default: $FASTCONV_ISA, else the best available)."""
    if name is None:
        name = os.environ.get("FASTCONV_ISA", "").strip().lower() or available_isas()[0]
    _conv_kernels.set_isa(name)
    return name


def config():
    """The build and runtime configuration as a dict."""
    from fastconv._version import __version__

    try:
        from fastconv._build_info import BUILD_INFO
    except ImportError:  # built by something other than setup.py
        BUILD_INFO = {}
    return {
        "version": __version__,
        "openmp": _conv_kernels.openmp_enabled(),
        "threads": get_num_threads(),
        "isa": current_isa(),
        "isas_available": available_isas(),
        "winograd": _conv_kernels.winograd_enabled(),
        "compiler": BUILD_INFO.get("compiler", "unknown"),
        "cflags": " ".join(BUILD_INFO.get("cflags", [])),
    }


def show_config(file: TextIO | None = None) -> None:
    """Print fastconv's build and runtime configuration.

    Examples
    --------
    >>> import fastconv
    >>> fastconv.show_config()  # doctest: +SKIP
    fastconv 0.1.0
      openmp:         True
      ...
    """
    cfg = config()
    lines = [f"fastconv {cfg['version']}"]
    for key in ("openmp", "threads", "isa", "isas_available", "winograd", "compiler", "cflags"):
        lines.append(f"  {key + ':':16}{cfg[key]}")
    print("\n".join(lines), file=file)


select_isa()

# ---------------------------------------------------------------- winograd

def get_winograd() -> bool:
    """Whether the forward convolution may use Winograd.

    Returns
    -------
    bool

    Examples
    --------
    >>> import fastconv
    >>> fastconv.get_winograd()  # doctest: +SKIP
    False
    """
    return _conv_kernels.winograd_enabled()


def set_winograd(enabled: bool) -> None:
    """Let the forward convolution use Winograd where it pays (or not).

    Parameters
    ----------
    enabled : bool
        True: 2-D 3x3 and 3-D 3x3x3 stride-1 layers, and 1-D ones of 7-11 taps,
        with enough channels run by Winograd (faster; float32 error relative to
        the magnitudes of a tile's inputs, not to each output's terms: see the
        module docstring); so do the input gradients of stride-1 layers with
        zero padding, which are computed as such forward convolutions.  False
        (the default): the direct kernels everywhere.

    Examples
    --------
    >>> import numpy as np, fastconv
    >>> x = np.ones((1, 64, 32, 32), dtype=np.float32)
    >>> w = np.ones((64, 64, 3, 3), dtype=np.float32)
    >>> fastconv.set_winograd(True)
    >>> float(fastconv.conv2d(x, w, padding=1)[0, 0, 5, 5])
    576.0
    >>> fastconv.set_winograd(False)
    """
    if not isinstance(enabled, bool):
        raise TypeError(f"enabled must be a bool, got {enabled!r} of type {type(enabled).__name__}")
    _conv_kernels.set_winograd_enabled(enabled)


def _from_environment():
    value = os.environ.get("FASTCONV_WINOGRAD", "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise ValueError(f"FASTCONV_WINOGRAD must be 0 or 1, got {value!r}")


set_winograd(_from_environment())

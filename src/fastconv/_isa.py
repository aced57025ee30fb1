"""Choice of the SIMD instruction set, made once at import.

The best set the CPU supports is used unless the environment variable
``FASTCONV_ISA`` (``avx512``, ``avx2`` or ``generic``) asks for another one, so
the tests can run every path the machine supports.
"""

from __future__ import annotations

import os
from typing import TextIO

from fastconv import _conv_kernels

__all__ = ["show_config", "select_isa", "available_isas", "current_isa"]

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
    from fastconv._threads import get_num_threads
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

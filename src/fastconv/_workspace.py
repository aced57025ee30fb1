"""The workspace limit: how much scratch memory one call may use.

A call's scratch memory (padded copies of the input, packed operands, partial
sums), above its inputs and outputs, stays under ``get_workspace_limit()``
bytes (64 MiB by default; ``FASTCONV_WORKSPACE_MB`` in the environment or
``set_workspace_limit`` change it) for up to ``THREAD_SHARES`` threads: each
thread's padded image is at most ``limit // THREAD_SHARES``.  Work whose padded
image is bigger is cut into slabs of outputs along its outermost spatial axis
(see ``_conv_plan``).  The slabs depend on the shapes and the limit only, never
on the thread count, so the results stay bit-identical for any thread count.
Buffers that scale with the weight (packed weights, per-tap offsets) are
counted as part of the weight, not of the workspace.
"""

import os

from fastconv._shapes import as_int

__all__ = ["get_workspace_limit", "set_workspace_limit", "mib_from_environment", "THREAD_SHARES"]

THREAD_SHARES = 8
_MIN_LIMIT = 1 << 20


def mib_from_environment(name, default):
    """The integer count of MiB that the environment variable ``name`` gives, or
    ``default`` where it is unset or blank; ValueError naming it if not an integer."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {text!r}") from None


_limit = max(_MIN_LIMIT, mib_from_environment("FASTCONV_WORKSPACE_MB", 64) << 20)


def get_workspace_limit() -> int:
    """The scratch memory (bytes) one call may use above its inputs and outputs.

    Examples
    --------
    >>> import fastconv
    >>> fastconv.get_workspace_limit() >= 1 << 20
    True
    """
    return _limit


def set_workspace_limit(nbytes: int) -> None:
    """Set the scratch memory (bytes, at least 1 MiB) one call may use.

    A smaller limit cuts big images into more slabs (a little slower); the
    results of convolutions whose padded image fits ``nbytes // 8`` are the
    same bits for any limit.

    Examples
    --------
    >>> import fastconv
    >>> old = fastconv.get_workspace_limit()
    >>> fastconv.set_workspace_limit(16 << 20)
    >>> fastconv.get_workspace_limit()
    16777216
    >>> fastconv.set_workspace_limit(old)
    """
    global _limit
    nbytes = as_int(nbytes, "nbytes")
    if nbytes < _MIN_LIMIT:
        raise ValueError(f"nbytes must be at least {_MIN_LIMIT} (1 MiB), got {nbytes}")
    _limit = nbytes


def thread_share():
    """Bytes of padded image one thread may hold."""
    return _limit // THREAD_SHARES

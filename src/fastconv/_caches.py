"""Fastconv's caches: small, bounded, and cleared by ``fastconv.clear_caches()``.

Only descriptions of calls are cached (validated plans: tuples of a few dozen
integers, keyed on shapes, dtypes and arguments; pooling's small window tables;
the recipes of repeated calls, see ``fastconv._fastpath``; the geometry of a few dask
graphs of at most 64 chunks), never data or anything whose size grows with the data.
Each cache keeps at most ``max_entries`` entries (the oldest leave first), about 1 KiB
each (a dask graph's geometry: up to ~100 KiB): every cache of the package together
holds well under ``MAX_TOTAL_BYTES``.  The one store of data, the pool of freed result
blocks (``fastconv._alloc``, bounded by its own limit), is emptied by ``clear_caches``
too (``on_clear``).
"""

__all__ = ["BoundedCache", "clear_caches", "cache_info", "plain", "on_clear", "MAX_TOTAL_BYTES"]

MAX_TOTAL_BYTES = 4 << 20

_registry = []
_on_clear = []


class BoundedCache(dict):
    """A dict that keeps at most ``max_entries`` items (first in, first out).

    Examples
    --------
    >>> c = BoundedCache("example", 2)
    >>> c.put("a", 1); c.put("b", 2); c.put("c", 3)
    >>> sorted(c)
    ['b', 'c']
    >>> _registry.remove(c)
    """

    def __init__(self, name, max_entries):
        super().__init__()
        self.name = name
        self.max_entries = max_entries
        _registry.append(self)

    def put(self, key, value):
        while len(self) >= self.max_entries:
            # dicts keep insertion order: the oldest entry is the first
            try:
                del self[next(iter(self))]
            except (KeyError, RuntimeError, StopIteration):
                # another thread evicted it first (or is changing the dict): retry
                continue
        self[key] = value


def plain(v):
    """True if v is None, an int, a str or a tuple of those (nested): a key that
    cannot confuse values the checks treat differently (1, 1.0, True and
    np.int64(1) hash alike; callers check bool arguments' class themselves).

    >>> plain((1, "same", (2, 3))), plain((1.0,)), plain([1])
    (True, False, False)
    """
    t = v.__class__
    if t is int or t is str or v is None:
        return True
    if t is tuple:
        for e in v:
            if not plain(e):
                return False
        return True
    return False


def clear_caches() -> None:
    """Empty every cache of fastconv (plans of the shapes seen so far) and the pool
    of freed result blocks.

    The caches hold descriptions of calls, a few MiB in all; the pool keeps up to
    ``FASTCONV_POOL_MB`` (64 MiB by default) of blocks that recent results lived in,
    for the next results of the same size.  This frees that memory and resets the
    state, e.g. before measuring a first call.

    Examples
    --------
    >>> import fastconv
    >>> fastconv.clear_caches()
    """
    for cache in _registry:
        cache.clear()
    for release in _on_clear:
        release()


def on_clear(release):
    """Have ``clear_caches`` call ``release()`` too (a store that is not a cache of
    call descriptions: fastconv._alloc's pool)."""
    _on_clear.append(release)


def cache_info():
    """{name: (entries, max_entries)} of every cache."""
    return {c.name: (len(c), c.max_entries) for c in _registry}

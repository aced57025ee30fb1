"""Shared pieces of the dask tests: chunkings, a scheduler that refuses to run, and
the 2-process LocalCluster (a fixture, registered in conftest.py)."""

import pytest


def random_chunks(rng, n):
    """Uneven chunks of an axis of n: one-element chunks, chunks smaller than any
    halo, one chunk, or a few random cuts."""
    kind = rng.integers(4)
    if kind == 0 or n == 1:
        return (1,) * n
    if kind == 1:
        return (n,)
    cuts = sorted(set(rng.integers(1, n, size=rng.integers(1, min(n, 6))).tolist()))
    b = [0] + cuts + [n]
    return tuple(hi - lo for lo, hi in zip(b[:-1], b[1:]))


def raising_scheduler(*args, **kwargs):
    """A dask scheduler for the laziness tests: running anything is a failure."""
    raise AssertionError("something was computed before .compute()")


@pytest.fixture(scope="session")
def cluster_client():
    """A distributed.LocalCluster of 2 worker processes x 1 thread (300 MB each)."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                       memory_limit="300MB", dashboard_address=None)
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()

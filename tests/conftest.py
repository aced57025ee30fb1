"""Shared fixtures.  Tests import the *installed* fastconv: nothing here touches sys.path."""

import zlib
from collections import defaultdict

import numpy as np
import pytest

# the dask tests' 2-process LocalCluster, one for the whole session
from dask_cases import cluster_client  # noqa: E402,F401

import fastconv
from fastconv import _config, _conv_kernels

AVAILABLE_ISAS = _config.available_isas()


def pytest_addoption(parser):
    parser.addoption(
        "--sample", type=int, default=1, metavar="K",
        help="run about one in K of the cases of each test function that has more than "
             "2K of them (chosen by a hash of the test id: the same cases every run); "
             "smaller functions run whole.  The sanitizer job uses it to keep CI short.")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "cluster_client" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.cluster)
    k = config.getoption("--sample")
    if k <= 1:
        return
    cases = defaultdict(list)
    for item in items:
        cases[(item.path, item.originalname)].append(item)
    drop = set()
    for group in cases.values():
        if len(group) > 2 * k:
            chosen = [i for i in group if zlib.crc32(i.nodeid.encode()) % k == 0] or group[:1]
            drop.update(set(group) - set(chosen))
    if drop:
        config.hook.pytest_deselected(items=[i for i in items if i in drop])
        items[:] = [i for i in items if i not in drop]


@pytest.fixture(params=[np.float32, np.float64], ids=["float32", "float64"])
def dtype(request):
    return np.dtype(request.param)


@pytest.fixture
def rng(request):
    """A generator seeded from the test's node id: reproducible and different per test."""
    seed = sum(request.node.nodeid.encode()) * 7919 % (2**32)
    return np.random.default_rng(seed)


@pytest.fixture(params=AVAILABLE_ISAS)
def isa(request):
    """Run the test once under every instruction set this CPU supports."""
    before = _config.current_isa()
    _config.select_isa(request.param)
    assert _config.current_isa() == request.param
    try:
        yield request.param
    finally:
        _config.select_isa(before)


@pytest.fixture(params=["rows", "bcast", "winograd"])
def forward_kernel(request):
    """Run the test with each forward kernel forced ("winograd" wherever it
    applies: 2-D 3x3 and 3-D 3x3x3 stride 1, any channel count), and with each
    depthwise forward (row kernels with "rows", the virtual grid with "bcast",
    3x3 'same' planes read in place with "winograd"): the policies pick one
    per problem and instruction set, so each must be right on every one."""
    _conv_kernels.set_forward_kernel(request.param)
    _conv_kernels.set_depthwise_kernel({"rows": "rows", "bcast": "vgrid"}.get(request.param,
                                                                          "inplace"))
    try:
        yield request.param
    finally:
        _conv_kernels.set_forward_kernel("auto")
        _conv_kernels.set_depthwise_kernel("auto")


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


@pytest.fixture
def restore_threads():
    """Restore fastconv's thread count after a test that changes it."""
    before = fastconv.get_num_threads()
    yield before
    fastconv.set_num_threads(before)

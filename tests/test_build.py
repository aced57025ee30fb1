"""Build and packaging checks: the extension was built the way it should have been.

* OpenMP: on Linux (gcc, libgomp) a build without OpenMP is a packaging bug, so it
  fails here.  Elsewhere (macOS with Apple clang has no OpenMP and builds serial
  kernels with a warning) it is only checked when FASTCONV_REQUIRE_OPENMP=1 says
  that this build must have it.
* Version: an installed fastconv reports the version of its distribution metadata.
"""

import os
import sys
from importlib import metadata
from pathlib import Path

import pytest

import fastconv
from fastconv import _conv_kernels


def _openmp_required():
    return sys.platform == "linux" or os.environ.get("FASTCONV_REQUIRE_OPENMP") == "1"


def test_openmp_enabled_where_required():
    if not _openmp_required():
        pytest.skip(f"OpenMP is optional on {sys.platform} unless FASTCONV_REQUIRE_OPENMP=1")
    assert _conv_kernels.openmp_enabled(), (
        f"fastconv at {fastconv.__file__} was built without OpenMP "
        f"(build config: {fastconv._config.config()})")


def test_build_info_agrees_with_extension():
    """show_config's 'openmp' comes from the extension; the build record must agree."""
    try:
        from fastconv._build_info import BUILD_INFO
    except ImportError:
        pytest.skip("no _build_info.py (not built by setup.py)")
    assert BUILD_INFO["openmp"] == _conv_kernels.openmp_enabled()


def _installed_distribution():
    """The fastconv distribution that the imported package belongs to, or None."""
    try:
        dist = metadata.distribution("fastconv")
    except metadata.PackageNotFoundError:
        return None
    init = Path(dist.locate_file("fastconv/__init__.py"))
    if not init.exists() or init.resolve() != Path(fastconv.__file__).resolve():
        return None   # imported from a source tree or an editable install
    return dist


def test_version_matches_distribution_metadata():
    dist = _installed_distribution()
    if dist is None:
        pytest.skip("fastconv is not imported from an installed distribution")
    assert fastconv.__version__ == dist.version

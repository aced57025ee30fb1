"""The examples in the docstrings are run, so they stay true."""

import doctest
import importlib

import pytest

MODULES = ["fastconv", "fastconv.conv", "fastconv.grad", "fastconv.transpose", "fastconv.pool",
           "fastconv._shapes", "fastconv._config", "fastconv._explain"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no docstring examples"
    assert result.failed == 0, f"{result.failed} docstring example(s) of {name} failed"

"""The examples in the docstrings, the documentation and the gallery are run, so they stay true."""

import doctest
import importlib
import pathlib
import runpy

import pytest

MODULES = ["fastconv", "fastconv.conv", "fastconv.grad", "fastconv.transpose", "fastconv.pool",
           "fastconv.signal", "fastconv._shapes", "fastconv._config", "fastconv._explain"]

REPO = pathlib.Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
EXAMPLES = REPO / "examples"
# pages about modules that may not be built yet: their snippets run once the module imports
PAGE_NEEDS = {"guide/ndimage.rst": "fastconv.ndimage", "guide/nn.rst": "fastconv.nn"}
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no docstring examples"
    assert result.failed == 0, f"{result.failed} docstring example(s) of {name} failed"


def _pages():
    if not DOCS.is_dir():
        return []
    return sorted(str(p.relative_to(DOCS)) for p in DOCS.rglob("*.rst")
                  if "_build" not in p.parts and "auto_examples" not in p.parts
                  and "generated" not in p.parts and ">>>" in p.read_text(encoding="utf-8"))


def _examples():
    return sorted(p.name for p in EXAMPLES.glob("plot_*.py")) if EXAMPLES.is_dir() else []


def test_docs_are_collected():
    # the parametrised tests below must not silently collect nothing from a source tree
    if not (REPO / "pyproject.toml").is_file():
        pytest.skip("not run from a source tree")
    assert len(_pages()) >= 4, _pages()
    assert len(_examples()) >= 7, _examples()


@pytest.mark.parametrize("page", _pages())
def test_guide_snippets(page):
    if page in PAGE_NEEDS:
        pytest.importorskip(PAGE_NEEDS[page])
    result = doctest.testfile(str(DOCS / page), module_relative=False, optionflags=FLAGS,
                              encoding="utf-8")
    assert result.attempted > 0, f"docs/{page} has no >>> examples"
    assert result.failed == 0, f"{result.failed} example(s) of docs/{page} failed"


@pytest.mark.parametrize("name", _examples())
def test_gallery_example_runs(name, monkeypatch):
    plt = pytest.importorskip("matplotlib.pyplot")
    if name == "plot_image_filters.py":
        pytest.importorskip("skimage")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    plt.switch_backend("Agg")
    monkeypatch.chdir(EXAMPLES)
    try:
        runpy.run_path(str(EXAMPLES / name), run_name="__main__")  # asserts inside
        assert plt.get_fignums(), f"{name} drew no figure"
    finally:
        plt.close("all")

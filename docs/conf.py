"""Sphinx configuration of fastconv's documentation (built by ``bash docs/build.sh``).

The build documents whichever ``fastconv`` the interpreter imports: from a source
checkout whose extension is built in place, ``build.sh`` puts ``src/`` first on the path.
"""

import doctest
import importlib
import os
import re
import sys
import warnings

import fastconv

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # _gallery_order

project = "fastconv"
author = "the fastconv developers"
copyright = "2026, the fastconv developers"
release = fastconv.__version__
version = ".".join(release.split(".")[:2])
print(f"documenting fastconv {release} from {os.path.dirname(fastconv.__file__)}")

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
    "sphinx_design",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "screenshots", "**/GALLERY_HEADER.rst", "sg_execution_times.rst"]
suppress_warnings = ["toc.excluded"]

# Modules built on other branches: their pages join the site as soon as the module
# imports (the toctrees name them; Sphinx drops excluded documents from a toctree).
OPTIONAL_MODULES = {"fastconv.ndimage": ["guide/ndimage", "api/ndimage"],
                    "fastconv.nn": ["guide/nn", "api/nn"]}
for _module, _pages in OPTIONAL_MODULES.items():
    try:
        importlib.import_module(_module)
    except ImportError:
        exclude_patterns += [p + ".rst" for p in _pages]

# -- intersphinx: no network at build time ----------------------------------------------
# The inventories of NumPy, SciPy and dask cannot be fetched on an offline machine (CI
# here), so FASTCONV_DOCS_OFFLINE=1 (the default) builds without them: references to
# numpy.* / scipy.* then render as plain code.  FASTCONV_DOCS_OFFLINE=0 links them.
_intersphinx = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable", None),
    "scipy": ("https://docs.scipy.org/doc/scipy", None),
    "dask": ("https://docs.dask.org/en/stable", None),
    "matplotlib": ("https://matplotlib.org/stable", None),
}
OFFLINE = os.environ.get("FASTCONV_DOCS_OFFLINE", "1") != "0"
intersphinx_mapping = {} if OFFLINE else _intersphinx
intersphinx_timeout = 10

# -- autodoc / autosummary / numpydoc ---------------------------------------------------
autosummary_generate = True
autodoc_default_options = {"members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_use_plots = False

# -- myst (the changelog and performance notes are Markdown) ----------------------------
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

# -- doctest builder: the >>> snippets of the guide run with `-b doctest` ----------------
doctest_global_setup = "import numpy as np\nimport fastconv"
doctest_default_flags = (doctest.ELLIPSIS | doctest.IGNORE_EXCEPTION_DETAIL
                         | doctest.DONT_ACCEPT_TRUE_FOR_1 | doctest.NORMALIZE_WHITESPACE)

# -- gallery ---------------------------------------------------------------------------
warnings.filterwarnings("ignore", category=UserWarning,
                        message="Matplotlib is currently using agg")
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "_gallery_order.ExampleOrder",
    "abort_on_example_error": True,
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "min_reported_time": 1,
    "show_memory": False,
    "write_computation_times": False,
}

# -- HTML -------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"fastconv {release}"
html_static_path = []
html_show_sourcelink = False
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_context = {"default_mode": "light"}


# -- docstrings -------------------------------------------------------------------------
# Shapes are written "(N, C_in, *spatial)" in the docstrings, where reST would read the
# star as the start of an emphasis: escape a star that opens a name after "(" or ", ".
_SHAPE_STAR = re.compile(r"(?:(?<=\()|(?<=, ))\*(?=[A-Za-z_])")


def _escape_shape_stars(app, what, name, obj, options, lines):
    for i, line in enumerate(lines):
        parts = line.split("``")
        parts[::2] = [_SHAPE_STAR.sub(r"\\*", p) for p in parts[::2]]  # outside literals
        lines[i] = "``".join(parts)


def setup(app):
    # before numpydoc (priority 500) turns the sections into reST
    app.connect("autodoc-process-docstring", _escape_shape_stars, priority=100)

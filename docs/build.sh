#!/usr/bin/env bash
# Build fastconv's documentation site: the user guide, the API reference generated from
# the docstrings, the example gallery (every example is run and draws its figures) and
# the changelog, into docs/_build/html.  Warnings are errors.  Then the guide's >>>
# snippets run under Sphinx's doctest builder.
#
#   pip install ".[docs]"        # once: sphinx, the theme, numpydoc, sphinx-gallery, ...
#   bash docs/build.sh           # -> docs/_build/html/index.html
#
# It documents the fastconv that `python` imports; when src/fastconv holds a built
# extension (python setup.py build_ext --inplace), that source tree is used.  No network
# is needed: FASTCONV_DOCS_OFFLINE=1 (default) leaves out the intersphinx links to
# NumPy/SciPy/dask, whose inventories would have to be downloaded; set it to 0 online.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
python="${PYTHON:-python}"
if compgen -G "$repo/src/fastconv/_conv_kernels*.so" >/dev/null \
   || compgen -G "$repo/src/fastconv/_conv_kernels*.pyd" >/dev/null; then
    export PYTHONPATH="$repo/src${PYTHONPATH:+:$PYTHONPATH}"
fi
export MPLBACKEND=Agg
export FASTCONV_DOCS_OFFLINE="${FASTCONV_DOCS_OFFLINE:-1}"
out="$here/_build"
start=$(date +%s)
# -E: read every source afresh (a stale environment hides warnings)
"$python" -m sphinx -W --keep-going -E -q -b html -d "$out/doctrees" "$here" "$out/html"
"$python" -m sphinx -W --keep-going -q -b doctest -d "$out/doctrees" "$here" "$out/doctest"
echo "docs: built $out/html/index.html in $(( $(date +%s) - start )) s"

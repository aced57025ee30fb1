#!/usr/bin/env bash
# Build one commit of fastconv in place, outside the working tree, for asv's "existing"
# environment:  bash asv_bench/build_commit.sh HASH  ->  prints the directory that goes on
# ASV_PYTHONPATH (DIR/src from the src layout of 41b59b4 on, DIR before it).
# The checkout is `git archive` of the commit into $ASV_HISTORY_DIR/<hash>
# (asv_bench/.asv/history, gitignored), compiled with the interpreter's Cython and
# NumPy by `setup.py build_ext --inplace`, as a developer builds; a finished build is kept
# (marker file .built), so a second call returns at once.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=${ASV_HISTORY_DIR:-$repo/asv_bench/.asv/history}
h=$(git -C "$repo" rev-parse --verify "$1^{commit}")
dir=$work/$h
mkdir -p "$work"
exec 9> "$work/$h.lock"
flock 9   # one build of a commit at a time (run_history.sh's prebuilder and measurer)
if [ ! -f "$dir/.built" ]; then
    rm -rf "$dir" && mkdir -p "$dir"
    git -C "$repo" archive "$h" | tar -x -C "$dir"
    (cd "$dir" && nice -n "${NICE:-5}" "${PYTHON:-python}" setup.py -q build_ext --inplace -j 2 \
        > build.log 2>&1) || { echo "build of $h failed: $dir/build.log" >&2; exit 1; }
    touch "$dir/.built"
fi
if [ -d "$dir/src/fastconv" ]; then echo "$dir/src"; else echo "$dir"; fi

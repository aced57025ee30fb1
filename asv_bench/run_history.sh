#!/usr/bin/env bash
# Measure fastconv's landed history with asv, on this machine, for the dashboard.
#
#   bash asv_bench/run_history.sh [N]        # the last N commits that changed the kernels (12)
#   HASHFILE=my_hashes.txt bash asv_bench/run_history.sh   # exactly these commits
#   ALL=1 bash asv_bench/run_history.sh      # every benchmark, not the representative few
#   then:  bash asv_bench/publish.sh          # asv publish; asv preview serves it
#
# How: asv's environment is "existing" (the current interpreter with its NumPy, SciPy and
# torch 2.13.0), and each commit is built by build_commit.sh, not by asv: `git archive` of
# the commit into asv_bench/.asv/history/<hash> (gitignored), `python setup.py build_ext
# --inplace`, then `asv run --python=same --set-commit-hash=<hash>` with ASV_PYTHONPATH
# pointing at that build (src/ from 41b59b4 on, the root before).  Why not virtualenv
# environments: they would reinstall NumPy/Cython and the peers for every environment from
# PyPI (torch's wheel alone is ~1 GB with its CUDA dependencies), and the peers' lines in
# the graphs are only a reference if they are the same build at every commit; here only
# fastconv changes from point to point.
#
# Resumable: built commits are kept, and commits whose results file already holds every
# selected benchmark are skipped (asv's --skip-existing skips finished benchmarks within a
# commit).  Kill it and run it again to continue.
#
# Sampling (2 shared vCPUs, other jobs compiling and testing beside it):
#   FASTCONV_BENCH_THREADS=1  one thread per system: a 2-thread team waits for its slower
#                             thread, so any other process on either core inflates the
#                             whole call; and with one thread the suite times CPU time
#                             (benchmarks/__init__.py: timer = time.process_time), which
#                             time spent descheduled behind other jobs does not inflate
#                             (wall-clock samples of dw3x3 spread over 1.7-12.5 ms around
#                             a 5.7 ms median in a first run here).
#   rounds=3, repeat=5        15 samples per benchmark from 3 separate processes spread
#                             over the commit's run (asv runs round 1 of every benchmark,
#                             then round 2, ...), so one busy minute cannot move every
#                             sample; asv keeps the median and its interquartile range.
#   warmup_time=0.1           each setup() already made one untimed call (plans, pages).
#   number: asv's sample_time (0.05 s in the CNN benchmarks): one call per sample for
#   the big layers, a few for the latency cases.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench_dir="$repo/asv_bench"
work=${ASV_HISTORY_DIR:-$bench_dir/.asv/history}
n=${1:-12}
rounds=${ROUNDS:-3}
repeat=${REPEAT:-5}
export FASTCONV_BENCH_THREADS=${FASTCONV_BENCH_THREADS:-1}
py=${PYTHON:-python}

# Representative cases (the build, not the timing, is most of a commit's cost; every
# benchmark at every commit takes hours on 2 cores): each against PyTorch, the same
# build of which is then a flat reference line showing the machine's drift.
sel=(
    "ConvForward\.time_conv\('(vgg3x3|dw3x3)', '(fastconv|torch)'\)"
    "Pooling\.time_pool\('max3x3s2p1', '(fastconv|torch)'\)"
    "ConvBackward\.time_backward\('mnist5x5', '(fastconv|torch)'\)"
    "Latency\.time_call\('conv2d 1x64x56x56', '(fastconv|torch)'\)"
    "SignalFiltering\.time_signal\('conv1d_k128', '(fastconv|scipy\.convolve)'\)"
    # one case of every other benchmark of the suite, so that no graph stays empty
    "ConvForward\.peakmem_conv\('vgg3x3', '(fastconv|torch)'\)"
    "ConvBackward\.peakmem_backward\('mnist5x5', '(fastconv|torch)'\)"
    "Pooling\.peakmem_pool\('max3x3s2p1', '(fastconv|torch)'\)"
    "ForwardKernel\.time_kernel\('vgg3x3', '(direct|winograd)'\)"
    "FirstCall\.time_first_call\(255\)"
    "PeakMemory\.peakmem_call\('long1d_1e6x2000', '(forward|weight_grad)'\)"
    "Model2\.(time|peakmem)_step\('train b64', '(fastconv|torch)'\)"
    "SignalFiltering\.peakmem_signal\('conv1d_k128', '(fastconv|scipy\.convolve)'\)"
)
bench_args=()
if [ "${ALL:-0}" != 1 ]; then
    for b in "${sel[@]}"; do bench_args+=(--bench "$b"); done
fi

mkdir -p "$work"
hashfile=${HASHFILE:-$work/hashes.txt}
if [ -z "${HASHFILE:-}" ]; then
    # commits that changed compiled sources (kernels, Cython drivers), newest first,
    # before and after the move to src/ (41b59b4).  --first-parent: asv's graphs show
    # only the first-parent line of the branch (a merged branch's commits appear as the
    # merge commit), so commits inside merged branches would be measured and never drawn.
    git -C "$repo" log --first-parent --format=%H -n "$n" -- \
        'src/fastconv/*.pyx' 'src/fastconv/*.pxi' 'src/fastconv/*.pxd' \
        'src/fastconv/_src/*' 'fastconv/*.pyx' 'fastconv/*.pxi' 'fastconv/*.pxd' \
        'fastconv/_src/*' > "$hashfile"
fi
echo "commits: $(wc -l < "$hashfile") from $hashfile; threads $FASTCONV_BENCH_THREADS," \
     "rounds $rounds x repeat $repeat"

cd "$bench_dir"
[ -f ~/.asv-machine.json ] || asv machine --yes > /dev/null
machine=$($py -c "import json,os; print(next(k for k in json.load(open(os.path.expanduser('~/.asv-machine.json'))) if k != 'version'))")

# a commit is done when it was measured with this selection (.measured holds its digest);
# a changed selection measures only the new benchmarks (asv's --skip-existing)
selection=$(printf '%s\n' "${bench_args[@]}" | md5sum | cut -c1-12)
done_already() {
    [ "$(cat "$work/$1/.measured" 2>/dev/null)" = "$selection" ]
}

# Build ahead: the next commits compile while one is measured, so a commit costs
# max(build, measure) instead of their sum.  Nice 5: about a third of the CPU share of
# the nice-0 benchmark process (at nice 19 the builds starved behind other jobs).
# Two builders, one from each end of the list (build_commit.sh locks each commit), as a
# build (~3-4 min under load) takes longer than measuring a commit (~2 min).
if [ "${PREBUILD:-1}" = 1 ]; then
    (while read -r h; do
         [ -n "$h" ] && NICE=${PREBUILD_NICE:-5} bash "$bench_dir/build_commit.sh" "$h" > /dev/null || true
     done < "$hashfile") &
    pre1=$!
    (tac "$hashfile" | while read -r h; do
         [ -n "$h" ] && NICE=${PREBUILD_NICE:-5} bash "$bench_dir/build_commit.sh" "$h" > /dev/null || true
     done) &
    pre2=$!
    trap 'kill "$pre1" "$pre2" 2>/dev/null || true' EXIT
fi

start=$(date +%s)
while read -r h; do
    [ -n "$h" ] || continue
    if done_already "$h"; then echo "== ${h:0:8}: measured already"; continue; fi
    t0=$(date +%s)
    path=$(bash "$bench_dir/build_commit.sh" "$h") || continue
    t1=$(date +%s)
    echo "== ${h:0:8} built in $((t1 - t0)) s: $(git -C "$repo" log -1 --format=%s "$h" | cut -c1-80)"
    ASV_PYTHONPATH=$path asv run --python=same --set-commit-hash="$h" --skip-existing \
        "${bench_args[@]}" -a rounds="$rounds" -a repeat="$repeat" -a warmup_time=0.1 \
        2>&1 | grep -v '^ *$' | tail -n 25
    echo "$selection" > "$work/$h/.measured"
    echo "== ${h:0:8} measured in $(( $(date +%s) - t1 )) s"
done < "$hashfile"
echo "history run: $(( $(date +%s) - start )) s; results in $bench_dir/results/$machine"

#!/usr/bin/env bash
# Before landing a kernel change: is it slower than main?  Builds BASE and HEAD (committed
# trees; commit your work first), times fastconv's cases of the CNN, latency and signal
# suites for both, alternating the commits (A B A B ...) so that a busy minute on the
# machine hits both, and fails when asv compare finds a benchmark slower by more than
# FACTOR with the difference significant (asv's Mann-Whitney test on the samples).
#
#   bash asv_bench/check_regression.sh [BASE [HEAD]]     # defaults: main, HEAD
#   FACTOR=1.5 BENCH='ConvForward' bash asv_bench/check_regression.sh
#   NOISE=1 bash asv_bench/check_regression.sh COMMIT    # the same commit measured twice:
#                                                        # the spread of the ratios
#
# FACTOR defaults to 1.3: measured on 2 busy shared vCPUs, the same commit against itself
# gave ratios up to ~1.2 on single cases (asv_bench/README.md, "Noise"); 1.3 stays above
# that, and a real kernel regression worth stopping is larger.  On a quiet machine a
# smaller FACTOR works; measure first with NOISE=1.
# Results go to asv_bench/.asv/regress (not into the dashboard's results).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench_dir="$repo/asv_bench"
work=${ASV_HISTORY_DIR:-$bench_dir/.asv/history}
out=$bench_dir/.asv/regress
factor=${FACTOR:-1.3}
turns=${TURNS:-3}       # alternations; each is one asv round of every benchmark per commit
repeat=${REPEAT:-5}
export FASTCONV_BENCH_THREADS=${FASTCONV_BENCH_THREADS:-1}
bench=${BENCH:-"(ConvForward\.time_conv|ConvBackward\.time_backward|Pooling\.time_pool|Latency\.time_call|SignalFiltering\.time_signal)\(.*'fastconv'\)"}
py=${PYTHON:-python}

base=$(git -C "$repo" rev-parse --verify "${1:-main}^{commit}")
head=$(git -C "$repo" rev-parse --verify "${2:-HEAD}^{commit}")
noise=${NOISE:-0}
if [ "$noise" = 1 ]; then head=$base; fi
if [ "$base" = "$head" ] && [ "$noise" != 1 ]; then
    echo "BASE and HEAD are the same commit ${base:0:8}; NOISE=1 measures it twice" >&2
    exit 2
fi
if ! git -C "$repo" diff --quiet HEAD -- src setup.py; then
    echo "note: uncommitted changes in src/ are not measured (commits only)" >&2
fi

# Two asv configurations that differ only in their results directory: in NOISE mode the
# second measurement of the commit goes to the second one.
mkdir -p "$out"
rm -rf "$out/a" "$out/b"
for side in a b; do
    "$py" - "$bench_dir" "$out/$side" <<'PY'
import json, sys
from asv.util import load_json   # asv.conf.json has comments
bench_dir, dest = sys.argv[1], sys.argv[2]
conf = load_json(f"{bench_dir}/asv.conf.json", js_comments=True)
conf.update(repo=f"{bench_dir}/..", benchmark_dir=f"{bench_dir}/benchmarks",
            results_dir=f"{dest}/results", html_dir=f"{dest}/html", env_dir=f"{dest}/env")
import os; os.makedirs(dest, exist_ok=True)
json.dump(conf, open(f"{dest}/asv.conf.json", "w"), indent=1)
PY
done

echo "building ${base:0:8} and ${head:0:8} ..."
path_base=$(bash "$bench_dir/build_commit.sh" "$base")
path_head=$(bash "$bench_dir/build_commit.sh" "$head")
cd "$bench_dir"
[ -f ~/.asv-machine.json ] || asv machine --yes > /dev/null

measure() {   # measure CONFIG_SIDE HASH PATH TURN
    local append=()
    [ "$4" = 1 ] || append=(--append-samples)
    ASV_PYTHONPATH=$3 asv --config "$out/$1/asv.conf.json" run --python=same \
        --set-commit-hash="$2" --bench "$bench" -a rounds=1 -a repeat="$repeat" \
        -a warmup_time=0.1 "${append[@]}" > "$out/$1.turn$4.log" 2>&1 \
        || { tail -20 "$out/$1.turn$4.log"; exit 1; }
}
side_head=a
[ "$noise" = 1 ] && side_head=b
t0=$(date +%s)
for turn in $(seq "$turns"); do
    measure a "$base" "$path_base" "$turn"
    measure "$side_head" "$head" "$path_head" "$turn"
    echo "turn $turn/$turns done ($(( $(date +%s) - t0 )) s)"
done

if [ "$noise" = 1 ]; then
    # the same commit twice: the ratio of the two medians of every benchmark
    "$py" - "$out" "$base" <<'PY'
import glob, itertools, statistics, sys
from asv.results import Results
out, commit = sys.argv[1], sys.argv[2]
def load(side):
    [path] = glob.glob(f"{out}/{side}/results/*/{commit[:8]}-*.json")
    r = Results.load(path)
    vals = {}
    for key in r.get_all_result_keys():
        params = r.get_result_params(key)
        combos = list(itertools.product(*params)) if params else [()]
        for combo, v in zip(combos, r.get_result_value(key, params)):
            if v is not None and v == v:
                vals[key + "(" + ", ".join(combo) + ")"] = v
    return vals
a, b = load("a"), load("b")
ratios = sorted((b[k] / a[k], k) for k in a if k in b)
rs = [r for r, _ in ratios]
print(f"same commit twice: {len(rs)} benchmarks, ratio of medians second/first: "
      f"min {min(rs):.3f}  median {statistics.median(rs):.3f}  max {max(rs):.3f}")
print(f"largest change either way: x{max(max(rs), 1 / min(rs)):.3f}")
for r, name in ratios:
    print(f"  {r:6.3f}  {name}")
PY
    exit 0
fi

cmp_log=$out/compare.txt
asv --config "$out/a/asv.conf.json" compare --factor "$factor" --split --only-changed \
    "$base" "$head" | tee "$cmp_log"
# asv compare marks a significant slowdown beyond the factor "+" and a new failure "!"
# in the first column of its table (and exits 0 either way)
if grep -qE '^\| *[+!] *\|' "$cmp_log"; then
    echo "REGRESSION: benchmarks above are slower than ${base:0:8} by more than x$factor" \
         "(or fail) at ${head:0:8}" >&2
    exit 1
fi
echo "no slowdown beyond x$factor of ${head:0:8} against ${base:0:8}"

#!/usr/bin/env bash
# Publish the asv dashboard of the results in asv_bench/results (run_history.sh):
#   bash asv_bench/publish.sh            # -> asv_bench/html
#   bash asv_bench/publish.sh --preview  # and serve it on http://127.0.0.1:8080 (asv preview)
# asv publish reads the suite's description (benchmarks.json) from the last discovery,
# which run_history.sh made with its last (oldest) commit; so the suite is discovered
# again here with the current code first: ASV_PYTHONPATH if set (an in-place build),
# else HEAD built by build_commit.sh.
set -euo pipefail

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
path=${ASV_PYTHONPATH:-$(bash "$bench_dir/build_commit.sh" HEAD)}
cd "$bench_dir"
ASV_PYTHONPATH=$path asv run --python=same --bench just-discover > /dev/null
asv publish
if [ "${1:-}" = --preview ]; then
    asv preview
fi

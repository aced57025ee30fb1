#!/usr/bin/env bash
# Publish the asv dashboard of a multi-commit run, serve it on 127.0.0.1 and take
# screenshots of it with headless Chromium, into docs/:
#   asv_time_conv_vgg3x3.png, asv_time_conv_dw3x3.png, asv_time_pool.png  time graphs
#       (one point per measured commit, fastconv and PyTorch, 1 thread)
#   asv_summary.png      the summary grid (a thumbnail graph per benchmark)
#   asv_regressions.png  the regressions page (steps asv detected in the history)
#
# Needs: results of a history run (bash asv_bench/run_history.sh; SKIP_PUBLISH=1 reuses
# asv_bench/html as it is), asv (pip install ".[bench]"), Debian's chromium (apt-get
# install chromium).  The CDN scripts of asv's page are replaced by the same libraries
# from npm (needs npm; ASV_OFFLINE=0 keeps the CDN links, for a machine with internet).
# Usage, from anywhere:  bash docs/screenshot_asv.sh
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
port=${PORT:-8765}
chrome=$(command -v chromium || command -v chromium-browser || command -v google-chrome)

cd "$repo/asv_bench"
ls results/*/*-existing-*.json > /dev/null 2>&1 \
    || { echo "no asv results: run bash asv_bench/run_history.sh first" >&2; exit 1; }
[ "${SKIP_PUBLISH:-0}" = 1 ] || bash publish.sh

# asv's page loads jQuery, flot, bootstrap, ... from public CDNs.  A machine that reaches
# only package registries (as the one this was made on) cannot load them, so serve a copy
# of the published html whose CDN links point at the same libraries taken from npm.
site=$(mktemp -d)
cp -r html/. "$site/"
if [ "${ASV_OFFLINE:-1}" = 1 ]; then
    (cd "$site" && mkdir -p vendor && cd vendor \
        && for p in jquery@3.3.1 flot@0.8.3 flot-orderbars@1.0.0 stupid-table-plugin@1.1.3 \
                    blueimp-md5@2.19.0 bootstrap@3.1.1; do
               npm pack --silent "$p" > /dev/null 2>&1 || { echo "npm pack $p failed"; exit 1; }
           done \
        && for t in *.tgz; do mkdir "${t%.tgz}" && tar xzf "$t" -C "${t%.tgz}" --strip-components=1; done)
    python - "$site" <<'PY'
import re, sys, pathlib
site = pathlib.Path(sys.argv[1])
local = {
    "jquery-3.3.1.min.js": "vendor/jquery-3.3.1/dist/jquery.min.js",
    "flot/0.8.3/jquery.flot.min.js": "vendor/flot-0.8.3/jquery.flot.js",
    "flot/0.8.3/jquery.flot.time.min.js": "vendor/flot-0.8.3/jquery.flot.time.js",
    "flot/0.8.3/jquery.flot.selection.min.js": "vendor/flot-0.8.3/jquery.flot.selection.js",
    "flot/0.8.3/jquery.flot.categories.min.js": "vendor/flot-0.8.3/jquery.flot.categories.js",
    "jquery.flot.orderBars.js": "vendor/flot-orderbars-1.0.0/js/jquery.flot.orderBars.js",
    "stupidtable.min.js": "vendor/stupid-table-plugin-1.1.3/stupidtable.min.js",
    "md5.min.js": "vendor/blueimp-md5-2.19.0/js/md5.min.js",
    "bootstrap.min.js": "vendor/bootstrap-3.1.1/dist/js/bootstrap.min.js",
    "bootstrap.min.css": "vendor/bootstrap-3.1.1/dist/css/bootstrap.min.css",
}
for page in site.glob("*.html"):
    text = page.read_text()
    def swap(m):
        url = m.group(2)
        for tail, path in local.items():
            if url.endswith(tail):
                assert (site / path).exists(), path
                return m.group(1) + path + m.group(3)
        return m.group(0)
    text = re.sub(r'((?:src|href)=")(https://[^"]+)(")', swap, text)
    text = re.sub(r'\s+integrity="[^"]*"', "", text)
    page.write_text(text)
    left = re.findall(r'(?:src|href)="(https://[^"]+)"', text)
    print(f"{page.name}: CDN links left: {left}")
PY
fi

python -m http.server "$port" --bind 127.0.0.1 --directory "$site" > /dev/null 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -rf "$site"' EXIT
for _ in $(seq 50); do
    curl -fs "http://127.0.0.1:$port/index.html" > /dev/null && break
    sleep 0.2
done

shot() {   # shot OUT.png URL [WIDTH,HEIGHT]
    local profile
    profile=$(mktemp -d)
    "$chrome" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$profile" --hide-scrollbars --window-size="${3:-1400,900}" \
        --virtual-time-budget=15000 --screenshot="$1" "$2" 2>/dev/null
    rm -rf "$profile"
    echo "wrote $1"
}
graph() {   # graph OUT.png BENCHMARK WORKLOAD: fastconv and torch over the commits, on a
            # log scale (the two differ up to 15x; a step of fastconv's stays visible) with
            # the measured commits evenly spaced
    shot "$repo/docs/$1" "http://127.0.0.1:$port/#$2?p-workload=%27$3%27&p-system=%27fastconv%27&p-system=%27torch%27&y-axis-scale=log&x-axis-scale=even"
}
graph asv_time_conv_vgg3x3.png conv_forward.ConvForward.time_conv vgg3x3
graph asv_time_conv_dw3x3.png conv_forward.ConvForward.time_conv dw3x3
graph asv_time_pool.png pooling.Pooling.time_pool max3x3s2p1
shot "$repo/docs/asv_summary.png" "http://127.0.0.1:$port/index.html" 1400,1500
shot "$repo/docs/asv_regressions.png" "http://127.0.0.1:$port/#regressions"

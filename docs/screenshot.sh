#!/usr/bin/env bash
# Screenshots of the built site (bash docs/build.sh first) with headless Chromium, into
# docs/screenshots/.  Chromium: `apt-get install chromium` on Debian.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
html="$here/_build/html"
chromium="${CHROMIUM:-chromium}"
shot() {  # page, png, height
    local profile
    profile="$(mktemp -d)"
    "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --hide-scrollbars --user-data-dir="$profile" --window-size="1400,${3:-1000}" \
        --screenshot="$here/screenshots/$2" "file://$html/$1" >/dev/null 2>&1
    rm -rf "$profile"
    echo "docs/screenshots/$2"
}
mkdir -p "$here/screenshots"
shot index.html home.png
shot api/generated/fastconv.conv.html api_conv.png 1400
shot auto_examples/index.html gallery.png 1200
shot auto_examples/plot_image_filters.html example_image_filters.png 2000
shot auto_examples/plot_dice.html example_dice.png 1500
shot guide/performance.html guide_performance.png 1400

#!/usr/bin/env bash
# Opens a report page in headless Chromium and fails on any script error or undrawn chart.
#
#   bash compat/report/chromium-check.sh report/index.html [screenshot.png]
#
# The page script sets data-charts, data-expected-charts and data-errors on <body>.
set -euo pipefail
if [ $# -lt 1 ] || [ ! -f "$1" ]; then
    echo "usage: bash chromium-check.sh path/to/index.html [screenshot.png] (no such page: ${1:-})" >&2
    exit 1
fi
page="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
shot="${2:-}"
browser="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$browser" ]; then
    echo "chromium is not installed: apt-get install -y chromium" >&2
    exit 2
fi
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
    --disable-background-networking --disable-component-update --disable-sync
    --user-data-dir="$profile" --virtual-time-budget=5000 --window-size=1400,3200)
dom="$("$browser" "${flags[@]}" --dump-dom "file://$page" 2>/dev/null)"
body="$(grep -o '<body[^>]*>' <<<"$dom" | head -1)"
charts="$(sed -n 's/.*data-charts="\([0-9]*\)".*/\1/p' <<<"$body")"
expected="$(sed -n 's/.*data-expected-charts="\([0-9]*\)".*/\1/p' <<<"$body")"
errors="$(sed -n 's/.*data-errors="\([0-9]*\)".*/\1/p' <<<"$body")"
if [ -z "$charts" ] || [ "$charts" != "$expected" ] || [ "$errors" != "0" ]; then
    echo "FAIL: $page: charts drawn ${charts:-?} of ${expected:-?}, script errors ${errors:-?}" >&2
    sed -n '/<pre id="rmeter-errors">/,/<\/pre>/p' <<<"$dom" >&2
    exit 1
fi
if [ -n "$shot" ]; then
    "$browser" "${flags[@]}" --screenshot="$(realpath -m "$shot")" "file://$page" >/dev/null 2>&1
fi
echo "ok: $page: $charts charts drawn, no script errors"

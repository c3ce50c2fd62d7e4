#!/usr/bin/env bash
# The report page in a real browser: a demo run (with failures, a transaction controller and
# several thread groups) becomes a report, which headless Chromium must render with every chart
# drawn and no script error. Installs Debian's chromium when it is missing.
#
#   bash compat/report/run.sh [path/to/rmeter] [screenshot.png]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
rmeter="$(realpath "${1:-$repo/target/debug/rmeter}")"
shot="${2:-}"
if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
    echo "installing chromium (Debian package)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
"$rmeter" demo --duration 6 --users 5 -l demo.jtl >/dev/null
"$rmeter" report demo.jtl -o report --threshold 'errors<50%' >/dev/null
bash "$here/chromium-check.sh" report/index.html ${shot:+"$(realpath -m "$shot")"}
# An empty run still gives a page with its "no data" charts and no script error.
head -1 demo.jtl >empty.jtl
"$rmeter" report empty.jtl -o empty-report >/dev/null
bash "$here/chromium-check.sh" empty-report/index.html
# The comparison page, against a bank made 20 ms slower.
"$rmeter" demo --duration 4 --users 5 -l slow.jtl --extra-latency-ms 20 >/dev/null
"$rmeter" compare demo.jtl slow.jtl -o compare >/dev/null
bash "$here/chromium-check.sh" compare/index.html

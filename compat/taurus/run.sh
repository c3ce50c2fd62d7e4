#!/usr/bin/env bash
# Real Taurus (bzt, from PyPI) drives rmeter through an rmeter home, with a YAML scenario and
# with an existing .jmx, against the demo bank; then the files and exit codes are checked.
#
#   bash compat/taurus/run.sh [path/to/rmeter]
#
# bzt is installed into a virtualenv (target/bzt-venv, reused) when missing: it is a test
# dependency, not a runtime one. Taurus insists on a `java` on PATH; when there is none, a
# stub that prints a version is put first on PATH (rmeter needs no JVM).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
rmeter="${1:-$repo/target/debug/rmeter}"
rmeter="$(cd "$(dirname "$rmeter")" && pwd)/$(basename "$rmeter")"
venv="${BZT_VENV:-$repo/target/bzt-venv}"
if [ ! -x "$venv/bin/bzt" ]; then
    echo "installing bzt 1.17.2 into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check bzt==1.17.2
fi
work="$(mktemp -d)"
demo_pid=""
cleanup() {
    if [ -n "$demo_pid" ]; then kill "$demo_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
export HOME="$work/home"   # bzt writes ~/.bzt-rc; keep it out of the real home
mkdir -p "$HOME" "$work/stub"
if ! command -v java >/dev/null; then
    printf '#!/bin/sh\necho "openjdk version \\"17.0.0\\"" >&2\n' >"$work/stub/java"
    chmod +x "$work/stub/java"
    export PATH="$work/stub:$PATH"
fi

"$rmeter" install-home "$work/rmeter-home" >/dev/null
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$rmeter" demo --serve --port "$port" >"$work/demo.log" 2>&1 &
demo_pid=$!
for _ in $(seq 50); do
    grep -q "listening" "$work/demo.log" && break
    sleep 0.1
done

bzt() {
    local name="$1"; shift
    local code=0
    (cd "$work" && "$venv/bin/bzt" -o "modules.jmeter.path=$work/rmeter-home" \
        -o "settings.artifacts-dir=$work/$name" "$@" >"$work/$name.out" 2>&1) || code=$?
    echo "$code"
}

fail() {
    echo "FAIL: $*" >&2
    for f in "$work"/*.out; do echo "--- $f" >&2; tail -40 "$f" >&2; done
    exit 1
}

# 1. The YAML scenario: runs to its hold-for end, exit 0, both writers' files as Taurus reads them.
code="$(bzt yaml "$here/bank.yml" -o "scenarios.bank.default-address=http://127.0.0.1:$port")"
[ "$code" = 0 ] || fail "bzt exited $code on the YAML scenario"
python3 "$here/check.py" yaml "$work/yaml" "$work/yaml.out" || fail "YAML scenario results"

# 2. `iterations`: 3 users x 4 iterations x 2 requests, then the run ends by itself.
code="$(bzt iterations "$here/iterations.yml" -o "scenarios.counted.default-address=http://127.0.0.1:$port")"
[ "$code" = 0 ] || fail "bzt exited $code on the iterations scenario"
python3 "$here/check.py" iterations "$work/iterations" "$work/iterations.out" || fail "iterations results"

# 3. An existing .jmx stopped by a pass/fail criterion through the UDP port: bzt exits 3.
cp "$repo/jmx-fixtures/pipeline/env-plan.jmx" "$work/env-plan.jmx"
code="$(bzt script "$here/script.yml" -o "execution.0.scenario.script=$work/env-plan.jmx" \
    -o "modules.jmeter.properties.port=$port")"
[ "$code" = 3 ] || fail "bzt exited $code on the stopped .jmx scenario, expected 3"
python3 "$here/check.py" script "$work/script" "$work/script.out" || fail ".jmx scenario results"

echo "taurus: ok (YAML scenarios with hold-for and throughput, and with iterations; a .jmx scenario stopped over UDP)"

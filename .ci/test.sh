#!/usr/bin/env bash
# The project's test command (README): everything the tests need, then every test.
# The Rust tests need only cargo and loopback sockets; the JMeter oracle is not needed (its
# recordings are committed under compat/cases/). The Taurus test installs bzt from PyPI into
# target/bzt-venv itself; the report page test installs Debian's chromium when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --all-targets
bash compat/taurus/run.sh "${CARGO_TARGET_DIR:-target}/debug/rmeter"
bash compat/report/run.sh "${CARGO_TARGET_DIR:-target}/debug/rmeter"
# The benchmarks in smoke mode (seconds, no speed verdicts), so that they cannot rot.
python3 benches/load.py --smoke --rmeter "${CARGO_TARGET_DIR:-target}/debug/rmeter"
bash benches/report.sh --smoke

#!/usr/bin/env bash
# The project's test command (README): everything the tests need, then every test.
# The tests need only cargo and loopback sockets; the JMeter oracle is not needed (its
# recordings are committed under compat/cases/).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --all-targets

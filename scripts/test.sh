#!/usr/bin/env bash
# The whole test suite: installs what the tests need (Debian packages), then checks formatting,
# the layering (no import cycle, stages import only upstream: scripts/check-layers.py), lints,
# and runs every test (unit, parser property tests, and the integration tests that
# compare the sensor with tshark on every capture in pcaps/), then a short smoke run of every
# cargo-fuzz target (fuzz/).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo fmt --all -- --check
scripts/check-layers.py
cargo clippy --all-targets --locked -- -D warnings
cargo test --locked
scripts/fuzz-smoke.sh

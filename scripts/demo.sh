#!/usr/bin/env bash
# The main job on the bundled captures: installs what is needed, builds, and replays every
# capture in pcaps/ into eve.json, printing the summary.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# cargo run finds the binary wherever CARGO_TARGET_DIR puts it.
cargo run --release --locked --quiet --bin voip-sentinel -- replay --eve eve.json pcaps/
echo "records: eve.json ($(wc -l < eve.json) lines)"

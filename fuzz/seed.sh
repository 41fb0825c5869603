#!/usr/bin/env bash
# Seed corpora for every fuzz target from the captures in pcaps/, into fuzz/corpus/<target>/
# (generated, ignored by git). Needs python3 and tshark (scripts/install-deps.sh installs it).
set -euo pipefail
cd "$(dirname "$0")"
exec python3 seed.py "$@"

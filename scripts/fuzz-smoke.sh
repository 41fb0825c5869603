#!/usr/bin/env bash
# Fuzz smoke test: build every cargo-fuzz target (fuzz/) with the stable toolchain and run
# each for a short while over seeds from the project's captures; any crash, timeout, OOM or
# failed invariant fails the script (libFuzzer exits non-zero and leaves the input in
# fuzz/artifacts/<target>/). Well under 5 minutes on 2 cores. Longer runs: fuzz/README.md.
#   FUZZ_SMOKE_SECS  seconds per target (default 20)
#   FUZZ_SMOKE_SEED  libFuzzer's random seed (default 1: a CI gate repeats the same mutations;
#                    exploration is the long runs' job, fuzz/README.md)
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_FUZZ_VERSION=0.13.2
secs=${FUZZ_SMOKE_SECS:-20}
seed=${FUZZ_SMOKE_SEED:-1}
# cargo-fuzz passes nightly-only flags (-Zsanitizer, -Cpasses=sancov...); stable accepts
# them with RUSTC_BOOTSTRAP. No sanitizer: the fuzzed code is safe Rust, so the smoke run
# looks for panics (debug assertions on: overflow, indexing) rather than memory errors.
export RUSTC_BOOTSTRAP=1
build=(--dev --sanitizer none)

if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
    cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION"
fi

fuzz/seed.sh --quick
(cd fuzz && cargo fuzz build "${build[@]}")

targets=$(cd fuzz && cargo fuzz list)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for t in $targets; do
    # -timeout: one input over 5 s is a hang; -rss_limit_mb: growth without bound.
    if ! (cd fuzz && cargo fuzz run "${build[@]}" "$t" "corpus/$t" -- \
        -max_total_time="$secs" -seed="$seed" -timeout=5 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1) >"$log" 2>&1; then
        tail -n 60 "$log" >&2
        echo "fuzz-smoke: $t FAILED; reproduce with the input in fuzz/artifacts/$t/ (fuzz/README.md)" >&2
        exit 1
    fi
    echo "fuzz-smoke: $t ok, $(grep -oE 'number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$') runs in ${secs}s"
done
echo "fuzz-smoke: $(echo "$targets" | wc -w) targets, no crash"

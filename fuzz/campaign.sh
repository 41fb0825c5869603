#!/usr/bin/env bash
# Long fuzz runs, one target at a time (nice'd), each for its budget of seconds; a log per
# target in $LOGS (default fuzz/logs/), then the summary table of fuzz/summarize.py.
#   fuzz/campaign.sh                      every target, the budgets below
#   fuzz/campaign.sh pipeline:3600 ...    the targets and seconds given
# Nightly (cargo +nightly) or stable with RUSTC_BOOTSTRAP=1; seeds: fuzz/seed.sh first.
# Do not stop a running target with SIGSTOP: the paused seconds count against -timeout and a
# healthy input is written out as a timeout.
set -uo pipefail
cd "$(dirname "$0")"
LOGS=${LOGS:-logs}
mkdir -p "$LOGS"
specs=("$@")
if [ ${#specs[@]} -eq 0 ]; then
    specs=(pipeline:2400 rules_parser:1200 decode_dispatch:900 tcp_reassembly:720
        sip_parser:720 sdp_parser:480 rtp_rtcp:480)
fi
toolchain=()
if rustup toolchain list 2>/dev/null | grep -q nightly; then
    toolchain=(+nightly)
else
    export RUSTC_BOOTSTRAP=1
fi
export FUZZ_SLOW_MS=${FUZZ_SLOW_MS:-200}
cargo "${toolchain[@]}" fuzz build -O -a -s none >"$LOGS/build.log" 2>&1 || {
    tail -20 "$LOGS/build.log" >&2
    exit 1
}
logs=()
for spec in "${specs[@]}"; do
    t=${spec%%:*}
    s=${spec##*:}
    logs+=("$LOGS/$t.log")
    echo "$(date -u +%FT%TZ) $t: ${s}s" >&2
    nice -n 19 cargo "${toolchain[@]}" fuzz run -O -a -s none "$t" "corpus/$t" -- \
        -max_total_time="$s" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -len_control=10 \
        -print_final_stats=1 >"$LOGS/$t.log" 2>&1 ||
        echo "$t stopped: input in fuzz/artifacts/$t/ (see $LOGS/$t.log)" >&2
done
python3 summarize.py "${logs[@]}"

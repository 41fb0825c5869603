#!/usr/bin/env bash
# Instructions per packet and per SIP message of each pipeline thread (capture, workers,
# correlator, output), counted by valgrind's callgrind: unlike wall time, the count does not move with
# the machine's load, so it is how a change's effect is measured on a shared machine. Prints a
# Markdown table.
#
# Usage: scripts/perf-instructions.sh [FILE]   (default: target/bench/sipp-500-calls.pcap,
#        made by scripts/make-bench-pcap.sh; the SIP-heavy one is scripts/make-sip-bench-pcap.sh's,
#        cut with `editcap -r FILE OUT 1-60000` to keep callgrind short). WORKERS=2. About 30 s on
#        the 1.15M-packet file.
# Per-function detail: callgrind_annotate on the files kept in $KEEP (when set). SENSOR_ARGS:
# more options for the sensor (e.g. '--eve-types alert,sip,call,rtp,device,tls,stats' to run
# without flow tracking).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FILE=${1:-$ROOT/target/bench/sipp-500-calls.pcap}
WORKERS=${WORKERS:-2}
WORK=${KEEP:-$(mktemp -d /tmp/voip-sentinel-ir.XXXXXX)}
mkdir -p "$WORK"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$WORK"' EXIT
command -v valgrind >/dev/null || { echo "perf-instructions: needs valgrind" >&2; exit 1; }
[ -f "$FILE" ] || "$ROOT/scripts/make-bench-pcap.sh" "$FILE"

cd "$ROOT"
cargo build --release --quiet --bin voip-sentinel
# Where cargo puts what it builds (CARGO_TARGET_DIR or the build config may move it).
TARGET=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
PACKETS=$(capinfos -c -M "$FILE" | awk -F: '/Number of packets/ {gsub(/ /, "", $2); print $2}')
rm -f "$WORK"/cg.* # a kept folder of an earlier run
valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$WORK/cg.%p" \
    "$TARGET/release/voip-sentinel" replay --workers "$WORKERS" --eve "$WORK/eve.json" ${SENSOR_ARGS:-} "$FILE" \
    2>"$WORK/valgrind.err" >/dev/null

# SIP messages the sensor analysed (its stats record), for the per-message column.
SIP=$(python3 -c 'import json,sys
last=[l for l in open(sys.argv[1]) if "\"event_type\":\"stats\"" in l][-1]
print(json.loads(last)["stats"]["sip"]["messages"])' "$WORK/eve.json")
echo "File: \`$(basename "$FILE")\`, $PACKETS packets, $SIP SIP messages, $WORKERS workers; $(git rev-parse --short HEAD)."
echo
echo "| thread | instructions | per packet | per SIP message |"
echo "| --- | ---: | ---: | ---: |"
total=0
for f in "$WORK"/cg.*-*; do
    ir=$(awk '/^summary:/ {print $2; exit}' "$f")
    [ "${ir:-0}" -gt 1000000 ] || continue # the metrics and reload threads
    if grep -q 'Correlator::handle' "$f"; then
        name=correlator
    elif grep -q 'Worker::run' "$f"; then
        name=worker
    elif grep -q 'RecordWriter::flush' "$f"; then
        name=output
    else
        name=capture
    fi
    total=$((total + ir))
    awk -v n="$name" -v i="$ir" -v p="$PACKETS" -v s="$SIP" \
        'BEGIN { printf "| %s | %.0f | %.0f | %s |\n", n, i, i / p, (s > 0 ? sprintf("%.0f", i / s) : "-") }'
done
awk -v i="$total" -v p="$PACKETS" -v s="$SIP" \
    'BEGIN { printf "| all | %.0f | %.0f | %s |\n", i, i / p, (s > 0 ? sprintf("%.0f", i / s) : "-") }'

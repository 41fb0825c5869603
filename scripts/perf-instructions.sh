#!/usr/bin/env bash
# Instructions per packet of each pipeline thread (capture, workers, correlator), counted by
# valgrind's callgrind: unlike wall time, the count does not move with the machine's load, so
# it is how a change's effect is measured on a shared machine. Prints a Markdown table.
#
# Usage: scripts/perf-instructions.sh [FILE]   (default: target/bench/sipp-500-calls.pcap,
#        made by scripts/make-bench-pcap.sh). WORKERS=2. About 30 s on the 1.15M-packet file.
# Per-function detail: callgrind_annotate on the files kept in $KEEP (when set).
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
PACKETS=$(capinfos -c -M "$FILE" | awk -F: '/Number of packets/ {gsub(/ /, "", $2); print $2}')
valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$WORK/cg.%p" \
    target/release/voip-sentinel replay --workers "$WORKERS" --eve "$WORK/eve.json" "$FILE" \
    2>"$WORK/valgrind.err" >/dev/null

echo "File: \`$(basename "$FILE")\`, $PACKETS packets, $WORKERS workers; $(git rev-parse --short HEAD)."
echo
echo "| thread | instructions | per packet |"
echo "| --- | ---: | ---: |"
total=0
for f in "$WORK"/cg.*-*; do
    ir=$(awk '/^summary:/ {print $2; exit}' "$f")
    [ "${ir:-0}" -gt 1000000 ] || continue # the metrics and reload threads
    if grep -q 'Correlator::handle' "$f"; then
        name=correlator
    elif grep -q 'Worker::run' "$f"; then
        name=worker
    else
        name=capture
    fi
    total=$((total + ir))
    awk -v n="$name" -v i="$ir" -v p="$PACKETS" 'BEGIN { printf "| %s | %.0f | %.0f |\n", n, i, i / p }'
done
awk -v i="$total" -v p="$PACKETS" 'BEGIN { printf "| all | %.0f | %.0f |\n", i, i / p }'

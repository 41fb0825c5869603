#!/usr/bin/env bash
# Side-by-side throughput on one capture: voip-sentinel (1 and 2 workers, full analysis, EVE
# records written), the read floor (the sensor's savefile reader, 1 MiB reads, walking the
# records and touching one byte of every packet), the libpcap floor (the same through the pcap
# crate), dd, sipmon (a Rust SIP/RTP monitor from crates.io) and tshark (-z rtp,streams -z sip,stat).
# Each tool runs RUNS times in turn on the file, read from the page cache; the best wall time
# counts; peak RSS from /usr/bin/time. Prints a Markdown table for README.md.
#
# Usage: scripts/perf-compare.sh [FILE]   (default: target/bench/sipp-500-calls.pcap, made by
#        scripts/make-bench-pcap.sh when missing). RUNS=3 by default; TSHARK_RUNS=1.
# sipmon is installed into target/tools with `cargo install sipmon` when not on PATH.
# SIP-heavy capture: when target/bench/sip-heavy.pcap exists (scripts/make-sip-bench-pcap.sh,
# as root), or SIP_PCAP=path names one (made by that script when missing; SIP_PCAP= skips
# it), a second table follows for that file: the sensor with 2 and 1 workers, the read floors,
# sipmon and tshark (-z sip,stat), in SIP messages/s (tshark's sip,stat count of the file).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FILE=${1:-$ROOT/target/bench/sipp-500-calls.pcap}
RUNS=${RUNS:-3}
TSHARK_RUNS=${TSHARK_RUNS:-1}
SIPMON_VERSION=${SIPMON_VERSION:-0.1.20}
WORK=$(mktemp -d /tmp/voip-sentinel-perf.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

log() { printf '[perf-compare] %s\n' "$*" >&2; }

if [ ! -f "$FILE" ]; then
	log "no $FILE: making it (scripts/make-bench-pcap.sh)"
	"$ROOT/scripts/make-bench-pcap.sh" "$FILE"
fi
SIP_FILE=${SIP_PCAP-$ROOT/target/bench/sip-heavy.pcap}
[ -z "$SIP_FILE" ] || SIP_FILE=$(realpath -m "$SIP_FILE")
if [ -n "${SIP_PCAP:-}" ] && [ ! -f "$SIP_FILE" ]; then
	log "no $SIP_FILE: making it (scripts/make-sip-bench-pcap.sh)"
	"$ROOT/scripts/make-sip-bench-pcap.sh" "$SIP_FILE"
fi
cd "$ROOT"
cargo build --release --quiet --bin voip-sentinel --example read_floor
# Where cargo puts what it builds (CARGO_TARGET_DIR or the build config may move it).
TARGET=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
SENSOR=$TARGET/release/voip-sentinel
FLOOR=$TARGET/release/examples/read_floor
SIPMON=$(command -v sipmon || true)
if [ -z "$SIPMON" ]; then
	SIPMON=$ROOT/target/tools/bin/sipmon
	if [ ! -x "$SIPMON" ]; then
		log "installing sipmon $SIPMON_VERSION into target/tools"
		cargo install --quiet --locked sipmon --version "$SIPMON_VERSION" --root "$ROOT/target/tools"
	fi
fi

PACKETS=$(capinfos -c -M "$FILE" | awk -F: '/Number of packets/ {gsub(/ /, "", $2); print $2}')
BYTES=$(stat -c %s "$FILE")
cat "$FILE" >/dev/null # page cache

# measure NAME RUNS CMD...: best wall seconds and its peak RSS (KiB) into $NAME.res
measure() {
	local name=$1 runs=$2 best= rss= i wall r
	shift 2
	for ((i = 0; i < runs; i++)); do
		/usr/bin/time -f '%e %M' -o "$WORK/time" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" ||
			{ log "$name failed: $(tail -3 "$WORK/$name.err")"; return 1; }
		read -r wall r <"$WORK/time"
		if [ -z "$best" ] || awk -v a="$wall" -v b="$best" 'BEGIN{exit !(a < b)}'; then
			best=$wall
			rss=$r
		fi
	done
	echo "$best $rss" >"$WORK/$name.res"
	log "$name: best of $runs: $best s, peak RSS $rss KiB"
}

measure dd "$RUNS" dd if="$FILE" of=/dev/null bs=1M
measure floor "$RUNS" "$FLOOR" "$FILE"
measure libpcap_floor "$RUNS" "$FLOOR" --libpcap "$FILE"
measure sensor2 "$RUNS" "$SENSOR" replay --workers 2 --eve "$WORK/eve.json" "$FILE"
measure sensor1 "$RUNS" "$SENSOR" replay --workers 1 --eve "$WORK/eve.json" "$FILE"
measure sipmon "$RUNS" "$SIPMON" file -r "$FILE" --no-tui
measure tshark "$TSHARK_RUNS" tshark -n -q -r "$FILE" -z rtp,streams -z sip,stat

# row LABEL NAME [UNITS PREFIX]: one table row; UNITS (default: the packets) per second, and
# the times against the floor and the 2-worker sensor of the same table (runs named PREFIX...).
row() {
	local wall rss units=${3:-$PACKETS} pre=${4:-}
	read -r wall rss <"$WORK/$2.res"
	awk -v l="$1" -v w="$wall" -v r="$rss" -v p="$units" -v s2="$(cut -d' ' -f1 "$WORK/${pre}sensor2.res")" \
		-v fl="$(cut -d' ' -f1 "$WORK/${pre}floor.res")" \
		'BEGIN { printf "| %s | %.3f | %.0f | %.1f | %.2f | %.2f |\n", l, w, p / w, r / 1024, w / fl, w / s2 }'
}

echo
echo "File: \`$(basename "$FILE")\`, $PACKETS packets, $((BYTES / 1000000)) MB; $(nproc) cores; $(date -u +%Y-%m-%d)."
echo
echo "| run | wall s | packets/s | peak RSS MB | x read floor | x sensor (2 workers) |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
row "voip-sentinel, 2 workers (full analysis, EVE written)" sensor2
row "voip-sentinel, 1 worker" sensor1
row "read floor (own reader, 1 MiB reads, one byte per packet)" floor
row "libpcap floor (pcap crate, one byte per packet)" libpcap_floor
row "dd bs=1M" dd
row "sipmon $("$SIPMON" --version 2>/dev/null | awk '{print $2}') (file --no-tui)" sipmon
row "tshark $(tshark --version 2>/dev/null | awk 'NR==1 {print $3}') (-z rtp,streams -z sip,stat)" tshark
echo
grep -h 'voip-sentinel:' "$WORK/sensor2.err" | head -1 | sed 's/^/sensor summary: /'

# The SIP-heavy capture: the same tools (no dd), its rate in SIP messages/s.
if [ -z "$SIP_FILE" ] || [ ! -f "$SIP_FILE" ]; then
	log "no SIP-heavy capture${SIP_FILE:+ $SIP_FILE} (make it with scripts/make-sip-bench-pcap.sh as root): SIP table skipped"
	exit 0
fi
SIP_PACKETS=$(capinfos -c -M "$SIP_FILE" | awk -F: '/Number of packets/ {gsub(/ /, "", $2); print $2}')
SIP_BYTES=$(stat -c %s "$SIP_FILE")
cat "$SIP_FILE" >/dev/null # page cache

measure sip_sensor2 "$RUNS" "$SENSOR" replay --workers 2 --eve "$WORK/eve.json" "$SIP_FILE"
measure sip_sensor1 "$RUNS" "$SENSOR" replay --workers 1 --eve "$WORK/eve.json" "$SIP_FILE"
measure sip_floor "$RUNS" "$FLOOR" "$SIP_FILE"
measure sip_libpcap_floor "$RUNS" "$FLOOR" --libpcap "$SIP_FILE"
# sipmon's row only when it ran (it is made for RTP monitoring; a failure here does not stop the table)
SIP_SIPMON=
[ -x "$SIPMON" ] && measure sip_sipmon "$RUNS" "$SIPMON" file -r "$SIP_FILE" --no-tui && SIP_SIPMON=1
measure sip_tshark "$TSHARK_RUNS" tshark -n -q -r "$SIP_FILE" -z sip,stat
# the SIP message count, once: tshark's sip,stat total (every SIP message, resent ones too)
SIP_MSGS=$(awk -F: '/Number of SIP messages/ {gsub(/ /, "", $2); print $2}' "$WORK/sip_tshark.out")
[ -n "$SIP_MSGS" ] && [ "$SIP_MSGS" -gt 0 ] || { log "no SIP message count in tshark's sip,stat"; exit 1; }

sip_row() { row "$1" "$2" "$SIP_MSGS" sip_; }

echo
echo "File: \`$(basename "$SIP_FILE")\`, $SIP_PACKETS packets, $SIP_MSGS SIP messages (tshark sip,stat), $((SIP_BYTES / 1000000)) MB; $(nproc) cores; $(date -u +%Y-%m-%d)."
echo
echo "| run | wall s | SIP messages/s | peak RSS MB | x read floor | x sensor (2 workers) |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
sip_row "voip-sentinel, 2 workers (full analysis, EVE written)" sip_sensor2
sip_row "voip-sentinel, 1 worker" sip_sensor1
sip_row "read floor (own reader, 1 MiB reads, one byte per packet)" sip_floor
sip_row "libpcap floor (pcap crate, one byte per packet)" sip_libpcap_floor
[ -z "$SIP_SIPMON" ] ||
	sip_row "sipmon $("$SIPMON" --version 2>/dev/null | awk '{print $2}') (file --no-tui)" sip_sipmon
sip_row "tshark $(tshark --version 2>/dev/null | awk 'NR==1 {print $3}') (-z sip,stat)" sip_tshark
echo
grep -h 'voip-sentinel:' "$WORK/sip_sensor2.err" | head -1 | sed 's/^/sensor summary: /'

#!/usr/bin/env bash
# Live capture rate without drops: voip-sentinel captures on `lo` while tcpreplay replays the
# benchmark capture at increasing packet rates; after each run the sensor's `stats` record gives
# the packets it received and its drops (kernel drops reported by pcap plus worker-queue drops).
# Prints one Markdown row per rate and the highest rate with zero drops.
#
# Usage (as root): scripts/perf-live.sh [FILE]   (default target/bench/sipp-500-calls.pcap;
#        the SIP-heavy one is scripts/make-sip-bench-pcap.sh's target/bench/sip-heavy.pcap)
# Environment: RATES="50000 100000 ..." (packets/s; "max" is tcpreplay --topspeed),
#              WORKERS (default 2), BUFFER_MIB (kernel buffer, default 256), LOOP (tcpreplay
#              --loop: replays of the file per rate, default 1; more replays measure a
#              sustained rate rather than a burst the kernel ring absorbs), FILTER (the
#              sensor's BPF filter: the bench captures' own addresses by default, so that other
#              loopback traffic is not counted). A rate at which the sensor saw fewer packets
#              than tcpreplay sent is a loss, whatever the drop counters say.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FILE=${1:-$ROOT/target/bench/sipp-500-calls.pcap}
RATES=${RATES:-25000 50000 100000 150000 200000 300000 max}
WORKERS=${WORKERS:-2}
BUFFER_MIB=${BUFFER_MIB:-256}
WORK=$(mktemp -d /tmp/voip-sentinel-live.XXXXXX)
SENSOR_PID=
cleanup() {
	[ -n "$SENSOR_PID" ] && kill "$SENSOR_PID" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

log() { printf '[perf-live] %s\n' "$*" >&2; }
[ "$(id -u)" -eq 0 ] || { log "must run as root (live capture, tcpreplay)"; exit 1; }
command -v tcpreplay >/dev/null || { log "missing tcpreplay: run scripts/install-deps.sh"; exit 1; }
[ -f "$FILE" ] || "$ROOT/scripts/make-bench-pcap.sh" "$FILE"
cargo build --release --quiet --bin voip-sentinel --manifest-path "$ROOT/Cargo.toml"
# Where cargo puts what it builds (CARGO_TARGET_DIR or the build config may move it).
TARGET=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
SENSOR=$TARGET/release/voip-sentinel
cat "$FILE" >/dev/null
# The bench captures' addresses: 127.0.77.1/.2 (make-bench-pcap.sh), 127.0.88.0/24
# (make-sip-bench-pcap.sh).
FILTER=${FILTER:-udp and (host 127.0.77.1 or host 127.0.77.2 or net 127.0.88.0/24)}
LOOP=${LOOP:-1}
# CPU time (clock ticks) a process has used.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
wait_idle() {
	local before after i
	for ((i = 0; i < 240; i++)); do
		before=$(cpu_ticks "$1")
		sleep 0.5
		after=$(cpu_ticks "$1")
		[ $((after - before)) -lt 3 ] && return 0
	done
}
SENT=$(capinfos -c -M "$FILE" | awk -F: '/Number of packets/ {gsub(/ /, "", $2); print $2}')
SENT=$((SENT * LOOP))

echo "| tcpreplay rate (packets/s) | achieved | sensor packets | kernel drops | queue drops |"
echo "| ---: | ---: | ---: | ---: | ---: |"
best=0
dropped=
for rate in $RATES; do
	rm -f "$WORK/eve.json"
	"$SENSOR" live -i lo -f "$FILTER" --workers "$WORKERS" \
		--buffer-mib "$BUFFER_MIB" --eve "$WORK/eve.json" -q 2>"$WORK/sensor.err" &
	SENSOR_PID=$!
	sleep 1
	if [ "$rate" = max ]; then speed=(--topspeed); else speed=(--pps="$rate"); fi
	tcpreplay -i lo --loop="$LOOP" "${speed[@]}" "$FILE" >"$WORK/tcpreplay.out" 2>&1
	# The sensor may still be reading what the kernel ring holds: stop it once it has been
	# idle (under 30 ms of CPU in half a second) or after 120 s.
	wait_idle "$SENSOR_PID"
	kill -INT "$SENSOR_PID"
	wait "$SENSOR_PID" || true
	SENSOR_PID=
	achieved=$(awk '/Rated:/ {for (i = 1; i <= NF; i++) if ($i == "pps") print $(i - 1)}' "$WORK/tcpreplay.out" | head -1)
	read -r packets kdrop qdrop < <(python3 - "$WORK/eve.json" <<'EOF'
import json, sys
s = None
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("event_type") == "stats":
        s = r["stats"]
cap = (s or {}).get("capture", {})
print(cap.get("packets", 0), cap.get("kernel_dropped") or 0, cap.get("queue_drops", 0))
EOF
	)
	echo "| $rate | ${achieved%.*} | $packets | $kdrop | $qdrop |"
	if [ "$kdrop" = 0 ] && [ "$qdrop" = 0 ] && [ "$packets" -ge "$SENT" ]; then
		[ -z "$dropped" ] && best=${achieved%.*}
	else
		[ -n "$dropped" ] || dropped=$rate
	fi
done
echo
echo "Highest achieved rate with zero drops at it and every lower rate: $best packets/s" \
	"($WORKERS workers, ${BUFFER_MIB} MiB kernel buffer${dropped:+; first drops at $dropped requested})."

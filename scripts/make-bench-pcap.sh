#!/usr/bin/env bash
# Make the large benchmark capture (not committed: about 1.15 M packets, 340 MB).
#
# Two real sipp 3.6 instances on loopback (127.0.77.1 calls 127.0.77.2) place G.711 A-law
# calls; each side plays sipp's own real audio capture (g711a.pcap: 236 RTP packets, 7 s)
# from a per-call media port, so every call has two RTP streams on its own UDP flow. At
# RATE calls/s with a 7.5 s hold time about RATE x 7.5 calls are up at once (500+ by default).
# tcpdump writes the capture and must report 0 drops, else the script fails.
#
# Usage (as root):  scripts/make-bench-pcap.sh [OUT]   (default target/bench/sipp-500-calls.pcap)
# Environment: CALLS (default 2400), RATE (calls/s, default 70), LIMIT (max concurrent, 600).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-$ROOT/target/bench/sipp-500-calls.pcap}
CALLS=${CALLS:-2400}
RATE=${RATE:-70}
LIMIT=${LIMIT:-600}
SIPP_PCAPS=${SIPP_PCAPS:-/usr/share/sip-tester}
UAC=127.0.77.1
UAS=127.0.77.2

log() { printf '[make-bench-pcap] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (tcpdump)"
for t in sipp tcpdump capinfos; do
	command -v "$t" >/dev/null 2>&1 || die "missing $t: run scripts/install-deps.sh"
done
[ -f "$SIPP_PCAPS/g711a.pcap" ] || die "no $SIPP_PCAPS/g711a.pcap (package sip-tester)"

WORK=$(mktemp -d /tmp/voip-sentinel-bench.XXXXXX)
TCPDUMP_PID=
UAS_PID=
SINK_PID=
cleanup() {
	[ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null || true
	[ -n "$UAS_PID" ] && kill "$UAS_PID" 2>/dev/null || true
	[ -n "$TCPDUMP_PID" ] && kill "$TCPDUMP_PID" 2>/dev/null || true
	wait 2>/dev/null || true
	[ -n "${KEEP_WORK:-}" ] && log "work dir kept: $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$(dirname "$OUT")"
# the scenarios play "pcap/g711a.pcap" relative to the working directory
ln -s "$SIPP_PCAPS" "$WORK/pcap"
cp "$ROOT"/scripts/bench/uac-call.xml "$ROOT"/scripts/bench/uas-call.xml "$WORK/"
cd "$WORK"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# A 256 MiB kernel buffer: the capture must hold about 35,000 packets/s without a drop.
tcpdump -i lo -n -B 262144 -s 0 -w "$WORK/out.pcap" "host $UAC and host $UAS" 2>"$WORK/tcpdump.log" &
TCPDUMP_PID=$!
for _ in $(seq 50); do grep -q listening "$WORK/tcpdump.log" 2>/dev/null && break; sleep 0.1; done

# sipp numbers media ports 6000 + 4 x call and binds 6000 and 6002 itself; receive the others
# so that no ICMP port unreachable answers the RTP.
python3 "$ROOT/scripts/bench/media-sink.py" "$UAC,$UAS" 6004 $((6000 + 4 * CALLS + 8)) 2 >"$WORK/sink.log" 2>&1 &
SINK_PID=$!
for _ in $(seq 100); do grep -q sockets "$WORK/sink.log" 2>/dev/null && break; sleep 0.1; done
grep -q sockets "$WORK/sink.log" || die "media sink did not start: $(cat "$WORK/sink.log")"

sipp -sf uas-call.xml -i "$UAS" -p 5060 -mi "$UAS" -nostdin >"$WORK/uas.log" 2>&1 &
UAS_PID=$!
sleep 0.5
log "placing $CALLS calls at $RATE/s (at most $LIMIT at once)"
sipp -sf uac-call.xml -i "$UAC" -p 5060 -mi "$UAC" "$UAS:5060" \
	-m "$CALLS" -r "$RATE" -l "$LIMIT" -nostdin \
	>"$WORK/uac.log" 2>&1 || true
# sipp exits non-zero when any call failed; on a loaded machine a few calls time out (they are
# real traffic too). Fail only when most calls did not complete.
ok=$(awk -F'|' '/Successful call/ {s=$3} /Failed call/ {f=$3} END{print s+0, f+0}' "$WORK/uac.log")
log "calls completed, failed: $ok"
[ "${ok%% *}" -ge $((CALLS * 9 / 10)) ] || die "sipp completed too few calls: $(tail -5 "$WORK/uac.log")"
sleep 1
kill "$UAS_PID"; wait "$UAS_PID" 2>/dev/null || true; UAS_PID=
kill -INT "$TCPDUMP_PID"; wait "$TCPDUMP_PID" 2>/dev/null || true; TCPDUMP_PID=
cat "$WORK/tcpdump.log" >&2
grep -q '^0 packets dropped by kernel' "$WORK/tcpdump.log" || die "tcpdump dropped packets"
mv "$WORK/out.pcap" "$OUT"
capinfos -c -u "$OUT" >&2

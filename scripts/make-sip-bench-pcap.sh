#!/usr/bin/env bash
# Make the SIP-heavy benchmark capture (not committed: 360,000 SIP messages, 164 MB),
# for measuring how many SIP messages per second the sensor analyses.
#
# Real SIP stacks on loopback, all in 127.0.88.0/24 (used by no other script), one tcpdump
# (256 MiB kernel buffer, BPF filter `net 127.0.88.0/24`) writing both parts into one file:
#   1. call flood: sipp's built-in uac (127.0.88.1) calls sipp's built-in uas (127.0.88.2),
#      CALL_RATE calls/s, CALLS calls, each held HOLD_MS: INVITE (SDP), 180, 200 (SDP), ACK,
#      BYE, 200; six SIP messages a call, no RTP (SIP only).
#   2. INVITE flood: FLOOD_SOURCES sipp clients at once, each from its own address
#      127.0.88.21, .22, ..., send FLOOD_CALLS INVITEs (SDP offer, no media) at FLOOD_RATE/s
#      each to kamailio 127.0.88.10 (scripts/bench/kamailio-sip-bench.cfg), which rejects
#      them statelessly with 403 Forbidden (404 Not Found for the callees 9xxx of every
#      second source); each rejection is ACKed (scripts/bench/uac-invite-reject.xml).
#      Three SIP messages a call.
# Defaults: 40,000 calls at 2,000/s (240,000 messages) then 5 x 8,000 INVITEs at 5 x 400/s
# (120,000 messages). tcpdump must report 0 packets dropped by kernel, else the script fails
# (then lower CALL_RATE / FLOOD_RATE); fewer than MIN_SIP SIP messages in the capture (tshark
# -z sip,stat) also fail it. Every process runs under `timeout` and is stopped on exit.
# Takes about 2 minutes on 2 cores (43 s of traffic, then about a minute for tshark to count).
#
# Usage (as root):  scripts/make-sip-bench-pcap.sh [OUT]   (default target/bench/sip-heavy.pcap)
# Environment: OUT (output file, same as the argument), CALLS (default 40000), CALL_RATE
#   (calls/s, 2000), HOLD_MS (call hold time, 1000), FLOOD_SOURCES (4-20, default 5),
#   FLOOD_CALLS (INVITEs per source, 8000), FLOOD_RATE (INVITEs/s per source, 400),
#   MIN_SIP (300000), KEEP_WORK=1 keeps the temporary directory (sipp, kamailio, tcpdump logs).
# Dependencies: sip-tester (sipp 3.6), kamailio, tcpdump, tshark (capinfos), iproute2 (ss):
#   scripts/install-deps.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PCAP=$(realpath -m "${1:-${OUT:-$ROOT/target/bench/sip-heavy.pcap}}") # absolute: the script works in $WORK
CALLS=${CALLS:-40000}
CALL_RATE=${CALL_RATE:-2000}
HOLD_MS=${HOLD_MS:-1000}
FLOOD_SOURCES=${FLOOD_SOURCES:-5}
FLOOD_CALLS=${FLOOD_CALLS:-8000}
FLOOD_RATE=${FLOOD_RATE:-400}
MIN_SIP=${MIN_SIP:-300000}
NET=127.0.88.0/24
UAC=127.0.88.1
UAS=127.0.88.2
KAM=127.0.88.10
# flood source k (0-based) is 127.0.88.(21 + k)
FLOOD_BASE=21

# Logging, the root and tool checks, the work folder and its cleanup, wait_udp.
CAP_TAG=make-sip-bench-pcap
CAP_TOOLS=(sipp kamailio tcpdump tshark capinfos timeout ss)
OUT=$(dirname "$PCAP")
# shellcheck source=scripts/capture-lib.sh
. "$ROOT/scripts/capture-lib.sh"

for v in CALLS CALL_RATE HOLD_MS FLOOD_SOURCES FLOOD_CALLS FLOOD_RATE MIN_SIP; do
	[[ ${!v} =~ ^[0-9]+$ ]] && [ "${!v}" -gt 0 ] || die "$v must be a positive integer"
done
[ "$FLOOD_SOURCES" -ge 4 ] && [ "$FLOOD_SOURCES" -le 20 ] || die "FLOOD_SOURCES must be 4-20"

TCPDUMP_PID=

# sipp_result LOG MIN NAME: check sipp's final "Successful call" count (sipp exits non-zero
# when any call failed; on a loaded machine a few do, and they are real traffic too).
sipp_result() {
	local ok
	ok=$(awk -F'|' '/Successful call/ {s=$3} /Failed call/ {f=$3} END{print s+0, f+0}' "$1")
	log "$3: calls completed, failed: $ok"
	[ "${ok%% *}" -ge "$2" ] || die "$3 completed too few calls: $(tail -15 "$1")"
}

cd "$WORK"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

CALL_SECS=$(((CALLS + CALL_RATE - 1) / CALL_RATE + HOLD_MS / 1000))
FLOOD_SECS=$(((FLOOD_CALLS + FLOOD_RATE - 1) / FLOOD_RATE))
# sipp's socket buffers (its default, 64 KiB, overflows at 2,000 calls/s when sipp waits for
# the CPU: lost 200s, retransmissions, failed calls); the kernel caps it at net.core.rmem_max.
BUF=4194304
# generous bounds: twice the planned time plus a minute
CALL_T=$((2 * CALL_SECS + 60))
FLOOD_T=$((2 * FLOOD_SECS + 60))
ALL_T=$((CALL_T + FLOOD_T + 60))

# A 256 MiB kernel buffer: the capture must hold 15,000+ packets/s without a drop.
timeout "$ALL_T" tcpdump -i lo -n -B 262144 -s 0 -Z root -w "$WORK/out.pcap" "net $NET" \
	2>"$WORK/tcpdump.log" &
TCPDUMP_PID=$!
for _ in $(seq 50); do grep -q 'listening on' "$WORK/tcpdump.log" 2>/dev/null && break; sleep 0.1; done
grep -q 'listening on' "$WORK/tcpdump.log" || die "tcpdump did not start: $(cat "$WORK/tcpdump.log")"
START=$(date +%s)

mkdir -p "$WORK/kam"
timeout "$ALL_T" kamailio -f "$ROOT/scripts/bench/kamailio-sip-bench.cfg" -DD -E -Y "$WORK/kam" \
	-P "$WORK/kam/kamailio.pid" -w "$WORK/kam" >"$WORK/kamailio.log" 2>&1 &
timeout "$((CALL_T + 30))" sipp -sn uas -i "$UAS" -p 5060 -mi "$UAS" -buff_size "$BUF" -nostdin \
	>"$WORK/uas.log" 2>&1 &
UAS_PID=$!
wait_udp "$KAM:5060"
wait_udp "$UAS:5060"

# 1. call flood
log "1. call flood: $CALLS calls at $CALL_RATE/s ($UAC -> $UAS, hold ${HOLD_MS} ms)"
timeout "$CALL_T" sipp -sn uac -i "$UAC" -p 5060 -mi "$UAC" "$UAS:5060" -s 2000 \
	-m "$CALLS" -r "$CALL_RATE" -d "$HOLD_MS" -l $((CALL_RATE * (HOLD_MS / 1000 + 3))) \
	-buff_size "$BUF" -timeout $((CALL_T - 10)) -nostdin >"$WORK/uac.log" 2>&1 || true
sipp_result "$WORK/uac.log" $((CALLS * 98 / 100)) "call flood"
sleep 1
kill -TERM "$UAS_PID" 2>/dev/null || true
wait "$UAS_PID" 2>/dev/null || true

# 2. INVITE flood from FLOOD_SOURCES addresses at once
log "2. INVITE flood: $FLOOD_SOURCES sources x $FLOOD_CALLS INVITEs at $FLOOD_RATE/s each -> kamailio $KAM"
pids=()
for ((k = 0; k < FLOOD_SOURCES; k++)); do
	src=127.0.88.$((FLOOD_BASE + k))
	# every second source calls 9xxx users (404), the others 1xxx (403)
	if ((k % 2)); then callee=$((9001 + k)); else callee=$((1001 + k)); fi
	timeout "$FLOOD_T" sipp -sf "$ROOT/scripts/bench/uac-invite-reject.xml" "$KAM:5060" \
		-i "$src" -p 5060 -mi "$src" -s "$callee" -m "$FLOOD_CALLS" -r "$FLOOD_RATE" \
		-l $((FLOOD_RATE * 4)) -buff_size "$BUF" -cid_str "flood-%u-%p@$src" \
		-timeout $((FLOOD_T - 10)) -nostdin >"$WORK/flood-$k.log" 2>&1 &
	pids+=($!)
done
for ((k = 0; k < FLOOD_SOURCES; k++)); do
	wait "${pids[$k]}" 2>/dev/null || true
	sipp_result "$WORK/flood-$k.log" $((FLOOD_CALLS * 98 / 100)) "flood source 127.0.88.$((FLOOD_BASE + k))"
done
sleep 1
# kamailio (tcpdump is stopped below, on its own)
for p in $(jobs -pr); do [ "$p" = "$TCPDUMP_PID" ] || kill -TERM "$p" 2>/dev/null || true; done
END=$(date +%s)

kill -INT "$TCPDUMP_PID" 2>/dev/null || true
wait "$TCPDUMP_PID" 2>/dev/null || true
for p in $(jobs -pr); do wait "$p" 2>/dev/null || true; done
grep -E 'packets (captured|received|dropped)' "$WORK/tcpdump.log" >&2 || true
grep -q '^0 packets dropped by kernel' "$WORK/tcpdump.log" ||
	die "tcpdump dropped packets (or did not report): lower CALL_RATE / FLOOD_RATE"
mv -f "$WORK/out.pcap" "$PCAP"
chmod 644 "$PCAP"

# facts
log "traffic took $((END - START)) s; facts of $PCAP:"
capinfos -M -c -s -u -y -x "$PCAP" >&2
tshark -n -q -z sip,stat -r "$PCAP" >"$WORK/sip-stat.txt" 2>/dev/null || die "tshark failed on $PCAP"
grep -v -e '^$' -e '^=*$' "$WORK/sip-stat.txt" >&2
SIP=$(awk -F: '/Number of SIP messages/ {gsub(/ /, "", $2); print $2}' "$WORK/sip-stat.txt")
[ -n "$SIP" ] || die "no SIP message count in tshark's sip,stat"
[ "$SIP" -ge "$MIN_SIP" ] || die "$SIP SIP messages, fewer than $MIN_SIP: raise CALLS / FLOOD_CALLS"
log "OK: $SIP SIP messages (>= $MIN_SIP), $(stat -c %s "$PCAP") bytes, $PCAP"

#!/usr/bin/env bash
# Regenerate pcaps/kamailio-forking.pcap: five calls through a real forking
# SIP proxy, kamailio 5.6 (scripts/pcaps/kamailio-forking.cfg, 127.0.0.53:5060,
# transaction-stateful, Record-Route), from a sipp caller at 127.0.0.54 to sipp
# phones A (127.0.0.55), B (127.0.0.56) and a voicemail (127.0.0.57), one
# Call-ID each, in this order:
#   1. fork-1-ring2-busy-answered@127.0.0.54: ring2 = parallel fork to A and B;
#      A answers 486 at once (do not disturb), B rings 1.5 s and answers 200;
#      ACK and, 2 s later, BYE through the proxy: answered.
#   2. fork-2-ring2-both-ring@127.0.0.54: A and B ring; B answers after 1.5 s,
#      the proxy CANCELs A (200, 487, ACK): answered.
#   3. fork-3-ring2-all-fail@127.0.0.54: A 486 at once, B rings 0.5 s and sends
#      480; the proxy relays the best final reply (480) to the caller: failed.
#   4. fork-4-serial-voicemail@127.0.0.54: serial = A only with a 3 s INVITE
#      timer; A rings and never answers; after 3 s the proxy CANCELs A (487)
#      and its failure_route forwards the call to the voicemail, which rings
#      0.5 s and answers 200; BYE 2 s later: answered.
#   5. fork-5-ring2-caller-cancel@127.0.0.54: A and B ring; the caller CANCELs
#      after 1 s; the proxy answers 200, CANCELs both branches (487 from A and
#      B) and sends 487 to the caller: cancelled.
# No RTP is sent.
#
# Same approach as scripts/make-detect-pcaps.sh (helpers of
# scripts/capture-lib.sh): real tools on loopback addresses 127.0.0.53-57
# only, SIP port 5060; tcpdump on lo with a BPF filter on those addresses,
# started before and stopped 1 s after the traffic; every process runs under
# `timeout` and is stopped by its pid. Each phone is a sipp UAS started for
# one call (-m 1) with the behaviour of that call (scripts/pcaps/forking-uas-*.xml),
# the caller one sipp run per call (scripts/pcaps/forking-uac-*.xml); phones
# and caller must finish their scenario without error. At the end the
# capture's SIP counts, the final answer of every call on the caller's leg,
# the order of the replies that matter and the absence of ICMP are checked
# with tshark; the script fails if any is off. About 35 s.
#
# Usage (as root):  scripts/make-forking-pcap.sh
# Environment: OUT=dir to write somewhere other than pcaps/;
#              KEEP_WORK=1 to keep the temporary directory (sipp and
#              kamailio logs).
# Dependencies: those of scripts/install-deps.sh (sip-tester kamailio tcpdump
#   tshark iproute2).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SC="$ROOT/scripts/pcaps"
OUT=${OUT:-$ROOT/pcaps}

CAP_TAG=make-forking-pcap
CAP_TOOLS=(sipp kamailio tcpdump tshark timeout ss)
KAM_CFG="$SC/kamailio-forking.cfg" # forking proxy 127.0.0.53
KAM_ADDRS=(127.0.0.53:5060)
# shellcheck source=scripts/capture-lib.sh
. "$ROOT/scripts/capture-lib.sh"

PROXY=127.0.0.53
CALLER=127.0.0.54
PHONE_A=127.0.0.55
PHONE_B=127.0.0.56
VOICEMAIL=127.0.0.57
cd "$WORK"

PHONE_PIDS=()
PHONE_NAMES=()

# phone NAME ADDR SCENARIO [SIPP ARGS...]: a sipp UAS at ADDR:5060 for one
# call; NAME is also its To tag, so that every branch of a call has its own.
phone() {
	local name=$1 addr=$2 sf=$3
	shift 3
	sipp_uas "$name" -sf "$SC/$sf" -i "$addr" -p 5060 -mi "$addr" -mp 17000 -m 1 -key phone_tag "$name" "$@"
	wait_udp "$addr:5060"
	PHONE_PIDS+=("$UAS_PID")
	PHONE_NAMES+=("$name")
}

# call N SCENARIO USER CALL-ID: the caller's call to sip:USER@proxy (foreground),
# then wait for the phones of that call; each must end its scenario cleanly.
call() {
	local n=$1 sf=$2 user=$3 cid=$4 i
	sipp_uac "caller-$n" -sf "$SC/$sf" "$PROXY:5060" -i "$CALLER" -p 5060 -mi "$CALLER" -mp 16000 \
		-s "$user" -m 1 -cid_str "$cid"
	for i in "${!PHONE_PIDS[@]}"; do
		if ! wait "${PHONE_PIDS[$i]}"; then
			tail -40 "$WORK/${PHONE_NAMES[$i]}.out" >&2
			die "phone ${PHONE_NAMES[$i]} failed"
		fi
	done
	PHONE_PIDS=()
	PHONE_NAMES=()
}

# frame FILE FILTER: number of the first frame that matches (empty if none).
frame() {
	tshark -n -r "$OUT/$1" -Y "$2" -T fields -e frame.number 2>/dev/null | awk 'NR == 1'
}

# before FILE FILTER1 FILTER2: the first match of FILTER1 precedes that of FILTER2.
before() {
	local a b
	a=$(frame "$1" "$2")
	b=$(frame "$1" "$3")
	if [ -z "$a" ] || [ -z "$b" ] || [ "$a" -ge "$b" ]; then
		die "$1: expected '$2' (frame ${a:-none}) before '$3' (frame ${b:-none})"
	fi
}

# final FILE CALL-ID CODE: the caller's leg of CALL-ID ends with exactly one
# final answer to its INVITE, CODE.
final() {
	local f=$1 cid=$2 code=$3 got
	got=$(tshark -n -r "$OUT/$f" -Y "sip.Call-ID == \"$cid\" and ip.dst == $CALLER and sip.CSeq.method == \"INVITE\" and sip.Status-Code >= 200" \
		-T fields -e sip.Status-Code 2>/dev/null | tr '\n' ' ')
	[ "$got" = "$code " ] || die "$f: $cid: final answers to the caller '$got', expected $code"
}

# hops FILE CALL-ID N: the INVITE of CSeq 1 went over N distinct src -> dst hops.
hops() {
	local f=$1 cid=$2 want=$3 n
	n=$(tshark -n -r "$OUT/$f" -Y "sip.Call-ID == \"$cid\" and sip.Method == \"INVITE\" and sip.CSeq.seq == 1" \
		-T fields -e ip.src -e udp.srcport -e ip.dst -e udp.dstport 2>/dev/null | sort -u | grep -c . || true)
	[ "$n" -eq "$want" ] || die "$f: $cid: INVITE over $n hops, expected $want"
}

C1=fork-1-ring2-busy-answered@$CALLER
C2=fork-2-ring2-both-ring@$CALLER
C3=fork-3-ring2-all-fail@$CALLER
C4=fork-4-serial-voicemail@$CALLER
C5=fork-5-ring2-caller-cancel@$CALLER

make_forking() {
	local f=kamailio-forking.pcap
	log "$f"
	cap_start "$f" "host $PROXY or host $CALLER or host $PHONE_A or host $PHONE_B or host $VOICEMAIL"
	kam_start forking

	# 1. parallel: A busy at once, B rings 1.5 s and answers
	phone phone-a-1 "$PHONE_A" forking-uas-busy.xml
	phone phone-b-1 "$PHONE_B" forking-uas-ring-answer.xml -d 1500
	call 1 forking-uac-answered.xml ring2 "$C1"

	# 2. parallel: both ring, B answers after 1.5 s, A is cancelled
	phone phone-a-2 "$PHONE_A" forking-uas-ring-cancel.xml
	phone phone-b-2 "$PHONE_B" forking-uas-ring-answer.xml -d 1500
	call 2 forking-uac-answered.xml ring2 "$C2"

	# 3. parallel: A busy at once, B rings 0.5 s and gives up with 480
	phone phone-a-3 "$PHONE_A" forking-uas-busy.xml
	phone phone-b-3 "$PHONE_B" forking-uas-ring-reject.xml -d 500
	call 3 forking-uac-failed.xml ring2 "$C3"

	# 4. serial: A rings past the 3 s timer and is cancelled, voicemail answers
	phone phone-a-4 "$PHONE_A" forking-uas-ring-cancel.xml
	phone voicemail-4 "$VOICEMAIL" forking-uas-ring-answer.xml -d 500
	call 4 forking-uac-answered.xml serial "$C4"

	# 5. parallel: both ring, the caller cancels after 1 s
	phone phone-a-5 "$PHONE_A" forking-uas-ring-cancel.xml
	phone phone-b-5 "$PHONE_B" forking-uas-ring-cancel.xml
	call 5 forking-uac-cancel.xml ring2 "$C5"

	kam_stop
	cap_stop

	expect "$f" 'Number of SIP messages: 88$'
	expect "$f" 'Number of resent SIP messages: 0$'
	expect "$f" 'INVITE +: +15 Packets'
	expect "$f" 'ACK +: +15 Packets'
	expect "$f" 'BYE +: +6 Packets'
	expect "$f" 'CANCEL +: +5 Packets'
	expect "$f" 'SIP 100 Trying +: +5 Packets'
	expect "$f" 'SIP 180 Ringing +: +16 Packets'
	expect "$f" 'SIP 200 OK +: +17 Packets'
	expect "$f" 'SIP 480 Temporarily Unavailable +: +2 Packets'
	expect "$f" 'SIP 486 Busy Here +: +2 Packets'
	expect "$f" 'SIP 487 Request Terminated +: +5 Packets'
	expect_count "$f" 'sip' 88
	expect_count "$f" 'frame' 88
	expect_count "$f" 'sip and not sip.Via' 0
	expect_count "$f" 'icmp' 0
	expect_count "$f" 'not udp.port == 5060' 0
	expect_calls "$f" 5

	# final answer to the caller per call, and the hops of each INVITE
	final "$f" "$C1" 200
	final "$f" "$C2" 200
	final "$f" "$C3" 480
	final "$f" "$C4" 200
	final "$f" "$C5" 487
	hops "$f" "$C1" 3
	hops "$f" "$C2" 3
	hops "$f" "$C3" 3
	hops "$f" "$C4" 3
	hops "$f" "$C5" 3
	expect_count "$f" "sip.Call-ID == \"$C4\" and sip.Method == \"INVITE\" and ip.dst == $PHONE_B" 0
	expect_count "$f" "sip.Method == \"INVITE\" and ip.dst == $VOICEMAIL and not sip.Call-ID == \"$C4\"" 0

	# 1: A's 486 before B's 200
	before "$f" "sip.Call-ID == \"$C1\" and ip.src == $PHONE_A and sip.Status-Code == 486" \
		"sip.Call-ID == \"$C1\" and ip.src == $PHONE_B and sip.Status-Code == 200"
	# 2: B's 200 before the proxy's CANCEL to A, then A's 487
	before "$f" "sip.Call-ID == \"$C2\" and ip.src == $PHONE_B and sip.Status-Code == 200" \
		"sip.Call-ID == \"$C2\" and ip.dst == $PHONE_A and sip.Method == \"CANCEL\""
	before "$f" "sip.Call-ID == \"$C2\" and ip.dst == $PHONE_A and sip.Method == \"CANCEL\"" \
		"sip.Call-ID == \"$C2\" and ip.src == $PHONE_A and sip.Status-Code == 487"
	# 4: the proxy's CANCEL to A, A's 487, then the voicemail's 200
	before "$f" "sip.Call-ID == \"$C4\" and ip.dst == $PHONE_A and sip.Method == \"CANCEL\"" \
		"sip.Call-ID == \"$C4\" and ip.src == $PHONE_A and sip.Status-Code == 487"
	before "$f" "sip.Call-ID == \"$C4\" and ip.src == $PHONE_A and sip.Status-Code == 487" \
		"sip.Call-ID == \"$C4\" and ip.src == $VOICEMAIL and sip.Status-Code == 200"
	# 5: the caller's CANCEL, then the 487 of both phones, then the 487 to the caller
	before "$f" "sip.Call-ID == \"$C5\" and ip.src == $CALLER and sip.Method == \"CANCEL\"" \
		"sip.Call-ID == \"$C5\" and ip.src == $PHONE_A and sip.Status-Code == 487"
	before "$f" "sip.Call-ID == \"$C5\" and ip.src == $PHONE_A and sip.Status-Code == 487" \
		"sip.Call-ID == \"$C5\" and ip.dst == $CALLER and sip.Status-Code == 487"
	before "$f" "sip.Call-ID == \"$C5\" and ip.src == $PHONE_B and sip.Status-Code == 487" \
		"sip.Call-ID == \"$C5\" and ip.dst == $CALLER and sip.Status-Code == 487"

	local size
	size=$(stat -c %s "$OUT/$f")
	[ "$size" -lt 204800 ] || die "$f: $size bytes, expected well under 200 KB"
}

make_forking
log "done: $OUT/kamailio-forking.pcap"

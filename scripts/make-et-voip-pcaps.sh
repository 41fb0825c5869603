#!/usr/bin/env bash
# Regenerate voip-sentinel's captures for the Emerging Threats Open VoIP rules
# (/work/shared/rules/emerging-voip.rules) into pcaps/et-voip/: INVITE, REGISTER
# and 401 Unauthorized floods over UDP and over TCP (ET 2009698 2003192
# 2009699 2003193 2009700 2003194, GPL 2100158 2100162), real SIPVicious svmap
# with the "Asterisk PBX" User-Agent of the modified SIPVicious (ET 2012296)
# and with the From name "ccxllrlflgig" (ET 2011422), and an OPTIONS with a
# Zoiper User-Agent (ET 2012297).
#
# Same approach as scripts/make-detect-pcaps.sh (helpers of
# scripts/capture-lib.sh): real tools on loopback only, every capture written
# by tcpdump on lo with a BPF filter limited to the scenario's two addresses,
# started before and stopped after the traffic; every process runs under
# `timeout` and is stopped on exit. $HOME_NET is one SIP server, kamailio 5.6
# on 127.0.0.45:5060 over UDP and TCP (scripts/et-voip/kamailio-et-voip.cfg:
# OPTIONS 200, INVITE 404, REGISTER 200 from the trusted peer 127.0.0.46 and a
# digest challenge, 401, for anyone else); the attackers are 127.0.0.44 (INVITE
# floods), .46 (REGISTER floods), .47 (unauthorized floods), .48 and .49
# (svmap), .50 (Zoiper). Floods are sipp clients (scripts/et-voip/uac-*.xml),
# 120 requests at 40 per second, over TCP one connection per request (-t tn).
# No packet is sent to any address outside 127.0.0.0/8 (svmap's From/To text
# "sip:100@1.1.1.1" is a header value, never a destination).
# Every capture is checked with tshark: the script fails when a count is below
# what the rule needs (at least 120 flood messages, the first 120 within 60 s),
# or a capture is over 300 KB.
#
# Usage (as root):  scripts/make-et-voip-pcaps.sh [NAME...]
#   NAME is one of: invite-flood-udp invite-flood-tcp register-flood-udp
#     register-flood-tcp unauthorized-flood-udp unauthorized-flood-tcp
#     sipvicious-modified-ua sipvicious-ccxllrlflgig zoiper-ua
#     (default: all, about 1 minute); the capture is pcaps/et-voip/NAME.pcap
# Environment: OUT=dir to write somewhere other than pcaps/et-voip/;
#              KEEP_WORK=1 to keep the temporary directory;
#              NO_README=1 not to rewrite $OUT/README.md (scripts/et-voip/write-readme.py).
# Dependencies: those of scripts/install-deps.sh (sip-tester kamailio tcpdump
#   tshark iproute2) plus python3 with SIPVicious: pip install sipvicious==0.3.8.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SC="$ROOT/scripts/et-voip"
OUT=${OUT:-$ROOT/pcaps/et-voip}
PY=${PY:-python3}

SERVER=127.0.0.45 # $HOME_NET, port 5060
N=120             # requests per flood: the rules count 100 in 60 s
RATE=40           # per second: 120 in 3 s
MAX_BYTES=300000

CAP_TAG=make-et-voip-pcaps
CAP_TOOLS=(sipp kamailio tcpdump tshark timeout ss awk "$PY")
KAM_CFG="$SC/kamailio-et-voip.cfg"
KAM_ADDRS=("$SERVER:5060")
# shellcheck source=scripts/capture-lib.sh
. "$ROOT/scripts/capture-lib.sh"

cd "$WORK"

# kam_up NAME: kamailio, listening on UDP and TCP.
kam_up() {
	kam_start "$1"
	wait_tcp "$SERVER:5060"
}

# stat_min FILE LABEL N: tshark's -z sip,stat counts at least N of LABEL (a
# method, or "SIP <code> <reason>").
stat_min() {
	local f=$1 label=$2 want=$3 n
	n=$(sip_stat "$OUT/$f" | sed -nE "s/^ +$label +: +([0-9]+) Packets.*/\1/p" | head -1)
	n=${n:-0}
	if [ "$n" -lt "$want" ]; then
		sip_stat "$OUT/$f" >&2
		die "$f: -z sip,stat has $label ×$n, expected at least $want"
	fi
	log "$f: $label ×$n"
}

# rule_min FILE DISPLAY-FILTER N [SECONDS]: at least N packets match the
# filter (written after the rule's header and content); with SECONDS, the
# first N of them lie within less than SECONDS.
rule_min() {
	local f=$1 flt=$2 want=$3 secs=${4:-} ts n span=
	ts=$(tshark -n -r "$OUT/$f" -Y "$flt" -T fields -e frame.time_epoch 2>/dev/null)
	n=$(grep -c . <<<"$ts" || true)
	[ "$n" -ge "$want" ] || die "$f: $n packets match '$flt', expected at least $want"
	if [ -n "$secs" ]; then
		span=$(awk -v k="$want" 'NR == 1 { a = $1 } NR == k { printf "%.3f", $1 - a; exit }' <<<"$ts")
		awk -v s="$span" -v m="$secs" 'BEGIN { exit !(s < m) }' ||
			die "$f: the first $want packets matching '$flt' span $span s, not under $secs s"
	fi
	log "$f: $n packets match '$flt'${span:+ (the first $want within $span s)}"
}

# small FILE: the capture stays under MAX_BYTES.
small() {
	local s
	s=$(stat -c %s "$OUT/$1")
	[ "$s" -lt "$MAX_BYTES" ] || die "$1: $s bytes, expected under $MAX_BYTES"
}

# what each ET/GPL rule's header and first content select (tshark filters)
to_server() { # ATTACKER PROTO: requests from the attacker to the server's 5060
	echo "ip.src == $1 && ip.dst == $SERVER && $2.dstport == 5060"
}
from_server() { # ATTACKER PROTO: responses from the server's 5060 to the attacker
	echo "ip.src == $SERVER && ip.dst == $1 && $2.srcport == 5060"
}

# flood NAME ATTACKER TRANSPORT SCENARIO USER: N requests from sipp at
# ATTACKER to kamailio 127.0.0.45:5060 over TRANSPORT (udp or tcp; tcp is
# sipp -t tn, one connection per call), AOR or callee USER.
flood() {
	local f=$1.pcap a=$2 t=$3 sf=$4 user=$5
	local -a topt
	log "$f"
	if [ "$t" = tcp ]; then
		topt=(-t tn -max_socket 1000)
	else
		topt=(-t u1 -p 5060)
	fi
	cap_start "$f" "host $a and host $SERVER"
	kam_up "$1"
	sipp_uac "$1" -sf "$SC/$sf" "$SERVER:5060" -i "$a" "${topt[@]}" -s "$user" -m "$N" -r "$RATE" \
		-rp 1000 -cid_str "$1-%u@$a"
	kam_stop
	cap_stop
	small "$f"
	expect_calls "$f" "$N"
	if [ "$t" = tcp ]; then
		expect_count "$f" "ip.src == $a && tcp.flags.syn == 1 && tcp.flags.ack == 0" "$N"
	fi
}

# 1. INVITE floods: 120 INVITEs (no SDP, one Call-ID each) to sip:1000 from
#    127.0.0.44 at 40/s over UDP (source port 5060) or TCP; kamailio refuses
#    each with 404, the client ACKs. ET 2009698 (UDP) / 2003192 (TCP), GPL
#    2100158 (both): content "INVITE" at depth 6, count 100 in 60 s by_src.
invite_flood() {
	local name=invite-flood-$1 p=$1
	flood "$name" 127.0.0.44 "$p" uac-invite-flood.xml 1000
	local f=$name.pcap
	stat_min "$f" INVITE "$N"
	stat_min "$f" 'SIP 404 Not Found' "$N"
	stat_min "$f" ACK "$N"
	rule_min "$f" "$(to_server 127.0.0.44 "$p") && $p.payload[0:6] == \"INVITE\"" "$N" 60
}
make_invite-flood-udp() { invite_flood udp; }
make_invite-flood-tcp() { invite_flood tcp; }

# 2. REGISTER floods: 120 REGISTERs without credentials (AORs flood1..120,
#    one Call-ID each) from 127.0.0.46, the registrar's trusted peer, at 40/s;
#    kamailio saves each, 200 OK (no 401). ET 2009699 (UDP) / 2003193 (TCP):
#    content "REGISTER" at depth 8, count 100 in 60 s by_src.
register_flood() {
	local name=register-flood-$1 p=$1
	flood "$name" 127.0.0.46 "$p" uac-register-flood.xml flood
	local f=$name.pcap
	stat_min "$f" REGISTER "$N"
	stat_min "$f" 'SIP 200 OK' "$N"
	expect_count "$f" 'sip.Status-Code == 401' 0
	rule_min "$f" "$(to_server 127.0.0.46 "$p") && $p.payload[0:8] == \"REGISTER\"" "$N" 60
}
make_register-flood-udp() { register_flood udp; }
make_register-flood-tcp() { register_flood tcp; }

# 3. Unauthorized floods: 120 REGISTERs without credentials (AORs guess1..120)
#    from 127.0.0.47 at 40/s; kamailio's digest registrar challenges each:
#    120 × "SIP/2.0 401 Unauthorized" from 127.0.0.45:5060, never answered.
#    ET 2009700 (UDP) / 2003194 (TCP): count 5 in 360 s by_src (the server);
#    GPL 2100162: count 100 in 60 s by_dst (the attacker). The 120 REGISTERs
#    are a REGISTER flood too (ET 2009699 / 2003193).
unauthorized_flood() {
	local name=unauthorized-flood-$1 p=$1
	flood "$name" 127.0.0.47 "$p" uac-register-unauthorized.xml guess
	local f=$name.pcap
	stat_min "$f" REGISTER "$N"
	stat_min "$f" 'SIP 401 Unauthorized' "$N"
	expect_count "$f" 'sip.Status-Code == 200' 0
	rule_min "$f" "$(from_server 127.0.0.47 "$p") && $p.payload[0:24] == \"SIP/2.0 401 Unauthorized\"" "$N" 60
}
make_unauthorized-flood-udp() { unauthorized_flood udp; }
make_unauthorized-flood-tcp() { unauthorized_flood tcp; }

# run_svmap NAME ATTACKER CMD...: run SIPVicious svmap (CMD...) against
# 127.0.0.45, bound to ATTACKER:5060; one OPTIONS, kamailio answers 200.
run_svmap() {
	local f=$1.pcap a=$2
	shift 2
	"$PY" -c 'import sipvicious.svmap' 2>/dev/null || die "no sipvicious for $PY: pip install sipvicious (see header)"
	log "$f"
	cap_start "$f" "udp and host $a and host $SERVER"
	kam_up "${f%.pcap}"
	timeout 60 "$@" -b "$a" -P 5060 "$SERVER" >"$WORK/${f%.pcap}.out" 2>&1 ||
		{ cat "$WORK/${f%.pcap}.out" >&2; die "svmap failed"; }
	kam_stop
	cap_stop
	small "$f"
	expect "$f" 'OPTIONS +: +1 Packets'
	expect "$f" 'SIP 200 OK +: +1 Packets'
	expect_calls "$f" 1
}

# 4. Modified SIPVicious: real svmap 0.3.8 from 127.0.0.48 with its
#    User-Agent changed to "Asterisk PBX" (svmap has no option for it:
#    scripts/et-voip/svmap-useragent.py runs svmap's own main() with that one
#    string changed, as the modified tool had it). ET 2012296: content
#    "|0d 0a|User-Agent|3a| Asterisk PBX", limit 1 per 60 s by_src.
make_sipvicious-modified-ua() {
	local f=sipvicious-modified-ua.pcap
	run_svmap sipvicious-modified-ua 127.0.0.48 "$PY" "$SC/svmap-useragent.py" --user-agent='Asterisk PBX'
	rule_min "$f" "$(to_server 127.0.0.48 udp) && udp contains \"\\r\\nUser-Agent: Asterisk PBX\\r\\n\"" 1
	expect_count "$f" 'sip.User-Agent == "friendly-scanner"' 0
	expect_count "$f" 'sip.Method == "OPTIONS" && sip.From contains "\"sipvicious\"<sip:100@1.1.1.1>"' 1
}

# 5. Real, unmodified svmap 0.3.8 from 127.0.0.49 with --fromname
#    ccxllrlflgig: From "ccxllrlflgig"<sip:100@1.1.1.1> (User-Agent
#    friendly-scanner). ET 2011422: "OPTIONS " at depth 8, then
#    "ccxllrlflgig|22|<sip|3a|100" (nocase).
make_sipvicious-ccxllrlflgig() {
	local f=sipvicious-ccxllrlflgig.pcap
	command -v sipvicious_svmap >/dev/null || die "no sipvicious_svmap: pip install sipvicious (see header)"
	run_svmap sipvicious-ccxllrlflgig 127.0.0.49 sipvicious_svmap --fromname=ccxllrlflgig
	rule_min "$f" "$(to_server 127.0.0.49 udp) && udp.payload[0:8] == \"OPTIONS \" && udp contains \"ccxllrlflgig\\\"<sip:100\"" 1
	expect_count "$f" 'sip.Method == "OPTIONS" && sip.User-Agent == "friendly-scanner"' 1
}

# 6. Zoiper: one OPTIONS with "User-Agent: Zoiper rev.6751" (the agent string
#    of the Zoiper 2 softphone) from sipp 127.0.0.50:5060
#    (scripts/detect/uac-options-ua.xml), 200 from kamailio. ET 2012297:
#    content "|0d 0a|User-Agent|3a| Zoiper", limit 1 per 60 s by_src.
make_zoiper-ua() {
	local f=zoiper-ua.pcap
	log "$f"
	cap_start "$f" "udp and host 127.0.0.50 and host $SERVER"
	kam_up zoiper
	sipp_uac zoiper -sf "$ROOT/scripts/detect/uac-options-ua.xml" -key ua 'Zoiper rev.6751' "$SERVER:5060" \
		-i 127.0.0.50 -p 5060 -m 1 -cid_str 'zoiper-ua-%u@127.0.0.50'
	kam_stop
	cap_stop
	small "$f"
	expect "$f" 'OPTIONS +: +1 Packets'
	expect "$f" 'SIP 200 OK +: +1 Packets'
	rule_min "$f" "$(to_server 127.0.0.50 udp) && udp contains \"\\r\\nUser-Agent: Zoiper\"" 1
	expect_calls "$f" 1
}

NAMES=(invite-flood-udp invite-flood-tcp register-flood-udp register-flood-tcp unauthorized-flood-udp
	unauthorized-flood-tcp sipvicious-modified-ua sipvicious-ccxllrlflgig zoiper-ua)
ALL=("${NAMES[@]}")
[ $# -gt 0 ] && ALL=("$@")
for n in "${ALL[@]}"; do
	case " ${NAMES[*]} " in
	*" $n "*) "make_$n" ;;
	*) die "unknown capture $n" ;;
	esac
done
# README facts (tshark); NO_README=1 skips that. It fails when a capture's
# rule matches (as the README computes them) differ from what it is made for.
if [ -z "${NO_README:-}" ]; then
	"$PY" "$SC/write-readme.py" --out "$OUT" || die "write-readme.py failed"
fi
log "done: $OUT"

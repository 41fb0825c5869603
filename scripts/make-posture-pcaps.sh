#!/usr/bin/env bash
# Regenerate voip-sentinel's authentication-posture captures into
# pcaps/posture/: a registrar and proxy that authenticate nothing, the same
# with digest authentication (qop=auth, and without qop), and one account
# used from two networks and devices at once next to a device that keeps
# registering with a stale password, and one account used from two networks
# with the same device next to an account used once.
#
# Same approach as scripts/make-pcaps.sh (make_register) and
# scripts/make-detect-pcaps.sh: real kamailio 5.6 (scripts/posture/kamailio-*.cfg,
# registrar + usrloc in memory, passwords in the config, no database) and
# sipp 3.6 phones (scripts/posture/*.xml) on loopback addresses 127.0.0.3-5,
# .12, .13, .16-18 and .23-27, 127.0.7.16-18 and 127.0.8.17 (one set per
# capture); every capture is written
# by tcpdump on lo with a BPF filter limited to the capture's addresses,
# started before and stopped after the traffic; every process runs under
# `timeout` and is stopped on exit. No packet is sent to any address outside
# 127.0.0.0/8.
#
# Usage (as root):  scripts/make-posture-pcaps.sh [NAME...]
#   NAME is one of: open-registrar auth-registrar auth-registrar-noqop
#     shared-and-stale-accounts shared-account-two-networks  (default: all, ~1 min)
# Environment: OUT=dir to write somewhere other than pcaps/posture/;
#              KEEP_WORK=1 to keep the temporary directory (logs);
#              NO_README=1 not to rewrite $OUT/README.md (scripts/posture/write-readme.py).
# Dependencies: those of scripts/install-deps.sh (sip-tester kamailio tcpdump
#   tshark iproute2) plus python3 for the README.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
SC="$ROOT/scripts/posture"
OUT=${OUT:-$ROOT/pcaps/posture}
PY=${PY:-python3}

CAP_TAG=make-posture-pcaps
CAP_TOOLS=(sipp kamailio tcpdump tshark capinfos timeout ss "$PY")
# shellcheck source=scripts/capture-lib.sh
. "$ROOT/scripts/capture-lib.sh"

cd "$WORK"

# kam_run NAME CFG [DEFINE]: kamailio with config CFG (and `-A DEFINE`); pid
# in $KAM_PID. The caller waits for its sockets (wait_udp / wait_tcp).
kam_run() {
	local name=$1 cfg=$2 def=${3:-}
	local -a defs=()
	[ -n "$def" ] && defs=(-A "$def")
	mkdir -p "$WORK/kam-$name"
	kamailio -f "$cfg" "${defs[@]}" -c >"$WORK/kam-$name.check" 2>&1 ||
		{ cat "$WORK/kam-$name.check" >&2; die "kamailio -c $cfg ${defs[*]} failed"; }
	spawn timeout 120 kamailio -f "$cfg" "${defs[@]}" -DD -E -n 1 -Y "$WORK/kam-$name" \
		-P "$WORK/kam-$name/kamailio.pid" -w "$WORK/kam-$name" >"$WORK/kam-$name.log" 2>&1
	KAM_PID=$BG_PID
}

# register LOGNAME REGISTRAR SRC USER UA [SIPP-ARGS...]: one registration of
# USER from SRC:5060 with scripts/posture/uac-register.xml (User-Agent UA),
# UDP unless SIPP-ARGS say otherwise; Call-ID reg-USER-N@SRC.
register() {
	local name=$1 reg=$2 src=$3 user=$4 ua=$5
	shift 5
	sipp_uac "$name" -sf "$SC/uac-register.xml" "$reg:5060" -i "$src" -p 5060 -mi "$src" -mp 16000 \
		-s "$user" -key ua "$ua" -cid_str "reg-$user-%u@$src" "$@"
}

# resent0 FILE: tshark finds no retransmission.
resent0() {
	sip_stat "$OUT/$1" | grep -q 'Number of resent SIP messages: 0$' ||
		{ sip_stat "$OUT/$1" >&2; die "$1: resent SIP messages"; }
}

# sip_list FILE: one line per SIP message (to stderr, for the log).
sip_list() {
	tshark -n -r "$OUT/$1" -Y sip -T fields -e frame.number -e ip.src -e ip.dst -e sip.Method \
		-e sip.Status-Code -e sip.Call-ID -e sip.User-Agent >&2 2>/dev/null
}

# 1. An open registrar and proxy (scripts/posture/kamailio-open.cfg: no auth
#    module) at 127.0.0.3 (UDP and TCP). Phone A 127.0.0.4 registers 1001 over
#    UDP and phone B 127.0.0.5 registers 1002 over TCP, each REGISTER answered
#    200 at once; then an outside caller 127.0.0.12 INVITEs sip:1001@127.0.0.3
#    (UDP), which kamailio relays without any challenge to the Contact of 1001,
#    a sipp UAS on the very address that registered (started once the
#    registering sipp has exited): 100, 180, 200, ACK, BYE, 200.
make_open-registrar() {
	local f=open-registrar.pcap
	log "$f"
	cap_start "$f" 'host 127.0.0.3 or host 127.0.0.4 or host 127.0.0.5 or host 127.0.0.12'
	kam_run open "$SC/kamailio-open.cfg"
	wait_udp 127.0.0.3:5060
	wait_tcp 127.0.0.3:5060
	register open-reg-1001 127.0.0.3 127.0.0.4 1001 'sipp voip-sentinel-test phone 1001' \
		-key ctp '' -m 1
	sleep 0.5
	register open-reg-1002 127.0.0.3 127.0.0.5 1002 'sipp voip-sentinel-test phone 1002' \
		-key ctp ';transport=tcp' -t t1 -m 1
	sleep 0.5
	sipp_uas open-uas-1001 -sf "$SC/uas-answer.xml" -i 127.0.0.4 -p 5060 -mi 127.0.0.4 -mp 17000 \
		-s 1001 -key ua 'sipp voip-sentinel-test phone 1001' -key ctp '' -m 1
	sipp_uac open-call -sf "$SC/uac-call-open.xml" 127.0.0.3:5060 -i 127.0.0.12 -p 5060 \
		-mi 127.0.0.12 -mp 16000 -s 1001 -key caller outside \
		-key ua 'sipp voip-sentinel-test outside caller' -m 1 -cid_str 'call-outside-1001-%u@127.0.0.12'
	wait_pid "$UAS_PID"
	sleep 0.5
	kam_stop
	cap_stop
	sip_list "$f"
	expect "$f" 'REGISTER +: +2 Packets'
	expect "$f" 'INVITE +: +2 Packets'
	expect "$f" 'ACK +: +2 Packets'
	expect "$f" 'BYE +: +2 Packets'
	expect "$f" 'SIP 100 Trying +: +1 Packets'
	expect "$f" 'SIP 180 Ringing +: +2 Packets'
	expect "$f" 'SIP 200 OK +: +6 Packets'
	expect "$f" 'Number of SIP messages: 17$'
	resent0 "$f"
	expect_count "$f" 'sip.Status-Code == 401 or sip.Status-Code == 407' 0
	expect_count "$f" 'sip.Authorization or sip.Proxy-Authorization' 0
	expect_count "$f" 'sip.Method == "REGISTER" and tcp' 1
	expect_count "$f" 'sip.Method == "INVITE" and ip.src == 127.0.0.3 and ip.dst == 127.0.0.4' 1
	expect_calls "$f" 3
}

# 2. A registrar and proxy with digest authentication (MD5, qop=auth) at
#    127.0.0.23 (scripts/posture/kamailio-auth.cfg -A AUTH_REGISTRAR, UDP and
#    TCP): 2001 registers from 127.0.0.24 over UDP, 2002 from 127.0.0.25 over
#    TCP (REGISTER, 401, REGISTER with Authorization, 200 each); then 2001
#    calls 2002: INVITE, 407, ACK, INVITE with Proxy-Authorization, 100,
#    relayed over TCP to 2002's Contact (a sipp UAS on 127.0.0.25:5060 TCP),
#    180, 200, ACK, BYE, 200.
make_auth-registrar() {
	local f=auth-registrar.pcap
	log "$f"
	cap_start "$f" 'host 127.0.0.23 or host 127.0.0.24 or host 127.0.0.25'
	kam_run auth "$SC/kamailio-auth.cfg" AUTH_REGISTRAR
	wait_udp 127.0.0.23:5060
	wait_tcp 127.0.0.23:5060
	register auth-reg-2001 127.0.0.23 127.0.0.24 2001 'sipp voip-sentinel-test phone 2001' \
		-key ctp '' -au 2001 -ap 2001-secret -m 1
	sleep 0.5
	register auth-reg-2002 127.0.0.23 127.0.0.25 2002 'sipp voip-sentinel-test phone 2002' \
		-key ctp ';transport=tcp' -t t1 -au 2002 -ap 2002-secret -m 1
	sleep 0.5
	sipp_uas auth-uas-2002 -sf "$SC/uas-answer.xml" -t t1 -i 127.0.0.25 -p 5060 -mi 127.0.0.25 -mp 17000 \
		-s 2002 -key ua 'sipp voip-sentinel-test phone 2002' -key ctp ';transport=tcp' -m 1
	sipp_uac auth-call -sf "$SC/uac-call-auth.xml" 127.0.0.23:5060 -i 127.0.0.24 -p 5060 \
		-mi 127.0.0.24 -mp 16000 -s 2002 -key caller 2001 -key ua 'sipp voip-sentinel-test phone 2001' \
		-au 2001 -ap 2001-secret -auth_uri 2002@127.0.0.23 -m 1 -cid_str 'call-2001-2002-%u@127.0.0.24'
	wait_pid "$UAS_PID"
	sleep 0.5
	kam_stop
	cap_stop
	sip_list "$f"
	expect "$f" 'REGISTER +: +4 Packets'
	expect "$f" 'INVITE +: +3 Packets'
	expect "$f" 'ACK +: +3 Packets'
	expect "$f" 'BYE +: +2 Packets'
	expect "$f" 'SIP 401 Unauthorized +: +2 Packets'
	expect "$f" 'SIP 407 Proxy Authentication Required +: +1 Packets'
	expect "$f" 'SIP 100 Trying +: +1 Packets'
	expect "$f" 'SIP 180 Ringing +: +2 Packets'
	expect "$f" 'SIP 200 OK +: +6 Packets'
	expect "$f" 'Number of SIP messages: 24$'
	resent0 "$f"
	expect_count "$f" 'sip.Status-Code == 401 and sip.WWW-Authenticate contains "qop=\"auth\"" and sip.WWW-Authenticate contains "algorithm=MD5"' 2
	expect_count "$f" 'sip.Status-Code == 407 and sip.Proxy-Authenticate contains "qop=\"auth\"" and sip.Proxy-Authenticate contains "algorithm=MD5"' 1
	expect_count "$f" 'sip.Method == "REGISTER" and sip.Authorization contains "qop=auth"' 2
	expect_count "$f" 'sip.Method == "INVITE" and sip.Proxy-Authorization contains "qop=auth"' 1
	expect_count "$f" 'sip.Method == "REGISTER" and tcp' 2
	expect_count "$f" 'sip.Method == "INVITE" and tcp and ip.src == 127.0.0.23 and ip.dst == 127.0.0.25' 1
	expect_calls "$f" 3
}

# 3. The same registrar challenging WITHOUT qop (kamailio-auth.cfg -A NOQOP:
#    www_challenge flags "0") at 127.0.0.26, UDP: 3001 registers once from
#    127.0.0.27 (REGISTER, 401 with no qop, REGISTER with an RFC 2069 style
#    Authorization (no qop, nc, cnonce), 200).
make_auth-registrar-noqop() {
	local f=auth-registrar-noqop.pcap
	log "$f"
	cap_start "$f" 'host 127.0.0.26 or host 127.0.0.27'
	kam_run noqop "$SC/kamailio-auth.cfg" NOQOP
	wait_udp 127.0.0.26:5060
	register noqop-reg-3001 127.0.0.26 127.0.0.27 3001 'sipp voip-sentinel-test phone 3001' \
		-key ctp '' -au 3001 -ap 3001-secret -m 1
	sleep 0.5
	kam_stop
	cap_stop
	sip_list "$f"
	expect "$f" 'REGISTER +: +2 Packets'
	expect "$f" 'SIP 401 Unauthorized +: +1 Packets'
	expect "$f" 'SIP 200 OK +: +1 Packets'
	expect "$f" 'Number of SIP messages: 4$'
	resent0 "$f"
	expect_count "$f" 'sip.Status-Code == 401 and sip.WWW-Authenticate contains "algorithm=MD5"' 1
	expect_count "$f" 'sip.WWW-Authenticate contains "qop"' 0
	expect_count "$f" 'sip.Method == "REGISTER" and sip.Authorization' 1
	expect_count "$f" 'sip.Authorization contains "qop" or sip.Authorization contains "cnonce"' 0
	expect_calls "$f" 1
}

# 4. Digest registrar (MD5, qop=auth) at 127.0.0.16 (kamailio-auth.cfg
#    -A SHARED, UDP). Account 4001 registers with its right password from
#    127.0.0.17 ("Yealink SIP-T46S 66.86.0.15") and 2 s later from 127.0.0.13
#    ("Grandstream GXP2170 1.0.11.23"): both succeed, two live bindings
#    (Expires 3600). Then account 4002 with a wrong password from 127.0.0.18
#    ("Polycom/5.9.5.0614 VVX-410"): 8 registrations 1.5 s apart (one sipp,
#    -r 2 -rp 3000), each REGISTER, 401, REGISTER with Authorization, 403.
make_shared-and-stale-accounts() {
	local f=shared-and-stale-accounts.pcap
	log "$f"
	cap_start "$f" 'host 127.0.0.16 or host 127.0.0.17 or host 127.0.0.13 or host 127.0.0.18'
	kam_run shared "$SC/kamailio-auth.cfg" SHARED
	wait_udp 127.0.0.16:5060
	register shared-4001-a 127.0.0.16 127.0.0.17 4001 'Yealink SIP-T46S 66.86.0.15' \
		-key ctp '' -au 4001 -ap 4001-secret -m 1
	sleep 2
	register shared-4001-b 127.0.0.16 127.0.0.13 4001 'Grandstream GXP2170 1.0.11.23' \
		-key ctp '' -au 4001 -ap 4001-secret -m 1
	sleep 1
	register stale-4002 127.0.0.16 127.0.0.18 4002 'Polycom/5.9.5.0614 VVX-410' \
		-key ctp '' -au 4002 -ap old-4002-password -m 8 -r 2 -rp 3000 -l 1
	sleep 0.5
	kam_stop
	cap_stop
	sip_list "$f"
	expect "$f" 'REGISTER +: +20 Packets'
	expect "$f" 'SIP 401 Unauthorized +: +10 Packets'
	expect "$f" 'SIP 200 OK +: +2 Packets'
	expect "$f" 'SIP 403 Forbidden +: +8 Packets'
	expect "$f" 'Number of SIP messages: 40$'
	resent0 "$f"
	expect_count "$f" 'sip.Status-Code == 401 and sip.WWW-Authenticate contains "qop=\"auth\""' 10
	expect_count "$f" 'sip.Method == "REGISTER" and ip.src == 127.0.0.17 and sip.User-Agent == "Yealink SIP-T46S 66.86.0.15"' 2
	expect_count "$f" 'sip.Method == "REGISTER" and ip.src == 127.0.0.13 and sip.User-Agent == "Grandstream GXP2170 1.0.11.23"' 2
	expect_count "$f" 'sip.Method == "REGISTER" and ip.src == 127.0.0.18 and sip.User-Agent == "Polycom/5.9.5.0614 VVX-410"' 16
	# the second 200 lists both bindings of 4001
	expect_count "$f" 'sip.Status-Code == 200 and ip.dst == 127.0.0.13 and sip.Contact contains "127.0.0.17" and sip.Contact contains "127.0.0.13"' 1
	expect_calls "$f" 10
}

# 5. One account from two networks with the SAME device: the digest registrar
#    of 4 (MD5, qop=auth), here at 127.0.7.16 and knowing 4003/4003-secret and
#    4004/4004-secret too. It runs from a copy of kamailio-auth.cfg in the
#    work directory (SHARED's listen address 127.0.0.16 -> 127.0.7.16, and
#    4003, 4004 added to route[PASSWORD]), so that the config, hence the other
#    captures, stay as they are. Account 4003 registers with its right
#    password from 127.0.7.17 and 2 s later from 127.0.8.17 (another /24),
#    both times with User-Agent "Yealink SIP-T46S 66.86.0.15": both succeed,
#    two live bindings (Expires 3600). Control: 4004 registers once, right
#    password, from 127.0.7.18 ("Grandstream GXP2170 1.0.11.23").
make_shared-account-two-networks() {
	local f=shared-account-two-networks.pcap cfg="$WORK/kamailio-auth-two-networks.cfg"
	log "$f"
	sed -e 's/^listen=udp:127\.0\.0\.16:5060$/listen=udp:127.0.7.16:5060/' \
		-e 's/ || \$au == "4002")/ || $au == "4002" || $au == "4003" || $au == "4004")/' \
		"$SC/kamailio-auth.cfg" >"$cfg"
	grep -qx 'listen=udp:127.0.7.16:5060' "$cfg" && grep -q '\$au == "4004")' "$cfg" ||
		die "$cfg: could not derive from kamailio-auth.cfg"
	cap_start "$f" 'host 127.0.7.16 or host 127.0.7.17 or host 127.0.8.17 or host 127.0.7.18'
	kam_run two-networks "$cfg" SHARED
	wait_udp 127.0.7.16:5060
	register two-networks-4003-a 127.0.7.16 127.0.7.17 4003 'Yealink SIP-T46S 66.86.0.15' \
		-key ctp '' -au 4003 -ap 4003-secret -m 1
	sleep 2
	register two-networks-4003-b 127.0.7.16 127.0.8.17 4003 'Yealink SIP-T46S 66.86.0.15' \
		-key ctp '' -au 4003 -ap 4003-secret -m 1
	sleep 1
	register two-networks-4004 127.0.7.16 127.0.7.18 4004 'Grandstream GXP2170 1.0.11.23' \
		-key ctp '' -au 4004 -ap 4004-secret -m 1
	sleep 0.5
	kam_stop
	cap_stop
	sip_list "$f"
	expect "$f" 'REGISTER +: +6 Packets'
	expect "$f" 'SIP 401 Unauthorized +: +3 Packets'
	expect "$f" 'SIP 200 OK +: +3 Packets'
	expect "$f" 'Number of SIP messages: 12$'
	resent0 "$f"
	expect_count "$f" 'sip.Status-Code == 401 and sip.WWW-Authenticate contains "qop=\"auth\"" and sip.WWW-Authenticate contains "algorithm=MD5"' 3
	expect_count "$f" 'sip.Method == "REGISTER" and sip.Authorization contains "qop=auth"' 3
	expect_count "$f" 'sip.Status-Code == 403' 0
	expect_count "$f" 'sip.Method == "REGISTER" and sip.Expires == 3600' 6
	expect_count "$f" 'sip.Method == "REGISTER" and ip.src == 127.0.7.17 and sip.From contains "4003@" and sip.User-Agent == "Yealink SIP-T46S 66.86.0.15"' 2
	expect_count "$f" 'sip.Method == "REGISTER" and ip.src == 127.0.8.17 and sip.From contains "4003@" and sip.User-Agent == "Yealink SIP-T46S 66.86.0.15"' 2
	expect_count "$f" 'sip.Method == "REGISTER" and ip.src == 127.0.7.18 and sip.From contains "4004@" and sip.User-Agent == "Grandstream GXP2170 1.0.11.23"' 2
	# the first 200 of 4003 lists one binding, the second lists both; 4004's only its own
	expect_count "$f" 'sip.Status-Code == 200 and ip.dst == 127.0.7.17 and sip.Contact contains "4003@127.0.7.17" and not sip.Contact contains "127.0.8.17"' 1
	expect_count "$f" 'sip.Status-Code == 200 and ip.dst == 127.0.8.17 and sip.Contact contains "4003@127.0.7.17" and sip.Contact contains "4003@127.0.8.17"' 1
	expect_count "$f" 'sip.Status-Code == 200 and ip.dst == 127.0.7.18 and sip.Contact contains "4004@127.0.7.18" and not sip.Contact contains "4003@"' 1
	expect_calls "$f" 3
}

NAMES="open-registrar auth-registrar auth-registrar-noqop shared-and-stale-accounts shared-account-two-networks"
read -ra ALL <<<"$NAMES"
[ $# -gt 0 ] && ALL=("$@")
for n in "${ALL[@]}"; do
	case " $NAMES " in
	*" $n "*) "make_$n" ;;
	*) die "unknown capture $n (one of: $NAMES)" ;;
	esac
done
# README facts (tshark); NO_README=1 skips that.
if [ -z "${NO_README:-}" ]; then
	"$PY" "$SC/write-readme.py" --out "$OUT" || die "write-readme.py failed"
fi
log "done: $OUT"

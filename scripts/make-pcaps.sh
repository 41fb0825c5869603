#!/usr/bin/env bash
# Regenerate voip-sentinel's own test captures into pcaps/.
#
# Runs real SIP stacks (sipp 3.6 and kamailio 5.6) on loopback addresses
# 127.0.0.x (one set per scenario) and, for the IP fragmentation case, in a
# pair of network namespaces joined by a veth link with MTU 1500. Every
# capture is written by tcpdump with a BPF filter limited to the scenario's
# addresses, started before and stopped after the traffic. No packet is
# sent to any address outside 127.0.0.0/8 or the namespaces made here.
#
# Usage (as root):  scripts/make-pcaps.sh [NAME...]
#   NAME is one of: g711 tcp frag register failures proxy auth (default: all)
# Environment: OUT=dir to write somewhere other than pcaps/.
# Dependencies: scripts/install-deps.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SC="$ROOT/scripts/pcaps"
OUT=${OUT:-$ROOT/pcaps}
SIPP_PCAPS=${SIPP_PCAPS:-/usr/share/sip-tester}
NS_A=vsentinel-uac
NS_B=vsentinel-uas
VETH_A=vsent-veth-a
VETH_B=vsent-veth-b
# TEST-NET-1 (RFC 5737) addresses, only ever configured inside the two
# namespaces below; they exist nowhere else.
NS_IP_A=192.0.2.1
NS_IP_B=192.0.2.2

log() { printf '[make-pcaps] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (tcpdump, ip netns)"
for t in sipp kamailio tcpdump tshark ip timeout ss; do
	command -v "$t" >/dev/null 2>&1 || die "missing $t: run scripts/install-deps.sh"
done
[ -f "$SIPP_PCAPS/g711a.pcap" ] || die "no $SIPP_PCAPS/g711a.pcap (package sip-tester)"

WORK=$(mktemp -d /tmp/voip-sentinel-pcaps.XXXXXX)
mkdir -p "$OUT"
# sipp's built-in uac_pcap scenario plays "pcap/g711a.pcap" and
# "pcap/dtmf_2833_1.pcap" relative to its working directory.
ln -s "$SIPP_PCAPS" "$WORK/pcap"

del_netns() {
	ip netns del "$NS_A" 2>/dev/null || true
	ip netns del "$NS_B" 2>/dev/null || true
	ip link del "$VETH_A" 2>/dev/null || true
}

cleanup() {
	local p running
	# only this shell's own background jobs that are still running
	running=$(jobs -pr)
	if [ -n "$running" ]; then
		for p in $running; do kill -TERM "$p" 2>/dev/null || true; done
		sleep 0.5
		for p in $(jobs -pr); do kill -KILL "$p" 2>/dev/null || true; done
		wait 2>/dev/null || true
	fi
	del_netns
	if [ -n "${KEEP_WORK:-}" ]; then
		log "work dir kept: $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# spawn CMD...: start a bounded background process; its pid is in $BG_PID.
spawn() {
	"$@" &
	BG_PID=$!
}

# cap_start FILE FILTER [NETNS IFACE]: start tcpdump, wait until it listens.
cap_start() {
	local file=$1 filter=$2 ns=${3:-} ifc=${4:-lo}
	CAP_ERR="$WORK/$(basename "$file").tcpdump.log"
	CAP_FILE=$file
	local -a pre=()
	[ -n "$ns" ] && pre=(ip netns exec "$ns")
	spawn "${pre[@]}" timeout 180 tcpdump -i "$ifc" -n -s 0 -U -Z root -w "$WORK/$file" "$filter" 2>"$CAP_ERR"
	CAP_PID=$BG_PID
	local i
	for i in $(seq 50); do
		grep -q 'listening on' "$CAP_ERR" 2>/dev/null && { sleep 0.3; return 0; }
		sleep 0.1
	done
	cat "$CAP_ERR" >&2
	die "tcpdump did not start for $file"
}

# cap_stop: stop the running tcpdump and move the capture to $OUT.
cap_stop() {
	sleep 1
	kill -TERM "$CAP_PID" 2>/dev/null || true
	wait "$CAP_PID" 2>/dev/null || true
	grep -E 'packets (captured|dropped)' "$CAP_ERR" >&2 || true
	mv -f "$WORK/$CAP_FILE" "$OUT/$CAP_FILE"
	chmod 644 "$OUT/$CAP_FILE"
}

# sipp_uas LOGNAME ARGS...: background sipp server (bounded by timeout).
sipp_uas() {
	local name=$1
	shift
	spawn timeout 90 sipp "$@" -nostdin -timeout 80 >"$WORK/$name.out" 2>&1
	UAS_PID=$BG_PID
	sleep 0.7
}

# sipp_uac LOGNAME ARGS...: foreground sipp client; fails the script on error.
sipp_uac() {
	local name=$1
	shift
	if ! timeout 90 sipp "$@" -nostdin -timeout 60 -timeout_error >"$WORK/$name.out" 2>&1; then
		tail -40 "$WORK/$name.out" >&2
		die "sipp client $name failed"
	fi
}

# wait_pid PID: wait for a background process (already bounded by timeout).
wait_pid() { wait "$1" 2>/dev/null || true; }

# wait_udp ADDR:PORT: wait until something listens there.
wait_udp() {
	local i
	for i in $(seq 50); do
		ss -H -lun "( sport = :${1##*:} )" | grep -q "${1%:*}:" && return 0
		sleep 0.1
	done
	die "nothing listening on udp $1"
}

# rtp_sink ADDR PORT...: background process that binds these UDP ports and
# discards what arrives, as a phone's RTP sockets would (sipp binds only its
# -mp port, not the per-call [auto_media_port]s, and the kernel would answer
# RTP to the others with ICMP port unreachable). Its pid is in $SINK_PID.
rtp_sink() {
	spawn timeout 120 python3 -c '
import select, socket, sys
addr = sys.argv[1]
socks = []
for p in sys.argv[2:]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, int(p)))
    socks.append(s)
while True:
    for s in select.select(socks, [], [])[0]:
        s.recv(65535)
' "$@"
	SINK_PID=$BG_PID
	wait_udp "$1:${!#}"
}

# sip_stat FILE: tshark's SIP statistics.
sip_stat() { tshark -n -r "$1" -q -z sip,stat 2>/dev/null; }

# expect FILE 'REGEX' [MESSAGE]: check the tshark sip,stat/rtp,streams text.
expect() {
	local f=$1 re=$2
	if ! { sip_stat "$OUT/$f"; tshark -n -r "$OUT/$f" -q -z rtp,streams 2>/dev/null; } | grep -Eq -- "$re"; then
		sip_stat "$OUT/$f" >&2
		die "$f: expected /$re/"
	fi
}

cd "$WORK"

# 1. sipp's built-in uac_pcap (G.711 A-law RTP from g711a.pcap and an
#    RFC 2833 DTMF '1') against a sipp UAS answering PCMA; 3 calls, 1 call/s,
#    up to 3 at once (each call lasts about 9.5 s).
make_g711() {
	local f=sipp-uac-pcap-g711.pcap
	log "$f"
	cap_start "$f" 'host 127.0.0.21 or host 127.0.0.22'
	sipp_uas g711-uas -sf "$SC/uas-pcma.xml" -i 127.0.0.22 -p 5060 -mi 127.0.0.22 -mp 17000 -m 3
	sipp_uac g711-uac -sn uac_pcap 127.0.0.22:5060 -i 127.0.0.21 -p 5060 -mi 127.0.0.21 -mp 16000 \
		-s 1000 -m 3 -r 1 -l 3 -cid_str 'g711-call-%u@127.0.0.21'
	wait_pid "$UAS_PID"
	cap_stop
	expect "$f" 'INVITE +: +3 Packets'
	expect "$f" 'BYE +: +3 Packets'
	expect "$f" 'g711A +2[0-9][0-9] '
	expect "$f" 'telephone-event'
}

# 2. sipp built-in uac/uas over TCP (one connection, -t t1), 3 calls of 1 s.
make_tcp() {
	local f=sipp-tcp-calls.pcap
	log "$f"
	cap_start "$f" 'host 127.0.0.31 or host 127.0.0.32'
	sipp_uas tcp-uas -sn uas -t t1 -i 127.0.0.32 -p 5060 -mi 127.0.0.32 -mp 17000 -m 3
	sipp_uac tcp-uac -sn uac -t t1 127.0.0.32:5060 -i 127.0.0.31 -p 5060 -mi 127.0.0.31 -mp 16000 \
		-s 2000 -m 3 -r 1 -l 1 -d 1000 -cid_str 'tcp-call-%u@127.0.0.31'
	wait_pid "$UAS_PID"
	cap_stop
	expect "$f" 'INVITE +: +3 Packets'
	expect "$f" 'BYE +: +3 Packets'
}

# 3. A call whose INVITE (about 3.9 kB with its SDP) is IP-fragmented: sipp
#    UAC in namespace $NS_A, sipp UAS in $NS_B, joined by a veth pair with
#    MTU 1500; the capture is taken on the UAC's veth end.
make_frag() {
	local f=sipp-fragmented-invite.pcap
	log "$f"
	del_netns
	ip netns add "$NS_A"
	ip netns add "$NS_B"
	ip link add "$VETH_A" address 02:00:00:00:00:01 type veth peer name "$VETH_B" address 02:00:00:00:00:02
	ip link set "$VETH_A" netns "$NS_A"
	ip link set "$VETH_B" netns "$NS_B"
	local ns ifc ip peer mac
	for ns in "$NS_A" "$NS_B"; do
		# no IPv6 (router solicitations etc.) on the link; absent without IPv6
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 2>/dev/null || true
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 2>/dev/null || true
		ip -n "$ns" link set lo up
	done
	for spec in "$NS_A $VETH_A $NS_IP_A $NS_IP_B 02:00:00:00:00:02" \
		"$NS_B $VETH_B $NS_IP_B $NS_IP_A 02:00:00:00:00:01"; do
		read -r ns ifc ip peer mac <<<"$spec"
		ip -n "$ns" link set "$ifc" mtu 1500
		ip -n "$ns" addr add "$ip/24" dev "$ifc"
		ip -n "$ns" link set "$ifc" up
		# static neighbour: no ARP in the capture
		ip -n "$ns" neigh replace "$peer" lladdr "$mac" dev "$ifc" nud permanent
	done
	cap_start "$f" "ip and (host $NS_IP_A or host $NS_IP_B)" "$NS_A" "$VETH_A"
	spawn ip netns exec "$NS_B" timeout 90 sipp -sn uas -i "$NS_IP_B" -p 5060 -mi "$NS_IP_B" -mp 17000 \
		-m 1 -nostdin -timeout 80 >"$WORK/frag-uas.out" 2>&1
	UAS_PID=$BG_PID
	sleep 0.7
	if ! ip netns exec "$NS_A" timeout 90 sipp -sf "$SC/uac-big-sdp.xml" "$NS_IP_B:5060" -i "$NS_IP_A" -p 5060 \
		-mi "$NS_IP_A" -mp 16000 -s 3000 -m 1 -cid_str 'frag-call-%u@192.0.2.1' \
		-nostdin -timeout 60 -timeout_error >"$WORK/frag-uac.out" 2>&1; then
		tail -40 "$WORK/frag-uac.out" >&2
		die "sipp client frag failed"
	fi
	wait_pid "$UAS_PID"
	cap_stop
	del_netns
	expect "$f" 'INVITE +: +1 Packets'
	expect "$f" 'BYE +: +1 Packets'
	local frags
	frags=$(tshark -n -r "$OUT/$f" -Y 'ip.flags.mf == 1 || ip.frag_offset > 0' 2>/dev/null | wc -l)
	[ "$frags" -ge 3 ] || die "$f: expected IP fragments, found $frags"
	log "$f: $frags IP fragment packets"
}

# 4. kamailio registrar with digest auth (scripts/pcaps/kamailio-registrar.cfg,
#    passwords in the config, pv_www_authenticate). sipp registers alice and
#    bob (401 challenge, then 200), then alice with a wrong password (401, 403).
make_register() {
	local f=kamailio-register-digest.pcap
	log "$f"
	cap_start "$f" 'host 127.0.0.51 or host 127.0.0.52'
	mkdir -p "$WORK/kam-reg"
	spawn timeout 90 kamailio -f "$SC/kamailio-registrar.cfg" -DD -E -n 1 -Y "$WORK/kam-reg" \
		-P "$WORK/kam-reg/kamailio.pid" -w "$WORK/kam-reg" >"$WORK/kam-reg.log" 2>&1
	local kam=$BG_PID
	wait_udp 127.0.0.52:5060
	local user pass tag
	for spec in "alice alice-secret ok" "bob bob-secret ok" "alice wrong-password bad"; do
		read -r user pass tag <<<"$spec"
		sipp_uac "reg-$user-$tag" -sf "$SC/uac-register.xml" 127.0.0.52:5060 -i 127.0.0.51 -p 5060 \
			-s "$user" -au "$user" -ap "$pass" -m 1 -cid_str "reg-$user-$tag-%u@127.0.0.51"
		sleep 0.5
	done
	kill -TERM "$kam" 2>/dev/null || true
	wait_pid "$kam"
	cap_stop
	expect "$f" 'REGISTER +: +6 Packets'
	expect "$f" 'SIP 401 Unauthorized +: +3 Packets'
	expect "$f" 'SIP 200 OK +: +2 Packets'
	expect "$f" 'SIP 403 Forbidden +: +1 Packets'
}

# 5. Failed calls, one after the other: 404 Not Found, 486 Busy Here, and a
#    call CANCELled by the caller while ringing (200 for CANCEL, 487, ACK).
make_failures() {
	local f=sipp-failures.pcap
	log "$f"
	cap_start "$f" 'host 127.0.0.61 or host 127.0.0.62'
	sipp_uas fail-404-uas -sf "$SC/uas-reject-404.xml" -i 127.0.0.62 -p 5060 -mi 127.0.0.62 -mp 17000 -m 1
	sipp_uac fail-404-uac -sf "$SC/uac-reject.xml" 127.0.0.62:5060 -i 127.0.0.61 -p 5060 -mi 127.0.0.61 \
		-mp 16000 -s 4040 -m 1 -cid_str 'fail-404-%u@127.0.0.61'
	wait_pid "$UAS_PID"
	sleep 0.5
	sipp_uas fail-486-uas -sf "$SC/uas-reject-486.xml" -i 127.0.0.62 -p 5060 -mi 127.0.0.62 -mp 17000 -m 1
	sipp_uac fail-486-uac -sf "$SC/uac-reject.xml" 127.0.0.62:5060 -i 127.0.0.61 -p 5060 -mi 127.0.0.61 \
		-mp 16000 -s 4860 -m 1 -cid_str 'fail-486-%u@127.0.0.61'
	wait_pid "$UAS_PID"
	sleep 0.5
	sipp_uas fail-cancel-uas -sf "$SC/uas-cancel.xml" -i 127.0.0.62 -p 5060 -mi 127.0.0.62 -mp 17000 -m 1
	sipp_uac fail-cancel-uac -sf "$SC/uac-cancel.xml" 127.0.0.62:5060 -i 127.0.0.61 -p 5060 -mi 127.0.0.61 \
		-mp 16000 -s 4870 -m 1 -cid_str 'fail-cancel-%u@127.0.0.61'
	wait_pid "$UAS_PID"
	cap_stop
	expect "$f" 'INVITE +: +3 Packets'
	expect "$f" 'ACK +: +3 Packets'
	expect "$f" 'CANCEL +: +1 Packets'
	expect "$f" 'SIP 404 Not Found +: +1 Packets'
	expect "$f" 'SIP 486 Busy Here +: +1 Packets'
	expect "$f" 'SIP 487 Request Terminated +: +1 Packets'
}

# 6. Two calls through kamailio as a transaction-stateful, record-routing
#    proxy (scripts/pcaps/kamailio-proxy.cfg): sipp UAC 127.0.0.71 ->
#    kamailio 127.0.0.72 -> sipp UAS 127.0.0.73, INVITE/ACK/BYE on both hops.
make_proxy() {
	local f=kamailio-proxy-call.pcap
	log "$f"
	cap_start "$f" 'host 127.0.0.71 or host 127.0.0.72 or host 127.0.0.73'
	mkdir -p "$WORK/kam-proxy"
	spawn timeout 90 kamailio -f "$SC/kamailio-proxy.cfg" -DD -E -n 1 -Y "$WORK/kam-proxy" \
		-P "$WORK/kam-proxy/kamailio.pid" -w "$WORK/kam-proxy" >"$WORK/kam-proxy.log" 2>&1
	local kam=$BG_PID
	wait_udp 127.0.0.72:5060
	sipp_uas proxy-uas -sf "$SC/uas-proxy.xml" -i 127.0.0.73 -p 5060 -mi 127.0.0.73 -mp 17000 -m 2
	sipp_uac proxy-uac -sf "$SC/uac-proxy.xml" 127.0.0.72:5060 -i 127.0.0.71 -p 5060 -mi 127.0.0.71 \
		-mp 16000 -s 5000 -m 2 -r 1 -l 1 -cid_str 'proxy-call-%u@127.0.0.71'
	wait_pid "$UAS_PID"
	sleep 0.5
	kill -TERM "$kam" 2>/dev/null || true
	wait_pid "$kam"
	cap_stop
	expect "$f" 'INVITE +: +4 Packets'
	expect "$f" 'ACK +: +4 Packets'
	expect "$f" 'BYE +: +4 Packets'
}

# 7. Office calls through a PBX/proxy that authenticates them, as Kamailio,
#    Asterisk and FreeSWITCH do by default (scripts/pcaps/kamailio-auth-proxy.cfg:
#    stateful, record-routing, proxy_challenge + pv_proxy_authenticate against
#    passwords in the config): sipp phone 127.0.0.41 -> kamailio 127.0.0.42 ->
#    sipp callee 127.0.0.43. Five calls from alice to 2001 (1 call/s, at most
#    2 at once): INVITE, 407 Proxy-Authenticate (realm office.example, MD5,
#    qop=auth), ACK, INVITE with Proxy-Authorization (CSeq 2), 100/180/200 on
#    both hops, ACK, about 7 s of G.711 A-law RTP each way (g711a.pcap played
#    by both sipps), BYE, 200. Then one call from bob with a wrong password:
#    INVITE, 407, ACK, INVITE with Proxy-Authorization, 403 Forbidden, ACK.
make_auth() {
	local f=kamailio-auth-calls.pcap
	log "$f"
	cap_start "$f" 'host 127.0.0.41 or host 127.0.0.42 or host 127.0.0.43'
	mkdir -p "$WORK/kam-auth"
	spawn timeout 90 kamailio -f "$SC/kamailio-auth-proxy.cfg" -DD -E -n 1 -Y "$WORK/kam-auth" \
		-P "$WORK/kam-auth/kamailio.pid" -w "$WORK/kam-auth" >"$WORK/kam-auth.log" 2>&1
	local kam=$BG_PID
	wait_udp 127.0.0.42:5060
	# per-call media ports ([auto_media_port]: -mp + 4 x (call - 1)); sipp
	# itself binds the first one
	rtp_sink 127.0.0.41 16004 16008 16012 16016
	local sink_a=$SINK_PID
	rtp_sink 127.0.0.43 17004 17008 17012 17016
	local sink_b=$SINK_PID
	sipp_uas auth-uas -sf "$SC/uas-auth-call.xml" -i 127.0.0.43 -p 5060 -mi 127.0.0.43 -mp 17000 -m 5
	sipp_uac auth-uac -sf "$SC/uac-auth-call.xml" 127.0.0.42:5060 -i 127.0.0.41 -p 5060 -mi 127.0.0.41 \
		-mp 16000 -s 2001 -key caller alice -au alice -ap alice-secret -auth_uri 2001@office.example \
		-m 5 -r 1 -l 2 -cid_str 'auth-call-%u@127.0.0.41'
	wait_pid "$UAS_PID"
	sleep 0.5
	sipp_uac auth-uac-bad -sf "$SC/uac-auth-call.xml" 127.0.0.42:5060 -i 127.0.0.41 -p 5060 -mi 127.0.0.41 \
		-mp 16000 -s 2002 -key caller bob -au bob -ap wrong-password -auth_uri 2002@office.example \
		-m 1 -cid_str 'auth-bad-%u@127.0.0.41'
	sleep 0.5
	kill -TERM "$kam" "$sink_a" "$sink_b" 2>/dev/null || true
	wait_pid "$kam"
	wait_pid "$sink_a"
	wait_pid "$sink_b"
	cap_stop
	expect "$f" 'INVITE +: +17 Packets'
	expect "$f" 'ACK +: +17 Packets'
	expect "$f" 'BYE +: +10 Packets'
	expect "$f" 'SIP 407 Proxy Authentication Required +: +6 Packets'
	expect "$f" 'SIP 403 Forbidden +: +1 Packets'
	expect "$f" 'SIP 200 OK +: +20 Packets'
	expect "$f" 'SIP 180 Ringing +: +10 Packets'
	expect "$f" 'SIP 100 Trying +: +5 Packets'
	local n auth streams
	auth=$(tshark -n -r "$OUT/$f" -Y 'sip.Method == "INVITE" && sip.Proxy-Authorization' 2>/dev/null | wc -l)
	[ "$auth" -eq 6 ] || die "$f: expected 6 INVITEs with Proxy-Authorization, found $auth"
	streams=$(tshark -n -r "$OUT/$f" -q -z rtp,streams 2>/dev/null | grep -Ec ' g711A +2[0-9][0-9] ' || true)
	[ "$streams" -eq 10 ] || die "$f: expected 10 G.711 A-law RTP streams, found $streams"
	n=$(tshark -n -r "$OUT/$f" -Y icmp 2>/dev/null | wc -l)
	[ "$n" -eq 0 ] || die "$f: $n ICMP packets (RTP sent to a closed port?)"
	log "$f: 6 authenticated INVITEs, $streams RTP streams"
}

ALL=(g711 tcp frag register failures proxy auth)
[ $# -gt 0 ] && ALL=("$@")
for n in "${ALL[@]}"; do
	case $n in
	g711 | tcp | frag | register | failures | proxy | auth) "make_$n" ;;
	*) die "unknown capture $n (one of: g711 tcp frag register failures proxy auth)" ;;
	esac
done
log "done: $OUT"

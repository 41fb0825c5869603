#!/usr/bin/env bash
# Regenerate pcaps/hep/: SIP mirrored over HEP (Homer Encapsulation Protocol)
# by a real Kamailio 5.6 with its siptrace module, and the same SIP as it went
# over the wire, so that what the sensor makes of the HEP copies can be
# compared with what it makes of the wire.
#
# Kamailio (scripts/pcaps/kamailio-hep.cfg) is a transaction-stateful proxy
# with Record-Route at 127.0.0.33:5060 that relays calls to a sipp UAS at
# 127.0.0.35:5060 and mirrors every SIP message it receives and sends, in HEP
# (capture id 2001), to a collector at 127.0.0.36:9060: a small python3 UDP
# listener that counts and drops what it gets (so that nothing is answered
# with ICMP port unreachable). A sipp UAC at 127.0.0.34:5060 places, one
# after the other:
#   hep-call-1..3@127.0.0.34: INVITE, 100 (kamailio), 180, 200, ACK, 1 s,
#     BYE, 200 (scripts/pcaps/uac-proxy.xml, uas-proxy.xml; no RTP);
#   hep-busy-1@127.0.0.34: INVITE, 100, 486 Busy Here from the UAS, ACK
#     (uac-reject.xml, uas-reject-486.xml).
# This runs twice:
#   kamailio-hep3.pcap  HEPv3 (hep_version 3): only the HEP datagrams
#                       (udp and dst host 127.0.0.36 and dst port 9060);
#   kamailio-wire.pcap  the plain SIP of that same run on 127.0.0.33-35 port
#                       5060, by a second tcpdump at the same time;
#   kamailio-hep2.pcap  the same calls with hep_version 2 (kamailio -A WITH_HEP2).
#
# Same approach as scripts/make-forking-pcap.sh (helpers of
# scripts/capture-lib.sh): real tools on loopback addresses 127.0.0.33-36
# only; tcpdump on lo with BPF filters on those addresses, started before and
# stopped 1 s after the traffic; every process runs under `timeout` and is
# stopped by its pid. At the end the captures are checked with tshark and the
# script fails if any count is off: the SIP message counts of the wire and of
# both HEP captures, that every message kamailio received or sent is in the
# HEP captures exactly once, with the addresses and ports of the wire, that
# the collector got every HEP datagram, the HEP version, capture id and
# (HEPv3) chunk types, no ICMP, sizes under 200 KB. About 35 s.
#
# TShark 4.0 has no HEP dissector: the checks use a small Lua one, printed by
#   scripts/make-hep-pcaps.sh --lua > hep.lua
# and used as
#   tshark -X lua_script:hep.lua -r pcaps/hep/kamailio-hep3.pcap -d udp.port==9060,hep ...
# (HEPv2 and HEPv3; it hands the payload to the SIP dissector with the
# encapsulated addresses and ports as the packet's own).
#
# Usage (as root):  scripts/make-hep-pcaps.sh
#                   scripts/make-hep-pcaps.sh --lua   (print the dissector only)
# Environment: OUT=dir to write somewhere other than pcaps/hep/;
#              KEEP_WORK=1 to keep the temporary directory (sipp, kamailio
#              and collector logs).
# Dependencies: those of scripts/install-deps.sh (sip-tester kamailio tcpdump
#   tshark iproute2) and python3.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SC="$ROOT/scripts/pcaps"
OUT=${OUT:-$ROOT/pcaps/hep}
PY=${PY:-python3}

# The HEP dissector for TShark (Lua): HEPv1/v2 (Kamailio's layout: version,
# header length, family, protocol, ports, IPv4 or IPv6 addresses; for v2
# then timestamp seconds and microseconds, little-endian, and a 16-bit
# capture id, little-endian, padded to 4 bytes) and HEPv3 ("HEP3", total
# length, then chunks of vendor id, type id, length with the 6-byte chunk
# header, value).
hep_lua() {
	cat <<'EOF'
-- HEP (Homer Encapsulation Protocol) v1, v2 and v3 over UDP, for TShark:
--   tshark -X lua_script:hep.lua -d udp.port==9060,hep -r FILE
-- Written for voip-sentinel's scripts/make-hep-pcaps.sh. The encapsulated
-- SIP goes to the SIP dissector with the encapsulated addresses and ports
-- as the packet's own (so that sip,stat tells the hops apart).
local hep = Proto("hep", "Homer Encapsulation Protocol")

local chunk_names = {
	[1] = "IP protocol family", [2] = "IP protocol ID",
	[3] = "IPv4 source address", [4] = "IPv4 destination address",
	[5] = "IPv6 source address", [6] = "IPv6 destination address",
	[7] = "protocol source port", [8] = "protocol destination port",
	[9] = "timestamp in seconds", [10] = "timestamp microseconds offset",
	[11] = "protocol type", [12] = "capture agent ID", [13] = "keep alive timer",
	[14] = "authenticate key", [15] = "captured packet payload",
	[16] = "captured packet payload (compressed)", [17] = "internal correlation ID",
	[18] = "VLAN ID", [19] = "group ID", [20] = "source MAC", [21] = "destination MAC",
	[22] = "Ethernet type", [23] = "TCP flag", [24] = "IP TOS",
	[31] = "MOS value", [32] = "R-Factor", [33] = "GEO location", [34] = "Jitter",
	[35] = "transaction type", [36] = "payload JSON keys", [37] = "tags values",
	[38] = "type of tag",
}
local families = { [2] = "IPv4", [10] = "IPv6" }
local ip_protos = { [6] = "TCP", [17] = "UDP", [132] = "SCTP" }
local proto_types = {
	[0] = "reserved", [1] = "SIP", [2] = "XMPP", [3] = "SDP", [4] = "RTP",
	[5] = "RTCP JSON", [6] = "MGCP", [7] = "MEGACO (H.248)", [8] = "M2UA (SS7/SIGTRAN)",
	[9] = "M3UA (SS7/SIGTRAN)", [10] = "IAX", [11] = "H3222", [12] = "H321",
	[13] = "M2PA", [34] = "MOS full report", [35] = "MOS short report",
	[50] = "SIP JSON", [100] = "log", [53] = "DNS JSON",
}

local f = hep.fields
f.version = ProtoField.uint8("hep.version", "Version")
f.length = ProtoField.uint16("hep.length", "Total length")
f.hdr_len = ProtoField.uint8("hep.header_length", "Header length")
f.family = ProtoField.uint8("hep.ip_family", "IP family", base.DEC, families)
f.ip_proto = ProtoField.uint8("hep.ip_proto", "IP protocol", base.DEC, ip_protos)
f.src_ip = ProtoField.ipv4("hep.src_ip", "Source IPv4")
f.dst_ip = ProtoField.ipv4("hep.dst_ip", "Destination IPv4")
f.src_ip6 = ProtoField.ipv6("hep.src_ip6", "Source IPv6")
f.dst_ip6 = ProtoField.ipv6("hep.dst_ip6", "Destination IPv6")
f.src_port = ProtoField.uint16("hep.src_port", "Source port")
f.dst_port = ProtoField.uint16("hep.dst_port", "Destination port")
f.ts_sec = ProtoField.uint32("hep.ts_sec", "Timestamp seconds")
f.ts_usec = ProtoField.uint32("hep.ts_usec", "Timestamp microseconds")
f.proto_type = ProtoField.uint8("hep.proto_type", "Protocol type", base.DEC, proto_types)
f.capture_id = ProtoField.uint32("hep.capture_id", "Capture agent ID")
f.padding = ProtoField.bytes("hep.padding", "Padding")
f.chunk_vendor = ProtoField.uint16("hep.chunk.vendor", "Chunk vendor ID")
f.chunk_type = ProtoField.uint16("hep.chunk.type", "Chunk type ID", base.DEC, chunk_names)
f.chunk_len = ProtoField.uint16("hep.chunk.length", "Chunk length")
f.chunk_value = ProtoField.bytes("hep.chunk.value", "Chunk value")
f.auth_key = ProtoField.string("hep.auth_key", "Authenticate key")
f.correlation_id = ProtoField.string("hep.correlation_id", "Correlation ID")
f.payload_len = ProtoField.uint32("hep.payload_length", "Payload length")
f.payload = ProtoField.bytes("hep.payload", "Payload")

local sip = Dissector.get("sip")

-- hand the payload to SIP as if it had gone from src to dst
local function payload(buf, pinfo, root, tree, t, src, dst, sport, dport)
	tree:add(f.payload_len, buf:len()):set_generated()
	tree:add(f.payload, buf)
	if src then pinfo.src = src; pinfo.net_src = src end
	if dst then pinfo.dst = dst; pinfo.net_dst = dst end
	if sport then pinfo.src_port = sport end
	if dport then pinfo.dst_port = dport end
	if t == nil or t == 1 then sip:call(buf:tvb(), pinfo, root) end
end

local function dissect_v3(buf, pinfo, tree)
	local t = tree:add(hep, buf(), "HEP version 3")
	t:add(f.version, 3):set_generated()
	t:add(f.length, buf(4, 2))
	local total = math.min(buf(4, 2):uint(), buf:len())
	local off = 6
	local src, dst, sport, dport, ptype, data
	while off + 6 <= total do
		local vendor, ctype, clen = buf(off, 2):uint(), buf(off + 2, 2):uint(), buf(off + 4, 2):uint()
		if clen < 6 or off + clen > total then break end
		local c = t:add(buf(off, clen), string.format("Chunk vendor %d type %d (%s), %d bytes",
			vendor, ctype, chunk_names[ctype] or "unknown", clen))
		c:add(f.chunk_vendor, buf(off, 2))
		c:add(f.chunk_type, buf(off + 2, 2))
		c:add(f.chunk_len, buf(off + 4, 2))
		local v = buf(off + 6, clen - 6)
		if vendor ~= 0 or clen == 6 then
			if clen > 6 then c:add(f.chunk_value, v) end
		elseif ctype == 1 then c:add(f.family, v)
		elseif ctype == 2 then c:add(f.ip_proto, v)
		elseif ctype == 3 then c:add(f.src_ip, v); src = v:ipv4()
		elseif ctype == 4 then c:add(f.dst_ip, v); dst = v:ipv4()
		elseif ctype == 5 then c:add(f.src_ip6, v); src = v:ipv6()
		elseif ctype == 6 then c:add(f.dst_ip6, v); dst = v:ipv6()
		elseif ctype == 7 then c:add(f.src_port, v); sport = v:uint()
		elseif ctype == 8 then c:add(f.dst_port, v); dport = v:uint()
		elseif ctype == 9 then c:add(f.ts_sec, v)
		elseif ctype == 10 then c:add(f.ts_usec, v)
		elseif ctype == 11 then c:add(f.proto_type, v); ptype = v:uint()
		elseif ctype == 12 then c:add(f.capture_id, v)
		elseif ctype == 14 then c:add(f.auth_key, v)
		elseif ctype == 17 then c:add(f.correlation_id, v)
		elseif ctype == 15 then data = v
		else c:add(f.chunk_value, v) end
		off = off + clen
	end
	if data then payload(data, pinfo, tree, t, ptype, src, dst, sport, dport) end
end

local function dissect_v12(buf, pinfo, tree)
	local ver, hlen, fam = buf(0, 1):uint(), buf(1, 1):uint(), buf(2, 1):uint()
	local t = tree:add(hep, buf(), "HEP version " .. ver)
	t:add(f.version, buf(0, 1))
	t:add(f.hdr_len, buf(1, 1))
	t:add(f.family, buf(2, 1))
	t:add(f.ip_proto, buf(3, 1))
	t:add(f.src_port, buf(4, 2))
	t:add(f.dst_port, buf(6, 2))
	local src, dst, off
	if fam == 10 then
		t:add(f.src_ip6, buf(8, 16)); src = buf(8, 16):ipv6()
		t:add(f.dst_ip6, buf(24, 16)); dst = buf(24, 16):ipv6()
	else
		t:add(f.src_ip, buf(8, 4)); src = buf(8, 4):ipv4()
		t:add(f.dst_ip, buf(12, 4)); dst = buf(12, 4):ipv4()
	end
	off = hlen
	if ver == 2 then
		t:add_le(f.ts_sec, buf(off, 4))
		t:add_le(f.ts_usec, buf(off + 4, 4))
		t:add_le(f.capture_id, buf(off + 8, 2))
		t:add(f.padding, buf(off + 10, 2))
		off = off + 12
	end
	payload(buf(off), pinfo, tree, t, 1, src, dst, buf(4, 2):uint(), buf(6, 2):uint())
end

function hep.dissector(buf, pinfo, tree)
	if buf:len() >= 6 and buf(0, 4):string() == "HEP3" then
		pinfo.cols.protocol = "HEP3"
		dissect_v3(buf, pinfo, tree)
		return buf:len()
	end
	if buf:len() >= 16 and (buf(0, 1):uint() == 1 or buf(0, 1):uint() == 2)
		and (buf(1, 1):uint() == 16 or buf(1, 1):uint() == 40) then
		pinfo.cols.protocol = "HEP" .. buf(0, 1):uint()
		dissect_v12(buf, pinfo, tree)
		return buf:len()
	end
	return 0
end

DissectorTable.get("udp.port"):add_for_decode_as(hep)
EOF
}

if [ "${1:-}" = "--lua" ]; then
	hep_lua
	exit 0
fi

CAP_TAG=make-hep-pcaps
CAP_TOOLS=(sipp kamailio tcpdump tshark timeout ss "$PY")
KAM_CFG="$SC/kamailio-hep.cfg" # HEP-mirroring proxy 127.0.0.33
KAM_ADDRS=(127.0.0.33:5060)
# shellcheck source=scripts/capture-lib.sh
. "$ROOT/scripts/capture-lib.sh"

PROXY=127.0.0.33
CALLER=127.0.0.34
CALLEE=127.0.0.35
COLLECTOR=127.0.0.36
HEP_PORT=9060
cd "$WORK"
hep_lua >"$WORK/hep.lua"

# kam_hep NAME [KAMAILIO ARGS...]: kam_start with extra arguments (-A WITH_HEP2).
kam_hep() {
	local name=$1
	shift
	mkdir -p "$WORK/kam-$name"
	spawn timeout 120 kamailio -f "$KAM_CFG" "$@" -DD -E -n 1 -Y "$WORK/kam-$name" \
		-P "$WORK/kam-$name/kamailio.pid" -w "$WORK/kam-$name" >"$WORK/kam-$name.log" 2>&1
	KAM_PID=$BG_PID
	wait_udp "$PROXY:5060"
}

# collector NAME: the HEP sink at 127.0.0.36:9060; one line per datagram
# (its length) in $WORK/NAME.out; pid in $SINK_PID.
collector() {
	spawn timeout 120 "$PY" -u -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
while True:
    print(len(s.recv(65535)))
' "$COLLECTOR" "$HEP_PORT" >"$WORK/$1.out" 2>&1
	SINK_PID=$BG_PID
	wait_udp "$COLLECTOR:$HEP_PORT"
}

# calls NAME: the 3 answered calls and the busy one, each UAS run ending
# its scenario cleanly.
calls() {
	local n=$1
	sipp_uas "$n-uas-calls" -sf "$SC/uas-proxy.xml" -i "$CALLEE" -p 5060 -mi "$CALLEE" -mp 17000 -m 3
	wait_udp "$CALLEE:5060"
	sipp_uac "$n-uac-calls" -sf "$SC/uac-proxy.xml" "$PROXY:5060" -i "$CALLER" -p 5060 -mi "$CALLER" -mp 16000 \
		-s hep -m 3 -l 1 -cid_str "hep-call-%u@$CALLER"
	wait "$UAS_PID" || { tail -40 "$WORK/$n-uas-calls.out" >&2; die "UAS of $n calls failed"; }
	sipp_uas "$n-uas-busy" -sf "$SC/uas-reject-486.xml" -i "$CALLEE" -p 5060 -mi "$CALLEE" -mp 17000 -m 1
	wait_udp "$CALLEE:5060"
	sipp_uac "$n-uac-busy" -sf "$SC/uac-reject.xml" "$PROXY:5060" -i "$CALLER" -p 5060 -mi "$CALLER" -mp 16000 \
		-s busy -m 1 -cid_str "hep-busy-%u@$CALLER"
	wait "$UAS_PID" || { tail -40 "$WORK/$n-uas-busy.out" >&2; die "UAS of $n busy call failed"; }
}

# run VERSION: one run; HEP datagrams to kamailio-hepVERSION.pcap, and for
# version 3 the wire to kamailio-wire.pcap as well.
run() {
	local v=$1 wire_pid='' wire_err='' wire_file='' args=()
	[ "$v" = 2 ] && args=(-A WITH_HEP2)
	log "run HEPv$v"
	if [ "$v" = 3 ]; then
		cap_start kamailio-wire.pcap \
			"udp and port 5060 and not port $HEP_PORT and (host $PROXY or host $CALLER or host $CALLEE)"
		wire_pid=$CAP_PID wire_err=$CAP_ERR wire_file=$CAP_FILE
	fi
	cap_start "kamailio-hep$v.pcap" "udp and dst host $COLLECTOR and dst port $HEP_PORT"
	collector "sink-hep$v"
	kam_hep "hep$v" "${args[@]}"
	calls "hep$v"
	kam_stop
	cap_stop
	if [ -n "$wire_pid" ]; then
		CAP_PID=$wire_pid CAP_ERR=$wire_err CAP_FILE=$wire_file
		cap_stop
	fi
	kill -TERM "$SINK_PID" 2>/dev/null || true
	wait_pid "$SINK_PID"
}

# tsh FILE ARGS...: tshark on $OUT/FILE with the HEP dissector on port 9060.
tsh() {
	local f=$1
	shift
	tshark -n -X "lua_script:$WORK/hep.lua" -d "udp.port==$HEP_PORT,hep" -r "$OUT/$f" "$@" 2>/dev/null
}
# hep_stat FILE: sip,stat of the encapsulated SIP.
hep_stat() { tsh "$1" -q -z sip,stat; }
hep_expect() {
	local f=$1 re=$2
	if ! hep_stat "$f" | grep -Eq -- "$re"; then
		hep_stat "$f" >&2
		die "$f: expected /$re/"
	fi
}
hep_count() {
	local f=$1 flt=$2 want=$3 n
	n=$(tsh "$f" -Y "$flt" | wc -l)
	[ "$n" -eq "$want" ] || die "$f: $n packets match '$flt', expected $want"
}

# Messages of the 4 calls, once per hop (both the wire and each HEP capture):
# per answered call INVITE x2, 100, 180 x2, 200 x2, ACK x2, BYE x2, 200 x2;
# for the busy call INVITE x2, 100 x2, 486 x2, ACK x2.
N_SIP=47
sip_counts() {
	local f=$1 ex=$2
	$ex "$f" "Number of SIP messages: $N_SIP\$"
	$ex "$f" 'Number of resent SIP messages: 0$'
	$ex "$f" 'INVITE +: +8 Packets'
	$ex "$f" 'ACK +: +8 Packets'
	$ex "$f" 'BYE +: +6 Packets'
	$ex "$f" 'SIP 100 Trying +: +5 Packets'
	$ex "$f" 'SIP 180 Ringing +: +6 Packets'
	$ex "$f" 'SIP 200 OK +: +12 Packets'
	$ex "$f" 'SIP 486 Busy Here +: +2 Packets'
}

# wire_hops, hep_hops FILE: one line per SIP message, sorted: src sport dst dport Call-ID
# CSeq status (what a message is and where it went; no tags, no branches).
wire_hops() {
	tshark -n -r "$OUT/$1" -Y sip -T fields -E separator=' ' -e ip.src -e udp.srcport -e ip.dst -e udp.dstport \
		-e sip.Call-ID -e sip.CSeq -e sip.Status-Code 2>/dev/null | sort
}
hep_hops() {
	tsh "$1" -Y sip -T fields -E separator=' ' -e hep.src_ip -e hep.src_port -e hep.dst_ip -e hep.dst_port \
		-e sip.Call-ID -e sip.CSeq -e sip.Status-Code | sort
}

check() {
	local f v size n
	f=kamailio-wire.pcap
	sip_counts "$f" expect
	expect_count "$f" 'sip' "$N_SIP"
	expect_count "$f" 'frame' "$N_SIP"
	expect_count "$f" 'icmp' 0
	expect_calls "$f" 4
	wire_hops "$f" >"$WORK/wire.hops"

	for v in 3 2; do
		f=kamailio-hep$v.pcap
		sip_counts "$f" hep_expect
		hep_count "$f" 'frame' "$N_SIP"
		hep_count "$f" 'sip' "$N_SIP"
		hep_count "$f" "hep.version == $v" "$N_SIP"
		hep_count "$f" 'hep.capture_id == 2001' "$N_SIP"
		hep_count "$f" "ip.src == $PROXY and udp.srcport == 5060 and ip.dst == $COLLECTOR and udp.dstport == $HEP_PORT" "$N_SIP"
		hep_count "$f" 'icmp' 0
		n=$(tsh "$f" -Y sip -T fields -e sip.Call-ID | sort -u | grep -c .)
		[ "$n" -eq 4 ] || die "$f: $n Call-IDs, expected 4"
		# the collector got every datagram
		n=$(grep -c . "$WORK/sink-hep$v.out" || true)
		[ "$n" -eq "$N_SIP" ] || die "$f: the collector got $n datagrams, expected $N_SIP"
		# every message kamailio received or sent, once, with the wire's hop
		hep_hops "$f" >"$WORK/hep$v.hops"
		if ! diff -u "$WORK/wire.hops" "$WORK/hep$v.hops" >&2; then
			die "$f: the encapsulated messages differ from the wire's"
		fi
		log "$f: $N_SIP HEPv$v datagrams, $(stat -c %s "$OUT/$f") bytes, the wire's messages and hops"
	done

	# HEPv3: each datagram has exactly the chunks 1-4, 7-12 and 15, of vendor 0
	f=kamailio-hep3.pcap
	n=$(tsh "$f" -T fields -e hep.chunk.type | sort -u | tr '\n' ' ')
	[ "$n" = "1,2,3,4,7,8,9,10,11,12,15 " ] || die "$f: chunk types '$n', expected 1-4, 7-12, 15"
	hep_count "$f" 'hep.chunk.vendor > 0' 0
	# ... and its payloads are the wire's UDP payloads, byte for byte
	tshark -n -r "$OUT/kamailio-wire.pcap" -T fields -e udp.payload 2>/dev/null | sort >"$WORK/wire.payloads"
	tsh "$f" -T fields -e hep.payload | sort >"$WORK/hep3.payloads"
	cmp -s "$WORK/wire.payloads" "$WORK/hep3.payloads" || die "$f: HEP payloads differ from the wire's"
	[ "$(grep -c . "$WORK/hep3.payloads")" -eq "$N_SIP" ] || die "$f: not $N_SIP payloads"
	hep_count "$f" 'hep.proto_type == 1 and hep.ip_family == 2 and hep.ip_proto == 17' "$N_SIP"
	# HEPv2: 16-byte header, IPv4, UDP
	hep_count kamailio-hep2.pcap 'hep.header_length == 16 and hep.ip_family == 2 and hep.ip_proto == 17' "$N_SIP"

	for f in kamailio-hep3.pcap kamailio-hep2.pcap kamailio-wire.pcap; do
		size=$(stat -c %s "$OUT/$f")
		[ "$size" -lt 204800 ] || die "$f: $size bytes, expected well under 200 KB"
	done
}

run 3
run 2
check
log "done: $OUT/kamailio-hep3.pcap $OUT/kamailio-hep2.pcap $OUT/kamailio-wire.pcap"

#!/usr/bin/env bash
# Regenerate pcaps/hep/rtpengine-rtcp.pcap: calls whose RTP and RTCP go
# through a real rtpengine (Debian's rtpengine-daemon 10.5, userspace
# forwarding only) with its HOMER output on, so that one capture holds the
# SIP of the calls, the RTP and RTCP on both sides of rtpengine, and the
# HEPv3 datagrams rtpengine makes of the RTCP it relays (protocol type 5,
# RTCP as JSON, capture id 2005, the call's Call-ID as correlation id).
#
# Addresses (loopback 127.0.0.74-79 only):
#   127.0.0.74  kamailio (scripts/pcaps/hep-rtcp-kamailio.cfg) udp:5060:
#               Record-Route proxy that relays every INVITE to the callee and
#               puts rtpengine in the media path (rtpengine module)
#   127.0.0.75  rtpengine's media (ports 30000-30099; it also sends the HEP
#               from there, see below); scripts/pcaps/hep-rtcp-rtpengine.conf
#   127.0.0.76  baresip caller (SIP 5060, RTP/RTCP 10000-10019)
#   127.0.0.77  baresip callee (SIP 5060, RTP/RTCP 12000-12019), auto-answer
#   127.0.0.78  rtpengine's ng control port 2223 (not in the capture)
#   127.0.0.79  HEP collector udp:9060: a python3 listener that counts what it
#               gets (so that nothing is answered with ICMP port unreachable,
#               which would make rtpengine drop its HOMER socket for 30 s)
# Both endpoints are baresip 1.0 (scripts/pcaps/hep-rtcp-baresip/caller and
# callee; headless: a sine tone as microphone, no audio player), G.711 A-law,
# 20 ms packets, RTCP on the RTP port + 1, an RTCP report every 5 s (libre
# always sends SR + SDES, with a report block once it receives RTP; an
# APP "PING" at the start and BYE + SDES at the end). The calls, one after
# the other, the caller hanging up after 11 s (so that each side sends two
# reports during the call):
#   call 1, 2: sip:callee@127.0.0.74, both ways (4 RTP streams each);
#   call 3:    sip:listener@127.0.0.74, which kamailio makes one-way (the
#              offer send-only): the callee answers recvonly, only the caller
#              sends RTP (2 streams), the callee's SRs have zero counts and a
#              report block.
# baresip draws its Call-IDs at random: they differ from run to run.
#
# baresip 1.0 binds its RTP and RTCP sockets to 0.0.0.0 and rtpengine its
# HOMER socket too, so on lo the kernel would send their packets from
# 127.0.0.1. The script therefore runs in a network namespace of its own
# (unshare --net; its own lo, gone with its last process) with policy routes
# that give those packets the sender's address: to 127.0.0.75 from the
# caller's ports 10000-10019 from .76, from the callee's ports 12000-12019
# from .77, anything to the collector 127.0.0.79 from .75. The host's routes
# and lo are not touched.
#
# tcpdump on the namespace's lo: udp on 127.0.0.74-77 and .79, from before
# the first call until 1 s after the last (not ICMP: the caller closes its
# RTP and RTCP ports as it hangs up, and the last packets rtpengine relays
# from the callee, 1 or 2 a call, get port unreachable). Every process runs under
# `timeout` and is stopped by its pid. At the end the capture is checked with
# tshark and the script fails if anything is off: the SIP messages and
# Call-IDs, the RTP streams (G.711A, no loss), every datagram being SIP, RTP,
# RTCP or HEP, every RTCP packet relayed unchanged, and one HEP
# datagram per RTCP packet that rtpengine received with an SR, RR or SDES
# in it (not for an APP-only one), with the packet's addresses, ports, time,
# SSRC and report values, and the Call-ID of the call whose rtpengine ports
# it came to; the collector got them all; under 2 MB. About 45 s.
#
# The HEP datagrams decode with the Lua dissector of
#   scripts/make-hep-pcaps.sh --lua > hep.lua
#   tshark -X lua_script:hep.lua -d udp.port==9060,hep -r pcaps/hep/rtpengine-rtcp.pcap \
#     -Y 'hep.proto_type == 5' -T fields -e hep.correlation_id -e hep.payload
# (hep.payload is the JSON, as hex).
#
# Usage (as root):  scripts/make-hep-rtcp-pcap.sh
# Environment: OUT=dir to write somewhere other than pcaps/hep/;
#              KEEP_WORK=1 to keep the temporary directory (baresip,
#              kamailio, rtpengine and collector logs).
# Dependencies: rtpengine-daemon baresip-core kamailio tcpdump tshark iproute2
#   python3 (scripts/install-deps.sh); unshare (util-linux).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SC="$ROOT/scripts/pcaps"
OUT=${OUT:-$ROOT/pcaps/hep}
PY=${PY:-python3}
FILE=rtpengine-rtcp.pcap

# Outside: re-run this script in a new network namespace (bounded as a whole).
if [ "${1:-}" != --in-netns ]; then
	[ "$(id -u)" -eq 0 ] || { echo "[make-hep-rtcp-pcap] ERROR: must run as root (unshare, tcpdump)" >&2; exit 1; }
	command -v unshare >/dev/null 2>&1 || { echo "[make-hep-rtcp-pcap] ERROR: missing unshare (util-linux)" >&2; exit 1; }
	export OUT PY
	exec timeout --foreground 150 unshare --net -- bash "$ROOT/scripts/make-hep-rtcp-pcap.sh" --in-netns
fi

START=$SECONDS
CAP_TAG=make-hep-rtcp-pcap
CAP_TOOLS=(rtpengine kamailio baresip tcpdump tshark timeout ss ip "$PY")
KAM_CFG="$SC/hep-rtcp-kamailio.cfg"
KAM_ADDRS=(127.0.0.74:5060)
# shellcheck source=scripts/capture-lib.sh
. "$ROOT/scripts/capture-lib.sh"

compgen -G '/usr/lib/*/kamailio/modules/rtpengine.so' >/dev/null ||
	die "missing kamailio's rtpengine module (rtpengine.so)"
for m in g711 ausine account menu; do
	[ -f "/usr/lib/baresip/modules/$m.so" ] || die "missing baresip module $m.so: install baresip-core"
done

PROXY=127.0.0.74
RTPE=127.0.0.75
CALLER=127.0.0.76
CALLEE=127.0.0.77
NG=127.0.0.78:2223
COLLECTOR=127.0.0.79
HEP_PORT=9060
CALL_S=11 # each call's length (the caller's baresip -t)
cd "$WORK"
bash "$ROOT/scripts/make-hep-pcaps.sh" --lua >"$WORK/hep.lua"

# The namespace's lo, and the source addresses of packets from sockets bound
# to 0.0.0.0 (see the header): our rules come before the local table's.
netns_setup() {
	ip link set lo up &&
		ip rule add pref 1000 lookup local && ip rule del pref 0 &&
		ip rule add pref 100 to "$RTPE" ipproto udp sport 10000-10019 lookup 76 &&
		ip route add local 127.0.0.0/8 dev lo src "$CALLER" table 76 &&
		ip rule add pref 101 to "$RTPE" ipproto udp sport 12000-12019 lookup 77 &&
		ip route add local 127.0.0.0/8 dev lo src "$CALLEE" table 77 &&
		ip route add local "$COLLECTOR/32" dev lo src "$RTPE" table local
}
netns_setup 2>"$WORK/ip.log" || { cat "$WORK/ip.log" >&2; die "could not set up the network namespace"; }
ip route get "$RTPE" ipproto udp sport 10000 | grep -q "src $CALLER" || die "policy route for the caller not in force"

# baresip may write into its config folder: use copies
cp -r "$SC/hep-rtcp-baresip/caller" "$SC/hep-rtcp-baresip/callee" "$WORK/"

cap_start "$FILE" "udp and (host $PROXY or host $RTPE or host $CALLER or host $CALLEE or host $COLLECTOR)" 120

# the HEP collector: one line per datagram (source address, port, length)
spawn timeout 100 "$PY" -u -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
while True:
    d, a = s.recvfrom(65535)
    print(a[0], a[1], len(d))
' "$COLLECTOR" "$HEP_PORT" >"$WORK/collector.out" 2>&1
SINK_PID=$BG_PID
wait_udp "$COLLECTOR:$HEP_PORT"

spawn timeout 100 rtpengine --config-file="$SC/hep-rtcp-rtpengine.conf" --pidfile="$WORK/rtpengine.pid" \
	>"$WORK/rtpengine.log" 2>&1
RTPE_PID=$BG_PID
wait_udp "$NG"
kam_start proxy # after rtpengine: its module pings rtpengine at start
grep -q 'rtpengine instance .* found' "$WORK/kam-proxy.log" || { tail -20 "$WORK/kam-proxy.log" >&2; die "kamailio did not find rtpengine"; }

spawn timeout 100 baresip -f "$WORK/callee" >"$WORK/callee.log" 2>&1
CALLEE_PID=$BG_PID
wait_udp "$CALLEE:5060"

# call N USER: the caller dials USER at the proxy and hangs up after CALL_S s.
call() {
	local n=$1 user=$2 lg="$WORK/caller-$1.log"
	log "call $n: sip:$user@$PROXY, $CALL_S s"
	timeout $((CALL_S + 20)) baresip -f "$WORK/caller" -e "/dial sip:$user@$PROXY" -t "$CALL_S" >"$lg" 2>&1 ||
		{ tail -20 "$lg" >&2; die "caller of call $n failed"; }
	if ! grep -q 'Call established' "$lg" || ! grep -q 'terminated (duration' "$lg"; then
		tail -20 "$lg" >&2
		die "call $n was not established and ended"
	fi
	sleep 1 # the last RTCP (BYE) of both sides
}
call 1 callee
call 2 callee
call 3 listener

kill -TERM "$CALLEE_PID" 2>/dev/null || true
wait_pid "$CALLEE_PID"
kam_stop
kill -TERM "$RTPE_PID" 2>/dev/null || true
wait_pid "$RTPE_PID"
cap_stop
kill -TERM "$SINK_PID" 2>/dev/null || true
wait_pid "$SINK_PID"
n=$(grep -c 'Call established' "$WORK/callee.log" || true)
[ "$n" -eq 3 ] || die "the callee answered $n calls, expected 3"
log "traffic done in $((SECONDS - START)) s; checking $OUT/$FILE"

# ---- checks of the capture ----
F="$OUT/$FILE"
tsh() { tshark -n -r "$F" "$@" 2>/dev/null; }
hep() { tsh -X "lua_script:$WORK/hep.lua" -d "udp.port==$HEP_PORT,hep" "$@"; }

# SIP per call: INVITE, 100 (kamailio), 180, 200, ACK, BYE, 200, once per
# hop (caller-proxy, proxy-callee; the 100 only on the caller's hop)
N_SIP=39
expect "$FILE" "Number of SIP messages: $N_SIP\$"
expect "$FILE" 'Number of resent SIP messages: 0$'
expect "$FILE" 'INVITE +: +6 Packets'
expect "$FILE" 'ACK +: +6 Packets'
expect "$FILE" 'BYE +: +6 Packets'
expect "$FILE" 'SIP 100 Trying +: +3 Packets'
expect "$FILE" 'SIP 180 Ringing +: +6 Packets'
expect "$FILE" 'SIP 200 OK +: +12 Packets'
expect_calls "$FILE" 3
# every datagram is SIP, RTP, RTCP (both found by tshark from the SDP) or HEP
expect_count "$FILE" "udp and not sip and not rtp and not rtcp and not udp.port == $HEP_PORT" 0

# RTP: 4 streams for each two-way call, 2 for the one-way call, G.711A, no loss
tsh -q -z rtp,streams >"$WORK/rtp-streams.txt"
awk '$8 == "g711A" { n++; if ($10 != 0 || $9 < 400) bad++ } END { exit !(n == 10 && bad == 0) }' \
	"$WORK/rtp-streams.txt" || { cat "$WORK/rtp-streams.txt" >&2; die "$FILE: expected 10 G.711A RTP streams, no loss"; }

# RTCP on the wire, the HEP datagrams, and the rtpengine ports of each call
# (the SDP kamailio sent on after rtpengine's rewriting)
tsh -Y rtcp -T fields -e frame.time_epoch -e ip.src -e udp.srcport -e ip.dst -e udp.dstport -e udp.payload \
	>"$WORK/rtcp.tsv"
hep -Y hep -T fields -e frame.time_epoch -e ip.src -e ip.dst -e udp.dstport -e hep.version -e hep.proto_type \
	-e hep.capture_id -e hep.ip_family -e hep.ip_proto -e hep.src_ip -e hep.src_port -e hep.dst_ip \
	-e hep.dst_port -e hep.ts_sec -e hep.ts_usec -e hep.correlation_id -e hep.chunk.type -e hep.payload \
	>"$WORK/hep.tsv"
tsh -Y "sdp and ip.src == $PROXY" -T fields -e sip.Call-ID -e sdp.connection_info.address -e sdp.media.port \
	>"$WORK/sdp.tsv"
"$PY" - "$WORK/rtcp.tsv" "$WORK/hep.tsv" "$WORK/sdp.tsv" "$WORK/collector.out" "$RTPE" "$COLLECTOR" <<'EOF' ||
import json, struct, sys
from collections import Counter, defaultdict
rtcp_f, hep_f, sdp_f, coll_f, rtpe, collector = sys.argv[1:]
err = []
say = lambda m: print('[make-hep-rtcp-pcap] ' + m, file=sys.stderr)

def parse_rtcp(b):
    """compound RTCP -> list of (pt, count, dict)"""
    out, off = [], 0
    while off + 4 <= len(b):
        v, pt, ln = b[off] >> 6, b[off + 1], struct.unpack('!H', b[off + 2:off + 4])[0]
        cnt, end = b[off] & 31, off + 4 + 4 * ln
        p = {'pt': pt, 'count': cnt}
        if pt in (200, 201):
            p['ssrc'] = struct.unpack('!I', b[off + 4:off + 8])[0]
            o = off + 8
            if pt == 200:
                p['sr'] = struct.unpack('!IIIII', b[o:o + 20])
                o += 20
            p['rb'] = []
            for _ in range(cnt):
                s, w, hs, j, lsr, dlsr = struct.unpack('!IIIIII', b[o:o + 24])
                p['rb'].append({'source_ssrc': s, 'fraction_lost': w >> 24, 'packets_lost': w & 0xffffff,
                                'highest_seq_no': hs, 'ia_jitter': j, 'lsr': lsr, 'dlsr': dlsr})
                o += 24
        elif pt == 202:
            p['chunks'] = [struct.unpack('!I', b[off + 4:off + 8])[0]] if cnt else []
        out.append(p)
        off = end
    return out

# the rtpengine ports (RTP and RTCP) of each call
port_call = {}
for line in open(sdp_f):
    cid, addr, port = line.rstrip('\n').split('\t')
    if addr == rtpe:
        port_call[int(port)] = port_call[int(port) + 1] = cid
calls = sorted(set(port_call.values()))

wire = []  # (time, src, sport, dst, dport, payload bytes)
for line in open(rtcp_f):
    t, s, sp, d, dp, pl = line.rstrip('\n').split('\t')
    wire.append((float(t), s, int(sp), d, int(dp), bytes.fromhex(pl.replace(':', ''))))
into = [w for w in wire if w[3] == rtpe]
outof = [w for w in wire if w[1] == rtpe]
if Counter(w[5] for w in into) != Counter(w[5] for w in outof) or len(into) + len(outof) != len(wire):
    err.append('RTCP: what rtpengine sent is not what it received')
types = Counter('+'.join(str(p['pt']) for p in parse_rtcp(w[5])) for w in wire)
reportable = [w for w in into if any(p['pt'] in (200, 201, 202) for p in parse_rtcp(w[5]))]

heps = []
for line in open(hep_f):
    f = line.rstrip('\n').split('\t')
    heps.append({'time': float(f[0]), 'ip_src': f[1], 'ip_dst': f[2], 'udp_dst': int(f[3]), 'version': int(f[4]),
                 'type': int(f[5]), 'capture_id': int(f[6]), 'family': int(f[7]), 'ip_proto': int(f[8]),
                 'src': (f[9], int(f[10])), 'dst': (f[11], int(f[12])), 'ts': int(f[13]) + int(f[14]) / 1e6,
                 'cid': f[15], 'chunks': f[16], 'json': bytes.fromhex(f[17].replace(':', '')).decode()})
for h in heps:
    bad = [k for k, v in (('version', 3), ('type', 5), ('capture_id', 2005), ('family', 2), ('ip_proto', 17),
                          ('ip_src', rtpe), ('ip_dst', collector), ('udp_dst', 9060),
                          ('chunks', '1,2,7,8,9,10,11,12,3,4,17,15')) if h[k] != v]
    if bad:
        err.append('HEP at %.6f: unexpected %s' % (h['time'], bad))
    if h['cid'] != port_call.get(h['dst'][1]):
        err.append('HEP at %.6f: correlation id %r is not the Call-ID of rtpengine port %d'
                   % (h['time'], h['cid'], h['dst'][1]))

# one HEP per reportable RTCP packet rtpengine received, in order per hop
by_hop = defaultdict(list)
for h in heps:
    by_hop[h['src'] + h['dst']].append(h)
pairs = 0
for hop in sorted(set(w[1:5] for w in reportable) | set(by_hop)):
    ws = [w for w in reportable if w[1:5] == hop]
    hs = by_hop.get(hop, [])
    if len(ws) != len(hs):
        err.append('hop %s: %d RTCP packets with SR/RR/SDES, %d HEP datagrams' % (hop, len(ws), len(hs)))
        continue
    for w, h in zip(ws, hs):
        pairs += 1
        j = json.loads(h['json'])
        if abs(h['ts'] - w[0]) > 0.01 or not 0 <= h['time'] - w[0] < 0.05:
            err.append('HEP at %.6f: time off from the RTCP packet at %.6f' % (h['time'], w[0]))
        for p in parse_rtcp(w[5]):
            if p['pt'] in (200, 201):
                want = {'ssrc': p['ssrc'], 'type': p['pt'], 'report_count': p['count'], 'report_blocks': p['rb']}
                if p['pt'] == 200:
                    ntp_s, ntp_f, ts, pk, oc = p['sr']
                    want['sender_information'] = {'ntp_timestamp_sec': ntp_s, 'ntp_timestamp_usec': ntp_f,
                                                  'octets': oc, 'rtp_timestamp': ts, 'packets': pk}
                got = {k: j.get(k) for k in want}
                if got != want:
                    err.append('HEP at %.6f: JSON %r differs from the RTCP packet %r' % (h['time'], got, want))
            if p['pt'] == 202 and (j.get('sdes_report_count') != p['count'] or
                                   [c['sdes_chunk_ssrc'] for c in j.get('sdes_information', [])] != p['chunks']):
                err.append('HEP at %.6f: SDES differs from the RTCP packet' % h['time'])

got = [l.split() for l in open(coll_f) if l.strip()]
if len(got) != len(heps) or any(g[0] != rtpe for g in got):
    err.append('the collector got %d datagrams, the capture has %d HEP datagrams' % (len(got), len(heps)))
say('RTCP packets on the wire: %d (%s); into rtpengine %d, with SR/RR/SDES %d' % (
    len(wire), ', '.join('%s: %d' % kv for kv in sorted(types.items())), len(into), len(reportable)))
say('HEP datagrams: %d (%s), %d matched to their RTCP packet; calls: %d' % (
    len(heps), ', '.join('type %d: %d' % kv for kv in sorted(Counter(h['type'] for h in heps).items())),
    pairs, len(calls)))
want = {'wire': 48, 'heps': 18, 'calls': 3}
have = {'wire': len(wire), 'heps': len(heps), 'calls': len(calls)}
if have != want:
    err.append('counts %r, expected %r' % (have, want))
for e in err:
    say('ERROR: ' + e)
sys.exit(1 if err else 0)
EOF
	die "$FILE: the RTCP and HEP checks failed"

size=$(stat -c %s "$F")
[ "$size" -lt 2000000 ] || die "$FILE: $size bytes, expected under 2 MB"
log "done in $((SECONDS - START)) s: $F ($size bytes)"

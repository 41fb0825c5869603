#!/usr/bin/env bash
# One VoIP scenario through a real Kamailio 5.6 proxy/registrar that mirrors
# every SIP message it receives and sends in HEPv3 (siptrace) to a collector,
# either over plaintext UDP or with the clients' hop over SIP/TLS, so that
# what the sensor makes of the HEP copies of the TLS run can be compared with
# what it makes of the plaintext run's wire.
#
# Usage (as root):  scripts/hep-scenario.sh udp|tls COLLECTOR OUTDIR
#   COLLECTOR  ADDR:PORT (IPv4) the HEP copies go to over UDP, e.g.
#              127.0.0.69:9060; nobody needs to listen there.
#   OUTDIR     where the captures go (made if missing).
#
# Addresses (loopback 127.0.0.63-66 only, plus the collector's):
#   127.0.0.63  kamailio (scripts/pcaps/kamailio-hep-tls.cfg): udp:5060, and
#               in tls mode also tls:5061 (self-signed certificate made here
#               with openssl); Record-Route proxy to the UAS, digest registrar
#   127.0.0.64  sipp caller        127.0.0.65  sipp callee (UAS, UDP)
#   127.0.0.66  sipp password guesser (User-Agent friendly-scanner)
# The scenario, the same SIP messages in both modes (Call-IDs fixed):
#   hep-call-1..3@127.0.0.64: answered calls, one after the other: INVITE,
#     100 (kamailio), 180 and 200 after 0.1 s, ACK 0.1 s later, 1 s (sipp
#     -d), BYE, 200 after 0.1 s; ACK and BYE through the proxy
#     (scripts/pcaps/hep-uac-call.xml, hep-uas-call.xml; no RTP);
#   hep-busy-1@127.0.0.64: INVITE, 100 (kamailio), 100 and 486 Busy Here
#     from the callee after 0.1 s, ACK 0.1 s later (hep-uac-busy.xml,
#     hep-uas-busy.xml);
#   hep-guess-1..20@127.0.0.66: 20 REGISTERs for alice without credentials,
#     401, each retried with a wrong password's digest, 403 (10 a second,
#     hep-uac-register-guess.xml).
# The 0.1 s waits keep the HEP copies in the wire's order: kamailio mirrors
# a message just after sending it, and in tls mode the clients' requests and
# the callee's replies are handled by two kamailio processes (TCP and UDP),
# so an instant answer could be mirrored before what it answers.
# That is 127 SIP messages counted once per hop (47 of the calls, 80 of the
# guessing), and as many HEP datagrams to COLLECTOR (capture id 2001).
#
# udp mode: every hop is plaintext UDP. OUTDIR/wire.pcap holds that SIP
#   (udp on 127.0.0.63-66, not the collector's address and port).
# tls mode: the clients talk SIP over TLS to tls:127.0.0.63:5061; the proxy's
#   hop to the callee stays UDP. sipp 3.6.1 of Debian has no TLS, so each
#   client runs sipp over TCP (-t t1) to a socat TLS relay on its own address
#   (127.0.0.64:15061, 127.0.0.66:15061), which opens a TLS connection from
#   that same address (ephemeral port) to the proxy, checking its
#   certificate, one per sipp run. The clients write SIP/2.0/TLS in Via and
#   transport=TLS in Contact, and the proxy's TLS URI in the Request-URI, To
#   and digest uri (sipp -key tp, -key proxy, -auth_uri), as a TLS phone
#   would, not the relay's address that sipp talks to; kamailio answers
#   over the connection the request came on (force_rport) and Record-Routes
#   twice (TLS side and UDP side). The HEP copies carry the SIP as kamailio
#   decrypted it, with the TCP connection's addresses and ports and IP
#   protocol 22 (kamailio's stand-in for TLS; 17 on the callee's hop).
#   OUTDIR/wire.pcap holds the proxy's traffic on the wire: the TLS
#   connections (encrypted) and the UDP hop to the callee, so the only SIP
#   seen there is the callee's hop (22 messages, no REGISTER at all).
#
# Both modes: HEP_PCAP=1 also writes the proxy's HEP datagrams (udp, src
# 127.0.0.63, dst COLLECTOR) into OUTDIR/hep.pcap; decode them with the HEP
# dissector of scripts/make-hep-pcaps.sh --lua. The script checks that the
# proxy sent 127 HEP datagrams and, in udp mode, that the wire has 127 SIP
# datagrams, and fails with one line if not. About 13 s in either mode.
# Environment: KEEP_WORK=1 keeps the work directory (sipp, kamailio, socat
# logs, the certificate); SIPP_TIMEOUT (default 20 s) bounds each sipp client.
# Dependencies: sip-tester kamailio tcpdump iproute2 (scripts/install-deps.sh)
# and, for tls, kamailio-tls-modules socat openssl.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SC="$ROOT/scripts/pcaps"

usage() {
	echo "usage: $0 udp|tls COLLECTOR_ADDR:PORT OUTDIR" >&2
	exit 2
}
[ $# -eq 3 ] || usage
MODE=$1 COLLECTOR=$2 OUT=$3
case $MODE in udp | tls) ;; *) usage ;; esac
[[ $COLLECTOR =~ ^([0-9]{1,3}(\.[0-9]{1,3}){3}):([0-9]{1,5})$ ]] ||
	{ echo "hep-scenario: COLLECTOR must be IPv4ADDR:PORT, not '$COLLECTOR'" >&2; exit 2; }
C_ADDR=${BASH_REMATCH[1]} C_PORT=${BASH_REMATCH[3]}
START=$SECONDS

CAP_TAG=hep-scenario
CAP_TOOLS=(sipp kamailio tcpdump timeout ss)
[ "$MODE" = tls ] && CAP_TOOLS+=(socat openssl)
export SIPP_TIMEOUT=${SIPP_TIMEOUT:-20}
# shellcheck source=scripts/capture-lib.sh
. "$ROOT/scripts/capture-lib.sh"
KAM_CFG="$SC/kamailio-hep-tls.cfg"
if [ "$MODE" = tls ] && ! compgen -G '/usr/lib/*/kamailio/modules/tls.so' >/dev/null; then
	die "missing kamailio's tls module: install kamailio-tls-modules (scripts/install-deps.sh)"
fi

PROXY=127.0.0.63
CALLER=127.0.0.64
CALLEE=127.0.0.65
GUESSER=127.0.0.66
RELAY_PORT=15061 # socat TLS relay on each client's address (tls mode)
N_SIP=127        # SIP messages, once per hop: 47 of the calls + 80 of the guessing
cd "$WORK"

# kam_run [KAMAILIO ARGS...]: kamailio with the config's -A defines, waiting
# for its listeners; pid in $KAM_PID (stopped by kam_stop).
kam_run() {
	mkdir -p "$WORK/kam"
	spawn timeout 90 kamailio -f "$KAM_CFG" "$@" -DD -E -n 1 -Y "$WORK/kam" \
		-P "$WORK/kam/kamailio.pid" -w "$WORK/kam" >"$WORK/kam.log" 2>&1
	KAM_PID=$BG_PID
	wait_udp "$PROXY:5060"
	[ "$MODE" = udp ] || wait_tcp "$PROXY:5061"
	kill -0 "$KAM_PID" 2>/dev/null || { tail -20 "$WORK/kam.log" >&2; die "kamailio did not start"; }
}

# relay ADDR: socat relay for a client at ADDR: plain TCP on ADDR:15061 to
# TLS from ADDR to the proxy's 5061 (certificate checked against ours), one
# TLS connection per client connection.
relay() {
	spawn timeout 90 socat -d -lf "$WORK/socat-$1.log" \
		"TCP-LISTEN:$RELAY_PORT,bind=$1,reuseaddr,fork" \
		"OPENSSL:$PROXY:5061,bind=$1,cafile=$WORK/tls/cert.pem,commonname=$PROXY,verify=1"
	RELAY_PIDS+=("$BG_PID")
	wait_tcp "$1:$RELAY_PORT"
}

# client ADDR: sipp's remote address and transport arguments for a client
# at ADDR (in CLIENT_ARGS): the proxy over UDP, or the client's TLS relay;
# the proxy's URI in the messages and as digest uri (-auth_uri, else sipp
# would take its remote address, the relay).
client() {
	local proxy
	if [ "$MODE" = udp ]; then
		proxy="$PROXY:5060"
		CLIENT_ARGS=("$PROXY:5060" -t u1 -key tp UDP)
	else
		proxy="$PROXY:5061;transport=tls"
		CLIENT_ARGS=("$1:$RELAY_PORT" -t t1 -key tp TLS)
	fi
	CLIENT_ARGS+=(-key proxy "$proxy" -auth_uri "$proxy")
}

# count FILE: packets in a capture.
count() { tcpdump -n -r "$1" 2>/dev/null | wc -l; }

log "mode $MODE, HEP to $C_ADDR:$C_PORT, captures in $OUT"
# no capture of an earlier run is left to be taken for this one's
rm -f "$OUT/wire.pcap" "$OUT/hep.pcap"
KAM_ARGS=(-A "COLLECTOR_URI=\"sip:$C_ADDR:$C_PORT\"")
RELAY_PIDS=()
if [ "$MODE" = tls ]; then
	# self-signed certificate of the proxy, valid for its address only
	mkdir -m 700 "$WORK/tls"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj "/CN=$PROXY" -addext "subjectAltName=IP:$PROXY" \
		-keyout "$WORK/tls/key.pem" -out "$WORK/tls/cert.pem" 2>"$WORK/openssl.log" ||
		{ cat "$WORK/openssl.log" >&2; die "openssl could not make the certificate"; }
	KAM_ARGS+=(-A WITH_TLS -A "TLS_CERT=\"$WORK/tls/cert.pem\"" -A "TLS_KEY=\"$WORK/tls/key.pem\"")
	WIRE_FILTER="host $PROXY and (udp port 5060 or tcp port 5061) and not (host $C_ADDR and port $C_PORT)"
else
	WIRE_FILTER="udp and (host $PROXY or host $CALLER or host $CALLEE or host $GUESSER) and not (host $C_ADDR and port $C_PORT)"
fi

# the wire, and the HEP datagrams to the collector (kept in $WORK)
cap_start hep.pcap "udp and src host $PROXY and dst host $C_ADDR and dst port $C_PORT" 80
HEP_CAP_PID=$CAP_PID HEP_CAP_ERR=$CAP_ERR
cap_start wire.pcap "$WIRE_FILTER" 80

kam_run "${KAM_ARGS[@]}"
if [ "$MODE" = tls ]; then
	relay "$CALLER"
	relay "$GUESSER"
fi

# 3 answered calls, one at a time, 1 s each
client "$CALLER"
sipp_uas uas-calls -sf "$SC/hep-uas-call.xml" -i "$CALLEE" -p 5060 -mi "$CALLEE" -mp 17000 -m 3
wait_udp "$CALLEE:5060"
sipp_uac uac-calls -sf "$SC/hep-uac-call.xml" "${CLIENT_ARGS[@]}" -i "$CALLER" -p 5060 \
	-mi "$CALLER" -mp 16000 -s hep -m 3 -l 1 -d 1000 -cid_str "hep-call-%u@$CALLER"
wait "$UAS_PID" || { tail -20 "$WORK/uas-calls.out" >&2; die "the callee of the answered calls failed"; }

# 1 call rejected by the callee with 486 Busy Here
sipp_uas uas-busy -sf "$SC/hep-uas-busy.xml" -i "$CALLEE" -p 5060 -mi "$CALLEE" -mp 17000 -m 1
wait_udp "$CALLEE:5060"
sipp_uac uac-busy -sf "$SC/hep-uac-busy.xml" "${CLIENT_ARGS[@]}" -i "$CALLER" -p 5060 \
	-mi "$CALLER" -mp 16000 -s busy -m 1 -cid_str "hep-busy-%u@$CALLER"
wait "$UAS_PID" || { tail -20 "$WORK/uas-busy.out" >&2; die "the callee of the busy call failed"; }

# password guessing for alice: 20 guesses, 10 a second, all wrong
client "$GUESSER"
sipp_uac uac-guess -sf "$SC/hep-uac-register-guess.xml" "${CLIENT_ARGS[@]}" -i "$GUESSER" -p 5060 \
	-mi "$GUESSER" -mp 16100 -s alice -au alice -ap wrong-guess -m 20 -r 10 -l 1 \
	-cid_str "hep-guess-%u@$GUESSER"

kam_stop
for p in "${RELAY_PIDS[@]}"; do
	kill -TERM "$p" 2>/dev/null || true
	wait_pid "$p"
done
cap_stop # the wire, after 1 s; then the HEP capture at once
kill -TERM "$HEP_CAP_PID" 2>/dev/null || true
wait_pid "$HEP_CAP_PID"
grep -E 'packets (captured|dropped)' "$HEP_CAP_ERR" >&2 || true

n=$(count "$WORK/hep.pcap")
[ "$n" -eq "$N_SIP" ] || { tail -20 "$WORK/kam.log" >&2; die "kamailio sent $n HEP datagrams to $COLLECTOR, expected $N_SIP"; }
if [ "$MODE" = udp ]; then
	n=$(count "$OUT/wire.pcap")
	[ "$n" -eq "$N_SIP" ] || die "wire.pcap: $n datagrams, expected $N_SIP"
fi
kept="$OUT/wire.pcap"
if [ -n "${HEP_PCAP:-}" ] && [ "$HEP_PCAP" != 0 ]; then
	mv -f "$WORK/hep.pcap" "$OUT/hep.pcap"
	chmod 644 "$OUT/hep.pcap"
	kept+=" $OUT/hep.pcap"
fi
log "done ($MODE) in $((SECONDS - START)) s: $N_SIP HEP datagrams; $kept"

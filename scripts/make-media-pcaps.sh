#!/usr/bin/env bash
# Regenerate voip-sentinel's media test captures into pcaps/media/.
#
# Same approach as scripts/make-pcaps.sh: real SIP stacks (sipp 3.6 with its
# PCAP play of real G.711 RTP, kamailio 5.6 with its tls module) on loopback
# addresses 127.0.0.81-127.0.0.104 (one set per scenario), every capture
# written by tcpdump on lo with a BPF filter limited to the scenario's
# addresses, every process under `timeout` and stopped on exit. Some captures
# are then post-processed by scripts/media/pcaptool.py (struct-only classic
# pcap reader/writer: RTP re-timing, SRTP encryption with libsrtp through
# pylibsrtp) or by editcap (removal of chosen RTP packets). No packet is sent
# to any address outside 127.0.0.0/8.
#
# Usage (as root):  scripts/make-media-pcaps.sh [NAME...]
#   NAME is one of: loss-jitter srtp tls downgrade third-party reinvite
#                   one-way timeout            (default: all; timeout takes ~50 s)
# Environment: OUT=dir to write somewhere other than pcaps/media/;
#              KEEP_WORK=1 to keep the temporary directory.
# Dependencies: those of scripts/install-deps.sh (tshark sip-tester kamailio
#   tcpdump iproute2 python3) plus these Debian packages:
#     kamailio-tls-modules  kamailio's tls.so (SIP over TLS trunk)
#     python3-pylibsrtp     libsrtp2 binding for /usr/bin/python3 (SRTP)
#     openssl               self-signed TLS key/certificate for kamailio
#   (editcap and capinfos come with tshark's wireshark-common.)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SC="$ROOT/scripts/media"
OUT=${OUT:-$ROOT/pcaps/media}
SIPP_PCAPS=${SIPP_PCAPS:-/usr/share/sip-tester}
PY=/usr/bin/python3
TOOL="$SC/pcaptool.py"

# SDES master keys (base64 of 16-byte key || 14-byte salt, made once with
# `openssl rand -base64 30`), fixed so tests can look for them.
KEY_SDES_UAC=/ycx7CFajn+S8JtXVRnCPQLaa1ZWKFKhi+FKgQU5 # srtp-sdes-exposed, 127.0.0.83
KEY_SDES_UAS=1Iu8woXRRagshmGWIfvMg1yvuVqp4sfWH9tYoHXM # srtp-sdes-exposed, 127.0.0.84
KEY_TLS_UAC=gu/NLT1mAo2MtYG61zrFXvdgYsO9hQqzSh92Lhmv  # srtp-over-tls, 127.0.0.101
KEY_TLS_UAS=lsHlCKkYL0tYhos7Bo90DQ2HOnOj4QHjqlKJl9dh  # srtp-over-tls, 127.0.0.104
KEY_DOWNGRADE=W7bNn5chK765n/tLSNdcIvwLsRu8/2z8u8rme1+4 # downgrade offer, 127.0.0.85

log() { printf '[make-media-pcaps] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (tcpdump)"
for t in sipp kamailio tcpdump tshark editcap capinfos openssl timeout ss; do
	command -v "$t" >/dev/null 2>&1 || die "missing $t: run scripts/install-deps.sh (see header)"
done
[ -f "$SIPP_PCAPS/g711a.pcap" ] || die "no $SIPP_PCAPS/g711a.pcap (package sip-tester)"
"$PY" -c 'import pylibsrtp' 2>/dev/null || die "no pylibsrtp for $PY (package python3-pylibsrtp)"

WORK=$(mktemp -d /tmp/voip-sentinel-media.XXXXXX)
mkdir -p "$OUT"
# the scenarios play "pcap/g711a.pcap" relative to sipp's working directory
ln -s "$SIPP_PCAPS" "$WORK/pcap"

cleanup() {
	local p running
	running=$(jobs -pr)
	if [ -n "$running" ]; then
		for p in $running; do kill -TERM "$p" 2>/dev/null || true; done
		sleep 0.5
		for p in $(jobs -pr); do kill -KILL "$p" 2>/dev/null || true; done
		wait 2>/dev/null || true
	fi
	if [ -n "${KEEP_WORK:-}" ]; then
		log "work dir kept: $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

spawn() {
	"$@" &
	BG_PID=$!
}

# cap_start FILE FILTER: start tcpdump on lo into $WORK/FILE, wait until it listens.
cap_start() {
	local file=$1 filter=$2
	CAP_ERR="$WORK/$file.tcpdump.log"
	CAP_FILE=$file
	spawn timeout 180 tcpdump -i lo -n -s 0 -U -Z root -w "$WORK/$file" "$filter" 2>"$CAP_ERR"
	CAP_PID=$BG_PID
	local i
	for i in $(seq 50); do
		grep -q 'listening on' "$CAP_ERR" 2>/dev/null && { sleep 0.3; return 0; }
		sleep 0.1
	done
	cat "$CAP_ERR" >&2
	die "tcpdump did not start for $file"
}

# cap_stop: stop tcpdump; the raw capture stays in $WORK/$CAP_FILE.
cap_stop() {
	sleep 1
	kill -TERM "$CAP_PID" 2>/dev/null || true
	wait "$CAP_PID" 2>/dev/null || true
	grep -E 'packets (captured|dropped)' "$CAP_ERR" >&2 || true
}

# publish SRC NAME: copy a finished capture to $OUT/NAME.
publish() {
	cp -f "$1" "$OUT/$2"
	chmod 644 "$OUT/$2"
}

# sipp_uas LOGNAME ARGS...: background sipp server (bounded by timeout).
sipp_uas() {
	local name=$1
	shift
	spawn timeout 110 sipp "$@" -nostdin -timeout 100 >"$WORK/$name.out" 2>&1
	UAS_PID=$BG_PID
	sleep 0.7
}

# sipp_uac LOGNAME ARGS...: foreground sipp client; fails the script on error.
sipp_uac() {
	local name=$1
	shift
	if ! timeout 110 sipp "$@" -nostdin -timeout 90 -timeout_error >"$WORK/$name.out" 2>&1; then
		tail -40 "$WORK/$name.out" >&2
		die "sipp client $name failed"
	fi
}

wait_pid() { wait "$1" 2>/dev/null || true; }

# wait_listen udp|tcp ADDR:PORT
wait_listen() {
	local i flag=-lun
	[ "$1" = tcp ] && flag=-ltn
	for i in $(seq 50); do
		ss -H $flag "( sport = :${2##*:} )" | grep -q "${2%:*}:" && return 0
		sleep 0.1
	done
	die "nothing listening on $1 $2"
}

stats() { tshark -n -r "$1" -q -z sip,stat -z rtp,streams 2>/dev/null; }

# expect FILE 'REGEX': check tshark's sip,stat + rtp,streams text of $OUT/FILE.
expect() {
	local f=$1 re=$2
	if ! stats "$OUT/$f" | grep -Eq -- "$re"; then
		stats "$OUT/$f" >&2
		die "$f: expected /$re/"
	fi
}

# expect_count FILE DISPLAY-FILTER N [TSHARK-OPTS...]
expect_count() {
	local f=$1 flt=$2 want=$3 n
	shift 3
	n=$(tshark -n "$@" -r "$OUT/$f" -Y "$flt" 2>/dev/null | wc -l)
	[ "$n" -eq "$want" ] || die "$f: $n packets match '$flt', expected $want"
}

cd "$WORK"

# 1. One plain G.711 call (uac-g711.xml: 127.0.0.81 -> uas-g711.xml: 127.0.0.82,
#    RTP one-way 127.0.0.81:16000 -> 127.0.0.82:17000, 236 packets), then
#    g711-loss.pcap: editcap deletes the 50th RTP packet and the 120th-124th;
#    g711-jitter.pcap: pcaptool.py jitter re-times every RTP packet by up to
#    +-15 ms (seed 1).
make_loss-jitter() {
	local raw=g711-base.pcap frames
	log "g711-loss.pcap g711-jitter.pcap"
	cap_start "$raw" 'host 127.0.0.81 or host 127.0.0.82'
	sipp_uas base-uas -sf "$SC/uas-g711.xml" -i 127.0.0.82 -p 5060 -mi 127.0.0.82 -mp 17000 -m 1
	sipp_uac base-uac -sf "$SC/uac-g711.xml" 127.0.0.82:5060 -i 127.0.0.81 -p 5060 -mi 127.0.0.81 \
		-mp 16000 -s 8100 -d 8000 -m 1 -cid_str 'media-g711-%u@127.0.0.81'
	wait_pid "$UAS_PID"
	cap_stop
	frames=$("$PY" "$TOOL" rtp-frames "$raw" --src 127.0.0.81:16000 --nth 50,120-124)
	log "g711-loss.pcap: deleting frames $frames (RTP packets 50 and 120-124 of 127.0.0.81:16000)"
	# shellcheck disable=SC2086
	editcap -F pcap "$raw" g711-loss.pcap ${frames//,/ }
	publish g711-loss.pcap g711-loss.pcap
	"$PY" "$TOOL" jitter "$raw" g711-jitter.pcap --max-ms 15 --seed 1
	publish g711-jitter.pcap g711-jitter.pcap
	expect g711-loss.pcap 'INVITE +: +1 Packets'
	expect g711-loss.pcap 'BYE +: +1 Packets'
	expect g711-loss.pcap '127\.0\.0\.81 16000 +127\.0\.0\.82 17000 0xDEE0EE8F +g711A +230 +6 \('
	expect g711-jitter.pcap '127\.0\.0\.81 16000 +127\.0\.0\.82 17000 0xDEE0EE8F +g711A +236 +0 \('
}

# 2. SRTP offered and answered with SDES keys in clear SDP (uac-srtp.xml
#    127.0.0.83 -> uas-srtp.xml 127.0.0.84), both sides play G.711; the RTP of
#    each side is then encrypted with its own SDP key.
make_srtp() {
	local raw=srtp-plain.pcap f=srtp-sdes-exposed.pcap
	log "$f"
	cap_start "$raw" 'host 127.0.0.83 or host 127.0.0.84'
	sipp_uas srtp-uas -sf "$SC/uas-srtp.xml" -key crypto_key "$KEY_SDES_UAS" -i 127.0.0.84 -p 5060 \
		-mi 127.0.0.84 -mp 17000 -m 1
	sipp_uac srtp-uac -sf "$SC/uac-srtp.xml" -key crypto_key "$KEY_SDES_UAC" 127.0.0.84:5060 \
		-i 127.0.0.83 -p 5060 -mi 127.0.0.83 -mp 16000 -s 8300 -d 8000 -m 1 \
		-cid_str 'media-srtp-sdes-%u@127.0.0.83'
	wait_pid "$UAS_PID"
	cap_stop
	"$PY" "$TOOL" srtp "$raw" "$f" --key "127.0.0.83:16000=$KEY_SDES_UAC" --key "127.0.0.84:17000=$KEY_SDES_UAS"
	"$PY" "$TOOL" srtp-verify "$raw" "$f" --key "127.0.0.83:16000=$KEY_SDES_UAC" \
		--key "127.0.0.84:17000=$KEY_SDES_UAS" >&2
	publish "$f" "$f"
	expect "$f" 'INVITE +: +1 Packets'
	expect "$f" 'BYE +: +1 Packets'
	expect "$f" '127\.0\.0\.83 16000 +127\.0\.0\.84 17000 0xDEE0EE8F +g711A +236 +0 \('
	expect "$f" '127\.0\.0\.84 17000 +127\.0\.0\.83 16000 0xDEE0EE8F +g711A +236 +0 \('
	expect_count "$f" 'srtp.enc_payload && srtp.auth_tag' 472
	expect_count "$f" "sdp.media_attr contains \"inline:$KEY_SDES_UAC\"" 1
	expect_count "$f" "sdp.media_attr contains \"inline:$KEY_SDES_UAS\"" 1
}

# 3. The same SRTP call through two kamailio edge proxies joined by SIP over
#    TLS; only the TLS trunk (127.0.0.102 <-> 127.0.0.103:5061) and the media
#    (127.0.0.101 <-> 127.0.0.104) are captured.
make_tls() {
	local raw=tls-plain.pcap f=srtp-over-tls.pcap
	log "$f"
	mkdir -p "$WORK/tls" "$WORK/kam-a" "$WORK/kam-b"
	openssl req -x509 -newkey rsa:2048 -nodes -days 7 -subj '/CN=voip-sentinel-test-tls-edge' \
		-keyout "$WORK/tls/key.pem" -out "$WORK/tls/cert.pem" 2>/dev/null
	sed "s|@TLS_DIR@|$WORK/tls|g" "$SC/kamailio-tls-edge.cfg" >"$WORK/tls/kamailio.cfg"
	cap_start "$raw" '(tcp and host 127.0.0.102 and host 127.0.0.103) or (udp and host 127.0.0.101 and host 127.0.0.104)'
	spawn timeout 110 kamailio -f "$WORK/tls/kamailio.cfg" -DD -E -n 1 -Y "$WORK/kam-b" \
		-P "$WORK/kam-b/kamailio.pid" -w "$WORK/kam-b" >"$WORK/kam-b.log" 2>&1
	local kam_b=$BG_PID
	spawn timeout 110 kamailio -f "$WORK/tls/kamailio.cfg" -A EDGE_A -DD -E -n 1 -Y "$WORK/kam-a" \
		-P "$WORK/kam-a/kamailio.pid" -w "$WORK/kam-a" >"$WORK/kam-a.log" 2>&1
	local kam_a=$BG_PID
	wait_listen tcp 127.0.0.103:5061
	wait_listen udp 127.0.0.102:5060
	sipp_uas tls-uas -sf "$SC/uas-srtp-proxy.xml" -key crypto_key "$KEY_TLS_UAS" -i 127.0.0.104 -p 5060 \
		-mi 127.0.0.104 -mp 17000 -m 1
	sipp_uac tls-uac -sf "$SC/uac-srtp-proxy.xml" -key crypto_key "$KEY_TLS_UAC" 127.0.0.102:5060 \
		-i 127.0.0.101 -p 5060 -mi 127.0.0.101 -mp 16000 -s 10100 -d 8000 -m 1 \
		-cid_str 'media-srtp-tls-%u@127.0.0.101'
	wait_pid "$UAS_PID"
	sleep 0.5
	kill -TERM "$kam_a" "$kam_b" 2>/dev/null || true
	wait_pid "$kam_a"
	wait_pid "$kam_b"
	cap_stop
	"$PY" "$TOOL" srtp "$raw" "$f" --key "127.0.0.101:16000=$KEY_TLS_UAC" --key "127.0.0.104:17000=$KEY_TLS_UAS"
	"$PY" "$TOOL" srtp-verify "$raw" "$f" --key "127.0.0.101:16000=$KEY_TLS_UAC" \
		--key "127.0.0.104:17000=$KEY_TLS_UAS" >&2
	publish "$f" "$f"
	expect_count "$f" 'sip' 0
	expect_count "$f" 'tls.handshake.type == 1' 1
	local appdata
	appdata=$(tshark -n -r "$OUT/$f" -Y 'tls.app_data' 2>/dev/null | wc -l)
	[ "$appdata" -ge 6 ] || die "$f: only $appdata packets with TLS application data"
	local heur
	heur=$(tshark -n -r "$OUT/$f" --enable-heuristic rtp_udp -q -z rtp,streams 2>/dev/null | grep -c '0xDEE0EE8F' || true)
	[ "$heur" -eq 2 ] || die "$f: expected 2 RTP streams with the heuristic dissector, found $heur"
}

# 4. Downgrade: RTP/SAVP offer with a=crypto (uac-srtp.xml, 127.0.0.85),
#    answered with plain RTP/AVP and no crypto (uas-g711-play.xml,
#    127.0.0.86); both sides then send plaintext G.711.
make_downgrade() {
	local raw=downgrade.pcap f=downgrade.pcap
	log "$f"
	cap_start "$raw" 'host 127.0.0.85 or host 127.0.0.86'
	sipp_uas down-uas -sf "$SC/uas-g711-play.xml" -i 127.0.0.86 -p 5060 -mi 127.0.0.86 -mp 17000 -m 1
	sipp_uac down-uac -sf "$SC/uac-srtp.xml" -key crypto_key "$KEY_DOWNGRADE" 127.0.0.86:5060 \
		-i 127.0.0.85 -p 5060 -mi 127.0.0.85 -mp 16000 -s 8500 -d 8000 -m 1 \
		-cid_str 'media-downgrade-%u@127.0.0.85'
	wait_pid "$UAS_PID"
	cap_stop
	publish "$raw" "$f"
	expect "$f" 'INVITE +: +1 Packets'
	expect "$f" '127\.0\.0\.85 16000 +127\.0\.0\.86 17000 0xDEE0EE8F +g711A +236 +0 \('
	expect "$f" '127\.0\.0\.86 17000 +127\.0\.0\.85 16000 0xDEE0EE8F +g711A +236 +0 \('
	expect_count "$f" 'sdp.media contains "RTP/SAVP"' 1
	expect_count "$f" 'sdp.media contains "RTP/AVP"' 1
}

# 5. Third-party media: SIP 127.0.0.91 -> 127.0.0.92, SDP c= and RTP
#    127.0.0.93 <-> 127.0.0.94 (sipp -mi), both directions.
make_third-party() {
	local raw=third-party-media.pcap f=third-party-media.pcap
	log "$f"
	cap_start "$raw" 'host 127.0.0.91 or host 127.0.0.92 or host 127.0.0.93 or host 127.0.0.94'
	sipp_uas tp-uas -sf "$SC/uas-g711-play.xml" -i 127.0.0.92 -p 5060 -mi 127.0.0.94 -mp 17000 -m 1
	sipp_uac tp-uac -sf "$SC/uac-g711.xml" 127.0.0.92:5060 -i 127.0.0.91 -p 5060 -mi 127.0.0.93 \
		-mp 16000 -s 9100 -d 8000 -m 1 -cid_str 'media-third-party-%u@127.0.0.91'
	wait_pid "$UAS_PID"
	cap_stop
	publish "$raw" "$f"
	expect "$f" 'INVITE +: +1 Packets'
	expect "$f" '127\.0\.0\.93 16000 +127\.0\.0\.94 17000 0xDEE0EE8F +g711A +236 +0 \('
	expect "$f" '127\.0\.0\.94 17000 +127\.0\.0\.93 16000 0xDEE0EE8F +g711A +236 +0 \('
	expect_count "$f" 'sip && (ip.addr == 127.0.0.93 || ip.addr == 127.0.0.94)' 0
}

# 6. Media moved by a re-INVITE: uac-reinvite.xml 127.0.0.87 ->
#    uas-reinvite.xml 127.0.0.88; RTP first to 127.0.0.88:17000, after the
#    re-INVITE from 127.0.0.87:16002 to 127.0.0.88:17002 (sipp sends from
#    the port of its own new offer).
make_reinvite() {
	local raw=reinvite-move.pcap f=reinvite-move.pcap
	log "$f"
	cap_start "$raw" 'host 127.0.0.87 or host 127.0.0.88'
	sipp_uas reinv-uas -sf "$SC/uas-reinvite.xml" -i 127.0.0.88 -p 5060 -mi 127.0.0.88 -mp 17000 -m 1
	sipp_uac reinv-uac -sf "$SC/uac-reinvite.xml" 127.0.0.88:5060 -i 127.0.0.87 -p 5060 -mi 127.0.0.87 \
		-mp 16000 -s 8700 -d 8000 -m 1 -cid_str 'media-reinvite-%u@127.0.0.87'
	wait_pid "$UAS_PID"
	cap_stop
	publish "$raw" "$f"
	expect "$f" 'INVITE +: +2 Packets'
	expect "$f" 'ACK +: +2 Packets'
	expect "$f" '127\.0\.0\.87 16000 +127\.0\.0\.88 17000 0xDEE0EE8F +g711A +236 +0 \('
	expect "$f" '127\.0\.0\.87 16002 +127\.0\.0\.88 17002 0xDEE0EE8F +g711A +236 +0 \('
	expect_count "$f" icmp 0
}

# 7a. One-way audio: uac-g711.xml 127.0.0.89 plays G.711, uas-g711.xml
#     127.0.0.90 answers a=sendrecv but sends nothing.
make_one-way() {
	local raw=one-way-audio.pcap f=one-way-audio.pcap
	log "$f"
	cap_start "$raw" 'host 127.0.0.89 or host 127.0.0.90'
	sipp_uas oneway-uas -sf "$SC/uas-g711.xml" -i 127.0.0.90 -p 5060 -mi 127.0.0.90 -mp 17000 -m 1
	sipp_uac oneway-uac -sf "$SC/uac-g711.xml" 127.0.0.90:5060 -i 127.0.0.89 -p 5060 -mi 127.0.0.89 \
		-mp 16000 -s 8900 -d 8000 -m 1 -cid_str 'media-one-way-%u@127.0.0.89'
	wait_pid "$UAS_PID"
	cap_stop
	publish "$raw" "$f"
	expect "$f" 'BYE +: +1 Packets'
	expect "$f" '127\.0\.0\.89 16000 +127\.0\.0\.90 17000 0xDEE0EE8F +g711A +236 +0 \('
	expect_count "$f" 'rtp && ip.src == 127.0.0.90' 0
}

# 7b. Media timeout: uac-g711.xml 127.0.0.95 -> uas-g711.xml 127.0.0.96; RTP
#     ends about 7 s after the ACK, the BYE comes at 47.5 s (-d 47500).
make_timeout() {
	local raw=media-timeout.pcap f=media-timeout.pcap
	log "$f (about 50 s)"
	cap_start "$raw" 'host 127.0.0.95 or host 127.0.0.96'
	sipp_uas mto-uas -sf "$SC/uas-g711.xml" -i 127.0.0.96 -p 5060 -mi 127.0.0.96 -mp 17000 -m 1
	sipp_uac mto-uac -sf "$SC/uac-g711.xml" 127.0.0.96:5060 -i 127.0.0.95 -p 5060 -mi 127.0.0.95 \
		-mp 16000 -s 9500 -d 47500 -m 1 -cid_str 'media-timeout-%u@127.0.0.95'
	wait_pid "$UAS_PID"
	cap_stop
	publish "$raw" "$f"
	expect "$f" 'BYE +: +1 Packets'
	expect "$f" '127\.0\.0\.95 16000 +127\.0\.0\.96 17000 0xDEE0EE8F +g711A +236 +0 \('
	local gap
	gap=$(tshark -n -r "$OUT/$f" -Y 'rtp || sip.Method == "BYE"' -T fields -e frame.time_relative 2>/dev/null |
		tail -2 | awk 'NR==1{a=$1} NR==2{printf "%d", $1-a}')
	[ "$gap" -ge 39 ] || die "$f: last RTP to BYE is $gap s, expected about 40"
	log "$f: ${gap} s from the last RTP packet to the BYE"
}

NAMES=(loss-jitter srtp tls downgrade third-party reinvite one-way timeout)
ALL=("${NAMES[@]}")
[ $# -gt 0 ] && ALL=("$@")
for n in "${ALL[@]}"; do
	case " ${NAMES[*]} " in
	*" $n "*) "make_$n" ;;
	*) die "unknown capture $n (one of: ${NAMES[*]})" ;;
	esac
done
log "done: $OUT"

#!/usr/bin/env bash
# Regenerate voip-sentinel's detection test captures into pcaps/detect/: one
# or more captures for every signature of rules/README.md that the captures of
# scripts/make-pcaps.sh, make-media-pcaps.sh and make-attack-pcaps.sh do not
# fire (scanner tools, sweeps and unanswered requests, challenge floods, new
# networks, dial-prefix probing, concurrent and long premium calls, broken
# PASSporTs, over-long fields and bad versions, empty fields, Call-ID reuse,
# INVITE replay, SRTP negotiated but sent in the clear, RTP injection and flood),
# and a real SIPVicious svwar INVITE extension walk.
#
# Same approach as scripts/make-attack-pcaps.sh: real tools on loopback
# addresses 127.0.0.190-247 and 127.0.1.193 (one set per scenario), every
# capture written by tcpdump on lo with a BPF filter limited to the scenario's
# addresses, started before and stopped after the traffic; every process runs
# under `timeout` and is stopped on exit. Real scanners where Debian has them:
# nmap's sip-methods NSE script, sipsak; and SIPVicious svwar from PyPI.
# Scanners Debian does not package (sipcli, VaxSIPUserAgent, pplsip, iWar,
# sip-scan, SiVuS, smap, SIPPTS, sundayddr, PortSIP-based bots) are played by
# sipp sending the OPTIONS probe with the tool's published User-Agent
# (scripts/detect/uac-options-ua.xml).
# Servers: kamailio 5.6 (scripts/detect/kamailio-detect.cfg) and sipp UASs.
# RTP injection and flood: tcpreplay-edit replays sipp's own g711a.pcap with
# rewritten addresses into the media port of a running call. No packet is sent
# to any address outside 127.0.0.0/8.
#
# Usage (as root):  scripts/make-detect-pcaps.sh [NAME...]
#   NAME is one of: nmap-sweep scanner-uas sipsak-flood challenge-flood
#     new-network prefix-probing concurrent-calls long-premium stir-invalid
#     anomalies callid-dialogs srtp-plaintext rtp-injection rtp-flood
#     invite-replay empty-fields svwar-invite        (default: all, ~3 min)
# Environment: OUT=dir to write somewhere other than pcaps/detect/;
#              KEEP_WORK=1 to keep the temporary directory;
#              NO_README=1 not to rewrite $OUT/README.md (scripts/detect/write-readme.py).
# Dependencies: those of scripts/install-deps.sh (sip-tester kamailio tcpdump
#   tshark tcpreplay iproute2 sipsak nmap) plus openssl and python3; for
#   svwar-invite, SIPVicious for that python3: pip install sipvicious==0.3.8.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SC="$ROOT/scripts/detect"
ATT="$ROOT/scripts/attack"
MED="$ROOT/scripts/media"
OUT=${OUT:-$ROOT/pcaps/detect}
PY=${PY:-python3}
SIPP_PCAPS=${SIPP_PCAPS:-/usr/share/sip-tester}

CAP_TAG=make-detect-pcaps
CAP_TOOLS=(sipp kamailio tcpdump tshark openssl timeout ss sipsak nmap tcpreplay-edit "$PY")
KAM_CFG="$SC/kamailio-detect.cfg" # digest registrar 127.0.0.200, answering servers .201-.213
KAM_ADDRS=(127.0.0.200:5060 127.0.0.213:5060)
# shellcheck source=scripts/capture-lib.sh
. "$ROOT/scripts/capture-lib.sh"

[ -f "$SIPP_PCAPS/g711a.pcap" ] || die "no $SIPP_PCAPS/g711a.pcap (package sip-tester)"
# the media scenarios play "pcap/g711a.pcap" relative to sipp's working directory
ln -s "$SIPP_PCAPS" "$WORK/pcap"
cd "$WORK"

# 1. nmap's sip-methods NSE script from 127.0.0.190 over twelve SIP servers
#    (kamailio on 127.0.0.201-212): one OPTIONS ("User-Agent: Nmap NSE") to
#    each, 200 OK from each.
make_nmap-sweep() {
	local f=nmap-sip-sweep.pcap
	log "$f"
	cap_start "$f" 'udp and host 127.0.0.190'
	kam_start nmap
	timeout 120 nmap -n -Pn -sU -p 5060 -S 127.0.0.190 -e lo --script sip-methods \
		127.0.0.201-212 >"$WORK/nmap.out" 2>&1 || { cat "$WORK/nmap.out" >&2; die "nmap failed"; }
	kam_stop
	cap_stop
	expect "$f" 'OPTIONS +: +12 Packets'
	expect "$f" 'SIP 200 OK +: +12 Packets'
	expect_count "$f" 'sip.User-Agent == "Nmap NSE"' 12
}

# 2. Scanner User-Agents: one OPTIONS probe per tool, each from its own
#    address 127.0.0.220-230, to kamailio 127.0.0.213 (200 OK). sipp plays
#    the tools Debian does not package (scripts/detect/uac-options-ua.xml with
#    the tool's agent string), and the mass-scanner template with Contact
#    sip:123@1.1.1.1 (uac-options-template.xml).
UAS_TOOLS=(
	"220|sipcli/v1.8"
	"221|VaxSIPUserAgent/3.1"
	"222|pplsip"
	"223|iWar"
	"224|sip-scan"
	"225|SIVuS_VoIP_Scanner"
	"226|smap"
	"227|SIPPTS"
	"228|sundayddr"
	"229|PortSIP VoIP SDK"
)
make_scanner-uas() {
	local f=scanner-user-agents.pcap t n ua
	log "$f"
	cap_start "$f" 'host 127.0.0.213 and (net 127.0.0.216/29 or net 127.0.0.224/29)'
	kam_start uas
	for t in "${UAS_TOOLS[@]}"; do
		n=${t%%|*}
		ua=${t#*|}
		sipp_uac "ua-$n" -sf "$SC/uac-options-ua.xml" -key ua "$ua" 127.0.0.213:5060 -i "127.0.0.$n" \
			-p 5060 -m 1 -cid_str "scanner-ua-$n-%u@127.0.0.$n"
	done
	sipp_uac ua-230 -sf "$SC/uac-options-template.xml" 127.0.0.213:5060 -i 127.0.0.230 -p 5060 -m 1 \
		-cid_str 'scanner-template-%u@127.0.0.230'
	kam_stop
	cap_stop
	expect "$f" 'OPTIONS +: +11 Packets'
	expect "$f" 'SIP 200 OK +: +11 Packets'
	expect_count "$f" 'sip.Contact contains "sip:123@1.1.1.1"' 1
}

# 3. sipsak flood mode from 127.0.0.191: 25 OPTIONS as fast as it can to
#    127.0.0.214, a host that takes them and never answers (sipp with
#    scripts/detect/uas-silent.xml); 6 s later one more (sipsak -F -e 1), so
#    that the capture runs past the 5 s after which a request is unanswered.
make_sipsak-flood() {
	local f=sipsak-flood-unanswered.pcap
	log "$f"
	cap_start "$f" 'host 127.0.0.214'
	sipp_uas silent -sf "$SC/uas-silent.xml" -i 127.0.0.214 -p 5060 -m 26
	timeout 30 sipsak -F -e 25 -s sip:probe@127.0.0.214 --local-ip=127.0.0.191 -l 5070 \
		>"$WORK/sipsak1.out" 2>&1 || { cat "$WORK/sipsak1.out" >&2; die "sipsak failed"; }
	sleep 6
	timeout 30 sipsak -F -e 1 -s sip:probe@127.0.0.214 --local-ip=127.0.0.191 -l 5070 \
		>"$WORK/sipsak2.out" 2>&1 || { cat "$WORK/sipsak2.out" >&2; die "sipsak failed"; }
	wait_pid "$UAS_PID"
	cap_stop
	expect "$f" 'OPTIONS +: +26 Packets'
	expect_count "$f" 'sip.Status-Code' 0
	expect_count "$f" 'sip.User-Agent contains "sipsak"' 26
}

# 4. Challenge flood: 25 REGISTERs without credentials (AOR chall1..25, a
#    Call-ID each) at 5/s from 127.0.0.192 to kamailio's digest registrar
#    127.0.0.200, which challenges each with 401 (never answered).
make_challenge-flood() {
	local f=challenge-flood.pcap
	log "$f"
	cap_start "$f" 'host 127.0.0.192'
	kam_start chall
	sipp_uac chall -sf "$SC/uac-register-challenged.xml" 127.0.0.200:5060 -i 127.0.0.192 -p 5060 \
		-s chall -m 25 -r 5 -cid_str 'chall-%u@127.0.0.192'
	kam_stop
	cap_stop
	expect "$f" 'REGISTER +: +25 Packets'
	expect "$f" 'SIP 401 Unauthorized +: +25 Packets'
	expect_calls "$f" 25
}

# 5. New network: alice registers (REGISTER, 401, REGISTER with the right
#    digest, 200) at kamailio 127.0.0.200 from 127.0.0.193, then from
#    127.0.1.193 (another /24), with scripts/pcaps/uac-register.xml.
make_new-network() {
	local f=register-new-network.pcap src
	log "$f"
	cap_start "$f" 'host 127.0.0.193 or host 127.0.1.193'
	kam_start newnet
	for src in 127.0.0.193 127.0.1.193; do
		sipp_uac "newnet-$src" -sf "$ROOT/scripts/pcaps/uac-register.xml" 127.0.0.200:5060 -i "$src" -p 5060 \
			-s alice -au alice -ap alice-secret -m 1 -cid_str "newnet-%u@$src"
		sleep 1
	done
	kam_stop
	cap_stop
	expect "$f" 'REGISTER +: +4 Packets'
	expect "$f" 'SIP 401 Unauthorized +: +2 Packets'
	expect "$f" 'SIP 200 OK +: +2 Packets'
}

# 6. Dial-prefix probing: account 1001 at 127.0.0.194 calls the 12 numbers of
#    scripts/detect/probe-numbers.csv (00 + 12 country/area prefixes), 2 per
#    second; kamailio 127.0.0.213 refuses each with 404, the caller ACKs.
make_prefix-probing() {
	local f=prefix-probing.pcap
	log "$f"
	cap_start "$f" 'host 127.0.0.194'
	kam_start probe
	sipp_uac probe -sf "$SC/uac-invite-fail.xml" -inf "$SC/probe-numbers.csv" 127.0.0.213:5060 \
		-i 127.0.0.194 -p 5060 -mi 127.0.0.194 -mp 16000 -s 1001 -m 12 -r 2 \
		-cid_str 'probe-%u@127.0.0.194'
	kam_stop
	cap_stop
	expect "$f" 'INVITE +: +12 Packets'
	expect "$f" 'SIP 404 Not Found +: +12 Packets'
	expect "$f" 'ACK +: +12 Packets'
	expect_calls "$f" 12
}

# 7. Concurrent calls: account 1001 at 127.0.0.195 places 22 calls (numbers
#    of scripts/detect/national-numbers.csv) at 10/s to a sipp UAS 127.0.0.196
#    (scripts/detect/uas-hold-bye.xml) that answers each and hangs up after
#    6 s: all 22 are up at once.
make_concurrent-calls() {
	local f=concurrent-calls.pcap
	log "$f"
	cap_start "$f" 'host 127.0.0.195 or host 127.0.0.196'
	sipp_uas conc-uas -sf "$SC/uas-hold-bye.xml" -i 127.0.0.196 -p 5060 -mi 127.0.0.196 -mp 17000 \
		-d 6000 -m 22
	sipp_uac conc-uac -sf "$ATT/uac-toll-fraud.xml" -inf "$SC/national-numbers.csv" 127.0.0.196:5060 \
		-i 127.0.0.195 -p 5060 -mi 127.0.0.195 -mp 16000 -s 1001 -m 22 -r 10 -l 30 \
		-cid_str 'conc-%u@127.0.0.195'
	wait_pid "$UAS_PID"
	cap_stop
	expect "$f" 'INVITE +: +22 Packets'
	expect "$f" 'BYE +: +22 Packets'
	expect "$f" 'SIP 200 OK +: +44 Packets'
	expect_calls "$f" 22
}

# 8. A premium call held for 4 s: 1001 at 127.0.0.197 calls +1 900 555 0123
#    through a sipp UAS 127.0.0.198 (uas-hold-bye.xml, -d 4000).
make_long-premium() {
	local f=long-premium-call.pcap
	log "$f"
	cap_start "$f" 'host 127.0.0.197 or host 127.0.0.198'
	sipp_uas long-uas -sf "$SC/uas-hold-bye.xml" -i 127.0.0.198 -p 5060 -mi 127.0.0.198 -mp 17000 \
		-d 4000 -m 1
	sipp_uac long-uac -sf "$ATT/uac-toll-fraud.xml" -inf "$SC/premium-number.csv" 127.0.0.198:5060 \
		-i 127.0.0.197 -p 5060 -mi 127.0.0.197 -mp 16000 -s 1001 -m 1 \
		-cid_str 'long-%u@127.0.0.197'
	wait_pid "$UAS_PID"
	cap_stop
	expect "$f" 'INVITE +: +1 Packets'
	expect "$f" 'BYE +: +1 Packets'
}

# 9. Broken PASSporTs: two answered calls 127.0.0.237 -> sipp UAS 127.0.0.238
#    with an Identity header (scripts/attack/uac-stir-shaken.xml): a SHAKEN
#    PASSporT signed ES256 by a P-256 key made for the run whose dest.tn is
#    not the called number, and a token that is no JWS
#    (scripts/detect/stir-shaken-detect.py).
make_stir-invalid() {
	local f=stir-shaken-invalid.pcap
	log "$f"
	(
		umask 077
		openssl ecparam -name prime256v1 -genkey -noout -out "$WORK/stir-key.pem" 2>/dev/null
	)
	"$PY" "$SC/stir-shaken-detect.py" "$WORK/stir-key.pem" "$WORK/stir-detect.csv" >&2
	cap_start "$f" 'host 127.0.0.237 or host 127.0.0.238'
	sipp_uas stir-uas -sf "$ATT/uas-answer-bye.xml" -i 127.0.0.238 -p 5060 -mi 127.0.0.238 -mp 17000 -m 2
	sipp_uac stir-uac -sf "$ATT/uac-stir-shaken.xml" -inf "$WORK/stir-detect.csv" 127.0.0.238:5060 \
		-i 127.0.0.237 -p 5060 -mi 127.0.0.237 -mp 16000 -s caller -m 2 -r 1 -l 2 \
		-cid_str 'stir-bad-%u@127.0.0.237'
	wait_pid "$UAS_PID"
	cap_stop
	expect "$f" 'INVITE +: +2 Packets'
	expect "$f" 'BYE +: +2 Packets'
	expect_count "$f" 'sip.Identity' 2
}

# 10. What fuzzers send, one Call-ID from sipp 127.0.0.231 to a sipp UAS
#     127.0.0.232 (scripts/detect/uac-anomalies.xml, uas-anomalies.xml): a
#     340-byte Request-URI, a 330-byte To, a SIP/3.0 request (answered 505),
#     520 extra header lines, and an OPTIONS answered "SIP/1.0 200 OK".
make_anomalies() {
	local f=sip-anomalies.pcap
	log "$f"
	cap_start "$f" 'host 127.0.0.231 or host 127.0.0.232'
	sipp_uas anom-uas -sf "$SC/uas-anomalies.xml" -i 127.0.0.232 -p 5060 -m 1
	sipp_uac anom-uac -sf "$SC/uac-anomalies.xml" 127.0.0.232:5060 -i 127.0.0.231 -p 5060 -m 1 \
		-cid_str 'anomalies-%u@127.0.0.231'
	wait_pid "$UAS_PID"
	cap_stop
	# tshark dissects neither the SIP/3.0 request nor the SIP/1.0 response as SIP
	expect "$f" 'OPTIONS +: +4 Packets'
	expect "$f" 'SIP 505 Version Not Supported +: +1 Packets'
	expect_count "$f" 'udp' 10
}

# 11. Five INVITEs with one Call-ID and five From tags (sipp -cid_str without
#     %u, five sipp runs), one after the other from 127.0.0.236 to kamailio 127.0.0.213, each
#     refused 404 and acknowledged.
make_callid-dialogs() {
	local f=callid-dialogs.pcap
	log "$f"
	cap_start "$f" 'host 127.0.0.236'
	kam_start callid
	# one sipp run per INVITE: a single sipp would take the later answers for
	# retransmissions to its finished first call (same Call-ID); each run has
	# its own pid, hence its own From tag.
	for i in 1 2 3 4 5; do
		sipp_uac "callid-$i" -sf "$SC/uac-invite-fail.xml" -inf "$SC/national-numbers.csv" \
			127.0.0.213:5060 -i 127.0.0.236 -p 5060 -mi 127.0.0.236 -mp 16000 -s 1001 -m 1 \
			-cid_str 'one-call-id@127.0.0.236'
		sleep 0.3
	done
	kam_stop
	cap_stop
	expect "$f" 'INVITE +: +5 Packets'
	expect "$f" 'SIP 404 Not Found +: +5 Packets'
	expect_calls "$f" 1
}

# 12. SRTP negotiated (RTP/SAVP with a=crypto in both SDPs, as
#     scripts/make-media-pcaps.sh make_srtp) but the media is NOT encrypted:
#     both sides play the plaintext g711a.pcap. 127.0.0.241 -> 127.0.0.242.
KEY_UAC=dGhpcy1pcy1ub3QtYS1yZWFsLWtleS0xMjM0NTY3 # test key, never used to encrypt
KEY_UAS=YW5vdGhlci10ZXN0LWtleS1mb3ItdGhlLXVhcy0x
make_srtp-plaintext() {
	local f=srtp-plaintext.pcap
	log "$f"
	cap_start "$f" 'host 127.0.0.241 or host 127.0.0.242'
	sipp_uas sp-uas -sf "$MED/uas-srtp.xml" -key crypto_key "$KEY_UAS" -i 127.0.0.242 -p 5060 \
		-mi 127.0.0.242 -mp 17000 -m 1
	sipp_uac sp-uac -sf "$MED/uac-srtp.xml" -key crypto_key "$KEY_UAC" 127.0.0.242:5060 \
		-i 127.0.0.241 -p 5060 -mi 127.0.0.241 -mp 16000 -s 2410 -d 8000 -m 1 \
		-cid_str 'srtp-plaintext-%u@127.0.0.241'
	wait_pid "$UAS_PID"
	cap_stop
	expect "$f" 'INVITE +: +1 Packets'
	expect_count "$f" 'rtp' 472
}

# rtp_call NAME REPLAY...: a plain call 127.0.0.233 -> 127.0.0.234 (media
# scenarios uac-g711.xml / uas-g711.xml: the caller plays g711a.pcap to
# 127.0.0.234:17000 for 7 s, BYE after 8 s); 2.5 s after it starts,
# tcpreplay-edit replays an RTP stream from 127.0.0.235:16500 into
# 127.0.0.234:17000 (addresses and ports rewritten, checksums fixed), with the
# arguments REPLAY... (the input capture, its address and port maps, rate).
rtp_call() {
	local f=$1
	shift
	cap_start "$f" 'host 127.0.0.233 or host 127.0.0.234 or host 127.0.0.235'
	sipp_uas inj-uas -sf "$MED/uas-g711.xml" -i 127.0.0.234 -p 5060 -mi 127.0.0.234 -mp 17000 -m 1
	spawn timeout 60 sipp -sf "$MED/uac-g711.xml" 127.0.0.234:5060 -i 127.0.0.233 -p 5060 \
		-mi 127.0.0.233 -mp 16000 -s 2330 -d 8000 -m 1 -cid_str "${f%.pcap}-%u@127.0.0.233" \
		-nostdin -timeout 50 -timeout_error >"$WORK/inj-uac.out" 2>&1
	local uac=$BG_PID
	sleep 2.5
	timeout 60 tcpreplay-edit --intf1=lo --fixcsum "$@" >"$WORK/tcpreplay.out" 2>&1 ||
		{ cat "$WORK/tcpreplay.out" >&2; die "tcpreplay-edit failed"; }
	wait "$uac" || { tail -20 "$WORK/inj-uac.out" >&2; die "sipp client failed"; }
	wait_pid "$UAS_PID"
	cap_stop
	expect "$f" 'INVITE +: +1 Packets'
}

# 13. RTP injection: sipp's g711a.pcap (236 packets) from 127.0.0.235, an
#     address no SDP announced, into the call's media port at its recorded
#     pace (about 33 per second).
make_rtp-injection() {
	local f=rtp-injection.pcap
	log "$f"
	rtp_call "$f" --srcipmap=10.1.3.143/32:127.0.0.235/32 --dstipmap=10.1.6.18/32:127.0.0.234/32 \
		--portmap=2006:17000,5000:16500 "$SIPP_PCAPS/g711a.pcap"
	expect_count "$f" 'ip.src == 127.0.0.235' 236
}

# 14. RTP flood: first a stream of 708 packets with continuous sequence
#     numbers is recorded: sipp 127.0.0.243 (scripts/detect/uac-g711-stream.xml,
#     sipp's rtp_stream generator fed with the A-law payload of g711a.pcap,
#     extracted by tshark, played twice) calls a sipp UAS 127.0.0.244, and
#     tcpdump keeps only its RTP (127.0.0.243:16600, 20 ms apart). Then that
#     stream goes into the call of rtp_call at 1000 packets per second.
make_rtp-flood() {
	local f=rtp-flood.pcap
	log "$f"
	tshark -n -r "$SIPP_PCAPS/g711a.pcap" -d udp.port==2006,rtp -T fields -e rtp.payload 2>/dev/null |
		"$PY" -c 'import sys; sys.stdout.buffer.write(b"".join(bytes.fromhex(l.strip().replace(":", "")) for l in sys.stdin if l.strip()))' \
			>"$WORK/g711a.pcma"
	[ "$(stat -c %s "$WORK/g711a.pcma")" -eq 56640 ] || die "g711a.pcma: unexpected size"
	cap_start stream.pcap 'udp and src host 127.0.0.243 and src port 16600'
	sipp_uas stream-uas -sf "$MED/uas-g711.xml" -i 127.0.0.244 -p 5060 -mi 127.0.0.244 -mp 17000 -m 1
	sipp_uac stream-uac -sf "$SC/uac-g711-stream.xml" 127.0.0.244:5060 -i 127.0.0.243 -p 5060 \
		-mi 127.0.0.243 -mp 16600 -s 2430 -d 15000 -m 1 -cid_str 'stream-%u@127.0.0.243'
	wait_pid "$UAS_PID"
	cap_stop
	mv "$OUT/stream.pcap" "$WORK/stream.pcap"
	local n
	n=$(tshark -n -r "$WORK/stream.pcap" 2>/dev/null | wc -l)
	[ "$n" -eq 708 ] || die "stream.pcap: $n packets, expected 708"
	rtp_call "$f" --srcipmap=127.0.0.243/32:127.0.0.235/32 --dstipmap=127.0.0.244/32:127.0.0.234/32 \
		--portmap=16600:16500 --pps=1000 "$WORK/stream.pcap"
	expect_count "$f" 'ip.src == 127.0.0.235' 708
}

# 15. INVITE replay: 1001 at 127.0.0.239 sends an INVITE to kamailio
#     127.0.0.213 (404, ACK), and 65 s later the identical INVITE again
#     (scripts/detect/uac-invite-replay.xml: fixed branch, tag, CSeq).
make_invite-replay() {
	local f=invite-replay.pcap
	log "$f (65 s)"
	cap_start "$f" 'host 127.0.0.239'
	kam_start replay
	SIPP_TIMEOUT=100 sipp_uac replay -sf "$SC/uac-invite-replay.xml" 127.0.0.213:5060 \
		-i 127.0.0.239 -p 5060 -m 1 -cid_str 'replay-%u@127.0.0.239'
	kam_stop
	cap_stop
	expect "$f" 'INVITE +: +2 Packets'
	expect "$f" 'SIP 404 Not Found +: +2 Packets'
	expect_calls "$f" 1
}

# 16. Empty and out-of-range fields, as fuzzers send them, from sipp
#     127.0.0.245 to a sipp UAS 127.0.0.246 (scripts/detect/uac-empty-fields.xml,
#     uas-empty-fields.xml), one Call-ID but for the first: OPTIONS with an
#     empty Call-ID (which the sipp UAS discards), an empty From (200), an
#     empty To (200), an empty and only Via (200); an INVITE with SDP and an
#     empty Contact (486, ACK); an OPTIONS with CSeq 3000000000 (200); a
#     MESSAGE with a body and no Content-Type (200); one datagram holding two
#     complete OPTIONS (CSeq 8 and 9, not answered); an INVITE with an empty
#     Request-URI, "INVITE  SIP/2.0" (not answered).
make_empty-fields() {
	local f=sip-empty-fields.pcap
	log "$f"
	cap_start "$f" 'host 127.0.0.245 or host 127.0.0.246'
	sipp_uas empty-uas -sf "$SC/uas-empty-fields.xml" -i 127.0.0.246 -p 5060 -m 1
	sipp_uac empty-uac -sf "$SC/uac-empty-fields.xml" 127.0.0.246:5060 -i 127.0.0.245 -p 5060 \
		-mi 127.0.0.245 -mp 16000 -m 1 -cid_str 'empty-fields-%u@127.0.0.245'
	wait_pid "$UAS_PID"
	cap_stop
	# 11 requests (the ACK included) in 10 datagrams, 6 answers; tshark takes the
	# INVITE without Request-URI for no SIP, and of the two OPTIONS in one
	# datagram dissects only the first
	expect_count "$f" 'udp' 16
	expect_count "$f" 'sip' 15
	expect "$f" 'OPTIONS +: +6 Packets'
	expect "$f" 'INVITE +: +1 Packets'
	expect "$f" 'ACK +: +1 Packets'
	expect "$f" 'MESSAGE +: +1 Packets'
	expect "$f" 'SIP 200 OK +: +5 Packets'
	expect "$f" 'SIP 486 Busy Here +: +1 Packets'
	expect_count "$f" 'udp contains "\r\nCall-ID: \r\n"' 1
	expect_count "$f" 'udp contains "\r\nFrom: \r\n"' 1
	expect_count "$f" 'udp contains "\r\nTo: \r\n"' 1
	expect_count "$f" 'udp contains "\r\nVia: \r\n" and not udp contains "\r\nVia: SIP"' 1
	expect_count "$f" 'sip.Method == "INVITE" and udp contains "\r\nContact: \r\n" and sdp' 1
	expect_count "$f" 'sip.Method == "OPTIONS" and sip.CSeq.seq == 3000000000' 1
	expect_count "$f" 'sip.Method == "MESSAGE" and sip.Content-Length == 21 and not sip.Content-Type' 1
	expect_count "$f" 'udp contains "CSeq: 8 OPTIONS\r\n" and udp contains "Content-Length: 0\r\n\r\nOPTIONS sip:" and udp contains "CSeq: 9 OPTIONS\r\n" and udp.payload[-4:] == 0d:0a:0d:0a' 1
	expect_count "$f" 'udp.payload[0:17] == "INVITE  SIP/2.0\r\n"' 1
	expect_calls "$f" 1
}

# 17. Real SIPVicious svwar 0.3.8 (PyPI sipvicious) walking extensions
#     200-230 with INVITE from 127.0.0.247:5060 against kamailio 127.0.0.213,
#     which refuses every INVITE with 404: first svwar's own probe of a random
#     nonexistent extension (a 32-bit number, up to 10 digits: how it learns
#     the "no such user" answer), then sip:200@127.0.0.213 ...
#     sip:230@127.0.0.213, one Call-ID each, every 404 acknowledged
#     (User-Agent: friendly-scanner). kamailio never rings, hence no CANCEL;
#     svwar stops 0.5 s after the last answer. svwar 0.3.8 ignores its own
#     -b/--bindingip (it would send from 127.0.0.1): scripts/detect/svwar-bound.py
#     runs svwar's main() with -b passed on, nothing else changed.
make_svwar-invite() {
	local f=svwar-invite.pcap users
	"$PY" -c 'import sipvicious.svwar' 2>/dev/null || die "no sipvicious for $PY: pip install sipvicious (see header)"
	log "$f"
	cap_start "$f" 'host 127.0.0.247'
	kam_start svwar
	timeout 60 "$PY" "$SC/svwar-bound.py" -m INVITE -e 200-230 -b 127.0.0.247 -P 5060 127.0.0.213 \
		>"$WORK/svwar.out" 2>&1 || { cat "$WORK/svwar.out" >&2; die "svwar failed"; }
	kam_stop
	cap_stop
	expect "$f" 'INVITE +: +32 Packets'
	expect "$f" 'SIP 404 Not Found +: +32 Packets'
	expect "$f" 'ACK +: +32 Packets'
	expect_count "$f" 'sip.Method == "INVITE" and sip.User-Agent == "friendly-scanner"' 32
	expect_count "$f" 'sip.Method == "INVITE" and sip.r-uri.user == "225"' 1
	expect_count "$f" 'ip.src != 127.0.0.247 and ip.src != 127.0.0.213' 0
	# every extension 200..230 exactly once (the 32nd INVITE is svwar's probe)
	users=$(tshark -n -r "$OUT/$f" -Y 'sip.Method == "INVITE"' -T fields -e sip.r-uri.user 2>/dev/null |
		grep -xE '2[0-2][0-9]|230' | sort -n | tr '\n' ' ')
	[ "$users" = "$(seq -s ' ' 200 230) " ] || die "$f: INVITE users 200-230 expected once each, got: $users"
	expect_calls "$f" 32
}

ALL=(nmap-sweep scanner-uas sipsak-flood challenge-flood new-network prefix-probing
	concurrent-calls long-premium stir-invalid anomalies callid-dialogs srtp-plaintext
	rtp-injection rtp-flood invite-replay empty-fields svwar-invite)
[ $# -gt 0 ] && ALL=("$@")
for n in "${ALL[@]}"; do
	case " nmap-sweep scanner-uas sipsak-flood challenge-flood new-network prefix-probing concurrent-calls long-premium stir-invalid anomalies callid-dialogs srtp-plaintext rtp-injection rtp-flood invite-replay empty-fields svwar-invite " in
	*" $n "*) "make_$n" ;;
	*) die "unknown capture $n" ;;
	esac
done
# README facts (tshark); NO_README=1 skips that.
if [ -z "${NO_README:-}" ]; then
	"$PY" "$SC/write-readme.py" --out "$OUT" || die "write-readme.py failed"
fi
log "done: $OUT"

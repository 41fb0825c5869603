#!/usr/bin/env bash
# Regenerate voip-sentinel's attack test captures into pcaps/attack/.
#
# Same approach as scripts/make-pcaps.sh: real SIP stacks (sipp 3.6 and
# kamailio 5.6 with its auth module) on loopback addresses 127.0.0.150-
# 127.0.0.176 (one set per scenario), every capture written by tcpdump on lo
# with a BPF filter limited to the scenario's addresses, started before and
# stopped after the traffic; every process runs under `timeout` and is
# stopped on exit. The STIR/SHAKEN PASSporTs are signed with an EC P-256 key
# made by openssl for the run in the temporary directory (never written to
# the repository, never printed); scripts/attack/stir-shaken-inf.py builds
# them. No packet is sent to any address outside 127.0.0.0/8.
#
# Usage (as root):  scripts/make-attack-pcaps.sh [NAME...]
#   NAME is one of: bruteforce distributed invite-flood register-flood
#                   toll-fraud spoofing stir-shaken      (default: all, ~80 s)
# Environment: OUT=dir to write somewhere other than pcaps/attack/;
#              KEEP_WORK=1 to keep the temporary directory (and the key).
# Dependencies: those of scripts/install-deps.sh (sip-tester kamailio tcpdump
#   tshark iproute2) plus openssl and python3 (standard library only).
# At the end scripts/attack/write-readme.py rewrites $OUT/README.md (facts
# from tshark); NO_README=1 skips that.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SC="$ROOT/scripts/attack"
OUT=${OUT:-$ROOT/pcaps/attack}
PY=${PY:-python3}

CAP_TAG=make-attack-pcaps
CAP_TOOLS=(sipp kamailio tcpdump tshark openssl timeout ss "$PY")
# scripts/attack/kamailio-attack.cfg: digest auth on 127.0.0.151, open registrar on 127.0.0.163
KAM_CFG="$SC/kamailio-attack.cfg"
KAM_ADDRS=(127.0.0.151:5060 127.0.0.163:5060)
# shellcheck source=scripts/capture-lib.sh
. "$ROOT/scripts/capture-lib.sh"

cd "$WORK"

# guess SRC USER PASSWORD TAG: one REGISTER/401/REGISTER(+Authorization)
# round against the kamailio registrar 127.0.0.151 (scripts/attack/
# uac-register-guess.xml); the final response is 200, 403 or 401.
guess() {
	local src=$1 user=$2 pass=$3 tag=$4
	sipp_uac "guess-$tag" -sf "$SC/uac-register-guess.xml" 127.0.0.151:5060 -i "$src" -p 5060 \
		-s "$user" -au "$user" -ap "$pass" -m 1 -cid_str "$tag-%u@$src"
}

# 1. Password guessing for alice from one source (127.0.0.150): the 12 wrong
#    passwords of scripts/attack/alice-passwords.txt, then the right one
#    (its last line), one REGISTER round each, 0.2 s apart (5 per second).
make_bruteforce() {
	local f=register-bruteforce.pcap n=0 pw
	log "$f"
	cap_start "$f" 'host 127.0.0.150 or host 127.0.0.151'
	kam_start bruteforce
	while IFS= read -r pw; do
		[ -n "$pw" ] || continue
		n=$((n + 1))
		guess 127.0.0.150 alice "$pw" "bf-alice-$n"
		sleep 0.2
	done <"$SC/alice-passwords.txt"
	kam_stop
	cap_stop
	expect "$f" 'REGISTER +: +26 Packets'
	expect "$f" 'SIP 401 Unauthorized +: +13 Packets'
	expect "$f" 'SIP 403 Forbidden +: +12 Packets'
	expect "$f" 'SIP 200 OK +: +1 Packets'
	expect_calls "$f" 13
}

# 2. Distributed password guessing for bob: 6 sources 127.0.0.152-157, each
#    tries 2 wrong passwords (scripts/attack/bob-passwords.txt, lines 2k-1
#    and 2k for source k), round-robin over the sources, 0.2 s apart.
make_distributed() {
	local f=distributed-bruteforce.pcap round k src
	local -a pws
	mapfile -t pws < <(grep . "$SC/bob-passwords.txt")
	[ "${#pws[@]}" -ge 12 ] || die "need 12 passwords in bob-passwords.txt"
	log "$f"
	cap_start "$f" 'host 127.0.0.151 or host 127.0.0.152 or host 127.0.0.153 or host 127.0.0.154 or host 127.0.0.155 or host 127.0.0.156 or host 127.0.0.157'
	kam_start distributed
	for round in 0 1; do
		for k in 0 1 2 3 4 5; do
			src=127.0.0.$((152 + k))
			guess "$src" bob "${pws[$((2 * k + round))]}" "dist-bob-$((k + 1))-$((round + 1))"
			sleep 0.2
		done
	done
	kam_stop
	cap_stop
	expect "$f" 'REGISTER +: +24 Packets'
	expect "$f" 'SIP 401 Unauthorized +: +12 Packets'
	expect "$f" 'SIP 403 Forbidden +: +12 Packets'
	expect_calls "$f" 12
	local srcs
	srcs=$(tshark -n -r "$OUT/$f" -Y 'sip.Method == "REGISTER"' -T fields -e ip.src 2>/dev/null | sort -u | wc -l)
	[ "$srcs" -eq 6 ] || die "$f: $srcs REGISTER sources, expected 6"
}

# 3a. INVITE flood: 300 INVITEs (no SDP) at 150/s from 127.0.0.160 to a sipp
#     UAS 127.0.0.161 (scripts/attack/uas-flood.xml) that answers 486 to
#     users 486x and 200 to the others (callees cycle 4861, 2001, 4862:
#     200 busy, 100 answered; answered calls get ACK and BYE at once).
make_invite-flood() {
	local f=invite-flood.pcap
	log "$f"
	cap_start "$f" 'host 127.0.0.160 or host 127.0.0.161'
	sipp_uas flood-uas -sf "$SC/uas-flood.xml" -i 127.0.0.161 -p 5060 -m 300
	sipp_uac flood-uac -sf "$SC/uac-invite-flood.xml" -inf "$SC/flood-callees.csv" 127.0.0.161:5060 \
		-i 127.0.0.160 -p 5060 -s 1001 -m 300 -r 150 -rp 1000 -cid_str 'flood-%u@127.0.0.160'
	wait_pid "$UAS_PID"
	cap_stop
	expect "$f" 'INVITE +: +300 Packets'
	expect "$f" 'ACK +: +300 Packets'
	expect "$f" 'BYE +: +100 Packets'
	expect "$f" 'SIP 486 Busy Here +: +200 Packets'
	expect "$f" 'SIP 200 OK +: +200 Packets'
	expect_calls "$f" 300
}

# 3b. REGISTER flood: 300 REGISTERs (no auth, AOR flood1..flood300) at 150/s
#     from 127.0.0.162 to kamailio's open registrar address 127.0.0.163.
make_register-flood() {
	local f=register-flood.pcap
	log "$f"
	cap_start "$f" 'host 127.0.0.162 or host 127.0.0.163'
	kam_start regflood
	sipp_uac regflood-uac -sf "$SC/uac-register-flood.xml" 127.0.0.163:5060 -i 127.0.0.162 -p 5060 \
		-s flood -m 300 -r 150 -rp 1000 -cid_str 'regflood-%u@127.0.0.162'
	kam_stop
	cap_stop
	expect "$f" 'REGISTER +: +300 Packets'
	expect "$f" 'SIP 200 OK +: +300 Packets'
	expect_calls "$f" 300
}

# 4. Toll fraud: account 1001 (127.0.0.165) calls the 18 numbers of
#    scripts/attack/toll-fraud-numbers.csv (12 international, 3 satellite,
#    2 premium, 1 IRSF) at 1 call/s through to a sipp UAS 127.0.0.166
#    (scripts/attack/uas-answer-bye.xml) that answers and hangs up after 1 s.
make_toll-fraud() {
	local f=toll-fraud.pcap
	log "$f"
	cap_start "$f" 'host 127.0.0.165 or host 127.0.0.166'
	sipp_uas toll-uas -sf "$SC/uas-answer-bye.xml" -i 127.0.0.166 -p 5060 -mi 127.0.0.166 -mp 17000 -m 18
	sipp_uac toll-uac -sf "$SC/uac-toll-fraud.xml" -inf "$SC/toll-fraud-numbers.csv" 127.0.0.166:5060 \
		-i 127.0.0.165 -p 5060 -mi 127.0.0.165 -mp 16000 -s 1001 -m 18 -r 1 -l 3 \
		-cid_str 'toll-%u@127.0.0.165'
	wait_pid "$UAS_PID"
	cap_stop
	expect "$f" 'INVITE +: +18 Packets'
	expect "$f" 'ACK +: +18 Packets'
	expect "$f" 'BYE +: +18 Packets'
	expect "$f" 'SIP 200 OK +: +36 Packets'
	expect_calls "$f" 18
}

# 5. Caller-ID spoofing: 4 answered calls from 127.0.0.170 to a sipp UAS
#    127.0.0.171 (uas-answer-bye.xml), From / display name / P-Asserted-
#    Identity from scripts/attack/callerid-spoof.csv (3 spoofed, 1 control).
make_spoofing() {
	local f=callerid-spoofing.pcap
	log "$f"
	cap_start "$f" 'host 127.0.0.170 or host 127.0.0.171'
	sipp_uas spoof-uas -sf "$SC/uas-answer-bye.xml" -i 127.0.0.171 -p 5060 -mi 127.0.0.171 -mp 17000 -m 4
	sipp_uac spoof-uac -sf "$SC/uac-callerid-spoof.xml" -inf "$SC/callerid-spoof.csv" 127.0.0.171:5060 \
		-i 127.0.0.170 -p 5060 -mi 127.0.0.170 -mp 16000 -s 1001 -m 4 -r 1 -l 2 \
		-cid_str 'spoof-%u@127.0.0.170'
	wait_pid "$UAS_PID"
	cap_stop
	expect "$f" 'INVITE +: +4 Packets'
	expect "$f" 'BYE +: +4 Packets'
	expect "$f" 'SIP 200 OK +: +8 Packets'
	expect_calls "$f" 4
	expect_count "$f" 'sip.Method == "INVITE" && sip.P-Asserted-Identity' 4
	expect_count "$f" 'sip.Method == "INVITE" && sip.from.display.info contains "Acme Corp Support"' 1
}

# 6. STIR/SHAKEN: 4 answered calls from 127.0.0.175 to a sipp UAS 127.0.0.176
#    whose INVITEs carry an RFC 8224 Identity header with a SHAKEN PASSporT
#    signed ES256 by a P-256 key made here (attestation A, B, C, and A with
#    an orig.tn that does not match the From number).
make_stir-shaken() {
	local f=stir-shaken.pcap
	log "$f"
	(
		umask 077
		openssl ecparam -name prime256v1 -genkey -noout -out "$WORK/stir-key.pem" 2>/dev/null
	)
	openssl ec -in "$WORK/stir-key.pem" -pubout -out "$WORK/stir-pub.pem" 2>/dev/null
	"$PY" "$SC/stir-shaken-inf.py" sign "$WORK/stir-key.pem" "$WORK/stir-shaken.csv" >&2
	cap_start "$f" 'host 127.0.0.175 or host 127.0.0.176'
	sipp_uas stir-uas -sf "$SC/uas-answer-bye.xml" -i 127.0.0.176 -p 5060 -mi 127.0.0.176 -mp 17000 -m 4
	sipp_uac stir-uac -sf "$SC/uac-stir-shaken.xml" -inf "$WORK/stir-shaken.csv" 127.0.0.176:5060 \
		-i 127.0.0.175 -p 5060 -mi 127.0.0.175 -mp 16000 -s caller -m 4 -r 1 -l 2 \
		-cid_str 'stir-%u@127.0.0.175'
	wait_pid "$UAS_PID"
	cap_stop
	expect "$f" 'INVITE +: +4 Packets'
	expect "$f" 'BYE +: +4 Packets'
	expect_calls "$f" 4
	expect_count "$f" 'sip.Identity' 4
	# every signature verifies with the run's public key
	tshark -n -r "$OUT/$f" -Y sip.Identity -T fields -e sip.Identity 2>/dev/null |
		"$PY" "$SC/stir-shaken-inf.py" verify "$WORK/stir-pub.pem" >&2 ||
		die "$f: a PASSporT signature does not verify"
	STIR_PUB="$WORK/stir-pub.pem"
}

STIR_PUB=
ALL=(bruteforce distributed invite-flood register-flood toll-fraud spoofing stir-shaken)
[ $# -gt 0 ] && ALL=("$@")
for n in "${ALL[@]}"; do
	case $n in
	bruteforce | distributed | invite-flood | register-flood | toll-fraud | spoofing | stir-shaken) "make_$n" ;;
	*) die "unknown capture $n (one of: ${ALL[*]})" ;;
	esac
done
# README facts; the STIR/SHAKEN public key (never the private one) goes into
# it when that capture was made in this run.
if [ -z "${NO_README:-}" ]; then
	"$PY" "$SC/write-readme.py" --out "$OUT" ${STIR_PUB:+--stir-pub "$STIR_PUB"} ||
		die "write-readme.py failed"
fi
log "done: $OUT"

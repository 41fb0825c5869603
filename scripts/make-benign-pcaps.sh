#!/usr/bin/env bash
# Make voip-sentinel's benign captures into pcaps/benign/: ordinary business
# telephony, the false-positive test bed of the detectors (issue 18, item 4).
# On these the sensor should raise nothing but the eavesdropping alerts
# (plaintext SIP and RTP, which are true); pcaps/benign/README.md lists what it
# raises.
#
#   office       office.pcap, about 4 min 50 s: an office of 40 phones (one
#                address each, real products' User-Agents) on a Kamailio PBX
#                with digest authentication (401 for REGISTER, 407 for
#                INVITE): registrations refreshed every 60-100 s, three users
#                who mistype their password once, 50 calls (internal,
#                national, international, incoming from the carrier; hold and
#                resume, CANCEL while ringing, busy, voicemail, transfers with
#                REFER/NOTIFY), 3 s of G.711 A-law each way per answered call,
#                and an SBC pinging 16 trunks and gateways with OPTIONS every 15 s.
#   call-centre  call-centre.pcap, about 3 min 10 s: three diallers (Asterisk,
#                Asterisk, FreeSWITCH) placing 5 calls/s in all for 2 min to
#                UK national numbers through an authenticating Kamailio (407
#                on every INVITE) to the carrier; answered calls of 8-60 s
#                (about 50 up at once per dialler), busy numbers, unanswered
#                ones given up after 6 s; no RTP. Its site profile (a UK
#                dialling context, the diallers' channel count) is in
#                pcaps/benign/call-centre.rules/.
#
# Real tools on loopback: Kamailio 5.6 (scripts/benign/kamailio-pbx.cfg,
# kamailio-sbc.cfg) and sipp 3.6 (scenarios in scripts/benign/), one sipp per
# phone on the phone's own address. Addresses 127.0.0.100-185 only, port 5060;
# tcpdump on lo with a filter on 127.0.0.100-199, started before and stopped
# after the traffic. Every process runs under `timeout` and the script stops
# the ones it started (by pid) on exit. The office's plan is in
# scripts/benign/office-phones.csv and office-calls.csv (checked by
# scripts/benign/office-plan.py); the script checks each capture's message and
# dialog counts with scripts/benign/facts.py and fails if they are off.
#
# Usage (as root):  scripts/make-benign-pcaps.sh [office] [call-centre]   (default: both, ~8 min)
# Environment: OUT=dir instead of pcaps/benign/; KEEP_WORK=1 keeps the work
# directory (sipp logs, Kamailio logs, the generated plans).
# Dependencies: scripts/install-deps.sh (sip-tester kamailio tcpdump tshark),
# python3.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SC="$ROOT/scripts/benign"
OUT=${OUT:-$ROOT/pcaps/benign}
SIPP_PCAPS=${SIPP_PCAPS:-/usr/share/sip-tester}

CAP_TAG=make-benign-pcaps
CAP_TOOLS=(sipp kamailio tcpdump tshark capinfos timeout ss python3)
# shellcheck source=scripts/capture-lib.sh
. "$ROOT/scripts/capture-lib.sh"

[ -f "$SIPP_PCAPS/g711a.pcap" ] || die "no $SIPP_PCAPS/g711a.pcap (package sip-tester)"

# Every address of these captures is in 127.0.0.100-199 (0x64-0xc7).
FILTER='ip and ((ip[12:4] >= 0x7f000064 and ip[12:4] <= 0x7f0000c7) or (ip[16:4] >= 0x7f000064 and ip[16:4] <= 0x7f0000c7))'

# kam NAME LIMIT CFG ADDR:PORT -A ...: kamailio for at most LIMIT s, waiting
# until it listens on ADDR:PORT; pid in $KAM_PID.
kam() {
	local name=$1 limit=$2 cfg=$3 addr=$4
	shift 4
	mkdir -p "$WORK/kam-$name"
	spawn timeout "$limit" kamailio -f "$cfg" -DD -E -n 1 -Y "$WORK/kam-$name" \
		-P "$WORK/kam-$name/kamailio.pid" -w "$WORK/kam-$name" "$@" >"$WORK/kam-$name.log" 2>&1
	KAM_PID=$BG_PID
	wait_udp "$addr"
}

# at DELAY DIR LOG CMD...: run CMD in DIR DELAY s from now (background; the
# job's pid, $BG_PID, becomes CMD's when it starts).
at() {
	local delay=$1 dir=$2 logf=$3
	shift 3
	# shellcheck disable=SC2016 # the inner shell expands them
	spawn bash -c 'sleep "$1"; cd "$2" || exit 1; shift 2; exec "$@"' at "$delay" "$dir" "$@" >"$logf" 2>&1
}

# media DIR SEED: the RTP this party plays (talk.pcap: 3 s of sipp's
# g711a.pcap under its own SSRC; resume.pcap: the same stream after a hold).
media() {
	mkdir -p "$1"
	python3 "$SC/rtp-variant.py" "$SIPP_PCAPS/g711a.pcap" "$1/talk.pcap" 100 "$2"
	python3 "$SC/rtp-variant.py" "$SIPP_PCAPS/g711a.pcap" "$1/resume.pcap" 100 "$2" 8000
}

# wait_ok PID WHAT LOG: wait for a sipp and fail on a non-zero status.
wait_ok() {
	local rc=0
	wait "$1" || rc=$?
	if [ "$rc" -ne 0 ]; then
		tail -30 "$3" >&2
		die "$2 failed (exit status $rc; logs in $(dirname "$3"), KEEP_WORK=1 keeps them)"
	fi
}

# check FILE KEY WANT: a value of `facts.py --kv` on $OUT/FILE.
check() {
	local got
	got=$(awk -v k="$2" '$1 == k { print $2 }' "$WORK/$1.facts")
	[ "${got:-0}" = "$3" ] || die "$1: $2 is ${got:-0}, expected $3"
}

# count FILE KEY: a value of `facts.py --kv` on $OUT/FILE (0 if absent).
count() { awk -v k="$2" '$1 == k { v = $2 } END { print v + 0 }' "$WORK/$1.facts"; }

facts() {
	python3 "$SC/facts.py" --kv "$OUT/$1" >"$WORK/$1.facts" || die "facts.py failed on $1"
}

OFFICE_END=278 # s: the phones stay up (and keep registering) until then

make_office() {
	local f=office.pcap d="$WORK/office" ext addr name ua mode pw start wrong lines
	log "$f (about $((OFFICE_END + 12)) s)"
	mkdir -p "$d"
	python3 "$SC/office-plan.py" "$SC/office-phones.csv" "$SC/office-calls.csv" "$OFFICE_END" "$d" ||
		die "office-plan.py refused the plan"
	local -A expect
	while read -r k v; do expect[$k]=$v; done <"$d/expect.tsv"
	media "$d/voicemail" office-voicemail
	media "$d/carrier-out" office-carrier-out
	media "$d/carrier-in" office-carrier-in
	cp "$d/carrier-in.csv" "$d/carrier-in/plan.csv"

	local limit=$((OFFICE_END + 90))
	cap_start "$f" "$FILTER" "$limit"
	# the PBX: registrar, authentication, routing (extensions, voicemail, carrier)
	kam pbx "$limit" "$SC/kamailio-pbx.cfg" 127.0.0.100:5060 \
		-A 'LISTEN=udp:127.0.0.100:5060' -A 'DOMAIN="office.example"' -A "DBURL=\"text://$d/db\"" \
		-A 'CARRIER="127.0.0.160:5060"' -A 'CARRIER_IP="127.0.0.161"' -A 'VOICEMAIL="127.0.0.150:5060"'
	local pbx=$KAM_PID
	# the SBC pinging its 16 trunks and gateways, and those peers
	kam sbc "$limit" "$SC/kamailio-sbc.cfg" 127.0.0.185:5060 -A "DSLIST=\"$SC/dispatcher.list\""
	local sbc=$KAM_PID
	wait_udp 127.0.0.101:5060
	# voicemail and the carrier's SBC for outgoing calls: sipp UASs that end
	# after the number of calls the plan sends them
	at 0 "$d/voicemail" "$d/voicemail/sipp.out" timeout "$limit" sipp -sf "$SC/voicemail.xml" \
		-i 127.0.0.150 -p 5060 -mi 127.0.0.150 -mp 16000 -key ua 'FreeSWITCH-mod_sofia/1.10.11-release~64bit' \
		-m "${expect[voicemail]}" -nd -nostdin -trace_err
	local vm=$BG_PID
	at 0 "$d/carrier-out" "$d/carrier-out/sipp.out" timeout "$limit" sipp -sf "$SC/carrier-uas.xml" \
		-i 127.0.0.160 -p 5060 -mi 127.0.0.160 -mp 16000 -m $((expect[national] + expect[international])) \
		-nd -nostdin -trace_err
	local gw=$BG_PID
	wait_udp 127.0.0.150:5060
	wait_udp 127.0.0.160:5060

	# from now on, the plan's clock: every phone and the carrier's incoming calls
	local -a pids=() whats=() logs=()
	local t=$((OFFICE_END + 30))
	while IFS='|' read -r ext addr name ua mode pw start wrong lines; do
		media "$d/phone-$ext" "office-$ext"
		local -a common=(-i "$addr" -p 5060 -mi "$addr" -mp 16000 -key ext "$ext" -key name "$name"
			-key domain office.example -key ua "$ua" -key xfer_to 2251 -au "$ext" -auth_uri office.example
			-nd -nostdin -timeout "$t" -timeout_error -trace_err)
		if [ -n "$wrong" ]; then
			# the user's first try, with a typo in the password (REGISTER, 401, REGISTER, 403)
			mkdir -p "$d/phone-$ext/typo"
			ln -sf ../talk.pcap ../resume.pcap "$d/phone-$ext/typo/"
			printf 'SEQUENTIAL\nreg;0;-;1;0\n' >"$d/phone-$ext/typo/plan.csv"
			at "$wrong" "$d/phone-$ext/typo" "$d/phone-$ext/typo/sipp.out" timeout $((t + 30)) \
				sipp -sf "$SC/phone.xml" -inf plan.csv 127.0.0.100:5060 "${common[@]}" -ap "${pw%?}#" -m 1
			pids+=("$BG_PID") whats+=("phone $ext (wrong password)") logs+=("$d/phone-$ext/typo/sipp.out")
		fi
		at "$start" "$d/phone-$ext" "$d/phone-$ext/sipp.out" timeout $((t + 30)) \
			sipp -sf "$SC/phone.xml" -oocsf "$SC/phone-in-$mode.xml" -inf plan.csv 127.0.0.100:5060 \
			"${common[@]}" -ap "$pw" -m "$lines" -r 1000 -l 1000
		pids+=("$BG_PID") whats+=("phone $ext") logs+=("$d/phone-$ext/sipp.out")
	done <"$d/phones.tsv"
	at 0 "$d/carrier-in" "$d/carrier-in/sipp.out" timeout $((t + 30)) \
		sipp -sf "$SC/carrier-in.xml" -inf plan.csv 127.0.0.100:5060 -i 127.0.0.161 -p 5060 \
		-mi 127.0.0.161 -mp 16000 -key domain office.example -key carrier carrier.example \
		-m "${expect[incoming]}" -r 1000 -l 1000 -nd -nostdin -timeout "$t" -timeout_error -trace_err
	pids+=("$BG_PID") whats+=("carrier (incoming calls)") logs+=("$d/carrier-in/sipp.out")

	local i
	for i in "${!pids[@]}"; do wait_ok "${pids[$i]}" "${whats[$i]}" "${logs[$i]}"; done
	wait_ok "$vm" "voicemail server" "$d/voicemail/sipp.out"
	wait_ok "$gw" "carrier (outgoing calls)" "$d/carrier-out/sipp.out"
	kill -TERM "$pbx" "$sbc" 2>/dev/null || true
	wait_pid "$pbx"
	wait_pid "$sbc"
	cap_stop

	facts "$f"
	local outside=$((expect[national] + expect[international]))
	check "$f" invite_dialogs "${expect[calls]}"
	check "$f" no_final_answer 0
	check "$f" outcome_200 "${expect[answered]}"
	check "$f" outcome_486 "${expect[busy]}"
	check "$f" outcome_487 "${expect[cancelled]}"
	check "$f" challenged_407 $((expect[calls] - expect[incoming]))
	check "$f" with_refer "${expect[transfers]}"
	check "$f" reinvites_hold "${expect[holds]}"
	check "$f" reinvites $((2 * expect[holds]))
	check "$f" register_callids $((expect[phones] + expect[wrong_passwords]))
	check "$f" register_final_200 "${expect[registrations]}"
	check "$f" register_final_403 "${expect[wrong_passwords]}"
	check "$f" register_final_401 $((expect[registrations] + expect[wrong_passwords]))
	check "$f" response_403 "${expect[wrong_passwords]}"
	[ "$(count "$f" rtp_streams)" -ge "${expect[answered]}" ] || die "$f: too few RTP streams"
	[ "$(count "$f" request_OPTIONS)" -ge $((16 * (OFFICE_END / 15 - 1))) ] || die "$f: too few OPTIONS pings"
	[ "$(count "$f" sip_resent)" -eq 0 ] || log "$f: note: $(count "$f" sip_resent) SIP retransmissions"
	local icmp
	icmp=$(tshark -n -r "$OUT/$f" -Y icmp 2>/dev/null | wc -l)
	[ "$icmp" -eq 0 ] || die "$f: $icmp ICMP packets (something sent to a closed port)"
	log "$f: ${expect[calls]} calls ($outside outside, ${expect[incoming]} incoming), $(stat -c %s "$OUT/$f") bytes"
}

CC_RATE=5   # calls per RATE_PERIOD ms, for each of the three diallers
CC_PERIOD=3000
CC_CALLS=200 # per dialler: 3 x 200 calls at 5 calls/s in all, 120 s

make_call-centre() {
	local f=call-centre.pcap d="$WORK/call-centre"
	log "$f (about 200 s)"
	mkdir -p "$d/db"
	printf 'table_name(string) table_version(int)\nsubscriber:7\n' >"$d/db/version"
	# the diallers' accounts: address|User-Agent|account|password
	local -a trunks=(
		"127.0.0.103|Asterisk PBX 20.5.0|dialler-ast1|q8Wm-3tZr-Lk2v"
		"127.0.0.104|Asterisk PBX 20.5.0|dialler-ast2|v5Tn-8pXc-Rb7d"
		"127.0.0.105|FreeSWITCH-mod_sofia/1.10.11-release~64bit|dialler-fs1|h2Jy-6sQf-Mw4k"
	)
	local n=0 spec addr ua acct pw busy=0 noanswer=0
	{
		echo 'id(int,auto) username(string) domain(string) password(string)'
		for spec in "${trunks[@]}"; do
			IFS='|' read -r addr ua acct pw <<<"$spec"
			n=$((n + 1))
			echo "$n:$acct:cc.example:$pw"
		done
	} >"$d/db/subscriber"
	n=0
	for spec in "${trunks[@]}"; do
		IFS='|' read -r addr ua acct pw <<<"$spec"
		n=$((n + 1))
		mkdir -p "$d/$acct"
		python3 "$SC/cc-numbers.py" "call-centre-$acct" "$CC_CALLS" "$d/$acct/numbers.csv"
		busy=$((busy + $(grep -c '7$' "$d/$acct/numbers.csv" || true)))
		noanswer=$((noanswer + $(grep -c '9$' "$d/$acct/numbers.csv" || true)))
	done
	local calls=$((3 * CC_CALLS)) limit=300
	mkdir -p "$d/carrier"

	cap_start "$f" "$FILTER" "$limit"
	kam cc "$limit" "$SC/kamailio-pbx.cfg" 127.0.0.102:5060 \
		-A 'LISTEN=udp:127.0.0.102:5060' -A 'DOMAIN="cc.example"' -A "DBURL=\"text://$d/db\"" \
		-A 'CARRIER="127.0.0.106:5060"' -A 'CARRIER_IP="127.0.0.106"' -A 'VOICEMAIL="127.0.0.106:5060"'
	local proxy=$KAM_PID
	at 0 "$d/carrier" "$d/carrier/sipp.out" timeout "$limit" sipp -sf "$SC/carrier-cc.xml" \
		-i 127.0.0.106 -p 5060 -mi 127.0.0.106 -mp 16000 -m "$calls" -nd -nostdin -trace_err
	local gw=$BG_PID
	wait_udp 127.0.0.106:5060
	local -a pids=() whats=()
	for spec in "${trunks[@]}"; do
		IFS='|' read -r addr ua acct pw <<<"$spec"
		at 0 "$d/$acct" "$d/$acct/sipp.out" timeout $((limit - 20)) \
			sipp -sf "$SC/trunk.xml" -inf numbers.csv 127.0.0.102:5060 -i "$addr" -p 5060 -mi "$addr" \
			-mp 16000 -key account "$acct" -key cli 01632960000 -key domain cc.example -key ua "$ua" \
			-au "$acct" -ap "$pw" -auth_uri cc.example -m "$CC_CALLS" -r "$CC_RATE" -rp "$CC_PERIOD" \
			-l 100 -nd -nostdin -timeout $((limit - 40)) -timeout_error -trace_err
		pids+=("$BG_PID") whats+=("$acct")
		sleep 0.2 # the three diallers' calls interleave
	done
	local i
	for i in "${!pids[@]}"; do wait_ok "${pids[$i]}" "dialler ${whats[$i]}" "$d/${whats[$i]}/sipp.out"; done
	wait_ok "$gw" "carrier" "$d/carrier/sipp.out"
	kill -TERM "$proxy" 2>/dev/null || true
	wait_pid "$proxy"
	cap_stop

	facts "$f"
	check "$f" invite_dialogs "$calls"
	check "$f" no_final_answer 0
	check "$f" outcome_486 "$busy"
	check "$f" outcome_487 "$noanswer"
	check "$f" outcome_200 $((calls - busy - noanswer))
	check "$f" challenged_407 "$calls"
	check "$f" with_bye $((calls - busy - noanswer))
	check "$f" with_cancel "$noanswer"
	check "$f" rtp_streams 0
	[ "$(count "$f" sip_resent)" -eq 0 ] || log "$f: note: $(count "$f" sip_resent) SIP retransmissions"
	log "$f: $calls calls ($busy busy, $noanswer unanswered), $(stat -c %s "$OUT/$f") bytes"
}

ALL=(office call-centre)
[ $# -gt 0 ] && ALL=("$@")
for n in "${ALL[@]}"; do
	case $n in
	office | call-centre) "make_$n" ;;
	*) die "unknown capture $n (one of: office call-centre)" ;;
	esac
done
for n in "${ALL[@]}"; do
	log "$n.pcap:"
	python3 "$SC/facts.py" "$OUT/$n.pcap" >&2
done
log "done: $OUT"

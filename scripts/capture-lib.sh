# Shared helpers of scripts/make-attack-pcaps.sh and scripts/make-detect-pcaps.sh
# (sourced, not run): logging, the root and tool checks, the temporary work
# directory and its cleanup, bounded background processes, tcpdump on lo,
# sipp clients and servers, kamailio, and checks of a capture with tshark.
# The sourcing script sets, before sourcing:
#   CAP_TAG     name in log lines and in the work directory's name
#   CAP_TOOLS   array of the commands it needs
#   OUT         where finished captures go
#   KAM_CFG     kamailio config for kam_start; KAM_ADDRS its addr:port array
# Environment: KEEP_WORK=1 keeps the work directory; SIPP_TIMEOUT (seconds,
# default 60) bounds each sipp client.
# shellcheck shell=bash

log() { printf '[%s] %s\n' "$CAP_TAG" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (tcpdump)"
for t in "${CAP_TOOLS[@]}"; do
	command -v "$t" >/dev/null 2>&1 || die "missing $t: run scripts/install-deps.sh (see header)"
done

WORK=$(mktemp -d "/tmp/voip-sentinel-$CAP_TAG.XXXXXX")
chmod 700 "$WORK"
mkdir -p "$OUT"

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

# cap_start FILE FILTER [LIMIT]: start tcpdump on lo (for at most LIMIT s, default 180), wait
# until it listens.
cap_start() {
	local file=$1 filter=$2 limit=${3:-180}
	CAP_ERR="$WORK/$file.tcpdump.log"
	CAP_FILE=$file
	spawn timeout "$limit" tcpdump -i lo -n -s 0 -U -Z root -w "$WORK/$file" "$filter" 2>"$CAP_ERR"
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
	local t=${SIPP_TIMEOUT:-60}
	if ! timeout $((t + 30)) sipp "$@" -nostdin -timeout "$t" -timeout_error >"$WORK/$name.out" 2>&1; then
		tail -40 "$WORK/$name.out" >&2
		die "sipp client $name failed"
	fi
}

# wait_pid PID: wait for a background process (already bounded by timeout).
wait_pid() { wait "$1" 2>/dev/null || true; }

# wait_sock udp|tcp ADDR:PORT: wait until something listens there.
wait_sock() {
	local i flag=-lun
	[ "$1" = tcp ] && flag=-ltn
	for i in $(seq 50); do
		ss -H "$flag" "( sport = :${2##*:} )" | grep -q "${2%:*}:" && return 0
		sleep 0.1
	done
	die "nothing listening on $1 $2"
}
wait_udp() { wait_sock udp "$1"; }
wait_tcp() { wait_sock tcp "$1"; }

# kam_start NAME: kamailio with the config $KAM_CFG, waiting until it listens
# on every address:port of $KAM_ADDRS; pid in $KAM_PID.
kam_start() {
	local a
	mkdir -p "$WORK/kam-$1"
	spawn timeout 120 kamailio -f "$KAM_CFG" -DD -E -n 1 -Y "$WORK/kam-$1" \
		-P "$WORK/kam-$1/kamailio.pid" -w "$WORK/kam-$1" >"$WORK/kam-$1.log" 2>&1
	KAM_PID=$BG_PID
	for a in "${KAM_ADDRS[@]}"; do wait_udp "$a"; done
}

kam_stop() {
	kill -TERM "$KAM_PID" 2>/dev/null || true
	wait_pid "$KAM_PID"
}

# sip_stat FILE: tshark's SIP statistics.
sip_stat() { tshark -n -r "$1" -q -z sip,stat 2>/dev/null; }

# expect FILE 'REGEX': check the tshark sip,stat text of $OUT/FILE.
expect() {
	local f=$1 re=$2
	if ! sip_stat "$OUT/$f" | grep -Eq -- "$re"; then
		sip_stat "$OUT/$f" >&2
		die "$f: expected /$re/"
	fi
}

# expect_calls FILE N: number of distinct SIP Call-IDs.
expect_calls() {
	local n
	n=$(tshark -n -r "$OUT/$1" -Y sip -T fields -e sip.Call-ID 2>/dev/null | sort -u | grep -c .)
	[ "$n" -eq "$2" ] || die "$1: $n distinct Call-IDs, expected $2"
	log "$1: $n Call-IDs, $(stat -c %s "$OUT/$1") bytes"
}

# expect_count FILE DISPLAY-FILTER N
expect_count() {
	local f=$1 flt=$2 want=$3 n
	n=$(tshark -n -r "$OUT/$f" -Y "$flt" 2>/dev/null | wc -l)
	[ "$n" -eq "$want" ] || die "$f: $n packets match '$flt', expected $want"
}


#!/usr/bin/env bash
# The install test: scripts/install.sh into a temporary root, then the installed sensor run the
# way the installed systemd unit runs it (its ExecStart, as its User= with its
# AmbientCapabilities=, via setpriv) with a config made from the installed one, capturing sipp
# calls on lo, rotated as logrotate does (mv + SIGHUP) and stopped with SIGTERM. Then the
# install lifecycle: idempotent re-install, config kept or upgraded, uninstall.
#
#   tests/install/run.sh BIN        (as root; needs sipp, setpriv, curl, python3)
#
# Creates the system user voip-sentinel when missing (and removes it again at the end).
# Prints `FAIL: ...` and exits non-zero on the first failed check.
set -euo pipefail

NAME=voip-sentinel
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${1:?usage: tests/install/run.sh BIN}
BIN=$(realpath "$BIN")
PCAP=$REPO/pcaps/sipp-uac-pcap-g711.pcap
UAC_IP=127.0.0.1
UAC_PORT=5071
UAS_IP=127.0.0.1
UAS_PORT=5072
FILTER="udp port $UAC_PORT or udp port $UAS_PORT"
LOCAL_SID=9000001

fail() {
	echo "FAIL: $*" >&2
	exit 1
}
step() {
	echo "== $*"
}

[ "$(id -u)" -eq 0 ] || fail "must run as root (creates a user, captures on lo)"
for tool in sipp setpriv curl python3 useradd; do
	command -v "$tool" >/dev/null 2>&1 || fail "$tool not installed"
done
[ -x "$BIN" ] || fail "no executable binary at $BIN"
[ -f "$PCAP" ] || fail "missing $PCAP"

T=$(mktemp -d)
chmod 0755 "$T" # the service user must reach the config and the rules inside
SENSOR=
UAS=
CREATED_USER=0
cleanup() {
	local pid
	for pid in $SENSOR $UAS; do
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$T"
	if [ "$CREATED_USER" -eq 1 ]; then
		userdel "$NAME" 2>/dev/null || true
		groupdel "$NAME" 2>/dev/null || true
	fi
}
trap cleanup EXIT

# ---------------------------------------------------------------------- a. staged install
step "a. install into $T (prefix /usr)"
"$REPO/scripts/install.sh" --destdir "$T" --prefix /usr --bin "$BIN" --no-user >"$T/install.log" 2>&1 \
	|| { cat "$T/install.log"; fail "scripts/install.sh exited non-zero"; }
cat "$T/install.log"

IBIN=$T/usr/bin/$NAME
ICONF=$T/etc/$NAME/$NAME.toml
IUNIT=$T/usr/lib/systemd/system/$NAME.service
for f in "$IBIN" "$ICONF" "$IUNIT" \
	"$T/usr/share/$NAME/rules/sip.rules" "$T/usr/share/$NAME/rules/detectors.conf" \
	"$T/usr/share/$NAME/rules/threshold.config" "$T/etc/$NAME/rules/README" \
	"$T/etc/logrotate.d/$NAME" \
	"$T/usr/share/man/man1/$NAME.1" "$T/usr/share/man/man1/$NAME-live.1" \
	"$T/usr/share/man/man1/$NAME-replay.1" \
	"$T/usr/share/bash-completion/completions/$NAME" \
	"$T/usr/share/zsh/site-functions/_$NAME" \
	"$T/usr/share/fish/vendor_completions.d/$NAME.fish"; do
	[ -s "$f" ] || fail "not installed (or empty): ${f#"$T"}"
done
[ "$(stat -c %a "$IBIN")" = 755 ] || fail "binary mode is $(stat -c %a "$IBIN"), not 755"
"$IBIN" --version | grep -q "^$NAME " || fail "installed binary: --version does not answer"
for f in "$T/etc/$NAME/rules"/*; do
	[ "${f##*/}" = README ] || fail "override rules folder is not empty: ${f#"$T"}"
done
grep -q replay "$T/usr/share/bash-completion/completions/$NAME" || fail "bash completion does not know replay"
grep -q live "$T/usr/share/zsh/site-functions/_$NAME" || fail "zsh completion does not know live"
grep -q replay "$T/usr/share/fish/vendor_completions.d/$NAME.fish" || fail "fish completion does not know replay"
grep -q '^\.TH' "$T/usr/share/man/man1/$NAME-live.1" || fail "$NAME-live.1 is not a man page"
grep -q -- 'interface' "$T/usr/share/man/man1/$NAME-live.1" || fail "$NAME-live.1 does not document --interface"
grep -rlE '@(BINDIR|DATADIR|SYSCONFDIR)@' "$T/etc" "$T/usr/lib" "$T/usr/share/$NAME" \
	&& fail "placeholders left in the files above"
grep -qx "ExecStart=/usr/bin/$NAME live --config /etc/$NAME/$NAME.toml" "$IUNIT" \
	|| fail "unit ExecStart is not '/usr/bin/$NAME live --config /etc/$NAME/$NAME.toml': $(grep ExecStart= "$IUNIT")"
grep -qx 'AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN' "$IUNIT" || fail "unit lacks AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN"
grep -qx 'NoNewPrivileges=yes' "$IUNIT" || fail "unit lacks NoNewPrivileges=yes"
grep -qx "rules = \[\"/usr/share/$NAME/rules\", \"/etc/$NAME/rules\"\]" "$ICONF" \
	|| fail "config rules line is not the shipped folder then the override folder"
grep -q "postrotate" "$T/etc/logrotate.d/$NAME" || fail "logrotate snippet has no postrotate"
cmp -s "$REPO/rules/sip.rules" "$T/usr/share/$NAME/rules/sip.rules" || fail "installed sip.rules differs from rules/sip.rules"

# ---------------------------------------------------------------------- b. test config
step "b. test config from the installed one, local.rules in the override folder"
METRICS_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
for port in "$UAC_PORT" "$UAS_PORT"; do
	if ss -Huan "sport = :$port" | grep -q .; then
		fail "udp port $port is in use: the sipp calls of this test need it"
	fi
done
LOGS=$T/var/log/$NAME
mkdir -p "$LOGS"
CONF=$T/test.toml
# Replace the line that sets KEY (active or commented out as `#KEY = default`) with KEY = VALUE;
# the key must be in the installed config.
set_key() {
	local key=$1 value=$2
	grep -qE "^#?$key = " "$CONF" || fail "installed config has no '$key' line (active or commented)"
	KEY=$key VALUE=$value python3 - "$CONF" <<'EOF'
import os, re, sys
p = sys.argv[1]
key, value = os.environ["KEY"], os.environ["VALUE"]
lines = open(p).read().split("\n")
pat = re.compile(r"^#?" + re.escape(key) + r" = ")
done = False
for i, l in enumerate(lines):
    if pat.match(l) and not done:
        lines[i] = f"{key} = {value}"
        done = True
open(p, "w").write("\n".join(lines))
EOF
}
cp "$ICONF" "$CONF"
set_key eve "\"$LOGS/eve.json\""
set_key rules "[\"$T/usr/share/$NAME/rules\", \"$T/etc/$NAME/rules\"]"
set_key metrics-listen "\"127.0.0.1:$METRICS_PORT\""
set_key stats-interval 0
set_key interface '"lo"'
set_key filter "\"$FILTER\""
cat >"$T/etc/$NAME/rules/local.rules" <<EOF
# Local signature of the install test: every INVITE.
alert sip any any -> any any (msg:"LOCAL install test INVITE"; sip.method:INVITE; sip.start_line; content:"INVITE"; classtype:misc-activity; severity:3; sid:$LOCAL_SID; rev:1;)
EOF
"$IBIN" rules check "$T/usr/share/$NAME/rules" "$T/etc/$NAME/rules" >"$T/check.log" 2>&1 \
	|| { cat "$T/check.log"; fail "rules check of the shipped + override folders failed"; }

# ---------------------------------------------------------------------- c. the unit's user
step "c. the unit's user, capabilities and command"
UNIT_USER=$(sed -n 's/^User=//p' "$IUNIT")
UNIT_GROUP=$(sed -n 's/^Group=//p' "$IUNIT")
UNIT_CAPS=$(sed -n 's/^AmbientCapabilities=//p' "$IUNIT")
UNIT_BOUND=$(sed -n 's/^CapabilityBoundingSet=//p' "$IUNIT")
UNIT_UMASK=$(sed -n 's/^UMask=//p' "$IUNIT")
UNIT_EXEC=$(sed -n 's/^ExecStart=//p' "$IUNIT")
if [ "$UNIT_USER" != "$NAME" ] || [ "$UNIT_GROUP" != "$NAME" ]; then
	fail "unit User=/Group= are '$UNIT_USER'/'$UNIT_GROUP', not $NAME"
fi
[ -n "$UNIT_CAPS" ] || fail "unit has no AmbientCapabilities="
NNP=()
if grep -qx 'NoNewPrivileges=yes' "$IUNIT"; then NNP=(--no-new-privs); fi
if ! getent passwd "$UNIT_USER" >/dev/null; then
	useradd --system --user-group --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin "$UNIT_USER" || fail "useradd $UNIT_USER"
	CREATED_USER=1
fi
chown -R "$UNIT_USER:$UNIT_GROUP" "$LOGS"
chmod 0750 "$LOGS"
# CAP_NET_RAW CAP_NET_ADMIN -> +net_raw,+net_admin (setpriv's syntax)
setpriv_caps() {
	local c out=
	for c in "$@"; do c=${c#CAP_}; out+="+${c,,},"; done
	printf '%s' "${out%,}"
}
# shellcheck disable=SC2086 # split the unit's lists into words
CAPS=$(setpriv_caps $UNIT_CAPS)
# shellcheck disable=SC2086
BOUND=$(setpriv_caps ${UNIT_BOUND:-$UNIT_CAPS})
# ExecStart with the staged paths: the binary under $T, the config replaced by the test one.
read -ra WORDS <<<"$UNIT_EXEC"
CMD=("$T${WORDS[0]}")
for w in "${WORDS[@]:1}"; do
	if [ "$w" = "/etc/$NAME/$NAME.toml" ]; then CMD+=("$CONF"); else CMD+=("$w"); fi
done
[ "${CMD[0]}" = "$IBIN" ] || fail "unit ExecStart runs ${WORDS[0]}, not the installed binary"
printf '%s\n' "${CMD[*]}" | grep -q -- "--config $CONF" || fail "unit ExecStart does not pass --config /etc/$NAME/$NAME.toml"
echo "   as $UNIT_USER:$UNIT_GROUP, ambient $CAPS, bounding $BOUND, umask ${UNIT_UMASK:-0022}: ${CMD[*]}"

# Every documented key of the installed config is a real option: uncomment them all and replay.
ALL=$T/all-keys.toml
sed -E 's/^#([a-z][a-z-]* = )/\1/' "$CONF" >"$ALL"
for key in workers max-transactions max-calls max-streams user group snaplen no-promisc buffer-mib \
	fanout-group output-fail-secs linger; do
	grep -q "^$key = " "$ALL" || fail "installed config does not document '$key' (as '#$key = default')"
done
"$IBIN" replay --config "$ALL" --eve - "$PCAP" >"$T/all.json" 2>"$T/all.err" \
	|| { cat "$T/all.err"; fail "replay --config with every documented key uncommented failed"; }
grep -q "\"signature_id\":$LOCAL_SID" "$T/all.json" \
	|| fail "replay --config: no alert $LOCAL_SID (the override folder's local.rules) in the records"

# ---------------------------------------------------------------------- d. run, rotate, stop
step "d. the sensor as the unit runs it, sipp calls on lo, rotation, SIGTERM"
mkdir -p "$T/work"
cd "$T/work" # sipp may write its logs here
(
	umask "${UNIT_UMASK:-0022}"
	exec setpriv --reuid="$UNIT_USER" --regid="$UNIT_GROUP" --init-groups "${NNP[@]}" \
		--inh-caps="$CAPS" --ambient-caps="$CAPS" --bounding-set="-all,$BOUND" \
		-- "${CMD[@]}" 2>"$T/sensor.err"
) &
SENSOR=$!
for _ in $(seq 1 100); do
	kill -0 "$SENSOR" 2>/dev/null || { cat "$T/sensor.err"; fail "the sensor exited at start"; }
	curl -sf "http://127.0.0.1:$METRICS_PORT/metrics" -o "$T/metrics.txt" && break
	sleep 0.1
done
[ -s "$T/metrics.txt" ] || fail "metrics endpoint 127.0.0.1:$METRICS_PORT did not answer within 10 s"
grep -q '^voipsentinel_build_info' "$T/metrics.txt" || fail "metrics endpoint answers without voipsentinel_build_info"
STATUS=$(cat "/proc/$SENSOR/status")
RUN_UID=$(awk '/^Uid:/ {print $2 " " $3}' <<<"$STATUS")
WANT_UID=$(id -u "$UNIT_USER")
[ "$RUN_UID" = "$WANT_UID $WANT_UID" ] || fail "sensor runs as uid '$RUN_UID', not $UNIT_USER ($WANT_UID)"
CAP_EFF=$(awk '/^CapEff:/ {print $2}' <<<"$STATUS")
CAP_AMB=$(awk '/^CapAmb:/ {print $2}' <<<"$STATUS")
CAP_BND=$(awk '/^CapBnd:/ {print $2}' <<<"$STATUS")
if [ "$CAP_EFF" = 0000000000000000 ] || [ "$CAP_EFF" != "$CAP_AMB" ] || [ "$CAP_BND" != "$CAP_AMB" ]; then
	fail "sensor capabilities: effective $CAP_EFF, ambient $CAP_AMB, bounding $CAP_BND (want the unit's, only)"
fi
if [ ${#NNP[@]} -gt 0 ] && ! grep -qx 'NoNewPrivs:[[:space:]]*1' <<<"$STATUS"; then
	fail "sensor runs without no_new_privs (unit: NoNewPrivileges=yes)"
fi
echo "   sensor pid $SENSOR: uid $RUN_UID ($UNIT_USER), CapEff $CAP_EFF"
sleep 0.5

sipp -sn uas -i "$UAS_IP" -p "$UAS_PORT" -nostdin >/dev/null 2>&1 &
UAS=$!
sleep 0.5
kill -0 "$UAS" 2>/dev/null || fail "sipp uas did not start on $UAS_IP:$UAS_PORT"
calls() { # calls BATCH N
	timeout 20 sipp -sn uac "$UAS_IP:$UAS_PORT" -i "$UAC_IP" -p "$UAC_PORT" -m "$2" -r 10 -d 500 \
		-cid_str "$1-%u-%p@%s" -nostdin >/dev/null 2>&1 || fail "sipp uac ($1, $2 calls) failed"
}
calls b1 3
sleep 1
mv "$LOGS/eve.json" "$LOGS/eve.json.1" || fail "no $LOGS/eve.json to rotate"
kill -HUP "$SENSOR"
sleep 1.5
kill -0 "$SENSOR" 2>/dev/null || { cat "$T/sensor.err"; fail "the sensor died on SIGHUP"; }
calls b2 2
sleep 3
kill -TERM "$SENSOR"
for _ in $(seq 1 50); do
	kill -0 "$SENSOR" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$SENSOR" 2>/dev/null && fail "the sensor did not exit within 5 s of SIGTERM"
rc=0
wait "$SENSOR" || rc=$?
SENSOR=
[ "$rc" -eq 0 ] || { cat "$T/sensor.err"; fail "the sensor exited with status $rc after SIGTERM"; }
kill "$UAS" 2>/dev/null || true
wait "$UAS" 2>/dev/null || true
UAS=

# ---------------------------------------------------------------------- e. the records
step "e. records before and after the rotation"
if grep -qi error "$T/sensor.err"; then
	cat "$T/sensor.err"
	fail "the sensor's stderr mentions an error"
fi
[ -f "$LOGS/eve.json" ] || fail "no new eve.json after SIGHUP (the EVE file was not reopened)"
[ "$(stat -c %U "$LOGS/eve.json")" = "$UNIT_USER" ] || fail "the new eve.json is not owned by $UNIT_USER"
if [ "$UNIT_UMASK" = 0027 ] && [ "$(stat -c %a "$LOGS/eve.json")" != 640 ]; then
	fail "the new eve.json has mode $(stat -c %a "$LOGS/eve.json"), not 640 (UMask=0027, logrotate's create 0640)"
fi
python3 - "$LOGS/eve.json.1" "$LOGS/eve.json" "$LOCAL_SID" <<'EOF' || fail "records: see above"
import json, sys
old_path, new_path, sid = sys.argv[1], sys.argv[2], int(sys.argv[3])

def load(p):
    recs = []
    for n, line in enumerate(open(p), 1):
        try:
            recs.append(json.loads(line))
        except ValueError as e:
            sys.exit(f"{p}:{n}: not a whole JSON line ({e}): {line[:120]!r}")
    return recs

def call_id(r):
    for k in ("call", "sip"):
        v = r.get(k)
        if isinstance(v, dict) and isinstance(v.get("call_id"), str):
            return v["call_id"]
    return ""

def batch(r):
    return call_id(r).split("-", 1)[0]

old, new = load(old_path), load(new_path)
errors = []
if not any(batch(r) == "b1" and r["event_type"] in ("sip", "call") for r in old):
    errors.append("eve.json.1 has no sip/call record of the calls before the rotation")
if any(batch(r) == "b2" for r in old):
    errors.append("eve.json.1 has records of the calls after the rotation: SIGHUP did not reopen")
if not any(batch(r) == "b2" and r["event_type"] in ("sip", "call") for r in new):
    errors.append("the new eve.json has no sip/call record of the calls after the rotation")
calls = {call_id(r) for r in old + new if r["event_type"] == "call"}
want = {c for c in calls if batch({"call": {"call_id": c}}) in ("b1", "b2")}
if len(want) != 5:
    errors.append(f"{len(want)} call records of the 5 calls placed: {sorted(calls)}")
alerts = [r for r in old + new if r["event_type"] == "alert" and r["alert"]["signature_id"] == sid]
if not any(a in old for a in alerts) or not any(a in new for a in alerts):
    errors.append(f"alert {sid} (override folder's local.rules) missing before or after the SIGHUP reload: {len(alerts)} in all")
if not new or new[-1]["event_type"] != "stats":
    errors.append("the new eve.json does not end with the final stats record")
for e in errors:
    print("   " + e, file=sys.stderr)
if errors:
    sys.exit(1)
print(f"   eve.json.1: {len(old)} records, eve.json: {len(new)} records, "
      f"{len(want)} calls, {len(alerts)} alerts {sid}, final stats record")
EOF

# ---------------------------------------------------------------------- f. lifecycle
step "f. re-install, upgrade, changed config, uninstall (prefix /usr/local)"
S=$T/stage
inst() {
	"$REPO/scripts/install.sh" --destdir "$S" --prefix /usr/local --bin "$BIN" --no-user "$@" >"$T/inst.log" 2>&1 \
		|| { cat "$T/inst.log"; fail "scripts/install.sh $* exited non-zero"; }
}
SCONF=$S/etc/$NAME/$NAME.toml
inst
[ -f "$S/etc/systemd/system/$NAME.service" ] || fail "prefix /usr/local: unit not in /etc/systemd/system"
grep -qx "ExecStart=/usr/local/bin/$NAME live --config /etc/$NAME/$NAME.toml" "$S/etc/systemd/system/$NAME.service" \
	|| fail "prefix /usr/local: unit ExecStart does not run /usr/local/bin/$NAME"
grep -q "\"/usr/local/share/$NAME/rules\"" "$SCONF" || fail "prefix /usr/local: config does not name /usr/local/share/$NAME/rules"
cp "$SCONF" "$T/default.toml"
inst
grep -q "unchanged /etc/$NAME/$NAME.toml" "$T/inst.log" || fail "re-install did not report the config unchanged"
[ ! -e "$SCONF.new" ] || fail "re-install of an unchanged config left a .new"
# An older version's default, never edited: an upgrade replaces it.
echo "# older default" >"$SCONF"
cp "$SCONF" "$S/usr/local/share/$NAME/$NAME.toml"
inst
cmp -s "$SCONF" "$T/default.toml" || fail "upgrade did not replace a config nobody had changed"
[ ! -e "$SCONF.new" ] || fail "upgrade of an unchanged config left a .new"
# An edited config: kept, the new default beside it.
echo "# local edit" >>"$SCONF"
inst
grep -q '^# local edit' "$SCONF" || fail "re-install overwrote a changed config"
cmp -s "$SCONF.new" "$T/default.toml" || fail "re-install over a changed config did not install $NAME.toml.new"
grep -q "$NAME.toml.new" "$T/inst.log" || fail "re-install did not say where the new config went"
echo 'alert sip any any -> any any (msg:"x"; sip.method:INVITE; sid:9000002; rev:1;)' >"$S/etc/$NAME/rules/local.rules"
inst --uninstall
LEFT=$(cd "$S" && find . -type f | sort | tr '\n' ' ')
[ "$LEFT" = "./etc/$NAME/rules/local.rules ./etc/$NAME/$NAME.toml " ] \
	|| fail "uninstall left '$LEFT' (want only the changed config and local.rules)"
[ ! -e "$S/usr/local/share/$NAME" ] || fail "uninstall left /usr/local/share/$NAME"
# Uninstall of an untouched install leaves nothing but empty parent folders.
rm -rf "$S"
inst
inst --uninstall
LEFT=$(cd "$S" && find . -type f | sort | tr '\n' ' ')
[ -z "$LEFT" ] || fail "uninstall of an untouched install left '$LEFT'"

echo "PASS: install layout, service run as the unit says, rotation, uninstall"

#!/usr/bin/env bash
# Install what voip-sentinel's tests and scripts/make-pcaps.sh need on a
# Debian machine, as root. Idempotent: apt is not touched when every package
# is already installed.
#
#   libpcap-dev  build dependency of the pcap crate
#   tshark       reference dissector the tests compare against
#   sip-tester   sipp 3.6 (with PCAP play) and its G.711/RFC 2833 pcaps
#   kamailio     registrar (digest auth) and stateful proxy for captures
#   tcpdump      writes the captures
#   tcpreplay    replays captures onto an interface in tests
#   iproute2     ip netns / veth, ss
#   procps       sysctl (in the namespaces)
#   python3      small helpers
#   prometheus   a real Prometheus (and promtool) scrapes the sensor in a test
#   sipsak       real SIP scanner/flooder for scripts/make-detect-pcaps.sh
#   nmap         its sip-methods NSE script sweeps for scripts/make-detect-pcaps.sh
#   curl         the install test scrapes the installed sensor's metrics
#   kamailio-tls-modules  kamailio's SIP over TLS for scripts/hep-scenario.sh
#   socat        TLS relay for sipp (built without TLS) in scripts/hep-scenario.sh
#   openssl      test certificates and keys (scripts/hep-scenario.sh, make-attack-pcaps.sh)
#   chromium     headless, renders the forensic HTML report in a test (tests/integration/report.rs)
#   fonts-dejavu-core  a font for chromium's screenshots of the report
set -euo pipefail

PKGS=(libpcap-dev tshark sip-tester kamailio tcpdump tcpreplay iproute2 procps python3 prometheus curl
	sipsak nmap kamailio-tls-modules socat openssl chromium fonts-dejavu-core)

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps.sh: must run as root" >&2
	exit 1
fi

missing=()
for p in "${PKGS[@]}"; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps.sh: all present (${PKGS[*]})"
else
	echo "install-deps.sh: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# tshark as root, no setuid dumpcap and no wireshark group question.
	echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections
	apt-get update
	apt-get install -y --no-install-recommends "${missing[@]}"
fi

# The kamailio package may start its system service (default config, port
# 5060 on every address). The captures run their own kamailio instances, so
# stop a service that this install started; harmless when there is none.
if [ ${#missing[@]} -gt 0 ] && printf '%s\n' "${missing[@]}" | grep -qx kamailio; then
	if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
		systemctl disable --now kamailio >/dev/null 2>&1 || true
	elif [ -x /etc/init.d/kamailio ]; then
		/etc/init.d/kamailio stop >/dev/null 2>&1 || true
	fi
fi

# Quick check that the tools run.
sipp_v=$(sipp -v 2>&1 || true)
case $sipp_v in *'SIPp v3'*) ;; *) false ;; esac || { echo "install-deps.sh: sipp not usable" >&2; exit 1; }
tshark -v >/dev/null 2>&1 || { echo "install-deps.sh: tshark not usable" >&2; exit 1; }
kamailio -v >/dev/null 2>&1 || { echo "install-deps.sh: kamailio not usable" >&2; exit 1; }
[ -f /usr/share/sip-tester/g711a.pcap ] || { echo "install-deps.sh: sipp pcaps missing" >&2; exit 1; }
echo "install-deps.sh: ok"

#!/usr/bin/env bash
# Make pcaps/mixed-interfaces.pcapng: one pcapng file whose four interfaces differ in link type
# and timestamp resolution, as a capture merged from several sensors is (dumpcap -i a -i b, or
# mergecap of their files). Made with Wireshark's own tools (editcap, mergecap: Debian package
# wireshark-common, installed with tshark) from four captures already in pcaps/:
#   interface 0  Ethernet, microseconds   pcaps/sipp-failures.pcap (sipp, our own)
#   interface 1  Linux cooked v1, ns      pcaps/public/heplify/sip_sctp.pcap, rewritten by
#                                         editcap -F nsecpcap (nanosecond timestamps)
#   interface 2  raw IPv4, microseconds   pcaps/public/zeek/sip-long-request-response-paths.pcap
#   interface 3  BSD loopback, µs         pcaps/public/suricata-verify/sip-body-large/sip-body-large.pcap
# mergecap orders the packets by time; libpcap cannot read the result (it allows one link type
# per file): the sensor's own reader can, and tests/integration/savefile.rs checks it against
# tshark packet by packet.
# Usage: scripts/make-mixed-pcapng.sh [OUT]   (default pcaps/mixed-interfaces.pcapng)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-$ROOT/pcaps/mixed-interfaces.pcapng}
for t in editcap mergecap; do
	command -v "$t" >/dev/null || { echo "missing $t: run scripts/install-deps.sh" >&2; exit 1; }
done
WORK=$(mktemp -d /tmp/voip-sentinel-mixed.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
P=$ROOT/pcaps
editcap -F nsecpcap "$P/public/heplify/sip_sctp.pcap" "$WORK/sctp-ns.pcap"
mergecap -F pcapng -w "$OUT" "$P/sipp-failures.pcap" "$WORK/sctp-ns.pcap" \
	"$P/public/zeek/sip-long-request-response-paths.pcap" \
	"$P/public/suricata-verify/sip-body-large/sip-body-large.pcap"
n=$(capinfos -T -c -M "$OUT" | tail -1 | cut -f2)
[ "$n" -eq 38 ] || { echo "expected 38 packets, got $n" >&2; exit 1; }
echo "$OUT: $n packets, $(stat -c %s "$OUT") bytes"

#!/usr/bin/env bash
# The README's screenshot of the forensic report: replays two bundled captures (a call through
# a Kamailio proxy, and a password guessed at a Kamailio registrar) with --pcap-dir --pcap-calls --report, and has headless
# Chromium render the report to docs/report.png.
#
# Usage: scripts/report-screenshot.sh   (needs chromium: scripts/install-deps.sh installs it)
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$(cargo build --release --message-format=json-render-diagnostics 2>/dev/null |
	python3 -c 'import json,sys
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m.get("executable") and m["target"]["name"]=="voip-sentinel": print(m["executable"])' | tail -1)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
root="$PWD"
(cd "$work" && "$bin" replay --quiet --eve eve.json --pcap-dir evidence --pcap-calls \
	--report report.html "$root/pcaps/kamailio-proxy-call.pcap" "$root/pcaps/attack/register-bruteforce.pcap")
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$work/profile" \
	--window-size=1280,3100 --screenshot="$root/docs/report.png" "file://$work/report.html" 2>/dev/null
echo "docs/report.png"

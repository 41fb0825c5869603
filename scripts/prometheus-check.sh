#!/bin/sh
# Lint the Prometheus exposition of a running sensor with promtool (Debian package `prometheus`),
# and check that the dashboards are valid JSON.
#   scripts/prometheus-check.sh [ADDR]     (default 127.0.0.1:9917)
set -eu
addr="${1:-127.0.0.1:9917}"
cd "$(dirname "$0")/.."
command -v promtool >/dev/null || { echo "promtool missing: apt-get install prometheus" >&2; exit 1; }
tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
if command -v curl >/dev/null; then
    curl -fsS "http://$addr/metrics" >"$tmp"
else
    python3 -c 'import sys,urllib.request; sys.stdout.write(urllib.request.urlopen("http://"+sys.argv[1]+"/metrics").read().decode())' "$addr" >"$tmp"
fi
promtool check metrics <"$tmp"
echo "metrics at http://$addr/metrics: $(grep -c '^# TYPE voipsentinel_' "$tmp") families, promtool OK"
for f in grafana/dashboards/*.json; do
    python3 -m json.tool "$f" >/dev/null || { echo "$f: invalid JSON" >&2; exit 1; }
done
echo "dashboards: valid JSON"

#!/usr/bin/python3
"""Print tshark facts of pcaps/media/ captures as Markdown bullet lines.

Like scripts/pcaps/pcap-facts.py (whose sip_stat it reuses), plus the RTP
columns the media tests compare: packets, lost, max delta, mean and max
jitter (ms) from `tshark -q -z rtp,streams`; with --heuristic, streams found
by `--enable-heuristic rtp_udp` (for captures whose SDP tshark cannot read).

Usage: scripts/media/media-facts.py [--heuristic] FILE...
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pcaps"))
from importlib import import_module  # noqa: E402

sip_stat = import_module("pcap-facts").sip_stat


def rtp_rows(path, heuristic):
    args = ["tshark", "-n", "-r", path, "-q", "-z", "rtp,streams"]
    if heuristic:
        args[1:1] = ["--enable-heuristic", "rtp_udp"]
    out = subprocess.run(args, capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        m = re.match(r"\s*([\d.]+)\s+([\d.]+)\s+(\S+)\s+(\d+)\s+(\S+)\s+(\d+)\s+(0x[0-9A-F]+)\s+(.*?)\s+(\d+)\s+"
                     r"(-?\d+) \((-?[\d.]+%)\)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*(X?)", line)
        if m:
            g = m.groups()
            rows.append(f"{g[2]}:{g[3]} → {g[4]}:{g[5]} ssrc={g[6]} payload={g[7]} pkts={g[8]} "
                        f"lost={g[9]} ({g[10]}) max_delta={g[13]} ms mean_jitter={g[15]} ms "
                        f"max_jitter={g[16]} ms{' PROBLEMS' if g[17] else ''}")
    return rows


def main():
    heur = "--heuristic" in sys.argv
    for p in [a for a in sys.argv[1:] if a != "--heuristic"]:
        pk = subprocess.run(["capinfos", "-c", "-M", p], capture_output=True, text=True).stdout
        n = re.search(r"Number of packets:\s+(\d+)", pk).group(1)
        total, resent, methods, codes = sip_stat(p)
        print(f"#### `{os.path.basename(p)}`\n")
        print(f"- size: {os.path.getsize(p):,} bytes; packets: {n}")
        if total:
            print(f"- SIP (`-z sip,stat`): {total} messages, {resent} resent; requests: "
                  f"{', '.join(methods) or 'none'}; responses: {', '.join(codes) or 'none'}")
        else:
            print("- SIP (`-z sip,stat`): none")
        rows = rtp_rows(p, False)
        print(f"- RTP streams (`-z rtp,streams`): {len(rows)}")
        for r in rows:
            print(f"  - {r}")
        if heur:
            hr = rtp_rows(p, True)
            if sorted(hr) != sorted(rows):
                print(f"- RTP streams with `--enable-heuristic rtp_udp`: {len(hr)}")
                for r in hr:
                    print(f"  - {r}")
        print()


if __name__ == "__main__":
    main()

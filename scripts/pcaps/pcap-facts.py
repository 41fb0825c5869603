#!/usr/bin/env python3
"""Print the tshark facts of capture files as Markdown (used for pcaps/README.md).

For each FILE: size, packet count and link type; SIP messages as tshark's
`-z sip,stat` reports them (requests by method, responses by status); RTP
streams as `-z rtp,streams` reports them, with tshark's defaults (RTP found
through SDP/SIP set-up) and, when that differs, with the heuristic RTP
dissector enabled (--enable-heuristic rtp_udp).

Usage: scripts/pcaps/pcap-facts.py FILE...
"""
import re
import subprocess
import sys


def tshark(args):
    p = subprocess.run(["tshark", "-n", *args], capture_output=True, text=True)
    return p.stdout


def sip_stat(path):
    out = tshark(["-r", path, "-q", "-z", "sip,stat"])
    total = re.search(r"Number of SIP messages: (\d+)", out)
    resent = re.search(r"Number of resent SIP messages: (\d+)", out)
    codes, methods, section = [], [], None
    for line in out.splitlines():
        if "SIP Status Codes" in line:
            section = codes
            continue
        if "List of SIP Request methods" in line:
            section = methods
            continue
        if line.startswith("* ") or line.startswith("="):
            section = None
            continue
        m = re.match(r"\s+(.*?)\s*:\s+(\d+) Packets", line)
        if m and section is not None:
            name = re.sub(r"^SIP ", "", m.group(1))
            if len(name) > 40:
                name = f"{name[:12]}…({len(name)} chars)"
            section.append((name, int(m.group(2))))
    codes.sort(key=lambda c: (c[0].split()[0], c[0]))
    methods.sort(key=lambda c: (-c[1], c[0]))
    methods = [f"{n} ×{c}" for n, c in methods]
    codes = [f"{n} ×{c}" for n, c in codes]
    return (int(total.group(1)) if total else 0, int(resent.group(1)) if resent else 0, methods, codes)


def rtp_streams(path, heuristic):
    args = ["-r", path, "-q", "-z", "rtp,streams"]
    if heuristic:
        args = ["--enable-heuristic", "rtp_udp", *args]
    out = tshark(args)
    rows = []
    for line in out.splitlines():
        f = line.split()
        # start end src sport dst dport ssrc payload... pkts lost (pct) ...
        if len(f) >= 12 and re.match(r"^\d+\.\d+$", f[0]) and f[6].startswith("0x"):
            m = re.search(r"(0x[0-9A-Fa-f]+)\s+(.*?)\s+(\d+)\s+(-?\d+) \((-?[\d.]+%)\)", line)
            payload, pkts, lost, pct = m.group(2), m.group(3), m.group(4), m.group(5)
            problem = " PROBLEMS" if line.rstrip().endswith("X") else ""
            rows.append(f"{f[2]}:{f[3]} → {f[4]}:{f[5]} ssrc={f[6]} payload={payload} "
                        f"pkts={pkts} lost={lost} ({pct}){problem}")
    return rows


def facts(path):
    import os
    size = os.path.getsize(path)
    pk = tshark(["-r", path, "-T", "fields", "-e", "frame.number"]).split()
    ci = subprocess.run(["capinfos", "-T", "-E", "-t", path], capture_output=True, text=True).stdout
    ci = ci.splitlines()[-1].split("\t") if ci.strip() else ["", "?", "?"]
    ftype, enc = ci[1], ci[2]
    total, resent, methods, codes = sip_stat(path)
    out = [f"- size: {size:,} bytes; format: {ftype}; link: {enc}; packets: {len(pk)}"]
    if total:
        out.append(f"- SIP (`-z sip,stat`): {total} messages, {resent} resent; "
                   f"requests: {', '.join(methods) or 'none'}; responses: {', '.join(codes) or 'none'}")
    else:
        out.append("- SIP (`-z sip,stat`): none")
    plain = rtp_streams(path, False)
    heur = rtp_streams(path, True)
    out.append(f"- RTP streams (`-z rtp,streams`): {len(plain)}")
    out += [f"  - {r}" for r in plain]
    if sorted(heur) != sorted(plain):
        out.append(f"- RTP streams with `--enable-heuristic rtp_udp`: {len(heur)}")
        out += [f"  - {r}" for r in heur]
    return "\n".join(out)


if __name__ == "__main__":
    for p in sys.argv[1:]:
        print(f"#### `{p}`\n")
        print(facts(p))
        print()

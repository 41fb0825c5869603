#!/usr/bin/env python3
"""Write pcaps/et-voip/README.md: provenance and tshark facts of the ET VoIP captures.

The descriptions come from OURS below (kept in step with scripts/make-et-voip-pcaps.sh); the
facts (size, packets, `-z sip,stat`, transport, distinct Call-IDs) are computed from the files
with tshark (scripts/pcaps/pcap-facts.py), and so are the rule matches: every SIP rule of
/work/shared/rules/emerging-voip.rules (the 15 on port 5060) is written out below as a predicate
on one packet (its header with $HOME_NET = 127.0.0.45, its contents with depth, distance,
within, nocase, isdataat, dsize, pcre), and its threshold is applied to the matching packets as
Suricata's detect-engine-threshold.c does it (type both: one alert when the count is reached
within `seconds` of the window's first match, window restarted by the first match after it;
type limit: the first `count` matches of each window). That is a model of a Suricata run, not
one (no Suricata here); it reads TCP segment by segment (every request a rule counts in these
captures is the first segment of its own connection, where packet and stream inspection agree).
The script exits 1 when a capture's modelled alerts differ from the ones it is made for.
scripts/make-et-voip-pcaps.sh runs it at the end.

Usage: scripts/et-voip/write-readme.py [--out DIR]
"""
import argparse
import os
import re
import subprocess
import sys
from importlib import import_module

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "scripts", "pcaps"))
pf = import_module("pcap-facts")

D = "scripts/et-voip"
M = "scripts/make-et-voip-pcaps.sh"
HOME = "127.0.0.45"
RULES_FILE = "/work/shared/rules/emerging-voip.rules"


def contains(p, s, start=0, depth=None, nocase=False):
    """Offset after the first match of s in p[start:start+depth], or -1."""
    hay = p[start:] if depth is None else p[start:start + depth]
    if nocase:
        hay, s = hay.lower(), s.lower()
    i = hay.find(s)
    return -1 if i < 0 else start + i + len(s)


def r2002848(p):
    e = contains(p, b"INVITE", 0, 6, True)
    if len(p) <= 1000 or e < 0:
        return False
    m = re.compile(rb"\r?\n\r?\n").search(p, e)
    return bool(m) and len(p) > m.end() + 1000


def r2003237(p):
    e = contains(p, b"INVITE", 0, 6, True)
    return e >= 0 and len(p) > e + 65 and b"\n" not in p[e:e + 61]


def r2003474(p):
    e = contains(p, b"REGISTER\r\n", 0, 10, True)
    return e >= 0 and b"SIP/" not in p[e:]


def r2011422(p):
    e = contains(p, b"OPTIONS ", 0, 8)
    return e >= 0 and contains(p, b'ccxllrlflgig"<sip:100', e, None, True) >= 0


def r2100223(p):
    return (b";branch=" in p and b"a=" in p
            and re.search(rb"^a=[^\n]{1000,}", p, re.S | re.M | re.I) is not None)


# sid -> (proto, direction, predicate on the payload, threshold (type, track, count, seconds))
# direction: "in" $EXTERNAL_NET any -> $HOME_NET 5060 (TCP: established, to_server)
#            "out" $HOME_NET 5060 -> $EXTERNAL_NET any (TCP: established, from_server)
#            "to5060" ip any any -> any 5060; "from5060" ip any 5060 -> any any
BOTH100 = ("both", "by_src", 100, 60)
RULES = {
    2003192: ("tcp", "in", lambda p: contains(p, b"INVITE", 0, 6) >= 0, BOTH100),
    2009698: ("udp", "in", lambda p: contains(p, b"INVITE", 0, 6) >= 0, BOTH100),
    2003193: ("tcp", "in", lambda p: contains(p, b"REGISTER", 0, 8) >= 0, BOTH100),
    2009699: ("udp", "in", lambda p: contains(p, b"REGISTER", 0, 8) >= 0, BOTH100),
    2002848: ("udp", "in", r2002848, None),
    2003237: ("udp", "in", r2003237, None),
    2003194: ("tcp", "out", lambda p: contains(p, b"SIP/2.0 401 Unauthorized", 0, 24) >= 0,
              ("both", "by_src", 5, 360)),
    2009700: ("udp", "out", lambda p: contains(p, b"SIP/2.0 401 Unauthorized", 0, 24) >= 0,
              ("both", "by_src", 5, 360)),
    2003474: ("udp", "in", r2003474, None),
    2012296: ("udp", "in", lambda p: contains(p, b"\r\nUser-Agent: Asterisk PBX", 0, None, True) >= 0,
              ("limit", "by_src", 1, 60)),
    2012297: ("udp", "in", lambda p: contains(p, b"\r\nUser-Agent: Zoiper", 0, None, True) >= 0,
              ("limit", "by_src", 1, 60)),
    2011422: ("udp", "in", r2011422, None),
    2100158: ("ip", "to5060", lambda p: contains(p, b"INVITE", 0, 6) >= 0, BOTH100),
    2100163: ("ip", "to5060",
              lambda p: contains(p, b"SIP/2.0 407 Proxy Authentication Required", 0, 42) >= 0, BOTH100),
    2100223: ("udp", "in", r2100223, None),
    2100162: ("ip", "from5060", lambda p: contains(p, b"SIP/2.0 401 Unauthorized", 0, 24) >= 0,
              ("both", "by_dst", 100, 60)),
}


def header_ok(proto, direction, pk):
    if proto != "ip" and pk["proto"] != proto:
        return False
    if direction == "in":
        return pk["src"] != HOME and pk["dst"] == HOME and pk["dport"] == 5060
    if direction == "out":
        return pk["src"] == HOME and pk["dst"] != HOME and pk["sport"] == 5060
    if direction == "to5060":
        return pk["dport"] == 5060
    return pk["sport"] == 5060


def threshold(matches, th):
    """Alerts Suricata's threshold gives for the matching packets (time, src, dst)."""
    if th is None:
        return len(matches)
    kind, track, count, seconds = th
    table, alerts = {}, 0
    for ts, src, dst in matches:
        key = src if track == "by_src" else dst
        e = table.get(key)
        if e is None:
            table[key] = [ts, 1]
            alerts += 1 if (kind == "limit" or count == 1) else 0
        elif ts - e[0] < seconds:
            if kind == "limit":
                alerts += 1 if e[1] < count else 0
                e[1] += 1
            else:
                e[1] += 1
                alerts += 1 if e[1] == count else 0
        else:
            e[0], e[1] = ts, 1
            alerts += 1 if kind == "limit" else 0
    return alerts


def packets(path):
    out = subprocess.run(
        ["tshark", "-n", "-r", path, "-T", "fields", "-E", "separator=|", "-e", "frame.time_epoch",
         "-e", "ip.src", "-e", "ip.dst", "-e", "udp.srcport", "-e", "udp.dstport", "-e", "tcp.srcport",
         "-e", "tcp.dstport", "-e", "udp.payload", "-e", "tcp.payload"],
        capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        ts, src, dst, us, ud, tsp, tdp, up, tp = line.split("|")
        proto = "udp" if us else "tcp" if tsp else "other"
        hexp = (up or tp).replace(":", "")
        yield {"ts": float(ts), "src": src, "dst": dst, "proto": proto,
               "sport": int(us or tsp or 0), "dport": int(ud or tdp or 0),
               "payload": bytes.fromhex(hexp)}


def rule_matches(path):
    """sid -> (matching packets, alerts) for the rules that match at least once."""
    hits = {sid: [] for sid in RULES}
    for pk in packets(path):
        if not pk["payload"]:
            continue
        for sid, (proto, direction, pred, _) in RULES.items():
            if header_ok(proto, direction, pk) and pred(pk["payload"]):
                hits[sid].append((pk["ts"], pk["src"], pk["dst"]))
    return {sid: (len(m), threshold(m, RULES[sid][3])) for sid, m in hits.items() if m}


def run(args):
    return subprocess.run(args, capture_output=True, text=True).stdout


def tool_versions():
    first = lambda s, pat: next((l.strip() for l in s.splitlines() if re.search(pat, l)), "?")
    return {
        "sipp": first(run(["sipp", "-v"]), r"SIPp v").rstrip("."),
        "kamailio": first(run(["kamailio", "-v"]), r"^version:").replace("version: ", ""),
        "svmap": first(run(["sipvicious_svmap", "--version"]), r"v\d").replace("sipvicious_", ""),
        "tcpdump": first(subprocess.run(["tcpdump", "--version"], stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True).stdout, r"^tcpdump version"),
        "tshark": first(run(["tshark", "-v"]), r"^TShark").rstrip("."),
        "os": first(open("/etc/os-release").read(), r"^PRETTY_NAME=").split("=", 1)[1].strip('"'),
        "python": sys.version.split()[0],
    }


SIPP_FLOOD = ("`sipp -sf {d}/{sf} 127.0.0.45:5060 -i {a} {t} -s {user} -m 120 -r 40 -rp 1000 "
              "-cid_str '{name}-%u@{a}' -nostdin -timeout 60 -timeout_error`")
FLOOD_HOW = ("`{m} {name}`: kamailio `-f {d}/kamailio-et-voip.cfg`; " + SIPP_FLOOD +
             "; `tcpdump -i lo -n -s 0 -U -w {name}.pcap 'host {a} and host 127.0.0.45'`")


def flood_how(name, a, t, sf, user):
    topt = "-t tn -max_socket 1000" if t == "tcp" else "-t u1 -p 5060"
    return FLOOD_HOW.format(m=M, d=D, name=name, a=a, t=topt, sf=sf, user=user)


TCP_NOTE = ("over TCP, one connection per request (sipp `-t tn`: handshake, request, response, "
            "the ACK of a refused INVITE, FIN from sipp), so every request is the first segment "
            "of its connection and every response the first from the server's side")

# name -> (what, {sid: alerts} it is made for, how)
OURS = {
    "invite-flood-udp.pcap": (
        "INVITE flood over UDP: sipp 127.0.0.44:5060 sends 120 INVITEs (no SDP, one Call-ID each, "
        "`INVITE sip:1000@127.0.0.45:5060`) at 40 per second to kamailio 127.0.0.45:5060, which "
        f"refuses each with 404 Not Found; sipp ACKs every 404 (`{D}/uac-invite-flood.xml`).",
        {2009698: 1, 2100158: 1},
        flood_how("invite-flood-udp", "127.0.0.44", "udp", "uac-invite-flood.xml", "1000"),
    ),
    "invite-flood-tcp.pcap": (
        f"The same INVITE flood {TCP_NOTE}: sipp 127.0.0.44 (ephemeral ports), 120 INVITEs at 40 "
        "per second, 404 and ACK each.",
        {2003192: 1, 2100158: 1},
        flood_how("invite-flood-tcp", "127.0.0.44", "tcp", "uac-invite-flood.xml", "1000"),
    ),
    "register-flood-udp.pcap": (
        "REGISTER flood over UDP: sipp 127.0.0.46:5060 sends 120 REGISTERs without credentials "
        "(AORs flood1..flood120 @voip-sentinel.test, one Call-ID each) at 40 per second to "
        "kamailio 127.0.0.45:5060, which takes them from this trusted peer (no challenge) and "
        f"answers 200 OK (`{D}/uac-register-flood.xml`). No 401 in the capture.",
        {2009699: 1},
        flood_how("register-flood-udp", "127.0.0.46", "udp", "uac-register-flood.xml", "flood"),
    ),
    "register-flood-tcp.pcap": (
        f"The same REGISTER flood {TCP_NOTE}: sipp 127.0.0.46, 120 REGISTERs at 40 per second, "
        "200 OK each.",
        {2003193: 1},
        flood_how("register-flood-tcp", "127.0.0.46", "tcp", "uac-register-flood.xml", "flood"),
    ),
    "unauthorized-flood-udp.pcap": (
        "401 flood over UDP: sipp 127.0.0.47:5060 sends 120 REGISTERs without credentials (AORs "
        "guess1..guess120, one Call-ID each) at 40 per second; kamailio's digest registrar "
        "127.0.0.45:5060 challenges each (`www_challenge`): 120 × `SIP/2.0 401 Unauthorized` "
        f"from 127.0.0.45:5060 to 127.0.0.47:5060, never answered (`{D}/uac-register-unauthorized.xml`). "
        "The 120 REGISTERs are a REGISTER flood as well.",
        {2009700: 1, 2100162: 1, 2009699: 1},
        flood_how("unauthorized-flood-udp", "127.0.0.47", "udp", "uac-register-unauthorized.xml", "guess"),
    ),
    "unauthorized-flood-tcp.pcap": (
        f"The same 401 flood {TCP_NOTE}: sipp 127.0.0.47, 120 REGISTERs at 40 per second, "
        "120 × 401 Unauthorized from 127.0.0.45:5060.",
        {2003194: 1, 2100162: 1, 2003193: 1},
        flood_how("unauthorized-flood-tcp", "127.0.0.47", "tcp", "uac-register-unauthorized.xml", "guess"),
    ),
    "sipvicious-modified-ua.pcap": (
        "Modified SIPVicious: real svmap 0.3.8 (PyPI `sipvicious`) from 127.0.0.48:5060 scanning "
        "127.0.0.45:5060 with its User-Agent changed to `Asterisk PBX`, the modified SIPVicious "
        "that ET 2012296 names (its reference: blog.sipvicious.org/2010/11/"
        "distributed-sip-scanning-during.html): one OPTIONS (`OPTIONS "
        "sip:100@127.0.0.45`, From/To `\"sipvicious\"<sip:100@1.1.1.1>`, Contact "
        "`sip:100@127.0.0.48:5060`, `User-Agent: Asterisk PBX`), 200 OK from kamailio. svmap has "
        "no option for its User-Agent (`sipvicious_svmap --help`; its requests take makeRequest's "
        f"default `friendly-scanner`): `{D}/svmap-useragent.py` runs svmap's own main() with that "
        "default set to `Asterisk PBX`, nothing else changed.",
        {2012296: 1},
        f"`{M} sipvicious-modified-ua`: `{D}/svmap-useragent.py --user-agent='Asterisk PBX' "
        "-b 127.0.0.48 -P 5060 127.0.0.45`; `tcpdump -i lo ... 'udp and host 127.0.0.48 and host "
        "127.0.0.45'`",
    ),
    "sipvicious-ccxllrlflgig.pcap": (
        "Real, unmodified svmap 0.3.8 from 127.0.0.49:5060 with `--fromname=ccxllrlflgig`: one "
        "OPTIONS to 127.0.0.45:5060 with From/To `\"ccxllrlflgig\"<sip:100@1.1.1.1>` (the display "
        "name ET 2011422 looks for, followed by svmap's fixed From address `sip:100@1.1.1.1`) and "
        "`User-Agent: friendly-scanner`; 200 OK from kamailio.",
        {2011422: 1},
        f"`{M} sipvicious-ccxllrlflgig`: `sipvicious_svmap --fromname=ccxllrlflgig -b 127.0.0.49 "
        "-P 5060 127.0.0.45`; `tcpdump -i lo ... 'udp and host 127.0.0.49 and host 127.0.0.45'`",
    ),
    "zoiper-ua.pcap": (
        "One OPTIONS with `User-Agent: Zoiper rev.6751` (an agent string of the Zoiper "
        "softphone, of the `Zoiper rev.NNNN` form) from sipp 127.0.0.50:5060 to kamailio 127.0.0.45:5060, 200 OK. sipp plays "
        "the softphone (Zoiper is proprietary and not packaged); the request is "
        "`scripts/detect/uac-options-ua.xml` with that agent string.",
        {2012297: 1},
        f"`{M} zoiper-ua`: `sipp -sf scripts/detect/uac-options-ua.xml -key ua 'Zoiper rev.6751' "
        "127.0.0.45:5060 -i 127.0.0.50 -p 5060 -m 1`; `tcpdump -i lo ... 'udp and host 127.0.0.50 "
        "and host 127.0.0.45'`",
    ),
}

MSG = {}


def rule_msgs():
    try:
        with open(RULES_FILE) as f:
            for line in f:
                m = re.search(r'msg:"([^"]*)".*?sid:(\d+);', line)
                if m and not line.lstrip().startswith("#"):
                    MSG[int(m.group(2))] = m.group(1)
    except OSError:
        pass


def th_text(th):
    if th is None:
        return "no threshold"
    kind, track, count, seconds = th
    return f"{kind} {track} {count}/{seconds}s"


def transport(path):
    fl = run(["tshark", "-n", "-r", path, "-Y", "sip", "-T", "fields", "-e", "udp.srcport",
              "-e", "tcp.srcport"]).splitlines()
    udp = sum(1 for l in fl if l.split("\t")[0])
    tcp = sum(1 for l in fl if len(l.split("\t")) > 1 and l.split("\t")[1])
    syn = len(run(["tshark", "-n", "-r", path, "-Y", "tcp.flags.syn == 1 && tcp.flags.ack == 0",
                   "-T", "fields", "-e", "frame.number"]).split())
    parts = []
    if udp:
        parts.append(f"UDP ({udp} SIP messages)")
    if tcp:
        parts.append(f"TCP ({tcp} SIP messages in {syn} connections)")
    return ", ".join(parts) or "none"


def span(path):
    ts = [float(x) for x in run(["tshark", "-n", "-r", path, "-Y", "sip", "-T", "fields", "-e",
                                 "frame.time_relative"]).split()]
    return (ts[-1] - ts[0]) if ts else 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "pcaps", "et-voip"))
    a = ap.parse_args()
    rule_msgs()
    v = tool_versions()
    bad = []
    L = []
    w = L.append
    w("# ET VoIP captures")
    w("")
    w("Captures on which the Emerging Threats Open VoIP rules (`/work/shared/rules/emerging-voip.rules`, "
      "see `/work/shared/rules/README.md`) fire, made on this machine by `scripts/make-et-voip-pcaps.sh` "
      "with real tools on loopback; nothing left the machine and no packet went to an address outside "
      "127.0.0.0/8. `$HOME_NET` is one SIP server, kamailio on **127.0.0.45:5060** over UDP and TCP "
      f"(`{D}/kamailio-et-voip.cfg`: OPTIONS 200, INVITE 404, REGISTER 200 from the trusted peer "
      "127.0.0.46 and a digest challenge, 401, for anyone else); `$EXTERNAL_NET` is `!$HOME_NET`. "
      "Attackers: 127.0.0.44 (INVITE floods), 127.0.0.46 (REGISTER floods), 127.0.0.47 (401 floods), "
      "127.0.0.48 and 127.0.0.49 (SIPVicious svmap), 127.0.0.50 (Zoiper User-Agent). Each capture was "
      "written by `tcpdump -i lo -n -s 0 -U` with a BPF filter on its two addresses, started before "
      "and stopped after the traffic (link type Ethernet, as Linux captures lo).")
    w("")
    w(f"Tools: {v['sipp']}; {v['kamailio']}; SIPVicious {v['svmap']} (PyPI "
      f"`sipvicious` 0.3.8, Python {v['python']}); {v['tcpdump']}; {v['tshark']}; {v['os']}.")
    w("")
    w("Regenerate, as root: `scripts/install-deps.sh`, `pip install sipvicious==0.3.8`, then "
      "`scripts/make-et-voip-pcaps.sh [NAME...]` (about a minute; NAME is the capture's name without "
      "`.pcap`); this file is rewritten by `scripts/et-voip/write-readme.py`. The script fails when "
      "tshark finds fewer messages than a rule needs (every flood: at least 120 requests, or 120 "
      "401s, the first 120 within 60 s) or a capture over 300 KB. What changes from run to run: "
      "timestamps, sipp's pid in branches and tags, TCP ports, kamailio nonces, svmap's Call-ID, "
      "tag and branch (random). Counts are stable.")
    w("")
    w("Threshold semantics used for \"alerts\" below (Suricata): `type both, count N, seconds S` "
      "gives one alert when the N-th match of a tracked address falls within S seconds of that "
      "window's first match, then none until a match after the window opens a new one; "
      "`type limit, count 1, seconds 60` gives the first match of each 60 s window. The floods take "
      "about 3 s, so each threshold rule alerts once per capture. The columns are computed by "
      "`write-readme.py`: each port-5060 rule as a predicate on one packet (header with `$HOME_NET` = "
      "127.0.0.45, contents with their modifiers), the threshold applied to the matching packets as "
      "Suricata's `detect-engine-threshold.c` does: a model of a Suricata run (no Suricata here), "
      "which reads TCP segment by segment; in these captures every request a rule counts is the first "
      "segment of its own connection and every 401 the first from the server's side, where "
      "Suricata's packet and stream inspection agree. Rules that "
      "match nothing in a capture are not listed; the TCP 1720 (H.323/Q.931) and HTTP rules have no "
      "traffic here.")
    w("")
    for name, (what, want, how) in OURS.items():
        path = os.path.join(a.out, name)
        if not os.path.exists(path):
            continue
        got = rule_matches(path)
        alerts = {sid: n for sid, (_, n) in got.items() if n}
        if alerts != want:
            bad.append(f"{name}: modelled alerts {alerts}, made for {want}")
        w(f"### `{name}`")
        w("")
        w(f"- what: {what}")
        w(f"- made by: {how}")
        w(pf.facts(path).split("\n- RTP streams")[0])
        w(f"- transport: {transport(path)}; first to last SIP message: {span(path):.2f} s")
        ids = {l.strip() for l in run(["tshark", "-n", "-r", path, "-Y", "sip", "-T", "fields",
                                       "-e", "sip.Call-ID"]).splitlines() if l.strip()}
        w(f"- distinct Call-IDs: {len(ids)}")
        w("- rules (matching packets → alerts):")
        for sid in sorted(got, key=lambda s: (-got[s][1], s)):
            n, al = got[sid]
            w(f"  - {sid} {MSG.get(sid, '')} ({th_text(RULES[sid][3])}): {n} → **{al}**")
        w("")
    with open(os.path.join(a.out, "README.md"), "w") as f:
        f.write("\n".join(L))
    if bad:
        for b in bad:
            print(f"write-readme.py: {b}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()

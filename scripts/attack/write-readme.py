#!/usr/bin/env python3
"""Write pcaps/attack/README.md: provenance and tshark facts of the attack captures.

The descriptions come from the table OURS below (kept in step with
scripts/make-attack-pcaps.sh); the facts (size, packets, `-z sip,stat`
counts, distinct Call-IDs, and per-capture details read back from the SIP
headers with tshark) are computed from the files. scripts/make-attack-pcaps.sh
runs it at the end; it can also be run alone.

Usage: scripts/attack/write-readme.py [--out DIR] [--stir-pub PUB.pem]
  --stir-pub  public key of the run that made stir-shaken.pcap (written into
              the README); without it the key block of the existing README
              is kept.
"""
import argparse
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "scripts", "pcaps"))
from importlib import import_module  # noqa: E402

pf = import_module("pcap-facts")

A = "scripts/attack"
KEY_BEGIN = "<!-- stir-shaken public key: begin -->"
KEY_END = "<!-- stir-shaken public key: end -->"

# name -> (what, how it was made)
OURS = {
    "register-bruteforce.pcap": (
        "Online password guessing (SIP digest) against one account from one source. "
        "sipp at 127.0.0.150:5060 registers as `alice` at a real kamailio registrar "
        f"(127.0.0.151:5060, `{A}/kamailio-attack.cfg`: auth module `www_challenge` + "
        "`pv_www_authenticate` against passwords held in the config, realm "
        "\"voip-sentinel.test\"), 13 rounds 0.2 s apart (about 5 per second), each with its own "
        "Call-ID: REGISTER, 401 Unauthorized (WWW-Authenticate, fresh nonce), REGISTER "
        "with Authorization (digest computed by sipp), then 403 Forbidden for the 12 wrong "
        "passwords (123456, password, alice, 1234, qwerty, alice123, letmein, 111111, admin, "
        "12345678, sip1234, voip2024) and 200 OK (binding saved) for the right one "
        "(alice-secret, last). User-Agent: friendly-scanner.",
        f"`make_bruteforce`: `kamailio -f {A}/kamailio-attack.cfg -DD -E -n 1 ...`; for each "
        f"line PASS of `{A}/alice-passwords.txt`: `sipp -sf {A}/uac-register-guess.xml "
        "127.0.0.151:5060 -i 127.0.0.150 -p 5060 -s alice -au alice -ap PASS -m 1 "
        "-cid_str 'bf-alice-N-%u@127.0.0.150'`; `tcpdump -i lo -U -w ... "
        "'host 127.0.0.150 or host 127.0.0.151'`. One sipp run per password rather than one "
        "run with `-inf` and `[authentication username=alice password=[field0]]`: sipp 3.6.1 "
        "does not expand a keyword nested inside `[authentication ...]` (it emits the field "
        "value and the literal keyword text; https://github.com/SIPp/sipp/issues/640).",
    ),
    "distributed-bruteforce.pcap": (
        "Distributed password guessing against one account: 6 sources 127.0.0.152 ... "
        "127.0.0.157 (port 5060 each) each try 2 wrong passwords for `bob` at the same kamailio "
        "registrar (127.0.0.151:5060), round-robin over the sources (first guess of every "
        "source, then the second), 0.2 s apart: per guess REGISTER, 401, REGISTER with "
        "Authorization, 403 Forbidden. No source succeeds; each source makes only 2 failures.",
        f"`make_distributed`: same kamailio; source k (1..6) uses lines 2k-1 and 2k of "
        f"`{A}/bob-passwords.txt`: `sipp -sf {A}/uac-register-guess.xml 127.0.0.151:5060 "
        "-i 127.0.0.15x -p 5060 -s bob -au bob -ap PASS -m 1 -cid_str "
        "'dist-bob-K-R-%u@127.0.0.15x'`; `tcpdump -i lo -U -w ... 'host 127.0.0.151 or host "
        "127.0.0.152 or ... or host 127.0.0.157'`",
    ),
    "invite-flood.pcap": (
        "INVITE flood: 300 INVITEs (each a new Call-ID, no SDP, From 1001, User-Agent "
        "friendly-scanner) sent at 150 per second (about 2 s) from 127.0.0.160:5060 to a sipp "
        f"UAS 127.0.0.161:5060 (`{A}/uas-flood.xml`) that answers at once: the Request-URI "
        "users cycle 4861, 2001, 4862, so 200 calls get 486 Busy Here (then ACK of the INVITE "
        "transaction, same Via branch) and 100 get 200 OK (then ACK, an immediate BYE and 200). "
        "No 100 Trying, no media.",
        f"`make_invite-flood`: `sipp -sf {A}/uas-flood.xml -i 127.0.0.161 -p 5060 -m 300` and "
        f"`sipp -sf {A}/uac-invite-flood.xml -inf {A}/flood-callees.csv 127.0.0.161:5060 "
        "-i 127.0.0.160 -p 5060 -s 1001 -m 300 -r 150 -rp 1000 -cid_str 'flood-%u@127.0.0.160'`; "
        "`tcpdump -i lo -U -w ... 'host 127.0.0.160 or host 127.0.0.161'`",
    ),
    "register-flood.pcap": (
        "REGISTER flood: 300 REGISTERs without credentials (each a new Call-ID, AORs "
        "flood1 ... flood300@voip-sentinel.test, Expires 60, User-Agent friendly-scanner) at "
        "150 per second (about 2 s) from 127.0.0.162:5060 to kamailio's open registrar address "
        f"127.0.0.163:5060 (`{A}/kamailio-attack.cfg`, no authentication there); each gets "
        "200 OK with its binding.",
        f"`make_register-flood`: `kamailio -f {A}/kamailio-attack.cfg ...`; "
        f"`sipp -sf {A}/uac-register-flood.xml 127.0.0.163:5060 -i 127.0.0.162 -p 5060 -s flood "
        "-m 300 -r 150 -rp 1000 -cid_str 'regflood-%u@127.0.0.162'`; `tcpdump -i lo -U -w ... "
        "'host 127.0.0.162 or host 127.0.0.163'`",
    ),
    "toll-fraud.pcap": (
        "Toll fraud pattern: one account (From \"1001\" <sip:1001@127.0.0.165>, Contact "
        "1001@127.0.0.165:5060) places 18 answered calls in about 18 s (1 call per second, "
        "at most 2 at once) to a sipp UAS standing for the PSTN gateway (127.0.0.166:5060, "
        f"`{A}/uas-answer-bye.xml`), which answers (100, 180, 200 with SDP PCMA) and hangs up "
        "itself after 1 s (BYE from 127.0.0.166 to the caller's Contact, 200). Dialled numbers "
        f"(Request-URI and To user, `{A}/toll-fraud-numbers.csv`, in this order): 12 international "
        "00441234567890, 0033612345678, +4915112345678, 0034912345678, +390612345678, "
        "0031201234567, +48221234567, 00353112345678, +61291234567, 0086101234567, +79161234567, "
        "00234803123456; 3 satellite / high-risk +88213000001234, 00882161234567, +881631234567; "
        "2 premium +19005550123, 00449098765432; 1 IRSF-range +252612345678. No RTP is sent.",
        f"`make_toll-fraud`: `sipp -sf {A}/uas-answer-bye.xml -i 127.0.0.166 -p 5060 -mi "
        f"127.0.0.166 -mp 17000 -m 18` and `sipp -sf {A}/uac-toll-fraud.xml -inf "
        f"{A}/toll-fraud-numbers.csv 127.0.0.166:5060 -i 127.0.0.165 -p 5060 -mi 127.0.0.165 "
        "-mp 16000 -s 1001 -m 18 -r 1 -l 3 -cid_str 'toll-%u@127.0.0.165'`; `tcpdump -i lo -U "
        "-w ... 'host 127.0.0.165 or host 127.0.0.166'`",
    ),
    "callerid-spoofing.pcap": (
        "Caller-ID spoofing: 4 answered calls, 1 per second, from 127.0.0.170:5060 to a sipp UAS "
        f"127.0.0.171:5060 (`{A}/uas-answer-bye.xml`, answers and hangs up after 1 s). Every "
        f"INVITE has a P-Asserted-Identity; per `{A}/callerid-spoof.csv`: (1) From "
        "+14155550123, PAI +12125550188 (mismatch); (2) display name \"Acme Corp Support\", "
        "external From number +18005550100, PAI +442079460321 (mismatch); (3) malformed From "
        "user `+44 20 ABC 123` (spaces and letters in the URI user), PAI +442079460322; "
        "(4) control call, From 1001 = PAI 1001 (not spoofed). No RTP is sent.",
        f"`make_spoofing`: `sipp -sf {A}/uas-answer-bye.xml -i 127.0.0.171 -p 5060 -mi 127.0.0.171 "
        f"-mp 17000 -m 4` and `sipp -sf {A}/uac-callerid-spoof.xml -inf {A}/callerid-spoof.csv "
        "127.0.0.171:5060 -i 127.0.0.170 -p 5060 -mi 127.0.0.170 -mp 16000 -s 1001 -m 4 -r 1 -l 2 "
        "-cid_str 'spoof-%u@127.0.0.170'`; `tcpdump -i lo -U -w ... 'host 127.0.0.170 or host "
        "127.0.0.171'`",
    ),
    "stir-shaken.pcap": (
        "STIR/SHAKEN: 4 answered calls, 1 per second, from 127.0.0.175:5060 to a sipp UAS "
        f"127.0.0.176:5060 (`{A}/uas-answer-bye.xml`). Each INVITE carries an RFC 8224 "
        "`Identity:` header `<b64url(header)>.<b64url(payload)>.<b64url(sig)>;"
        "info=<https://cert.example.org/sp.pem>;alg=ES256;ppt=shaken` with a real ES256 "
        "PASSporT (RFC 8225, RFC 8588 ppt=shaken; header "
        "`{\"alg\":\"ES256\",\"ppt\":\"shaken\",\"typ\":\"passport\",\"x5u\":\"https://cert.example.org/sp.pem\"}`, "
        "payload with attest, dest.tn, iat (the run's Unix time), orig.tn, origid (random "
        "UUID), JSON keys sorted, no whitespace). Signed with an EC P-256 key made by openssl "
        "for the run (kept only in the temporary directory, then deleted; the public key is "
        "below, so the signatures can be checked; the x5u URL is not served). Calls: "
        "attest A, B, C with orig.tn equal to the From number (without +), then attest A whose "
        "orig.tn 12155550999 does not match the From number +12155550104. The script checks "
        "every signature against the public key after the capture. No RTP is sent.",
        f"`make_stir-shaken`: `openssl ecparam -name prime256v1 -genkey -noout`, then "
        f"`{A}/stir-shaken-inf.py sign KEY CSV` (python standard library; `openssl dgst -sha256 "
        "-sign`, DER signature converted to raw r||s) writes the injection file (called, "
        f"calling, PASSporT, info URL); `sipp -sf {A}/uas-answer-bye.xml -i 127.0.0.176 -p 5060 "
        f"-mi 127.0.0.176 -mp 17000 -m 4` and `sipp -sf {A}/uac-stir-shaken.xml -inf CSV "
        "127.0.0.176:5060 -i 127.0.0.175 -p 5060 -mi 127.0.0.175 -mp 16000 -s caller -m 4 -r 1 "
        "-l 2 -cid_str 'stir-%u@127.0.0.175'`; `tcpdump -i lo -U -w ... 'host 127.0.0.175 or host "
        f"127.0.0.176'`; check: `tshark -Y sip.Identity -T fields -e sip.Identity | {A}/stir-shaken-inf.py "
        "verify PUB`",
    ),
}


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True).stdout


def fields(path, flt, *names):
    args = ["tshark", "-n", "-r", path, "-Y", flt, "-T", "fields", "-E", "separator=\t"]
    for n in names:
        args += ["-e", n]
    return [ln.split("\t") for ln in run(args).splitlines() if ln.strip()]


def versions():
    sipp = re.search(r"SIPp (v[^\s]*[^\s.])", run(["sipp", "-v"]))
    kam = re.search(r"kamailio (\S+)", run(["kamailio", "-v"]))
    tsh = re.search(r"TShark \(Wireshark\) (\S+)", run(["tshark", "-v"]))
    tv = run(["tcpdump", "--version"])
    td = re.search(r"tcpdump version (\S+)", tv)
    lp = re.search(r"libpcap version (\S+)", tv)
    ossl = run(["openssl", "version"]).split()
    py = sys.version.split()[0]
    deb = ""
    if os.path.exists("/etc/debian_version"):
        deb = open("/etc/debian_version").read().strip()
    return (f"sipp {sipp.group(1) if sipp else '?'} (Debian package sip-tester), "
            f"kamailio {kam.group(1) if kam else '?'} (auth, registrar, usrloc modules), "
            f"tcpdump {td.group(1) if td else '?'} (libpcap {lp.group(1) if lp else '?'}), "
            f"TShark {tsh.group(1) if tsh else '?'}, {' '.join(ossl[:2]) if ossl else 'openssl ?'}, "
            f"Python {py}" + (f", on Debian {deb}" if deb else ""))


def details(name, path):
    """Extra facts read back from the capture's SIP headers."""
    out = []
    calls = sorted({r[0] for r in fields(path, "sip", "sip.Call-ID")})
    out.append(f"- distinct Call-IDs: {len(calls)}")
    span = fields(path, "sip", "frame.time_relative")
    if span:
        out.append(f"- SIP time span: {float(span[-1][0]):.1f} s")
    if name in ("register-bruteforce.pcap", "distributed-bruteforce.pcap"):
        rows = fields(path, 'sip.Method == "REGISTER" && sip.Authorization', "ip.src", "sip.auth.username")
        per = {}
        for src, user in rows:
            per.setdefault((src, user), 0)
            per[(src, user)] += 1
        out.append("- REGISTERs with credentials per source: " +
                   ", ".join(f"{s} user {u} ×{n}" for (s, u), n in sorted(per.items())))
        fin = fields(path, "sip.Status-Code >= 200 && sip.CSeq.seq == 2", "sip.Status-Code")
        out.append("- final responses to the credentialed REGISTERs, in order: " +
                   " ".join(r[0] for r in fin))
    if name in ("invite-flood.pcap", "register-flood.pcap"):
        meth = "INVITE" if name.startswith("invite") else "REGISTER"
        t = [float(r[0]) for r in fields(path, f'sip.Method == "{meth}"', "frame.time_relative")]
        if len(t) > 1:
            out.append(f"- {meth}s: {len(t)} from the first to the last in {t[-1] - t[0]:.2f} s "
                       f"({(len(t) - 1) / (t[-1] - t[0]):.0f} per second)")
    if name == "toll-fraud.pcap":
        rows = fields(path, 'sip.Method == "INVITE"', "frame.time_relative", "sip.from.user", "sip.r-uri.user")
        out.append("- INVITEs (time s, From user → Request-URI user): " +
                   "; ".join(f"{float(t):.1f} {f} → {u}" for t, f, u in rows))
    if name == "callerid-spoofing.pcap":
        rows = fields(path, 'sip.Method == "INVITE"', "sip.From", "sip.P-Asserted-Identity")
        out.append("- INVITEs (From | P-Asserted-Identity):")
        out += [f"  - `{f}` | `{p}`" for f, p in rows]
    if name == "stir-shaken.pcap":
        import base64
        import json

        def dec(s):
            return json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))
        rows = fields(path, "sip.Identity", "sip.from.user", "sip.r-uri.user", "sip.Identity")
        out.append("- INVITEs with `Identity` (`-Y sip.Identity`): " + str(len(rows)))
        for fu, ru, ident in rows:
            tok, _, params = ident.partition(";")
            h, p, s = tok.split(".")
            pl = dec(p)
            out.append(f"  - From {fu} → {ru}: attest {pl['attest']}, orig.tn {pl['orig']['tn']}, "
                       f"dest.tn {','.join(pl['dest']['tn'])}, iat {pl['iat']}, origid {pl['origid']}, "
                       f"signature {len(base64.urlsafe_b64decode(s + '=' * (-len(s) % 4)))} bytes; "
                       f"params `{params}`")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "pcaps", "attack"))
    ap.add_argument("--stir-pub")
    a = ap.parse_args()
    readme = os.path.join(a.out, "README.md")
    key_block = None
    if a.stir_pub:
        key_block = open(a.stir_pub).read().strip()
    elif os.path.exists(readme):
        m = re.search(re.escape(KEY_BEGIN) + r"\n```\n(.*?)\n```\n" + re.escape(KEY_END),
                      open(readme).read(), re.S)
        key_block = m.group(1) if m else None

    L = []
    w = L.append
    w("# Attack captures")
    w("")
    w("Captures of SIP attack patterns for voip-sentinel's detectors, made on this machine by "
      "`scripts/make-attack-pcaps.sh` with real SIP stacks (sipp and kamailio) on loopback, "
      "in the style of `scripts/make-pcaps.sh` (see `pcaps/README.md`). All traffic is between "
      "127.0.0.150 and 127.0.0.176; nothing left the machine.")
    w("")
    w("\"Facts\" are what TShark reports (`tshark -n -r FILE -q -z sip,stat`, default preferences): "
      "SIP requests counted by method and responses by status, as in tshark's table; the "
      "distinct Call-IDs and the details are read back with `tshark -T fields`. They were "
      "written by `scripts/attack/write-readme.py`.")
    w("")
    w("## Regenerate")
    w("")
    w("As root, Debian 12:")
    w("")
    w("```sh")
    w("scripts/install-deps.sh              # tshark sip-tester kamailio tcpdump iproute2 ...; plus openssl, python3")
    w("scripts/make-attack-pcaps.sh         # all seven, about 80 s, then rewrites this README")
    w("# or some: scripts/make-attack-pcaps.sh bruteforce distributed invite-flood register-flood toll-fraud spoofing stir-shaken")
    w("scripts/attack/write-readme.py       # refresh this file alone")
    w("```")
    w("")
    w(f"Made with: {versions()}.")
    w("")
    w("How: each scenario uses its own 127.0.0.x addresses (SIP port 5060 everywhere, UDP), "
      "`tcpdump -U -w` on `lo` with a BPF filter on those addresses, started before and stopped "
      "1 s after the traffic; every sipp, kamailio and tcpdump process runs under `timeout` and "
      "is stopped on exit. The script checks each capture's `sip,stat` counts, distinct "
      "Call-IDs and some header facts and fails if they are off. Scenarios, kamailio config, "
      "injection files and helpers are in `scripts/attack/`. What changes from run to run: "
      "timestamps, sipp's Via branches (they hold its pid), kamailio's nonces, tags and digest "
      "responses, and in `stir-shaken.pcap` the key, signatures, iat and origid. Counts are stable.")
    w("")
    for name, (what, how) in OURS.items():
        path = os.path.join(a.out, name)
        w(f"### `{name}`")
        w("")
        if not os.path.exists(path):
            w("- (not present: run `scripts/make-attack-pcaps.sh`)")
            w("")
            continue
        w(f"- what: {what}")
        w(f"- made by: `scripts/make-attack-pcaps.sh` {how}")
        w(pf.facts(path))
        L.extend(details(name, path))
        if name == "stir-shaken.pcap":
            w("- public key of the run (EC P-256; the private key was deleted with the temporary directory):")
            w("")
            w(KEY_BEGIN)
            w("```")
            w(key_block or "(not recorded: regenerate with scripts/make-attack-pcaps.sh stir-shaken)")
            w("```")
            w(KEY_END)
        w("")
    with open(readme, "w") as f:
        f.write("\n".join(L).rstrip() + "\n")
    print(f"wrote {readme}")


if __name__ == "__main__":
    main()

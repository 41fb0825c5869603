#!/usr/bin/env python3
"""Write pcaps/posture/README.md: provenance and tshark facts of the authentication-posture captures.

The descriptions come from OURS below (kept in step with scripts/make-posture-pcaps.sh); the
facts (size, packets, `-z sip,stat`, `-z rtp,streams`, distinct Call-IDs) are computed from the
files with scripts/pcaps/pcap-facts.py. scripts/make-posture-pcaps.sh runs it at the end.

Usage: scripts/posture/write-readme.py [--out DIR]
"""
import argparse
import os
import subprocess
import sys
from importlib import import_module

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "scripts", "pcaps"))
pf = import_module("pcap-facts")

D = "scripts/posture"
M = "scripts/make-posture-pcaps.sh"
REG = f"sipp -sf {D}/uac-register.xml"

# name -> (what, how)
OURS = {
    "open-registrar.pcap": (
        "A registrar and proxy that authenticate nothing: kamailio 127.0.0.3:5060 (UDP and TCP, "
        f"`{D}/kamailio-open.cfg`: registrar + usrloc in memory, no auth module loaded). Phone A "
        "127.0.0.4:5060 registers user 1001 over UDP (REGISTER, 200 OK at once: no challenge); "
        "phone B 127.0.0.5:5060 registers user 1002 over TCP (its own connection from port 5060: "
        "handshake, REGISTER, 200 OK, FIN both ways). About 1.3 s later an outside caller "
        "127.0.0.12:5060 (From `sip:outside@127.0.0.12`, no credentials) sends `INVITE "
        "sip:1001@127.0.0.3` over UDP; kamailio answers 100 Trying and relays it at once, with "
        "Record-Route, to the Contact that 1001 registered (`lookup(\"location\")`): a sipp UAS "
        "on 127.0.0.4:5060, the very address that registered (started after the registering "
        "sipp had exited), which answers 180 and 200 (SDP answer), both relayed back; ACK "
        "through kamailio; 1 s later BYE through kamailio, 200 relayed back. No 401 or 407, no "
        "Authorization header anywhere. SDP offer/answer but no RTP. User-Agents: `sipp "
        "voip-sentinel-test phone 1001` (REGISTER from 127.0.0.4 and the 180/200s of the UAS), "
        "`sipp voip-sentinel-test phone 1002`, `sipp voip-sentinel-test outside caller`; "
        "kamailio's replies carry `Server: kamailio (voip-sentinel open registrar)`.",
        f"`{M} open-registrar`: `kamailio -f {D}/kamailio-open.cfg -DD -E -n 1`; "
        f"`{REG} 127.0.0.3:5060 -i 127.0.0.4 -p 5060 -s 1001 -key ua 'sipp voip-sentinel-test "
        "phone 1001' -key ctp '' -m 1 -cid_str 'reg-1001-%u@127.0.0.4'`; the same from "
        "127.0.0.5 with `-s 1002 -t t1 -key ctp ';transport=tcp'`; "
        f"`sipp -sf {D}/uas-answer.xml -i 127.0.0.4 -p 5060 -s 1001 -m 1`; `sipp -sf "
        f"{D}/uac-call-open.xml 127.0.0.3:5060 -i 127.0.0.12 -p 5060 -s 1001 -key caller "
        "outside -m 1 -cid_str 'call-outside-1001-%u@127.0.0.12'`; `tcpdump -i lo ... 'host "
        "127.0.0.3 or host 127.0.0.4 or host 127.0.0.5 or host 127.0.0.12'`",
    ),
    "auth-registrar.pcap": (
        "A registrar and proxy with digest authentication: kamailio 127.0.0.23:5060 (UDP and TCP, "
        f"`{D}/kamailio-auth.cfg -A AUTH_REGISTRAR`: auth module, MD5, passwords in the config, "
        "`www_challenge`/`proxy_challenge` with flag 1, i.e. `qop=\"auth\"`). User 2001 "
        "registers from 127.0.0.24:5060 over UDP: REGISTER, 401 with `WWW-Authenticate: Digest "
        "realm=\"voip-sentinel.test\", nonce=..., qop=\"auth\", algorithm=MD5`, REGISTER with "
        "Authorization (qop=auth, nc, cnonce), 200. User 2002 registers from 127.0.0.25:5060 "
        "over TCP (one connection from port 5060), the same four messages. Then 2001 (from "
        "127.0.0.24, UDP) calls `sip:2002@127.0.0.23`: INVITE, 407 with `Proxy-Authenticate` "
        "(same form), ACK, INVITE with Proxy-Authorization (CSeq 2), 100 Trying; kamailio "
        "removes the credentials (`consume_credentials`) and relays the INVITE over a new TCP "
        "connection (kamailio's ephemeral port) to 2002's registered Contact "
        "`sip:2002@127.0.0.25:5060;transport=tcp`, a sipp UAS on that address, with a double "
        "Record-Route (UDP and TCP); 180 and 200 relayed back to 2001; ACK and, 1 s later, BYE "
        "through kamailio; 200. SDP offer/answer but no RTP. Each account is used from one "
        "address with one User-Agent: `sipp voip-sentinel-test phone 2001` (REGISTER, INVITE, "
        "ACK, BYE), `sipp voip-sentinel-test phone 2002` (REGISTER, and the UAS's 180/200s).",
        f"`{M} auth-registrar`: `kamailio -f {D}/kamailio-auth.cfg -A AUTH_REGISTRAR -DD -E -n 1`; "
        f"`{REG} 127.0.0.23:5060 -i 127.0.0.24 -p 5060 -s 2001 -au 2001 -ap 2001-secret -key ua "
        "'sipp voip-sentinel-test phone 2001' -key ctp '' -m 1 -cid_str 'reg-2001-%u@127.0.0.24'`; "
        "the same from 127.0.0.25 for 2002 with `-t t1 -key ctp ';transport=tcp'`; `sipp -sf "
        f"{D}/uas-answer.xml -t t1 -i 127.0.0.25 -p 5060 -s 2002 -m 1`; `sipp -sf "
        f"{D}/uac-call-auth.xml 127.0.0.23:5060 -i 127.0.0.24 -p 5060 -s 2002 -key caller 2001 "
        "-au 2001 -ap 2001-secret -auth_uri 2002@127.0.0.23 -m 1 -cid_str "
        "'call-2001-2002-%u@127.0.0.24'`; `tcpdump -i lo ... 'host 127.0.0.23 or host 127.0.0.24 "
        "or host 127.0.0.25'`",
    ),
    "auth-registrar-noqop.pcap": (
        "The registrar of auth-registrar.pcap challenging WITHOUT qop: kamailio 127.0.0.26:5060 "
        f"(UDP, `{D}/kamailio-auth.cfg -A NOQOP`: `www_challenge` flag 0; the auth module's "
        "`qop` parameter is unset by default, so the challenge has no qop). User 3001 registers "
        "once from 127.0.0.27:5060: REGISTER, 401 with `WWW-Authenticate: Digest "
        "realm=\"voip-sentinel.test\", nonce=..., algorithm=MD5` (no qop), REGISTER with an "
        "RFC 2069-style Authorization (no qop, nc or cnonce; sipp follows the challenge), 200. "
        "User-Agent `sipp voip-sentinel-test phone 3001`.",
        f"`{M} auth-registrar-noqop`: `kamailio -f {D}/kamailio-auth.cfg -A NOQOP -DD -E -n 1`; "
        f"`{REG} 127.0.0.26:5060 -i 127.0.0.27 -p 5060 -s 3001 -au 3001 -ap 3001-secret -key ua "
        "'sipp voip-sentinel-test phone 3001' -key ctp '' -m 1 -cid_str 'reg-3001-%u@127.0.0.27'`; "
        "`tcpdump -i lo ... 'host 127.0.0.26 or host 127.0.0.27'`",
    ),
    "shared-and-stale-accounts.pcap": (
        "Digest registrar kamailio 127.0.0.16:5060 (UDP, MD5, qop=auth, "
        f"`{D}/kamailio-auth.cfg -A SHARED`). One account on two devices and networks at once: "
        "4001 registers with its right password from 127.0.0.17:5060 with `User-Agent: Yealink "
        "SIP-T46S 66.86.0.15` (REGISTER, 401, REGISTER with Authorization, 200), and about 2 s "
        "later from 127.0.0.13:5060 with `User-Agent: Grandstream GXP2170 1.0.11.23` (the same "
        "four messages); both ask Expires 3600, and the second 200 lists both bindings "
        "(`<sip:4001@127.0.0.17:5060>;expires=3598` or so, `<sip:4001@127.0.0.13:5060>;expires=3600`). "
        "Then a device with a stale password: 4002 from 127.0.0.18:5060 with `User-Agent: "
        "Polycom/5.9.5.0614 VVX-410` registers 8 times, 1.5 s apart (one sipp, `-r 2 -rp 3000`, "
        "Call-IDs `reg-4002-1@127.0.0.18` ... `reg-4002-8@127.0.0.18`), each time REGISTER, 401, "
        "REGISTER with Authorization computed from the wrong password, 403 Forbidden, never "
        "succeeding. (kamailio's `pv_www_authenticate` returns -2, invalid password, and sends "
        "nothing itself; the 403 is the config's answer, as in scripts/pcaps/kamailio-registrar.cfg.) "
        "The User-Agent strings are set by sipp (`-key ua`); the devices are not real Yealink, "
        "Grandstream or Polycom phones.",
        f"`{M} shared-and-stale-accounts`: `kamailio -f {D}/kamailio-auth.cfg -A SHARED -DD -E -n 1`; "
        f"`{REG} 127.0.0.16:5060 -i 127.0.0.17 -p 5060 -s 4001 -au 4001 -ap 4001-secret -key ua "
        "'Yealink SIP-T46S 66.86.0.15' -key ctp '' -m 1 -cid_str 'reg-4001-%u@127.0.0.17'`, "
        "`sleep 2`, the same from 127.0.0.13 with `-key ua 'Grandstream GXP2170 1.0.11.23'`; "
        f"`{REG} 127.0.0.16:5060 -i 127.0.0.18 -p 5060 -s 4002 -au 4002 -ap old-4002-password "
        "-key ua 'Polycom/5.9.5.0614 VVX-410' -key ctp '' -m 8 -r 2 -rp 3000 -l 1 -cid_str "
        "'reg-4002-%u@127.0.0.18'`; `tcpdump -i lo ... 'host 127.0.0.16 or host 127.0.0.17 or "
        "host 127.0.0.13 or host 127.0.0.18'`",
    ),
    "shared-account-two-networks.pcap": (
        "The digest registrar of shared-and-stale-accounts.pcap (UDP, MD5, qop=auth) at "
        "127.0.7.16:5060: a copy of `scripts/posture/kamailio-auth.cfg` made by the script in its "
        "work directory, run with `-A SHARED`, whose only changes are SHARED's listen address "
        "(127.0.0.16 -> 127.0.7.16) and users 4003/4003-secret and 4004/4004-secret added to "
        "`route[PASSWORD]`. One account from two networks with the SAME device: 4003 registers "
        "with its right password from 127.0.7.17:5060 (REGISTER, 401 with `qop=\"auth\", "
        "algorithm=MD5`, REGISTER with Authorization, 200), and about 2 s later from "
        "127.0.8.17:5060, another /24, with the same four messages; both times `User-Agent: "
        "Yealink SIP-T46S 66.86.0.15` and Expires 3600, and the second 200 lists both bindings "
        "(`<sip:4003@127.0.7.17:5060>;expires=3598` or so, `<sip:4003@127.0.8.17:5060>;expires=3600`). "
        "Control: about 1 s later 4004 registers once, right password, from 127.0.7.18:5060 with "
        "`User-Agent: Grandstream GXP2170 1.0.11.23` (the same four messages; its 200 lists only "
        "its own binding). No 403. Call-IDs `reg-4003-1@127.0.7.17`, `reg-4003-1@127.0.8.17`, "
        "`reg-4004-1@127.0.7.18`. The User-Agent strings are set by sipp (`-key ua`); the devices "
        "are not real Yealink or Grandstream phones.",
        f"`{M} shared-account-two-networks`: `sed` of `{D}/kamailio-auth.cfg` as above, then "
        "`kamailio -f <that copy> -A SHARED -DD -E -n 1`; "
        f"`{REG} 127.0.7.16:5060 -i 127.0.7.17 -p 5060 -s 4003 -au 4003 -ap 4003-secret -key ua "
        "'Yealink SIP-T46S 66.86.0.15' -key ctp '' -m 1 -cid_str 'reg-4003-%u@127.0.7.17'`, "
        "`sleep 2`, the same from 127.0.8.17; `sleep 1`; "
        f"`{REG} 127.0.7.16:5060 -i 127.0.7.18 -p 5060 -s 4004 -au 4004 -ap 4004-secret "
        "-key ua 'Grandstream GXP2170 1.0.11.23' -key ctp '' -m 1 -cid_str "
        "'reg-4004-%u@127.0.7.18'`; `tcpdump -i lo ... 'host 127.0.7.16 or host 127.0.7.17 or "
        "host 127.0.8.17 or host 127.0.7.18'`",
    ),
}


def run(args):
    return subprocess.run(args, capture_output=True, text=True).stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "pcaps", "posture"))
    a = ap.parse_args()
    L = []
    w = L.append
    w("# Authentication-posture captures")
    w("")
    w("Captures for the authentication-posture detector (how a registrar and proxy authenticate, "
      "and how accounts are used), made on this machine by `scripts/make-posture-pcaps.sh` with "
      "real tools on loopback (127.0.0.3-5, .12, .13, .16-18, .23-27, 127.0.7.16-18, 127.0.8.17; nothing left the machine): "
      f"kamailio 5.6 as registrar and proxy (`{D}/kamailio-open.cfg`, `{D}/kamailio-auth.cfg`: "
      "registrar + usrloc in memory, passwords in the config, no database) and sipp 3.6 as the "
      f"phones (`{D}/*.xml`). Every SIP message is kamailio's or sipp's own. No RTP is sent "
      "(the calls carry SDP only).")
    w("")
    w("Regenerate, as root on Debian 12: `scripts/install-deps.sh` then "
      "`scripts/make-posture-pcaps.sh [NAME...]`, NAME one of open-registrar, auth-registrar, "
      "auth-registrar-noqop, shared-and-stale-accounts, shared-account-two-networks (default all, "
      "about a minute); the script "
      "checks every capture's counts with tshark, and this file is rewritten by "
      f"`{D}/write-readme.py`. What changes from run to run: timestamps, sipp Via branches "
      "(they hold its pid), kamailio To tags and nonces (time-dependent), hence the digest "
      "responses, kamailio's TCP source port, and the remaining expiry of the first 4001 "
      "(4003) binding in the second 200 OK of shared-and-stale-accounts.pcap "
      "(shared-account-two-networks.pcap), hence a byte or so of size. Counts are stable.")
    w("")
    for name, (what, how) in OURS.items():
        path = os.path.join(a.out, name)
        if not os.path.exists(path):
            continue
        w(f"### `{name}`")
        w("")
        w(f"- what: {what}")
        w(f"- made by: {how}")
        w(pf.facts(path))
        ids = {l.strip() for l in run(["tshark", "-n", "-r", path, "-Y", "sip", "-T", "fields",
                                       "-e", "sip.Call-ID"]).splitlines() if l.strip()}
        w(f"- distinct Call-IDs: {len(ids)}")
        w("")
    with open(os.path.join(a.out, "README.md"), "w") as f:
        f.write("\n".join(L))


if __name__ == "__main__":
    main()

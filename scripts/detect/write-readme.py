#!/usr/bin/env python3
"""Write pcaps/detect/README.md: provenance and tshark facts of the detection captures.

The descriptions come from OURS below (kept in step with scripts/make-detect-pcaps.sh); the
facts (size, packets, `-z sip,stat`, `-z rtp,streams`, distinct Call-IDs) are computed from the
files with scripts/pcaps/pcap-facts.py. scripts/make-detect-pcaps.sh runs it at the end.

Usage: scripts/detect/write-readme.py [--out DIR]
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

D = "scripts/detect"
M = "scripts/make-detect-pcaps.sh"
EMULATED = ("sipp plays the tool (not packaged in Debian): the request is the tool's OPTIONS "
            "probe with its published User-Agent string, as rules/sip.rules documents it")

# name -> (what, signatures it is made for, how)
OURS = {
    "nmap-sip-sweep.pcap": (
        "Real nmap 7.93 (`--script sip-methods`, `-sU -p 5060 -Pn`) from 127.0.0.190 over twelve "
        f"SIP servers 127.0.0.201-212 (one kamailio, `{D}/kamailio-detect.cfg`): one OPTIONS "
        "(`User-Agent: Nmap NSE`) to each, 200 OK from each, within a few seconds.",
        "2200010, 2300001",
        f"`{M} nmap-sweep`: `nmap -n -Pn -sU -p 5060 -S 127.0.0.190 -e lo --script sip-methods "
        "127.0.0.201-212`; `tcpdump -i lo ... 'udp and host 127.0.0.190'`",
    ),
    "scanner-user-agents.pcap": (
        "One OPTIONS probe per scanner tool, each from its own address (127.0.0.220-229), to "
        "kamailio 127.0.0.213 (200 OK): User-Agents `sipcli/v1.8`, `VaxSIPUserAgent/3.1`, "
        "`pplsip` (the default of Pepelux's Perl tools, checked in their sources), `iWar`, "
        "`sip-scan`, `SIVuS_VoIP_Scanner`, `smap`, `SIPPTS`, `sundayddr`, `PortSIP VoIP SDK`; "
        "and from 127.0.0.230 the mass-scanner template with From `<sip:123@1.1.1.1>`, "
        f"Contact `<sip:123@1.1.1.1>` and no User-Agent. {EMULATED}.",
        "2200002, 2200004-2200009, 2200011-2200013, 2200015, 2200016",
        f"`{M} scanner-uas`: per tool `sipp -sf {D}/uac-options-ua.xml -key ua '<agent>' "
        f"127.0.0.213:5060 -i 127.0.0.2NN -p 5060 -m 1`; `sipp -sf {D}/uac-options-template.xml "
        "... -i 127.0.0.230`; `tcpdump -i lo ... 'host 127.0.0.213 and (net 127.0.0.216/29 or "
        "net 127.0.0.224/29)'`",
    ),
    "sipsak-flood-unanswered.pcap": (
        "Real sipsak 0.9.8.1 in flood mode (`-F -e 25`, `User-Agent: sipsak 0.9.8.1`) from "
        "127.0.0.191:5070: 25 OPTIONS in well under a millisecond to 127.0.0.214, a sipp that "
        f"takes them and never answers (`{D}/uas-silent.xml`); 6 s later one more (`-F -e 1`), "
        "so that the capture runs past the 5 s after which a request counts as unanswered.",
        "2200003, 2300003, 2300005 (2300008 with `global_per_second = 20`)",
        f"`{M} sipsak-flood`: `sipsak -F -e 25 -s sip:probe@127.0.0.214 --local-ip=127.0.0.191 "
        "-l 5070`, `sleep 6`, `sipsak -F -e 1 ...`; `tcpdump -i lo ... 'host 127.0.0.214'`",
    ),
    "challenge-flood.pcap": (
        "25 REGISTERs without credentials (AORs chall1..25, one Call-ID each) at 5 per second "
        "from sipp 127.0.0.192 to kamailio's digest registrar 127.0.0.200, which challenges "
        "each with 401 (never answered).",
        "2300007 (and 2300002)",
        f"`{M} challenge-flood`: `sipp -sf {D}/uac-register-challenged.xml 127.0.0.200:5060 "
        "-i 127.0.0.192 -p 5060 -s chall -m 25 -r 5`",
    ),
    "register-new-network.pcap": (
        "alice registers with the right password (REGISTER, 401, REGISTER with digest, 200) at "
        "kamailio 127.0.0.200 from 127.0.0.193, then from 127.0.1.193 (another /24).",
        "2300013",
        f"`{M} new-network`: `sipp -sf scripts/pcaps/uac-register.xml 127.0.0.200:5060 -i SRC "
        "-p 5060 -s alice -au alice -ap alice-secret -m 1` for each SRC",
    ),
    "prefix-probing.pcap": (
        f"Account 1001 (127.0.0.194) calls the 12 numbers of `{D}/probe-numbers.csv` "
        "(00 + 12 distinct country/area prefixes) at 2 per second; kamailio 127.0.0.213 refuses "
        "each with 404, the caller ACKs.",
        "2300029 (and 2300002, 2300023, 2300024)",
        f"`{M} prefix-probing`: `sipp -sf {D}/uac-invite-fail.xml -inf {D}/probe-numbers.csv "
        "127.0.0.213:5060 -i 127.0.0.194 -p 5060 -s 1001 -m 12 -r 2`",
    ),
    "concurrent-calls.pcap": (
        f"Account 1001 (127.0.0.195) places 22 calls (national numbers, `{D}/national-numbers.csv`) "
        f"at 10 per second to a sipp UAS 127.0.0.196 (`{D}/uas-hold-bye.xml`) that answers each "
        "and hangs up after 6 s: all 22 are up at once. No RTP.",
        "2300025, 2300026 (2300027, 2300030, 2300036 with changed detectors.conf)",
        f"`{M} concurrent-calls`: `sipp -sf {D}/uas-hold-bye.xml -i 127.0.0.196 ... -d 6000 -m 22`; "
        "`sipp -sf scripts/attack/uac-toll-fraud.xml -inf scripts/detect/national-numbers.csv "
        "127.0.0.196:5060 -i 127.0.0.195 -s 1001 -m 22 -r 10 -l 30`",
    ),
    "long-premium-call.pcap": (
        "One call from 1001 (127.0.0.197) to +1 900 555 0123 (premium) through a sipp UAS "
        "127.0.0.198 that hangs up after 4 s.",
        "2300021 (2300031 with `long_call_secs = 2`)",
        f"`{M} long-premium`: `sipp -sf {D}/uas-hold-bye.xml ... -d 4000 -m 1`; `sipp -sf "
        f"scripts/attack/uac-toll-fraud.xml -inf {D}/premium-number.csv 127.0.0.198:5060 "
        "-i 127.0.0.197 -s 1001 -m 1`",
    ),
    "stir-shaken-invalid.pcap": (
        "Two answered calls 127.0.0.237 -> sipp UAS 127.0.0.238 with an RFC 8224 Identity header: "
        "a SHAKEN PASSporT signed ES256 with a P-256 key made by openssl for the run (deleted "
        "after it) whose dest.tn 12155550777 is not the called number +12155550195; and the "
        "token `not-a-jws.%%%%.garbage`, which is no JWS.",
        "2300040, 2300041",
        f"`{M} stir-invalid`: `{D}/stir-shaken-detect.py KEY CSV` (signs with "
        "scripts/attack/stir-shaken-inf.py); `sipp -sf scripts/attack/uac-stir-shaken.xml -inf "
        "CSV 127.0.0.238:5060 -i 127.0.0.237 -s caller -m 2`",
    ),
    "sip-anomalies.pcap": (
        f"What fuzzers send, in one Call-ID from sipp 127.0.0.231 to a sipp UAS 127.0.0.232 "
        f"(`{D}/uac-anomalies.xml`, `{D}/uas-anomalies.xml`): an OPTIONS with a 340-byte "
        "Request-URI, one with a 330-byte To, one with the version SIP/3.0 (answered 505), one "
        "with 520 extra header lines (a 10 kB datagram), and one answered `SIP/1.0 200 OK`. "
        "tshark does not dissect the SIP/3.0 request nor the SIP/1.0 response as SIP (hence the "
        "counts below and the oracle exemption in tests/integration/util.rs).",
        "2200020, 2200023, 2200041, 2200042, 2400005",
        f"`{M} anomalies`: `sipp -sf {D}/uas-anomalies.xml -i 127.0.0.232 -m 1`; `sipp -sf "
        f"{D}/uac-anomalies.xml 127.0.0.232:5060 -i 127.0.0.231 -m 1`",
    ),
    "sip-empty-fields.pcap": (
        f"Empty and out-of-range fields, as fuzzers send them, from sipp 127.0.0.245 to a sipp UAS "
        f"127.0.0.246 (`{D}/uac-empty-fields.xml`, `{D}/uas-empty-fields.xml`), one Call-ID but for "
        "the first request: an OPTIONS with `Call-ID: ` empty (the sipp UAS discards it, not "
        "answered), one with `From: ` empty (200), one with `To: ` empty (200), one whose only Via "
        "is `Via: ` (200); an INVITE with SDP (RTP/AVP PCMU) and `Contact: ` empty (486, ACK); an "
        "OPTIONS with `CSeq: 3000000000` (above 2^31-1, RFC 3261 8.1.1.5; 200); a MESSAGE with a "
        "21-byte text body and no Content-Type (200); one datagram holding two complete OPTIONS "
        "(CSeq 8 and 9, not answered); an INVITE with an empty Request-URI, `INVITE  SIP/2.0` (not "
        "answered). tshark dissects neither the second OPTIONS of the double datagram nor the "
        "INVITE without Request-URI (hence the counts below).",
        "2200035, 2200036 (×2), 2200037 (×2), 2200038 (×2), 2200039, 2200043, 2400001 (bad_uri), 2400011 (×2), 2400012, and 2100003 (plaintext signalling)",
        f"`{M} empty-fields`: `sipp -sf {D}/uas-empty-fields.xml -i 127.0.0.246 -m 1`; `sipp -sf "
        f"{D}/uac-empty-fields.xml 127.0.0.246:5060 -i 127.0.0.245 -mi 127.0.0.245 -mp 16000 -m 1`",
    ),
    "callid-dialogs.pcap": (
        "Five INVITEs with one Call-ID (`one-call-id@127.0.0.236`) and five From tags (five sipp "
        "runs, each its own pid in the tag), 127.0.0.236 -> kamailio 127.0.0.213, each refused "
        "404 and acknowledged.",
        "2400009",
        f"`{M} callid-dialogs`: 5 x `sipp -sf {D}/uac-invite-fail.xml ... -m 1 -cid_str "
        "'one-call-id@127.0.0.236'`",
    ),
    "invite-replay.pcap": (
        "An INVITE from 127.0.0.239 to kamailio 127.0.0.213 (404, ACK), and 65 s later the "
        f"identical INVITE (same Call-ID, From tag, CSeq and Via branch: `{D}/uac-invite-replay.xml`), "
        "404 and ACK again.",
        "2400010",
        f"`{M} invite-replay`: `sipp -sf {D}/uac-invite-replay.xml 127.0.0.213:5060 -i "
        "127.0.0.239 -m 1`",
    ),
    "srtp-plaintext.pcap": (
        "One call 127.0.0.241 -> 127.0.0.242 whose SDPs negotiate SDES-SRTP (RTP/SAVP, a=crypto "
        "with test keys in the script) while both sides send sipp's plaintext g711a.pcap (236 "
        "packets each way): the scenarios of scripts/make-media-pcaps.sh `make_srtp` without its "
        "encryption step.",
        "2100005 (and 2100002)",
        f"`{M} srtp-plaintext`: `sipp -sf scripts/media/uas-srtp.xml -key crypto_key K2 -i "
        "127.0.0.242 -mi 127.0.0.242 -mp 17000 -m 1`; `sipp -sf scripts/media/uac-srtp.xml -key "
        "crypto_key K1 127.0.0.242:5060 -i 127.0.0.241 -mi 127.0.0.241 -mp 16000 -d 8000 -m 1`",
    ),
    "rtp-injection.pcap": (
        "A plain call 127.0.0.233 -> 127.0.0.234 (scripts/media/uac-g711.xml and uas-g711.xml: "
        "the caller plays g711a.pcap to 127.0.0.234:17000); 2.5 s after it starts, "
        "tcpreplay-edit replays the same g711a.pcap from 127.0.0.235:16500, an address no SDP "
        "announced, into 127.0.0.234:17000 at its recorded pace (236 packets).",
        "2100006",
        f"`{M} rtp-injection`: the two sipp as above; `tcpreplay-edit --intf1=lo "
        "--srcipmap=10.1.3.143/32:127.0.0.235/32 --dstipmap=10.1.6.18/32:127.0.0.234/32 "
        "--portmap=2006:17000,5000:16500 --fixcsum g711a.pcap`",
    ),
    "rtp-flood.pcap": (
        "As rtp-injection.pcap, but the injected stream is 708 packets with continuous sequence "
        "numbers (recorded first from sipp's rtp_stream generator, 127.0.0.243:16600 -> sipp "
        f"UAS 127.0.0.244, `{D}/uac-g711-stream.xml`: the A-law payload of g711a.pcap, "
        "extracted by tshark, played twice in 20 ms packets) sent at 1000 packets per second.",
        "2100007, 2100006",
        f"`{M} rtp-flood`: `sipp -sf {D}/uac-g711-stream.xml 127.0.0.244:5060 -i 127.0.0.243 "
        "-mi 127.0.0.243 -mp 16600 -d 15000 -m 1` recorded with `tcpdump ... 'udp and src host "
        "127.0.0.243 and src port 16600'`; then the call above and `tcpreplay-edit --intf1=lo "
        "--srcipmap=127.0.0.243/32:127.0.0.235/32 --dstipmap=127.0.0.244/32:127.0.0.234/32 "
        "--portmap=16600:16500 --pps=1000 --fixcsum stream.pcap`",
    ),
    "svwar-invite.pcap": (
        "Real SIPVicious svwar 0.3.8 (PyPI `sipvicious`: `User-Agent: friendly-scanner`, From tag "
        "the hex of `<extension> 0x01 <random number>`) walking extensions 200-230 with INVITE from "
        "127.0.0.247:5060 against kamailio 127.0.0.213, which refuses every INVITE with 404 (svwar "
        "ACKs each): first svwar's probe of a random nonexistent extension (a 32-bit number, up to "
        "10 digits, another each run) that learns the answer for \"no such user\", then one INVITE "
        "each to `sip:200@127.0.0.213` ... `sip:230@127.0.0.213` (From and To the extension, an SDP "
        "offer of PCMU/PCMA at 127.0.0.247:6060, one Call-ID each), all in about 0.2 s; no CANCEL "
        "(kamailio never rings). Extension 225 is no call to Cote d'Ivoire (+225).",
        "2200001, 2300002, 2300004, 2300005, 2100003; no toll-fraud signature (neither 2300022 for "
        "225 nor 2300029)",
        f"`{M} svwar-invite`: `{D}/svwar-bound.py -m INVITE -e 200-230 -b 127.0.0.247 -P 5060 "
        "127.0.0.213` (svwar's own main(), the entry point of `sipvicious_svwar`, with the `-b` "
        "that svwar 0.3.8 parses but never uses passed on); `tcpdump -i lo ... 'host 127.0.0.247'`",
    ),
}


def run(args):
    return subprocess.run(args, capture_output=True, text=True).stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "pcaps", "detect"))
    a = ap.parse_args()
    L = []
    w = L.append
    w("# Detection captures")
    w("")
    w("Captures for the signatures of `rules/README.md` that the other captures do not fire, "
      "made on this machine by `scripts/make-detect-pcaps.sh` with real tools on loopback "
      "(127.0.0.190-247 and 127.0.1.193; nothing left the machine): nmap, sipsak and SIPVicious "
      "svwar as themselves, sipp and kamailio as clients and servers, tcpreplay-edit for injected "
      "RTP. "
      "Scanner tools Debian does not package are played by sipp with the tool's User-Agent "
      "(said so below). The tests are in `tests/integration/detect.rs`.")
    w("")
    w("Regenerate, as root on Debian 12: `scripts/install-deps.sh` then "
      "`scripts/make-detect-pcaps.sh [NAME...]` (about 3 minutes, 65 s of which is the INVITE "
      "replay); this file is rewritten by `scripts/detect/write-readme.py`. What changes from "
      "run to run: timestamps, sipp Via branches and tags (they hold its pid), kamailio nonces, "
      "the PASSporT key and signature, svwar's Call-IDs, branches, tags and probe extension "
      "(random numbers, hence a few bytes of size). Counts are stable.")
    w("")
    for name, (what, sids, how) in OURS.items():
        path = os.path.join(a.out, name)
        if not os.path.exists(path):
            continue
        w(f"### `{name}`")
        w("")
        w(f"- what: {what}")
        w(f"- fires: {sids}")
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

#!/usr/bin/env python3
"""Write pcaps/README.md: provenance and tshark facts of every capture in pcaps/.

Our own captures are described from the table OURS below (kept in step with
scripts/make-pcaps.sh); the public ones under pcaps/public/ take their
provenance (repository, commit, source path, description) from the README of
the shared capture collection they were copied from.

Usage: scripts/pcaps/write-readme.py [SHARED_README]
       (default: $SHARED_PCAPS/README.md, else ../shared/pcaps/README.md
       beside the repository, else /work/shared/pcaps/README.md)
Run it after scripts/make-pcaps.sh; it needs tshark and capinfos.
"""
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
PCAPS = os.path.join(ROOT, "pcaps")
sys.path.insert(0, HERE)
from importlib import import_module  # noqa: E402

facts = import_module("pcap-facts").facts

# name -> (what, how it was made)
OURS = {
    "sipp-uac-pcap-g711.pcap": (
        "3 calls, 1 call/s, up to 3 at once, UDP. sipp's built-in `uac_pcap` scenario "
        "(127.0.0.21:5060, media ports 16000/16004/16008) against a sipp UAS "
        "(`scripts/pcaps/uas-pcma.xml`, 127.0.0.22:5060, media port 17000) that answers "
        "PCMA + telephone-event. After the ACK, each call plays sipp's `g711a.pcap` "
        "(about 7 s of G.711 A-law, 236 RTP packets, SSRC 0xDEE0EE8F) and then "
        "`dtmf_2833_1.pcap` (RFC 2833 digit '1', PT 101, 10 packets whose last ones are "
        "the usual repeated end-of-event packets, so tshark reports -2 lost), then BYE. "
        "RTP is one-way (UAC to UAS; the UAS does not echo) and is set up by the SDP.",
        "`make_g711`: `sipp -sf scripts/pcaps/uas-pcma.xml -i 127.0.0.22 -p 5060 -mi 127.0.0.22 -mp 17000 -m 3` "
        "and `sipp -sn uac_pcap 127.0.0.22:5060 -i 127.0.0.21 -p 5060 -mi 127.0.0.21 -mp 16000 -s 1000 "
        "-m 3 -r 1 -l 3 -cid_str 'g711-call-%u@127.0.0.21'`; "
        "`tcpdump -i lo -U -w ... 'host 127.0.0.21 or host 127.0.0.22'`",
    ),
    "sipp-tcp-calls.pcap": (
        "3 sequential calls of 1 s over one TCP connection (sipp `-t t1`), "
        "127.0.0.31:5060 to 127.0.0.32:5060, with the TCP handshake and FIN. "
        "INVITE (SDP offer PCMU), 180, 200 (SDP), ACK, BYE, 200. No RTP is sent.",
        "`make_tcp`: `sipp -sn uas -t t1 -i 127.0.0.32 -p 5060 -mi 127.0.0.32 -mp 17000 -m 3` and "
        "`sipp -sn uac -t t1 127.0.0.32:5060 -i 127.0.0.31 -p 5060 -mi 127.0.0.31 -mp 16000 -s 2000 "
        "-m 3 -r 1 -l 1 -d 1000 -cid_str 'tcp-call-%u@127.0.0.31'`; "
        "`tcpdump -i lo -U -w ... 'host 127.0.0.31 or host 127.0.0.32'`",
    ),
    "sipp-fragmented-invite.pcap": (
        "One UDP call whose INVITE (3,663 bytes of SIP: a 3,324-byte SDP with many rtpmap/candidate "
        "lines and a second m= line) is IP-fragmented by the sender's kernel into 3 "
        "fragments (IP payloads of 1480, 1480 and 711 bytes, one IP ID); the other "
        "messages are not fragmented. Sent between two network namespaces joined by "
        "a veth pair with MTU 1500 (addresses 192.0.2.1 UAC and 192.0.2.2 UAS, "
        "TEST-NET-1, only inside those namespaces; fixed MACs 02:00:00:00:00:01/02, "
        "static neighbours, so no ARP). Captured on the UAC's veth. tshark reassembles "
        "the INVITE (sip,stat counts it once).",
        "`make_frag`: in namespace vsentinel-uas `sipp -sn uas -i 192.0.2.2 -p 5060 -mi 192.0.2.2 -mp 17000 -m 1`; "
        "in vsentinel-uac `sipp -sf scripts/pcaps/uac-big-sdp.xml 192.0.2.2:5060 -i 192.0.2.1 -p 5060 "
        "-mi 192.0.2.1 -mp 16000 -s 3000 -m 1 -cid_str 'frag-call-%u@192.0.2.1'`; "
        "`tcpdump -i vsent-veth-a -U -w ... 'ip and (host 192.0.2.1 or host 192.0.2.2)'`",
    ),
    "kamailio-register-digest.pcap": (
        "Digest-authenticated registrations against a real kamailio registrar "
        "(127.0.0.52:5060, `scripts/pcaps/kamailio-registrar.cfg`: auth module "
        "`www_challenge` + `pv_www_authenticate` against passwords held in the "
        "config, no database; usrloc in memory), client sipp at 127.0.0.51:5060 "
        "(`scripts/pcaps/uac-register.xml`, digest computed by sipp's `[authentication]`). "
        "In order: alice (REGISTER, 401 with WWW-Authenticate realm \"voip-sentinel.test\", "
        "REGISTER with Authorization, 200 with the binding), bob (same), then alice "
        "with a wrong password (REGISTER, 401, REGISTER with Authorization, 403 Forbidden).",
        "`make_register`: `kamailio -f scripts/pcaps/kamailio-registrar.cfg -DD -E -n 1 ...`, then for "
        "(alice, alice-secret), (bob, bob-secret), (alice, wrong-password): "
        "`sipp -sf scripts/pcaps/uac-register.xml 127.0.0.52:5060 -i 127.0.0.51 -p 5060 -s USER -au USER "
        "-ap PASS -m 1 -cid_str 'reg-USER-ok|bad-%u@127.0.0.51'`; "
        "`tcpdump -i lo -U -w ... 'host 127.0.0.51 or host 127.0.0.52'`",
    ),
    "sipp-failures.pcap": (
        "Three failed calls over UDP, 127.0.0.61:5060 (UAC) to 127.0.0.62:5060 (UAS), "
        "about 1.8 s apart: INVITE sip:4040 answered 100 and 404 Not Found, ACK; "
        "INVITE sip:4860 answered 100 and 486 Busy Here, ACK; INVITE sip:4870 answered "
        "100 and 180 Ringing, then the caller sends CANCEL, the UAS answers 200 (CANCEL) "
        "and 487 Request Terminated, ACK. The ACKs and the CANCEL carry the INVITE's Via branch.",
        "`make_failures`: UAS `scripts/pcaps/uas-reject-404.xml`, `uas-reject-486.xml`, `uas-cancel.xml`; "
        "UAC `scripts/pcaps/uac-reject.xml` (twice) and `uac-cancel.xml`, each "
        "`sipp -sf ... 127.0.0.62:5060 -i 127.0.0.61 -p 5060 -m 1 -cid_str 'fail-404|486|cancel-%u@127.0.0.61'`; "
        "`tcpdump -i lo -U -w ... 'host 127.0.0.61 or host 127.0.0.62'`",
    ),
    "kamailio-proxy-call.pcap": (
        "Two sequential calls through kamailio as a transaction-stateful, "
        "record-routing proxy (`scripts/pcaps/kamailio-proxy.cfg`): sipp UAC "
        "127.0.0.71:5060 to kamailio 127.0.0.72:5060 to sipp UAS 127.0.0.73:5060, "
        "so every Call-ID appears on two hops. Per call: INVITE, 100 (from kamailio), "
        "INVITE (forwarded, Record-Route, second Via), 180 and 200 on both hops, ACK and "
        "BYE loose-routed through kamailio on both hops, 200 for BYE on both hops. No RTP is sent.",
        "`make_proxy`: `kamailio -f scripts/pcaps/kamailio-proxy.cfg -DD -E -n 1 ...`; "
        "`sipp -sf scripts/pcaps/uas-proxy.xml -i 127.0.0.73 -p 5060 -mi 127.0.0.73 -mp 17000 -m 2`; "
        "`sipp -sf scripts/pcaps/uac-proxy.xml 127.0.0.72:5060 -i 127.0.0.71 -p 5060 -mi 127.0.0.71 -mp 16000 "
        "-s 5000 -m 2 -r 1 -l 1 -cid_str 'proxy-call-%u@127.0.0.71'`; "
        "`tcpdump -i lo -U -w ... 'host 127.0.0.71 or host 127.0.0.72 or host 127.0.0.73'`",
    ),
    "mixed-interfaces.pcapng": (
        "One pcapng file whose four interfaces differ in link type and timestamp resolution, as a capture merged from several sensors is: interface 0 Ethernet with microseconds (`sipp-failures.pcap`, 15 packets), interface 1 Linux cooked capture v1 with nanoseconds (heplify's `sip_sctp.pcap` rewritten by `editcap -F nsecpcap`, 5 packets), interface 2 raw IPv4 with microseconds (Zeek's `sip-long-request-response-paths.pcap`, 2 packets), interface 3 BSD loopback with microseconds (suricata-verify's `sip-body-large.pcap`, 16 packets); 38 packets in time order (2020 to 2026). libpcap refuses it (one link type a file); the sensor's own reader reads it, checked against tshark packet by packet (`tests/integration/savefile.rs`).",
        '`scripts/make-mixed-pcapng.sh`: `editcap -F nsecpcap` and `mergecap -F pcapng` (Wireshark 4.0.17, Debian package wireshark-common) over the four captures named, all already in `pcaps/`.',
    ),
    "kamailio-forking.pcap": (
        "Five calls through kamailio as a forking, transaction-stateful, record-routing proxy (`scripts/pcaps/kamailio-forking.cfg`, 127.0.0.53:5060; no database, no auth), from a sipp caller at 127.0.0.54:5060 to sipp phones A (127.0.0.55:5060), B (127.0.0.56:5060) and a voicemail (127.0.0.57:5060), one Call-ID each, each call starting 1.5-2 s after the previous one ended, UDP only. Request-URI user `ring2` forks in parallel to A and B (`append_branch`); user `serial` goes to A alone with a 3 s INVITE timer (`t_set_fr(3000, 2000)`) and a `failure_route` that sends a 408/480/486 on to the voicemail. Every INVITE is answered 100 by kamailio; each phone's To tag names it (`phone-a-1`, `phone-b-1`, `voicemail-4` ...), so every branch has its own. In order: (1) ring2: A answers 486 Busy Here at once (kamailio ACKs it), B sends 180 and, 1.5 s later, 200 with SDP; the caller ACKs and sends BYE 2 s later, both loose-routed through kamailio; (2) ring2: A and B both ring (two 180s reach the caller), B answers after 1.5 s, kamailio CANCELs A (200, 487, ACK), BYE after 2 s; (3) ring2: A 486 at once, B rings and sends 480 Temporarily Unavailable after 0.5 s; kamailio relays the best final answer, 480 (its choice among the two 4xx), the caller ACKs; (4) serial: A rings and never answers; 3 s after A's 180 kamailio's timer fires, its failure_route forwards the INVITE to the voicemail and kamailio CANCELs A (200, A's 487, ACK); the voicemail rings (180 relayed) and answers 200 0.5 s later, i.e. A's 487 is on the wire before the voicemail's 200; BYE after 2 s; (5) ring2: both ring, the caller CANCELs after 1 s; kamailio answers the CANCEL 200 (with its own To tag), CANCELs both branches (200 and 487 from each, ACKed) and sends 487 to the caller, who ACKs. SDP offer PCMA/PCMU/telephone-event, answer PCMA; no RTP is sent; no ICMP. Besides timestamps, what changes from run to run is the order of replies sent within the same millisecond (such as A's 486 and B's 180), sipp's Via branches (they hold its pid), kamailio's branches and its To tag in the 200 for the caller's CANCEL. Outcomes on the caller's leg: answered (200), answered (200), failed (480), answered (200, voicemail), cancelled (487); every INVITE takes 3 hops.",
        "`scripts/make-forking-pcap.sh` (own script, not part of `scripts/make-pcaps.sh`; about 35 s): `kamailio -f scripts/pcaps/kamailio-forking.cfg -DD -E -n 1 ...`; per call, one sipp UAS per phone involved, started for that call (`sipp -sf scripts/pcaps/forking-uas-{busy,ring-answer,ring-reject,ring-cancel}.xml -i 127.0.0.5x -p 5060 -mi 127.0.0.5x -mp 17000 -m 1 -key phone_tag NAME [-d 1500|500]`), and the caller `sipp -sf scripts/pcaps/forking-uac-{answered,failed,cancel}.xml 127.0.0.53:5060 -i 127.0.0.54 -p 5060 -mi 127.0.0.54 -mp 16000 -s ring2|serial -m 1 -cid_str CALL-ID`; `tcpdump -i lo -U -w ... 'host 127.0.0.53 or host 127.0.0.54 or host 127.0.0.55 or host 127.0.0.56 or host 127.0.0.57'`. The script checks the counts below, each call's final answer, the hops and the order of the replies that matter.",
    ),
    "kamailio-auth-calls.pcap": (
        "Office calls through a PBX/proxy that authenticates them with 407, as Kamailio, Asterisk and "
        "FreeSWITCH do by default: sipp phone 127.0.0.41:5060 (`scripts/pcaps/uac-auth-call.xml`) to "
        "kamailio 127.0.0.42:5060 (`scripts/pcaps/kamailio-auth-proxy.cfg`: auth module `proxy_challenge` "
        "+ `pv_proxy_authenticate` against passwords held in the config, no database; transaction-stateful, "
        "Record-Route) to the callee, a sipp UAS at 127.0.0.43:5060 (`scripts/pcaps/uas-auth-call.xml`). "
        "Five calls from alice to 2001 (Call-IDs auth-call-1..5@127.0.0.41), 1 call/s with at most 2 at once "
        "(they start at about 0, 1, 9, 10 and 18 s). Per call: INVITE with an SDP offer (PCMA, PCMU, "
        "telephone-event), 407 Proxy Authentication Required with Proxy-Authenticate (realm \"office.example\", "
        "qop=\"auth\", algorithm=MD5), ACK (Via branch of the first INVITE), INVITE again with "
        "Proxy-Authorization (same Call-ID and From tag, CSeq 2, new branch, digest uri = Request-URI "
        "sip:2001@office.example, nc=00000001), 100 from kamailio, INVITE forwarded to the UAS "
        "(Proxy-Authorization removed, Record-Route, second Via), 180 and 200 (SDP answer PCMA) on both hops, "
        "ACK and, 7.5 s later, BYE loose-routed through kamailio on both hops, 200 for BYE on both hops. "
        "Between ACK and BYE both sipps play sipp's `g711a.pcap` (G.711 A-law, 236 packets, about 7.05 s, "
        "SSRC 0xDEE0EE8F in both directions as in that file) to the address in the other's SDP, so each call "
        "has two RTP streams; media ports differ per call (`[auto_media_port]`: 16000+4n on the phone, "
        "17000+4n on the callee; a small python listener binds the ports sipp does not, so there is no ICMP). "
        "Last, a call from bob to 2002 with a wrong password (auth-bad-1@127.0.0.41): INVITE, 407, ACK, "
        "INVITE with Proxy-Authorization, 403 Forbidden, ACK; it never reaches the UAS and has no RTP.",
        "`make_auth`: `kamailio -f scripts/pcaps/kamailio-auth-proxy.cfg -DD -E -n 1 ...`; "
        "`sipp -sf scripts/pcaps/uas-auth-call.xml -i 127.0.0.43 -p 5060 -mi 127.0.0.43 -mp 17000 -m 5`; "
        "`sipp -sf scripts/pcaps/uac-auth-call.xml 127.0.0.42:5060 -i 127.0.0.41 -p 5060 -mi 127.0.0.41 -mp 16000 "
        "-s 2001 -key caller alice -au alice -ap alice-secret -auth_uri 2001@office.example -m 5 -r 1 -l 2 "
        "-cid_str 'auth-call-%u@127.0.0.41'`; then the same with `-s 2002 -key caller bob -au bob "
        "-ap wrong-password -auth_uri 2002@office.example -m 1 -cid_str 'auth-bad-%u@127.0.0.41'`; "
        "`tcpdump -i lo -U -w ... 'host 127.0.0.41 or host 127.0.0.42 or host 127.0.0.43'`",
    ),
}

# public files of the shared collection that were not copied, and why
# Copied under another name (shared name -> name here) so that folder replays, which take
# *.pcap / *.pcapng / *.cap, pick them up.
RENAMED = {
    "wireshark-samples/rtp_example.raw": "wireshark-samples/rtp_example.pcap",
}

NOT_COPIED = {
    "srtp-decrypt/marseillaise-srtp.pcap": "over 2 MB (2,853,144 bytes)",
    "wireshark-samples/MGCP.pcap": "MGCP only, no SIP or RTP",
    "nDPI/mgcp.pcap": "MGCP only, no SIP or RTP",
    "wireshark-samples/c07-sip-r2.cap": "Microsoft NetMon original; its libpcap conversion "
    "c07-sip-r2.converted.pcap is copied",
    "tcpdump/rtp-seg-fault-1.out, tcpdump/rtp-seg-fault-2.out": "expected `tcpdump -v` output, not captures",
    "*/_tests/, */_results/, */_baseline/": "other tools' expected outputs, not captures",
}


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True).stdout


def versions():
    sipp = re.search(r"SIPp (v[^\s.]+(?:\.[^\s.]+)*)", run(["sipp", "-v"]))
    sipp = f"sipp {sipp.group(1)}" if sipp else "sipp ?"
    kam = re.search(r"kamailio (\S+)", run(["kamailio", "-v"]))
    kam = f"kamailio {kam.group(1)}" if kam else "kamailio ?"
    tsh = re.search(r"TShark \(Wireshark\) (\S+)", run(["tshark", "-v"]))
    tsh = f"TShark {tsh.group(1)}" if tsh else "TShark ?"
    tv = run(["tcpdump", "--version"])
    tcpd = re.search(r"tcpdump version (\S+)", tv)
    lpc = re.search(r"libpcap version (\S+)", tv)
    tcpd = f"tcpdump {tcpd.group(1) if tcpd else '?'} (libpcap {lpc.group(1) if lpc else '?'})"
    deb = open("/etc/debian_version").read().strip() if os.path.exists("/etc/debian_version") else "?"
    return f"{sipp} (Debian package sip-tester), {kam}, {tcpd}, {tsh}, on Debian {deb}"


def parse_shared(path):
    """-> (sections: list of (title, text, [files])), files: {relpath: (source_path, what)}"""
    text = open(path).read()
    text = text.split("## suricata-verify expected outputs")[0]
    sections, files = [], {}
    for block in re.split(r"\n(?=## )", text)[1:]:
        lines = block.splitlines()
        title = lines[0][3:].strip()
        body = "\n".join(lines[1:])
        intro = body.split("\n### ")[0].strip()
        sec_files = []
        for m in re.finditer(r"^### `([^`]+)`.*?$(.*?)(?=^### |\Z)", body, re.S | re.M):
            rel, rest = m.group(1), m.group(2)
            sp = re.search(r"^- source path: (.*)$", rest, re.M)
            what = re.search(r"^- what: (.*)$", rest, re.M)
            files[rel] = (sp.group(1).strip().strip("`") if sp else "", what.group(1).strip() if what else "")
            sec_files.append(rel)
        for m in re.finditer(r"^- `([^`]+\.pcap[ng]*)`: (.*?)(?=^- `|\Z)", intro, re.S | re.M):
            rel = m.group(1)
            files[rel] = ("", " ".join(m.group(2).split()))
            sec_files.append(rel)
        if sec_files:
            intro = intro.split("\n- `")[0].strip()
        sections.append((title, intro, sec_files))
    return sections, files


GENERATED = ("## Our captures", "## Public captures (`public/`)")


def kept_sections(path):
    """The `## ` sections of the current README that this script does not write."""
    if not os.path.exists(path):
        return ""
    text = open(path).read()
    parts = re.split(r"(?m)^(?=## )", text)
    return "".join(p for p in parts[1:] if not p.startswith(GENERATED))


def main():
    shared = None
    cands = [sys.argv[1]] if len(sys.argv) > 1 else []
    if os.environ.get("SHARED_PCAPS"):
        cands.append(os.path.join(os.environ["SHARED_PCAPS"], "README.md"))
    cands += [os.path.join(ROOT, "..", "shared", "pcaps", "README.md"), "/work/shared/pcaps/README.md"]
    for c in cands:
        if os.path.exists(c):
            shared = c
            break
    if not shared:
        sys.exit("write-readme.py: shared pcaps README not found")
    sections, sfiles = parse_shared(shared)

    os.chdir(PCAPS)
    out = []
    w = out.append
    w("# Test captures")
    w("")
    w("Captures that voip-sentinel's tests run the sensor on and compare with tshark. Three kinds:")
    w("")
    w("- our own, in this folder, made on this machine by `scripts/make-pcaps.sh` with real SIP stacks "
      "(sipp and kamailio) on loopback or between network namespaces;")
    w("- attack and detection captures, in `attack/` and `detect/`, made by `scripts/make-attack-pcaps.sh` "
      "and `scripts/make-detect-pcaps.sh` with real tools on loopback (nmap, sipsak, sipp, kamailio, "
      "tcpreplay; scanners Debian does not package are played by sipp with their User-Agent), each folder "
      "with its own README of provenance and facts;")
    w("- public ones, in `public/<source>/`, copied unchanged from the project's shared collection of "
      "third-party captures (every one there of at most 2 MB that holds SIP, RTP, RTCP or SRTP, "
      "SIP over TLS included, plus two negatives: HTTP on the SIP port and SSDP), keeping its "
      "sub-folder names.")
    w("")
    w("\"Facts\" below are what TShark reports (`tshark -n -r FILE -q -z sip,stat` and `-z rtp,streams`, "
      "default preferences; RTP is found only where SIP/SDP sets it up, so a second line gives the streams "
      "with `--enable-heuristic rtp_udp` where they differ). SIP requests are counted by method and "
      "responses by status, as in tshark's table; \"messages\" counts SIP PDUs (a reassembled "
      "fragmented or TCP-segmented message counts once). They were written by "
      "`scripts/pcaps/write-readme.py`.")
    w("")
    w("## Our captures")
    w("")
    w("Regenerate (as root, Debian 12):")
    w("")
    w("```sh")
    w("scripts/install-deps.sh           # tshark sip-tester kamailio tcpdump tcpreplay iproute2 ...")
    w("scripts/make-pcaps.sh             # all seven, about 105 s; or: scripts/make-pcaps.sh g711 tcp frag register failures proxy auth")
    w("scripts/pcaps/write-readme.py     # refresh this file's facts")
    w("```")
    w("")
    w(f"Made with: {versions()}.")
    w("")
    w("How: each scenario uses its own 127.0.0.x addresses (SIP port 5060 everywhere), `tcpdump -U -w` on "
      "`lo` (or on the veth inside the namespace) with a BPF filter on those addresses, started before "
      "and stopped 1 s after the traffic; every sipp and kamailio process runs under `timeout`, and the "
      "script checks each capture's `sip,stat` counts (and RTP streams, IP fragments) and fails if they are "
      "off. The sipp scenarios and kamailio configs are in `scripts/pcaps/`. Content is deterministic as far "
      "as the tools allow: fixed addresses, ports, Call-IDs (`-cid_str`), tags and SDP; what still changes "
      "from run to run is timestamps, sipp's Via branches (they hold its pid), kamailio's nonces and "
      "digest responses, TCP sequence numbers and IP IDs. Counts of packets and messages are stable.")
    w("")
    for name, (what, how) in OURS.items():
        w(f"### `{name}`")
        w("")
        w(f"- what: {what}")
        w(f"- made by: `scripts/make-pcaps.sh` {how}")
        w(facts(name))
        w("")
    w("## Public captures (`public/`)")
    w("")
    w("Copied byte for byte from the shared collection, whose README gives the provenance below. That "
      "README states that each file is \"under its source repository's license\" and names the repository "
      "and commit of each section; it does not name the licenses, so none is named here: see each "
      "source repository. The source path is the file's path in that repository at that commit. The shared "
      "collection's `_tests/`, `_results/` and `_baseline/` folders (other tools' expected outputs), which its "
      "section texts mention, were not copied.")
    w("")
    copied = set()
    for root, _, fs in os.walk("public"):
        for f in fs:
            copied.add(os.path.relpath(os.path.join(root, f), "public"))
    done = set()
    for title, intro, sec_files in sections:
        present = [RENAMED.get(f, f) for f in sec_files if RENAMED.get(f, f) in copied]
        if not present:
            continue
        w(f"### {title}")
        w("")
        if intro:
            w("From the shared README:")
            w("")
            w("\n".join("> " + l for l in intro.splitlines()))
            w("")
        for rel in present:
            shared_name = next((k for k, v in RENAMED.items() if v == rel), rel)
            sp, what = sfiles.get(shared_name, ("", ""))
            w(f"#### `public/{rel}`")
            w("")
            if sp:
                w(f"- source path: `{sp}`")
            if shared_name != rel:
                stored, orig = rel.split("/")[-1], shared_name.split("/")[-1]
                w(f"- renamed: stored here as `{stored}` (it is a pcap file) so folder replays pick "
                  f"it up; the source calls it `{orig}`.")
            if what:
                w(f"- what: {what}")
            w(facts(os.path.join("public", rel)))
            w("")
            done.add(rel)
    extra = sorted(copied - done)
    if extra:
        w("### Other files in `public/`")
        w("")
        for rel in extra:
            w(f"- `public/{rel}`: companion file (not a capture) from the same source section.")
        w("")
    w("### Not copied")
    w("")
    for k, v in NOT_COPIED.items():
        w(f"- `{k}`: {v}")
    w("")
    # Sections other scripts write (the media captures, by scripts/make-media-pcaps.sh and
    # scripts/media/media-facts.py) are kept as they are.
    kept = kept_sections("README.md")
    if kept:
        w(kept.rstrip("\n"))
        w("")
    open("README.md", "w").write("\n".join(out))
    print("wrote", os.path.join(PCAPS, "README.md"))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Write seed corpora for the fuzz targets from the captures in pcaps/ (real traffic).

Each target's input format is described at the top of its fuzz_targets/*.rs file; the
structured ones are "records": a big-endian u16 length, then that many bytes, repeated.
Output: fuzz/corpus/<target>/<sha1>, generated (ignored by git). Needs tshark/editcap.
`--quick`: only the project's own captures (for the CI smoke run).
"""
import hashlib
import os
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).resolve().parent / "corpus"
MAX_SEED = 64 * 1024          # libFuzzer's -max_len follows the largest seed
MAX_PER_TARGET = 1500          # libFuzzer's merge keeps what adds coverage anyway
# Link types the decoder knows, by pcap DLT, as the selector byte `fuzz_common::link_type` reads.
DLT_SELECTOR = {1: 0, 113: 1, 276: 2, 0: 3, 108: 4, 12: 5, 14: 5, 101: 5, 228: 6, 229: 7}

counts = {}


def write(target, data):
    if not data or len(data) > MAX_SEED or counts.get(target, 0) >= MAX_PER_TARGET:
        return
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    p = d / hashlib.sha1(data).hexdigest()
    if not p.exists():
        p.write_bytes(data)
        counts[target] = counts.get(target, 0) + 1


def rec(b):
    b = b[:0xFFFF]
    return struct.pack(">H", len(b)) + b


def records(recs, limit=MAX_SEED):
    """Join records, stopping before the seed would pass `limit` bytes."""
    out = b""
    for r in recs:
        r = rec(r)
        if len(out) + len(r) > limit:
            break
        out += r
    return out


def pcap_frames(path):
    """(selector, ts_seconds, bytes) of every frame, via a classic pcap copy by editcap."""
    with tempfile.NamedTemporaryFile(suffix=".pcap") as tmp:
        r = subprocess.run(["editcap", "-F", "pcap", str(path), tmp.name], capture_output=True)
        if r.returncode != 0:
            return []
        raw = Path(tmp.name).read_bytes()
    if len(raw) < 24:
        return []
    magic = raw[:4]
    endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    dlt = struct.unpack(endian + "I", raw[20:24])[0] & 0x0FFFFFFF
    if dlt not in DLT_SELECTOR:
        return []
    out, off = [], 24
    while off + 16 <= len(raw):
        sec, frac, incl, _ = struct.unpack(endian + "IIII", raw[off:off + 16])
        off += 16
        out.append((DLT_SELECTOR[dlt], sec + frac / (1e9 if nano else 1e6), raw[off:off + incl]))
        off += incl
    return out


def fields(path, filt, names):
    r = subprocess.run(
        ["tshark", "-r", str(path), "-Y", filt, "-T", "fields", "-E", "separator=\t",
         "-E", "occurrence=l"] + [a for n in names for a in ("-e", n)],
        capture_output=True, text=True)
    for line in r.stdout.splitlines():
        yield line.split("\t")


def hexbytes(s):
    try:
        return bytes.fromhex(s.replace(":", ""))
    except ValueError:
        return b""


def frame_seeds(path):
    frames = pcap_frames(path)
    for chunk in range(0, min(len(frames), 4 * 64), 64):
        part = frames[chunk:chunk + 64]
        recs, prev = [], part[0][1] if part else 0
        for sel, ts, data in part:
            gap = max(0, min(0xFFFF, int((ts - prev) * 1000)))
            prev = ts
            recs.append(bytes([sel]) + struct.pack(">H", gap) + data)
        write("decode_dispatch", records([b"\x00"] + recs))
        write("pipeline", records([b"\x00"] + recs))


def udp_seeds(path):
    flows = {}
    for ts, sport, dport, payload in fields(path, "udp", ["frame.time_epoch", "udp.srcport", "udp.dstport", "udp.payload"]):
        p = hexbytes(payload)
        if not p:
            continue
        if b"SIP/2.0" in p[:512]:
            write("sip_parser", p)
            body = p.split(b"\r\n\r\n", 1)
            if len(body) == 2 and body[1].startswith(b"v="):
                write("sdp_parser", body[1])
        elif 0x80 <= p[0] <= 0xBF and len(p) >= 8:
            flows.setdefault((sport, dport), []).append((float(ts or 0), p))
    for pkts in list(flows.values())[:32]:
        recs, prev = [], pkts[0][0]
        for ts, p in pkts[:200]:
            gap = max(0, min(0xFFFF, int((ts - prev) * 1e6)))
            prev = ts
            kind = 1 if 200 <= p[1] <= 207 else 0
            recs.append(bytes([kind]) + struct.pack(">H", gap) + p)
        setup = bytes([1]) + struct.pack(">I", 8000) + b"\x65" + b"\x00\xa0" + b"\x00\x28" + b"PCMU/8000"
        write("rtp_rtcp", records([setup] + recs))


def tcp_seeds(path):
    streams = {}
    for stream, sport, seq, flags, payload in fields(path, "tcp", ["tcp.stream", "tcp.srcport", "tcp.seq_raw", "tcp.flags", "tcp.payload"]):
        try:
            key, seq, flags = (stream, sport), int(seq), int(flags, 16) & 0xFF
        except ValueError:
            continue
        p = hexbytes(payload)
        streams.setdefault(key, []).append((seq, flags, p))
        if b"SIP/2.0" in p[:512]:
            write("sip_parser", p)
    for segs in list(streams.values())[:32]:
        isn = segs[0][0]
        recs = [bytes([2]) + struct.pack(">I", isn)]
        for seq, flags, p in segs[:200]:
            recs.append(struct.pack(">I", (seq - isn) & 0xFFFFFFFF) + bytes([flags]) + p)
        write("tcp_reassembly", records(recs))


def rules_seeds():
    rules = ROOT / "rules"
    sip = b"OPTIONS sip:100@10.0.0.2 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\n" \
          b"From: <sip:scan@10.0.0.1>;tag=1\r\nTo: <sip:100@10.0.0.2>\r\nCall-ID: 1@x\r\n" \
          b"CSeq: 1 OPTIONS\r\nUser-Agent: friendly-scanner\r\nContent-Length: 0\r\n\r\n"
    texts = {p.name: p.read_bytes() for p in rules.iterdir() if p.is_file()}
    variables = b"HOME_NET = [10.0.0.0/8, 192.168.0.0/16]\nSIP_PORTS = [5060, 5061]\n"
    for conf in ("detectors.conf", "numbering.plan", "vulnerable.list"):
        write("rules_parser", records([variables, texts.get("sip.rules", b""), texts.get(conf, b""), sip]))
    # advisories.conf with User-Agent and Server headers as devices announce them (one a line).
    headers = b"\n".join([
        b"Asterisk PBX 20.5.0", b"Asterisk PBX certified/18.9-cert4", b"FPBX-16.0.33(18.16.0)",
        b"FreeSWITCH-mod_sofia/1.10.11-release~64bit", b"kamailio (5.6.3 (x86_64/linux))",
        b"OpenSIPS (2.4.5 (x86_64/linux))", b"Yealink SIP-T46S 66.86.0.15",
        b"PolycomVVX-VVX_411-UA/6.4.3.5018", b"Cisco/SPA508G-7.5.5", b"Grandstream GXP2170 1.0.11.23",
    ])
    write("rules_parser", records([variables, headers, texts.get("advisories.conf", b""), sip]))
    # threshold.config ships its examples commented out: the seed has them as lines in force.
    tuning = b"\n".join(l[1:] for l in texts.get("threshold.config", b"").splitlines()
                        if l.startswith((b"#suppress", b"#threshold")))
    write("rules_parser", records([variables, texts.get("sip.rules", b""), tuning, sip]))
    for line in texts.get("sip.rules", b"").splitlines():
        if line.strip() and not line.startswith(b"#"):
            write("rules_parser", records([variables, line, b"", sip]))
    # Suricata rule sets: the ET VoIP rules (with a suricata.yaml's vars as the variables text,
    # and classification.config in the config slot) and suricata-verify's SIP tests.
    et = ROOT / "tests/fixtures/et-voip"
    if et.is_dir():
        yaml = (et / "vars.yaml").read_bytes()
        classes = texts.get("classification.config", b"")
        for line in (et / "emerging-voip.rules").read_bytes().splitlines():
            if line.startswith(b"alert"):
                write("rules_parser", records([yaml, line, classes, sip]))
    sv = ROOT / "tests/fixtures/suricata-verify"
    if sv.is_dir():
        for rules_file in sorted(sv.glob("*/test.rules")):
            write("rules_parser", records([variables, rules_file.read_bytes(), b"", sip]))


def hep_seeds(pcaps):
    """HEP datagrams (UDP payloads of the captures in pcaps/hep/)."""
    for p in pcaps:
        if p.parent.name != "hep" or "hep" not in p.name:
            continue
        for payload in fields(p, "udp", ["udp.payload"]):
            write("hep", hexbytes(payload[0]))


def savefile_seeds(pcaps):
    """Whole small captures, classic and pcapng, for the savefile reader."""
    for p in pcaps:
        data = p.read_bytes()
        if len(data) <= MAX_SEED:
            write("savefile", data)


def main():
    pcaps = sorted(p for p in (ROOT / "pcaps").rglob("*") if p.is_file() and ".pcap" in p.name)
    if "--quick" in sys.argv[1:]:
        # The project's own captures (pcaps/, attack/, media/) and heplify's: every protocol the
        # sensor reads, in a few seconds, for the CI smoke run.
        pcaps = [p for p in pcaps if p.parent.name in ("pcaps", "attack", "media", "heplify", "hep")]
    for path in pcaps:
        frame_seeds(path)
        udp_seeds(path)
        tcp_seeds(path)
    rules_seeds()
    savefile_seeds(pcaps)
    hep_seeds(pcaps)
    for t, n in sorted(counts.items()):
        print(f"{t}: {n} seeds")


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Post-process real captures for voip-sentinel's media tests (pcaps/media/).

Reads and writes classic pcap files (as written by tcpdump: micro- or
nanosecond magic, either byte order) with the struct module only; link type
Ethernet (1) or Linux cooked (113), IPv4, UDP. A packet is taken as RTP when it
is UDP, neither port is a SIP port (5060, 5061), its payload is at least 12
bytes and the RTP version bits are 2. Nothing else in a capture is changed.

Subcommands:

  rtp-frames IN --src IP[:PORT] --nth LIST
      Print, comma-separated for editcap, the 1-based frame numbers of the
      Nth RTP packets (1-based, LIST like "50,120-124") sent by IP[:PORT].

  jitter IN OUT [--max-ms 15] [--seed 1] [--src IP[:PORT]]
      Shift the capture timestamp of every RTP packet (or only those sent by
      --src) by a pseudo-random offset, uniform in [-max, +max] ms, from
      Python's random.Random(seed) (deterministic). Order is kept: a packet is
      never moved before the packet written just before it (it is then put
      1 us after it), nor after the next non-shifted packet.

  srtp IN OUT --key IP[:PORT]=BASE64 [--key ...]
      Encrypt, with libsrtp (pylibsrtp, AES_CM_128_HMAC_SHA1_80), every RTP
      packet whose source matches a --key; BASE64 is the SDES inline key of
      the sender (30 bytes: 16-byte master key || 14-byte master salt). The
      RTP header is kept, the payload is encrypted and the 10-byte auth tag
      appended; IPv4 total length and header checksum, UDP length and UDP
      checksum are recomputed, and the pcap caplen/len grow by 10. RTP packets
      from a source without a key are left as they are.

  srtp-verify PLAIN SRTP --key IP[:PORT]=BASE64 [--key ...]
      Decrypt (srtp_unprotect) every RTP packet of SRTP whose source has a key
      and check it equals the packet at the same place in PLAIN. Prints counts;
      exits 1 on any mismatch or authentication failure.
"""
import argparse
import base64
import random
import struct
import sys

SIP_PORTS = (5060, 5061)


# --- classic pcap ----------------------------------------------------------

def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        sys.exit(f"{path}: not a classic pcap file (pcapng?)")
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    header = data[:24]
    linktype = struct.unpack(end + "I", data[20:24])[0] & 0x0FFFFFFF
    if linktype not in (1, 113):
        sys.exit(f"{path}: link type {linktype} not supported (Ethernet or Linux cooked only)")
    pkts, off = [], 24
    while off + 16 <= len(data):
        sec, frac, caplen, origlen = struct.unpack(end + "IIII", data[off:off + 16])
        off += 16
        pkts.append([sec, frac, bytearray(data[off:off + caplen]), origlen])
        off += caplen
    return {"end": end, "nano": nano, "header": header, "linktype": linktype, "pkts": pkts}


def write_pcap(path, cap):
    end = cap["end"]
    with open(path, "wb") as f:
        f.write(cap["header"])
        for sec, frac, buf, origlen in cap["pkts"]:
            f.write(struct.pack(end + "IIII", sec, frac, len(buf), origlen))
            f.write(buf)


def ts_us(cap, p):
    return p[0] * 1_000_000 + (p[1] // 1000 if cap["nano"] else p[1])


def set_ts_us(cap, p, us):
    p[0], rest = divmod(us, 1_000_000)
    p[1] = rest * 1000 if cap["nano"] else rest


# --- IPv4/UDP/RTP ------------------------------------------------------------

def l3_offset(cap, buf):
    if cap["linktype"] == 1:
        off, etype = 14, struct.unpack("!H", buf[12:14])[0]
        while etype in (0x8100, 0x88A8):
            etype = struct.unpack("!H", buf[off + 2:off + 4])[0]
            off += 4
    else:  # Linux cooked (SLL)
        off, etype = 16, struct.unpack("!H", buf[14:16])[0]
    return off if etype == 0x0800 else None


def udp_info(cap, buf):
    """(ip_off, udp_off, src, sport, dst, dport) of an unfragmented IPv4/UDP packet."""
    ip = l3_offset(cap, buf)
    if ip is None or len(buf) < ip + 20 or buf[ip] >> 4 != 4 or buf[ip + 9] != 17:
        return None
    if struct.unpack("!H", buf[ip + 6:ip + 8])[0] & 0x3FFF:
        return None  # fragment
    udp = ip + (buf[ip] & 0x0F) * 4
    if len(buf) < udp + 8:
        return None
    src = ".".join(map(str, buf[ip + 12:ip + 16]))
    dst = ".".join(map(str, buf[ip + 16:ip + 20]))
    sport, dport = struct.unpack("!HH", buf[udp:udp + 4])
    return ip, udp, src, sport, dst, dport


def rtp_info(cap, buf):
    u = udp_info(cap, buf)
    if not u:
        return None
    ip, udp, src, sport, dst, dport = u
    ulen = struct.unpack("!H", buf[udp + 4:udp + 6])[0]
    if sport in SIP_PORTS or dport in SIP_PORTS or ulen < 8 + 12 or udp + ulen > len(buf):
        return None
    if buf[udp + 8] >> 6 != 2:
        return None
    return u + (udp + 8, udp + ulen)


def src_match(spec, src, sport):
    ip, _, port = spec.partition(":")
    return ip == src and (not port or int(port) == sport)


def csum(data):
    if len(data) % 2:
        data = bytes(data) + b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def replace_udp_payload(buf, ip, udp, end, payload):
    """Replace buf[udp+8:end] by payload; fix IPv4 and UDP lengths and checksums."""
    new = bytearray(buf[:udp + 8]) + payload + buf[end:]
    delta = len(payload) - (end - udp - 8)
    ihl = (new[ip] & 0x0F) * 4
    tot = struct.unpack("!H", new[ip + 2:ip + 4])[0] + delta
    struct.pack_into("!H", new, ip + 2, tot)
    struct.pack_into("!H", new, ip + 10, 0)
    struct.pack_into("!H", new, ip + 10, csum(new[ip:ip + ihl]))
    ulen = 8 + len(payload)
    struct.pack_into("!H", new, udp + 4, ulen)
    struct.pack_into("!H", new, udp + 6, 0)
    pseudo = bytes(new[ip + 12:ip + 20]) + struct.pack("!BBH", 0, 17, ulen)
    c = csum(pseudo + bytes(new[udp:udp + ulen]))
    struct.pack_into("!H", new, udp + 6, c or 0xFFFF)
    return new, delta


# --- subcommands -------------------------------------------------------------

def parse_list(s):
    out = set()
    for part in s.split(","):
        a, _, b = part.partition("-")
        out.update(range(int(a), int(b or a) + 1))
    return out


def cmd_rtp_frames(a):
    cap = read_pcap(a.input)
    want, n, frames = parse_list(a.nth), 0, []
    for i, p in enumerate(cap["pkts"], 1):
        r = rtp_info(cap, p[2])
        if r and src_match(a.src, r[2], r[3]):
            n += 1
            if n in want:
                frames.append(i)
    if len(frames) != len(want):
        sys.exit(f"only {n} RTP packets from {a.src}; wanted {sorted(want)}")
    print(",".join(map(str, frames)))


def cmd_jitter(a):
    cap = read_pcap(a.input)
    rng = random.Random(a.seed)
    pk = cap["pkts"]
    orig = [ts_us(cap, p) for p in pk]
    shifted = [bool((r := rtp_info(cap, p[2])) and (not a.src or src_match(a.src, r[2], r[3]))) for p in pk]
    prev, moved, maxoff = None, 0, 0
    for i, p in enumerate(pk):
        t = orig[i]
        if shifted[i]:
            off = rng.randint(-a.max_ms * 1000, a.max_ms * 1000)
            t += off
            # never after the next packet that keeps its time
            nxt = next((orig[j] for j in range(i + 1, len(pk)) if not shifted[j]), None)
            if nxt is not None:
                t = min(t, nxt - 1)
            moved += 1
        if prev is not None and t <= prev:
            t = prev + 1
        if shifted[i]:
            maxoff = max(maxoff, abs(t - orig[i]))
        set_ts_us(cap, p, t)
        prev = t
    write_pcap(a.output, cap)
    print(f"jitter: {moved} RTP packets re-timed, seed {a.seed}, max |offset| {maxoff / 1000:.3f} ms",
          file=sys.stderr)


def parse_keys(specs):
    keys = []
    for s in specs:
        who, _, b64 = s.partition("=")
        raw = base64.b64decode(b64)
        if len(raw) != 30:
            sys.exit(f"key for {who}: {len(raw)} bytes, want 30 (16 key + 14 salt)")
        keys.append((who, raw))
    return keys


def key_for(keys, src, sport):
    for who, raw in keys:
        if src_match(who, src, sport):
            return who, raw
    return None, None


def cmd_srtp(a):
    import pylibsrtp
    cap = read_pcap(a.input)
    keys = parse_keys(a.key)
    sessions, counts = {}, {}
    for p in cap["pkts"]:
        r = rtp_info(cap, p[2])
        if not r:
            continue
        ip, udp, src, sport, dst, dport, rs, re_ = r
        who, raw = key_for(keys, src, sport)
        if raw is None:
            continue
        if who not in sessions:
            pol = pylibsrtp.Policy(key=raw, ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND,
                                   srtp_profile=pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80)
            sessions[who] = pylibsrtp.Session(policy=pol)
        prot = sessions[who].protect(bytes(p[2][rs:re_]))
        p[2], delta = replace_udp_payload(p[2], ip, udp, re_, prot)
        p[3] += delta
        counts[who] = counts.get(who, 0) + 1
    write_pcap(a.output, cap)
    for who, n in counts.items():
        print(f"srtp: {n} RTP packets from {who} encrypted", file=sys.stderr)
    missing = [w for w, _ in keys if w not in counts]
    if missing:
        sys.exit(f"no RTP packets from {missing}")


def cmd_srtp_verify(a):
    import pylibsrtp
    plain, enc = read_pcap(a.plain), read_pcap(a.srtp)
    if len(plain["pkts"]) != len(enc["pkts"]):
        sys.exit("packet counts differ")
    keys = parse_keys(a.key)
    sessions, ok, bad = {}, {}, 0
    for pp, ep in zip(plain["pkts"], enc["pkts"]):
        r = rtp_info(enc, ep[2])
        if not r:
            continue
        ip, udp, src, sport, dst, dport, rs, re_ = r
        who, raw = key_for(keys, src, sport)
        if raw is None:
            continue
        if who not in sessions:
            pol = pylibsrtp.Policy(key=raw, ssrc_type=pylibsrtp.Policy.SSRC_ANY_INBOUND,
                                   srtp_profile=pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80)
            sessions[who] = pylibsrtp.Session(policy=pol)
        pr = rtp_info(plain, pp[2])
        try:
            dec = sessions[who].unprotect(bytes(ep[2][rs:re_]))
        except pylibsrtp.Error as e:
            print(f"unprotect failed ({who}): {e}", file=sys.stderr)
            bad += 1
            continue
        if not pr or dec != bytes(pp[2][pr[6]:pr[7]]):
            bad += 1
            continue
        ok[who] = ok.get(who, 0) + 1
    for who, n in ok.items():
        print(f"srtp-verify: {n} packets from {who} decrypt to the plaintext capture")
    if bad or not ok:
        sys.exit(f"srtp-verify: {bad} packets failed")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("rtp-frames")
    s.add_argument("input")
    s.add_argument("--src", required=True)
    s.add_argument("--nth", required=True)
    s.set_defaults(fn=cmd_rtp_frames)
    s = sub.add_parser("jitter")
    s.add_argument("input")
    s.add_argument("output")
    s.add_argument("--max-ms", type=int, default=15)
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--src")
    s.set_defaults(fn=cmd_jitter)
    s = sub.add_parser("srtp")
    s.add_argument("input")
    s.add_argument("output")
    s.add_argument("--key", action="append", required=True)
    s.set_defaults(fn=cmd_srtp)
    s = sub.add_parser("srtp-verify")
    s.add_argument("plain")
    s.add_argument("srtp")
    s.add_argument("--key", action="append", required=True)
    s.set_defaults(fn=cmd_srtp_verify)
    a = ap.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Cut sipp's g711a.pcap (G.711 A-law, 30 ms frames, 236 packets) to its first
N packets and give it its own RTP SSRC, first sequence number and first
timestamp, as every phone picks its own at random (RFC 3550 5.1). Used by
scripts/make-benign-pcaps.sh so that each phone, the voicemail server and the
carrier play the same short recording under their own SSRC instead of all
sharing the file's 0xDEE0EE8F.

usage: rtp-variant.py IN.pcap OUT.pcap PACKETS SEED [AFTER_MS]

With AFTER_MS, the output is what the same phone sends when it takes a call
off hold AFTER_MS ms after the first PACKETS packets began: the same SSRC,
sequence numbers going on from the last packet of the first file and
timestamps advanced by the time that passed (8 per ms), as a phone whose
RTP clock kept running. Only the 12-byte RTP headers change (payload type, marker, timing and audio
are kept); sipp recomputes the UDP checksum and rewrites addresses and ports
when it plays the file. The seed makes the output reproducible.
"""
import random
import struct
import sys


def main():
    if len(sys.argv) not in (5, 6):
        sys.exit(__doc__)
    src, dst, count, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    rnd = random.Random(seed)
    ssrc = rnd.getrandbits(32)
    seq0 = rnd.getrandbits(16)
    ts0 = rnd.getrandbits(32)
    if len(sys.argv) == 6:
        seq0 += count
        ts0 += int(sys.argv[5]) * 8
    with open(src, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic != 0xA1B2C3D4:
        sys.exit(f"{src}: not a little-endian microsecond pcap")
    linktype = struct.unpack("<I", data[20:24])[0]
    if linktype != 1:
        sys.exit(f"{src}: link type {linktype}, expected Ethernet")
    out = [data[:24]]
    off = 24
    n = 0
    first_seq = first_ts = None
    while off < len(data) and n < count:
        ts_sec, ts_usec, incl, orig = struct.unpack("<IIII", data[off:off + 16])
        pkt = bytearray(data[off + 16:off + 16 + incl])
        off += 16 + incl
        if len(pkt) < 14 + 20 + 8 + 12 or pkt[12:14] != b"\x08\x00" or pkt[23] != 17:
            sys.exit(f"{src}: packet {n + 1} is not IPv4/UDP")
        ihl = (pkt[14] & 0x0F) * 4
        rtp = 14 + ihl + 8
        if pkt[rtp] >> 6 != 2:
            sys.exit(f"{src}: packet {n + 1} is not RTP version 2")
        seq, ts = struct.unpack(">HI", pkt[rtp + 2:rtp + 8])
        if first_seq is None:
            first_seq, first_ts = seq, ts
        new_seq = (seq0 + (seq - first_seq)) & 0xFFFF
        new_ts = (ts0 + (ts - first_ts)) & 0xFFFFFFFF
        pkt[rtp + 2:rtp + 12] = struct.pack(">HII", new_seq, new_ts, ssrc)
        out.append(struct.pack("<IIII", ts_sec, ts_usec, incl, orig))
        out.append(bytes(pkt))
        n += 1
    if n < count:
        sys.exit(f"{src}: only {n} packets, {count} wanted")
    with open(dst, "wb") as f:
        f.write(b"".join(out))


if __name__ == "__main__":
    main()

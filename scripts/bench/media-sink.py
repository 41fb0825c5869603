#!/usr/bin/env python3
"""Bind UDP sockets on the benchmark's media ports so that the RTP sipp plays is received.

sipp's play_pcap_audio only sends; without a socket on the far side every RTP packet would be
answered by an ICMP port unreachable, half the capture. The sockets are never read: a tiny
receive buffer fills and the kernel drops quietly, after tcpdump has seen the packet.
Usage: media-sink.py ADDR[,ADDR...] FIRST_PORT LAST_PORT STEP   (runs until killed)
"""
import signal
import socket
import sys

addrs = sys.argv[1].split(",")
first, last, step = (int(a) for a in sys.argv[2:5])
socks = []
for addr in addrs:
    for port in range(first, last + 1, step):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
        try:
            s.bind((addr, port))
        except OSError:
            s.close()  # in use (sipp's own media socket): it receives anyway
            continue
        socks.append(s)
print(f"media-sink: {len(socks)} sockets", flush=True)
signal.sigwait({signal.SIGTERM, signal.SIGINT})

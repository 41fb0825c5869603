#!/usr/bin/env python3
"""Identity headers for the detect capture stir-shaken-invalid.pcap.

  stir-shaken-detect.py KEY.pem OUT.csv

Writes a sipp injection file in the format of scripts/attack/stir-shaken-inf.py
(fields: called number, calling number, Identity token, certificate URL) with
two calls: a SHAKEN PASSporT signed ES256 with KEY.pem (by that script's
`sign`) whose dest.tn is not the called number, and an Identity header that is
no JWS at all (three dot-separated parts that are not base64url JSON), as a
broken or tampered gateway sends it.
"""
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location(
    "stir_shaken_inf", os.path.join(HERE, "..", "attack", "stir-shaken-inf.py"))
inf = importlib.util.module_from_spec(spec)
spec.loader.exec_module(inf)

inf.CALLS = [
    ("A", "+12155550105", "12155550105", "+12155550195", "12155550777",
     "dest.tn does not contain the called number"),
]

if len(sys.argv) != 3:
    sys.exit(__doc__)
key, out = sys.argv[1], sys.argv[2]
inf.sign(key, out)
with open(out, "a") as f:
    f.write(f"+12155550194;+12155550106;not-a-jws.%%%%.garbage;{inf.X5U}\n")
print("undecodable Identity: not-a-jws.%%%%.garbage")

#!/usr/bin/env python3
"""STIR/SHAKEN PASSporTs for scripts/make-attack-pcaps.sh (standard library + openssl).

  stir-shaken-inf.py sign KEY.pem OUT.csv
      Build one SHAKEN PASSporT (RFC 8225, RFC 8588 ppt=shaken) per call of
      CALLS below, signed ES256 with the EC P-256 private key KEY.pem (made
      by `openssl ecparam -name prime256v1 -genkey`; it is only read by
      openssl, never printed): JWS compact form b64url(header).b64url(payload)
      .b64url(r||s), where the DER ECDSA signature of `openssl dgst -sha256
      -sign` is converted to the raw 64-byte r||s of RFC 7518 3.4. Writes a
      sipp injection file (SEQUENTIAL; fields: called number, calling number
      (From user), PASSporT, certificate URL) and prints one summary line per
      call (no key material).

  stir-shaken-inf.py verify PUB.pem < identity-header-values
      Check every Identity header value (one a line, as printed by
      `tshark -T fields -e sip.Identity`) against the public key: rebuild the
      DER signature from r||s and run `openssl dgst -sha256 -verify`. Prints
      the decoded header and payload of each; exits 1 if any fails.
"""
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid

X5U = "https://cert.example.org/sp.pem"
HEADER = {"alg": "ES256", "ppt": "shaken", "typ": "passport", "x5u": X5U}

# (attest, From user, orig.tn, called number, dest.tn, note)
CALLS = [
    ("A", "+12155550101", "12155550101", "+12155550199", "12155550199", "full attestation"),
    ("B", "+12155550102", "12155550102", "+12155550198", "12155550198", "partial attestation"),
    ("C", "+12155550103", "12155550103", "+12155550197", "12155550197", "gateway attestation"),
    ("A", "+12155550104", "12155550999", "+12155550196", "12155550196",
     "orig.tn does not match the From number"),
]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_dec(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def canon_json(obj) -> bytes:
    # RFC 8225 section 9: keys in lexicographic order, no whitespace
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode("utf-8")


def der_len(data: bytes, i: int):
    n = data[i]
    i += 1
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(data[i:i + k], "big")
        i += k
    return n, i


def der_to_raw(der: bytes) -> bytes:
    """ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } -> r||s (32+32)."""
    if der[0] != 0x30:
        raise ValueError("not a DER SEQUENCE")
    _, i = der_len(der, 1)
    out = b""
    for _ in range(2):
        if der[i] != 0x02:
            raise ValueError("not a DER INTEGER")
        n, i = der_len(der, i + 1)
        v = der[i:i + n].lstrip(b"\x00")
        i += n
        if len(v) > 32:
            raise ValueError("integer longer than 32 bytes")
        out += v.rjust(32, b"\x00")
    return out


def raw_to_der(raw: bytes) -> bytes:
    def integer(v: bytes) -> bytes:
        v = v.lstrip(b"\x00") or b"\x00"
        if v[0] & 0x80:
            v = b"\x00" + v
        return b"\x02" + bytes([len(v)]) + v
    body = integer(raw[:32]) + integer(raw[32:])
    return b"\x30" + bytes([len(body)]) + body


def openssl_sign(key: str, data: bytes) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "in")
        with open(src, "wb") as f:
            f.write(data)
        return subprocess.run(["openssl", "dgst", "-sha256", "-sign", key, src],
                              check=True, capture_output=True).stdout


def openssl_verify(pub: str, data: bytes, der: bytes) -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        src, sig = os.path.join(tmp, "in"), os.path.join(tmp, "sig")
        with open(src, "wb") as f:
            f.write(data)
        with open(sig, "wb") as f:
            f.write(der)
        r = subprocess.run(["openssl", "dgst", "-sha256", "-verify", pub, "-signature", sig, src],
                           capture_output=True)
        return r.returncode == 0


def sign(key: str, out: str) -> None:
    now = int(time.time())
    rows = []
    for attest, from_user, orig_tn, called, dest_tn, note in CALLS:
        payload = {"attest": attest, "dest": {"tn": [dest_tn]}, "iat": now,
                   "orig": {"tn": orig_tn}, "origid": str(uuid.uuid4())}
        signing_input = (b64url(canon_json(HEADER)) + "." + b64url(canon_json(payload))).encode()
        raw = der_to_raw(openssl_sign(key, signing_input))
        rows.append(f"{called};{from_user};{signing_input.decode()}.{b64url(raw)};{X5U}")
        print(f"attest={attest} From={from_user} orig.tn={orig_tn} dest.tn={dest_tn} "
              f"origid={payload['origid']} iat={now} ({note})")
    with open(out, "w") as f:
        f.write("SEQUENTIAL\n" + "\n".join(rows) + "\n")


def verify(pub: str) -> int:
    bad = 0
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        token = line.split(";", 1)[0].strip()
        h, p, s = token.split(".")
        ok = openssl_verify(pub, f"{h}.{p}".encode(), raw_to_der(b64url_dec(s)))
        bad += not ok
        print(("OK  " if ok else "BAD ") + b64url_dec(h).decode() + " " + b64url_dec(p).decode()
              + "  params: " + (line.split(";", 1)[1] if ";" in line else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "sign":
        sign(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] == "verify":
        sys.exit(verify(sys.argv[2]))
    else:
        sys.exit(__doc__)

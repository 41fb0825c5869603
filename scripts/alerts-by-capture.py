#!/usr/bin/env python3
"""Alerts per signature per capture: replay every capture under pcaps/ (or the files and folders
given) one by one with the sensor, and print what fired where, so that a tuning change (rules/,
detectors.conf, threshold.config) shows its effect on every capture at once.

    scripts/alerts-by-capture.py [--bin PATH] [--rules DIR]... [--by-signature] [PATH...]

A capture with a site profile (NAME.rules/ beside NAME.pcap: what its operator sets over the
shipped rules, as pcaps/benign/call-centre.rules/ sets a UK dialling context) is replayed with
that folder over the rules.

Prints a Markdown table: one row per capture with its alerts as `sid×count`, the benign
captures (pcaps/benign/) marked, and a line per benign capture that raised anything outside the
eavesdropping category (a false alarm by definition there). With --by-signature, one row per
signature instead: where it fired and how often. Exit status 1 when a benign capture raised an
attack alert, so the script can gate a tuning change.
"""

import argparse
import collections
import json
import os
import subprocess
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
CAPTURE_EXT = (".pcap", ".pcapng", ".cap")


def sensor_binary():
    """The release binary, wherever cargo puts it (CARGO_TARGET_DIR is honoured); built if needed."""
    subprocess.run(
        ["cargo", "build", "--release", "--quiet", "--bin", "voip-sentinel"],
        cwd=ROOT,
        check=True,
    )
    meta = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--no-deps"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    return os.path.join(meta["target_directory"], "release", "voip-sentinel")


def captures(paths):
    out = []
    for p in paths:
        if os.path.isdir(p):
            for d, _, files in os.walk(p):
                out += [os.path.join(d, f) for f in files if f.endswith(CAPTURE_EXT)]
        else:
            out.append(p)
    return sorted(out)


def site_rules(pcap, rules):
    """The rules folders for one capture: those given (default: the shipped rules/), then the
    capture's site profile, NAME.rules/ beside NAME.pcap, when it has one."""
    site = os.path.splitext(pcap)[0] + ".rules"
    if not os.path.isdir(site):
        return rules
    return (rules or [os.path.join(ROOT, "rules")]) + [site]


def alerts_of(binary, pcap, rules):
    cmd = [binary, "replay", "-q", "--eve", "-"]
    for r in site_rules(pcap, rules):
        cmd += ["--rules", r]
    run = subprocess.run(cmd + [pcap], capture_output=True, text=True)
    found = []
    for line in run.stdout.splitlines():
        rec = json.loads(line)
        if rec.get("event_type") == "alert":
            a = rec["alert"]
            found.append((a["signature_id"], a["signature"], a["category"]))
    return found, run.returncode


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", help="the sensor binary (default: build and use the release one)")
    ap.add_argument("--rules", action="append", default=[], help="rules folder(s), as the sensor takes them")
    ap.add_argument("--by-signature", action="store_true", help="one row per signature")
    ap.add_argument("paths", nargs="*", default=[os.path.join(ROOT, "pcaps")])
    args = ap.parse_args()
    binary = args.bin or sensor_binary()

    names = {}
    per_capture = {}
    false_alarms = []
    for pcap in captures(args.paths):
        rel = os.path.relpath(pcap, ROOT)
        found, code = alerts_of(binary, pcap, args.rules)
        counts = collections.Counter(sid for sid, _, _ in found)
        for sid, name, category in found:
            names[sid] = (name, category)
        per_capture[rel] = (counts, code)
        if "/benign/" in "/" + rel:
            bad = {s: n for s, n in counts.items() if names[s][1] != "eavesdropping"}
            if bad:
                false_alarms.append((rel, bad))

    if args.by_signature:
        print("| sid | signature | category | alerts | captures |")
        print("| --- | --- | --- | --- | --- |")
        for sid in sorted(names):
            where = [(c, n[0][sid]) for c, n in per_capture.items() if sid in n[0]]
            total = sum(n for _, n in where)
            listed = ", ".join(f"{os.path.basename(c)}×{n}" for c, n in where)
            print(f"| {sid} | {names[sid][0]} | {names[sid][1]} | {total} | {listed} |")
    else:
        print("| capture | alerts (sid×count) |")
        print("| --- | --- |")
        for rel, (counts, code) in per_capture.items():
            mark = " (benign)" if "/benign/" in "/" + rel else ""
            status = "" if code == 0 else f" (exit {code})"
            listed = ", ".join(f"{sid}×{n}" for sid, n in sorted(counts.items())) or "none"
            print(f"| {rel}{mark}{status} | {listed} |")
    for rel, bad in false_alarms:
        listed = ", ".join(f"{sid} {names[sid][0]}×{n}" for sid, n in sorted(bad.items()))
        print(f"false alarm on benign capture {rel}: {listed}", file=sys.stderr)
    return 1 if false_alarms else 0


if __name__ == "__main__":
    sys.exit(main())

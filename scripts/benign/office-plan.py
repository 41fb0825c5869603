#!/usr/bin/env python3
"""Turn the office's plan (scripts/benign/office-phones.csv and office-calls.csv)
into what scripts/make-benign-pcaps.sh runs, and check that it holds together.

usage: office-plan.py PHONES.csv CALLS.csv END_S OUTDIR

Writes into OUTDIR:
  db/version, db/subscriber   the PBX's users (Kamailio db_text, auth_db)
  phones.tsv                  one line per phone, '|'-separated: ext, address,
                              display name, User-Agent, incoming mode,
                              password, start of its sipp (s), time of its
                              wrong-password attempt (s, or empty)
  phone-EXT/plan.csv          the phone's injection file for scripts/benign/phone.xml
                              (times relative to the start of its sipp)
  carrier-in.csv              the incoming calls for scripts/benign/carrier-in.xml
  expect.tsv                  what the capture must then hold: key, value

Checks (and fails loudly otherwise): every number is an extension, 8500, or a
national/international number; nobody calls or is called before being
registered or while already in a call (from the longest each step can take);
the talk time outlasts the 3 s of RTP; cancels ring away phones; transfers are
followed by the transferred call; nothing runs past END_S.
"""
import csv
import math
import os
import sys

RING_MAX = 3.5          # phone-in-answer.xml rings 1.5-3.5 s; carrier-uas.xml too
NOANSWER = 10.0         # the PBX's no-answer timer (kamailio-pbx.cfg t_set_fr)
RECEPTION_ANSWER = 2.0  # phone-in-reception.xml: 2 s of ringing, then 3 s of talk, REFER
RECEPTION_TALK = 3.0
RTP_S = 3.0             # talk.pcap
VOICEMAIL = "8500"


def rows(path):
    with open(path, newline="") as f:
        for row in csv.reader(f, delimiter=";"):
            if row and not row[0].startswith("#"):
                yield [c.strip() for c in row]


def is_external(n):
    return n.startswith("+") or (n.startswith("0") and n[1:].isdigit())


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    phones_csv, calls_csv, end, out = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
    phones = {}
    order = []
    for r in rows(phones_csv):
        ext, addr, name, ua, mode, pw, first, every, wrong = (r + [""] * 9)[:9]
        if mode not in ("answer", "away", "dnd", "reception"):
            sys.exit(f"phone {ext}: unknown mode {mode}")
        if ext in phones:
            sys.exit(f"phone {ext} twice")
        phones[ext] = dict(addr=addr, name=name, ua=ua, mode=mode, pw=pw, first=float(first),
                           every=float(every), wrong=float(wrong) if wrong else None,
                           busy=[], lines=[])
        order.append(ext)
        p = phones[ext]
        p["start"] = p["first"] if p["wrong"] is not None else 0.0
        if p["wrong"] is not None and p["wrong"] + 5 > p["first"]:
            sys.exit(f"phone {ext}: the wrong-password attempt must come 5 s before the first REGISTER")

    def occupy(ext, t0, t1, what):
        p = phones[ext]
        if t0 < p["first"] + 1:
            sys.exit(f"{what}: phone {ext} is not registered yet at {t0:.1f} s")
        for a, b, w in p["busy"]:
            if t0 < b + 0.5 and a < t1 + 0.5:
                sys.exit(f"{what}: phone {ext} is busy {a:.1f}-{b:.1f} s ({w})")
        p["busy"].append((t0, t1, what))

    incoming = []
    counts = {"calls": 0, "answered": 0, "cancelled": 0, "busy": 0, "voicemail": 0,
              "transfers": 0, "holds": 0, "international": 0, "national": 0, "internal": 0,
              "incoming": 0}
    calls = list(rows(calls_csv))
    for i, r in enumerate(calls):
        t, caller, what, number, a, b, note = (r + [""] * 7)[:7]
        t = float(t)
        a = float(a) if a else 0.0
        b = float(b) if b and caller != "carrier" else 0.0
        tag = f"line {i + 1} ({t} s {caller} {what} {number})"
        counts["calls"] += 1
        if caller == "carrier":
            ext = number[-3:] if number.startswith("+4420794602") else "22" + number[-2:]
            if ext not in phones or phones[ext]["mode"] != "answer":
                sys.exit(f"{tag}: DID {number} is not an answering phone")
            if a / 1000 < RTP_S + 0.3:
                sys.exit(f"{tag}: talk shorter than the RTP")
            occupy(ext, t, t + RING_MAX + a / 1000 + 0.5, tag)
            incoming.append(f"{int(round(t * 1000))};{number};{int(a)};{r[5]}")
            counts["answered"] += 1
            counts["incoming"] += 1
            if t + RING_MAX + a / 1000 > end:
                sys.exit(f"{tag}: runs past the end")
            continue
        if caller not in phones:
            sys.exit(f"{tag}: unknown caller")
        p = phones[caller]
        rel = t - p["start"]
        if what == "cancel":
            callee = phones.get(number)
            if not callee or callee["mode"] != "away":
                sys.exit(f"{tag}: only away phones ring long enough to be cancelled")
            dur = a / 1000 + 0.5
            occupy(number, t, t + dur, tag)
            counts["cancelled"] += 1
            counts["internal"] += 1
            line = f"cancel;{int(rel * 1000)};{number};{int(a)};0"
        elif what in ("call", "hold", "xfer"):
            if what == "hold":
                dur = RING_MAX + 2 * a / 1000 + b / 1000 + 1.0
                counts["holds"] += 1
            elif what == "xfer":
                dur = RECEPTION_ANSWER + RECEPTION_TALK + b / 1000 + 1.0
                counts["transfers"] += 1
                nxt = (calls[i + 1] + [""] * 3)[:3] if i + 1 < len(calls) else None
                if not nxt or nxt[1] != caller or nxt[2] != "call":
                    sys.exit(f"{tag}: a transfer must be followed by the caller's call to the target")
                if not RECEPTION_ANSWER + RECEPTION_TALK + 0.3 < float(nxt[0]) - t < dur - 2.0:
                    sys.exit(f"{tag}: the transferred call must start after the REFER, before the last NOTIFY")
            else:
                dur = None
            if number == VOICEMAIL:
                dur = a / 1000 + 0.5
                counts["voicemail"] += 1
                counts["answered"] += 1
                counts["internal"] += 1
            elif is_external(number):
                dur = RING_MAX + a / 1000 + 0.5
                counts["answered"] += 1
                kind = note.split(",")[0].split(" ")[0]
                if kind not in ("national", "international"):
                    sys.exit(f"{tag}: the note of an outside call starts with national or international")
                counts[kind] += 1
            elif number in phones:
                callee = phones[number]
                counts["internal"] += 1
                if what == "xfer":
                    if callee["mode"] != "reception":
                        sys.exit(f"{tag}: only reception transfers")
                    counts["answered"] += 1
                elif callee["mode"] == "dnd":
                    dur = 0.5
                    counts["busy"] += 1
                elif callee["mode"] == "away":
                    if what != "call":
                        sys.exit(f"{tag}: away phones do not answer")
                    counts["voicemail"] += 1
                    counts["answered"] += 1
                    occupy(number, t, t + NOANSWER + 0.5, tag)
                    dur = NOANSWER + a / 1000 + 0.5
                elif callee["mode"] == "reception":
                    sys.exit(f"{tag}: calls to reception must be xfer")
                else:
                    counts["answered"] += 1
                    if dur is None:
                        dur = RING_MAX + a / 1000 + 0.5
                if callee["mode"] != "away":
                    occupy(number, t, t + dur, tag)
            else:
                sys.exit(f"{tag}: {number} is no extension, voicemail or outside number")
            if what in ("call", "hold") and dur > 1 and a / 1000 < RTP_S + 0.3 and callee_answers(phones, number):
                sys.exit(f"{tag}: talk shorter than the RTP")
            if what == "call" and phones.get(number, {}).get("mode") == "dnd" and a:
                sys.exit(f"{tag}: busy calls take no talk time")
            line = f"{what};{int(round(rel * 1000))};{number};{int(a)};{int(b)}"
        else:
            sys.exit(f"{tag}: unknown action {what}")
        if rel < 0:
            sys.exit(f"{tag}: before the caller's phone starts")
        # the transferred call overlaps its transfer on purpose
        prev = p["busy"][-1] if p["busy"] else None
        if prev and "xfer" in prev[2] and prev[0] < t < prev[1]:
            p["busy"][-1] = (prev[0], max(prev[1], t + dur), prev[2])
        else:
            occupy(caller, t, t + dur, tag)
        if t + dur > end:
            sys.exit(f"{tag}: runs past the end ({t + dur:.1f} > {end} s)")
        p["lines"].append(line)

    os.makedirs(os.path.join(out, "db"), exist_ok=True)
    with open(os.path.join(out, "db", "version"), "w") as f:
        f.write("table_name(string) table_version(int)\nsubscriber:7\n")
    regs = 0
    with open(os.path.join(out, "db", "subscriber"), "w") as f, \
            open(os.path.join(out, "phones.tsv"), "w") as tsv:
        f.write("id(int,auto) username(string) domain(string) password(string)\n")
        for n, ext in enumerate(order, 1):
            p = phones[ext]
            f.write(f"{n}:{ext}:office.example:{p['pw']}\n")
            count = int(math.floor((end - 5 - p["first"]) / p["every"])) + 1
            regs += count
            lines = [f"reg;{int(round((p['first'] - p['start']) * 1000))};-;{count};{int(p['every'] * 1000)}"]
            lines += p["lines"]
            lines.append(f"idle;{int(round((end - p['start']) * 1000))};-;0;0")
            d = os.path.join(out, f"phone-{ext}")
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "plan.csv"), "w") as pf:
                pf.write("SEQUENTIAL\n" + "\n".join(lines) + "\n")
            tsv.write("|".join([ext, p["addr"], p["name"], p["ua"], p["mode"], p["pw"],
                                 f"{p['start']:g}", f"{p['wrong']:g}" if p["wrong"] is not None else "",
                                 str(len(lines))]) + "\n")
    with open(os.path.join(out, "carrier-in.csv"), "w") as f:
        f.write("SEQUENTIAL\n" + "\n".join(incoming) + "\n")
    counts["registrations"] = regs
    counts["wrong_passwords"] = sum(1 for p in phones.values() if p["wrong"] is not None)
    counts["phones"] = len(phones)
    with open(os.path.join(out, "expect.tsv"), "w") as f:
        for k, v in counts.items():
            f.write(f"{k}\t{v}\n")


def callee_answers(phones, number):
    if number == VOICEMAIL or is_external(number):
        return True
    p = phones.get(number)
    return bool(p) and p["mode"] in ("answer", "away")


if __name__ == "__main__":
    main()

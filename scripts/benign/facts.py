#!/usr/bin/env python3
"""What a benign capture holds, from TShark: the numbers pcaps/benign/README.md
gives and scripts/make-benign-pcaps.sh checks.

usage: facts.py [--kv] FILE.pcap

Prints (markdown, or with --kv one `key value` per line):
  - size, packets, duration (capinfos);
  - SIP messages by request method and by response status (`tshark -z sip,stat`);
  - INVITE dialogs: Call-IDs with an INVITE, and the outcome of each as its
    caller saw it: the last final response to a dialog-creating INVITE (no To
    tag) sent back to the address of the first INVITE (200 answered, 486 busy,
    487 cancelled, ...); Call-IDs challenged with 407; re-INVITEs (INVITEs
    with a To tag, on the caller's leg), those putting the call on hold
    (a=sendonly); Call-IDs with a BYE, a CANCEL, a REFER;
  - REGISTER Call-IDs, and their final answers by status;
  - RTP streams, packets (`tshark -z rtp,streams`).
Retransmissions (sip.resend) are left out of the dialog counts.
"""
import collections
import re
import subprocess
import sys

FIELDS = ["frame.number", "ip.src", "ip.dst", "sip.Call-ID", "sip.Method", "sip.Status-Code",
          "sip.CSeq.method", "sip.to.tag", "sip.resend", "sdp.media_attr"]


def tshark(*args):
    return subprocess.run(["tshark", "-n", *args], capture_output=True, text=True, check=True).stdout


def main():
    args = sys.argv[1:]
    kv = "--kv" in args
    args = [a for a in args if a != "--kv"]
    if len(args) != 1:
        sys.exit(__doc__)
    path = args[0]
    facts = collections.OrderedDict()

    info = subprocess.run(["capinfos", "-M", path], capture_output=True, text=True).stdout
    def cap(key):
        m = re.search(rf"^{key}:\s+(.*)$", info, re.M)
        return m.group(1).strip() if m else "?"
    facts["bytes"] = cap("File size").split()[0]
    facts["packets"] = cap("Number of packets")
    facts["duration_s"] = cap("Capture duration").split()[0]

    stat = tshark("-r", path, "-q", "-z", "sip,stat")
    requests, responses = collections.OrderedDict(), collections.OrderedDict()
    for line in stat.splitlines():
        m = re.match(r"\s*(SIP \d{3} [^:]*?)\s*:\s*(\d+) Packets", line)
        if m:
            responses[m.group(1)[4:].strip()] = int(m.group(2))
            continue
        m = re.match(r"\s*([A-Z]+)\s*:\s*(\d+) Packets", line)
        if m:
            requests[m.group(1)] = int(m.group(2))
    m = re.search(r"Number of SIP messages: (\d+)", stat)
    facts["sip_messages"] = int(m.group(1)) if m else 0
    m = re.search(r"Number of resent SIP messages: (\d+)", stat)
    facts["sip_resent"] = int(m.group(1)) if m else 0

    rows = tshark("-r", path, "-Y", "sip", "-T", "fields", "-E", "separator=|",
                  *sum((["-e", f] for f in FIELDS), []))
    first_src = {}
    outcome = {}
    challenged = set()
    reinvites = holds = 0
    byes, cancels, refers, notifies = set(), set(), set(), set()
    regs = set()
    reg_final = collections.Counter()
    for line in rows.splitlines():
        num, src, dst, cid, method, status, cmethod, totag, resend, attrs = (line.split("|") + [""] * 10)[:10]
        if resend in ("1", "True"):
            continue
        if method == "REGISTER":
            regs.add(cid)
        if status and cmethod == "REGISTER" and int(status) >= 200:
            reg_final[status] += 1
        if method == "INVITE":
            if cid not in first_src:
                first_src[cid] = src
            if totag and src == first_src[cid]:
                reinvites += 1
                if "sendonly" in attrs:
                    holds += 1
        if cid not in first_src:
            continue
        if method == "BYE":
            byes.add(cid)
        elif method == "CANCEL":
            cancels.add(cid)
        elif method == "REFER":
            refers.add(cid)
        elif method == "NOTIFY":
            notifies.add(cid)
        if status and cmethod == "INVITE" and int(status) >= 200 and dst == first_src[cid]:
            # the first final answer after the challenge is the call's outcome; later
            # ones answer re-INVITEs
            if status == "407":
                challenged.add(cid)
                outcome.setdefault(cid, status)
            elif outcome.get(cid) in (None, "407"):
                outcome[cid] = status
    calls = [c for c in first_src]
    facts["invite_dialogs"] = len(calls)
    by_outcome = collections.Counter(outcome[c] for c in calls if c in outcome)
    facts["no_final_answer"] = sum(1 for c in calls if c not in outcome)
    for st, n in sorted(by_outcome.items()):
        facts[f"outcome_{st}"] = n
    facts["challenged_407"] = len(challenged)
    facts["reinvites"] = reinvites
    facts["reinvites_hold"] = holds
    facts["with_bye"] = len(byes)
    facts["with_cancel"] = len(cancels)
    facts["with_refer"] = len(refers)
    facts["with_notify"] = len(notifies)
    facts["register_callids"] = len(regs)
    for st, n in sorted(reg_final.items()):
        facts[f"register_final_{st}"] = n

    streams = tshark("-r", path, "-q", "-z", "rtp,streams")
    srows = [l for l in streams.splitlines() if re.match(r"\s*\d+\.\d+\s+\d+\.\d+\s+\d", l)]
    facts["rtp_streams"] = len(srows)
    facts["rtp_packets"] = sum(int(l.split()[8]) for l in srows) if srows else 0

    if kv:
        for k, v in facts.items():
            print(k, v)
        for k, v in requests.items():
            print(f"request_{k}", v)
        for k, v in responses.items():
            print(f"response_{k.split()[0]}", v)
        return
    print(f"- size: {int(facts['bytes']):,} bytes; packets: {facts['packets']}; duration: {float(facts['duration_s']):.1f} s")
    print(f"- SIP (`-z sip,stat`): {facts['sip_messages']} messages, {facts['sip_resent']} resent; requests: "
          + ", ".join(f"{k} ×{v}" for k, v in requests.items()) + "; responses: "
          + ", ".join(f"{k} ×{v}" for k, v in responses.items()))
    outs = ", ".join(f"{k[8:]} ×{v}" for k, v in facts.items() if k.startswith("outcome_"))
    print(f"- INVITE dialogs (Call-IDs): {facts['invite_dialogs']}; outcome on the caller's leg "
          f"(last final answer to the initial INVITE): {outs}"
          + (f", none ×{facts['no_final_answer']}" if facts["no_final_answer"] else "")
          + f"; challenged with 407: {facts['challenged_407']}; with BYE: {facts['with_bye']}, CANCEL: "
          f"{facts['with_cancel']}, REFER: {facts['with_refer']}; re-INVITEs from the caller: "
          f"{facts['reinvites']} ({facts['reinvites_hold']} a=sendonly)")
    regf = ", ".join(f"{k[15:]} ×{v}" for k, v in facts.items() if k.startswith("register_final_"))
    print(f"- REGISTER: {facts['register_callids']} Call-IDs; final answers: {regf or 'none'}")
    print(f"- RTP (`-z rtp,streams`): {facts['rtp_streams']} streams, {facts['rtp_packets']} packets")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Summarise libFuzzer logs (one per target, as fuzz/campaign.sh writes them): executions,
seconds, final edge coverage (cov) and features (ft), the count three quarters into the run,
and when coverage last grew, so a table shows whether a run had levelled off.

Usage: fuzz/summarize.py LOG...   (prints a Markdown table)
"""
import re
import sys

STAT = re.compile(r"^#(\d+)\s+(\w+)\s+cov: (\d+) ft: (\d+).*?exec/s: (\d+)")


def summarise(path):
    rows = []  # (execs, kind, cov, ft, exec_rate)
    execs = secs = None
    crash = None
    with open(path, errors="replace") as f:
        for line in f:
            m = STAT.match(line)
            if m:
                rows.append(tuple(int(g) if g.isdigit() else g for g in m.groups()))
            elif line.startswith("stat::number_of_executed_units:"):
                execs = int(line.rsplit(":", 1)[1])
            elif line.startswith("Done ") and "runs in" in line:
                secs = int(re.search(r"in (\d+) second", line).group(1))
            elif "==ERROR: libFuzzer" in line or "panicked at" in line:
                crash = crash or line.strip()
    if not rows:
        return None
    execs = execs or rows[-1][0]
    final = rows[-1]
    at34 = next((r for r in rows if r[0] >= execs * 3 // 4), final)
    last_growth = rows[0][0]
    for prev, cur in zip(rows, rows[1:]):
        if cur[2] > prev[2]:
            last_growth = cur[0]
    return {
        "execs": execs,
        "secs": secs,
        "cov": final[2],
        "ft": final[3],
        "cov34": at34[2],
        "ft34": at34[3],
        "last_growth_pct": 100 * last_growth // max(execs, 1),
        "crash": crash,
    }


def main():
    print("| target | seconds | executions | final cov / ft | at 3/4 | cov last grew at | stop |")
    print("| --- | ---: | ---: | --- | --- | ---: | --- |")
    for path in sys.argv[1:]:
        s = summarise(path)
        name = re.sub(r"\.log$", "", path.split("/")[-1])
        if s is None:
            print(f"| `{name}` | - | - | - | - | - | no stats in the log |")
            continue
        print(
            f"| `{name}` | {s['secs'] or '?'} | {s['execs']:,} | {s['cov']} / {s['ft']} "
            f"| {s['cov34']} / {s['ft34']} | {s['last_growth_pct']} % of the run "
            f"| {s['crash'] or 'none'} |"
        )


if __name__ == "__main__":
    main()

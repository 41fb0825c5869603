#!/usr/bin/env python3
"""Numbers a UK call centre's dialler works through, for scripts/benign/trunk.xml:
ordinary national numbers in UK national format, drawn (reproducibly, from SEED)
from Ofcom's ranges reserved for drama, which look and dial like any other:
geographic 0113-0118, 0121, 0131, 0141, 0151, 0161 496 0xxx, 020 7946 0xxx,
028 9649 6xxx, 029 2018 0xxx, 01632 960xxx, and mobiles 07700 900xxx.
The last digit decides what the called party does (scripts/benign/carrier-cc.xml):
7 busy, 9 no answer, anything else answers, so about 80 % are answered.

usage: cc-numbers.py SEED COUNT OUT.csv
"""
import random
import sys

RANGES = [  # (weight, prefix, digits after it)
    (22, "0207946", 4),   # London 020 7946 0xxx: prefix + 0 + 3 digits
    (25, "07700900", 3),  # mobiles
    (6, "01614960", 3),   # Manchester
    (5, "01214960", 3),   # Birmingham
    (4, "01134960", 3),   # Leeds
    (4, "01144960", 3),   # Sheffield
    (3, "01154960", 3),   # Nottingham
    (3, "01164960", 3),   # Leicester
    (4, "01174960", 3),   # Bristol
    (3, "01184960", 3),   # Reading
    (4, "01314960", 3),   # Edinburgh
    (5, "01414960", 3),   # Glasgow
    (4, "01514960", 3),   # Liverpool
    (3, "02920180", 3),   # Cardiff
    (3, "02896496", 3),   # Belfast
    (2, "01632960", 3),   # no area
]


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    rnd = random.Random(sys.argv[1])
    count = int(sys.argv[2])
    weights = [w for w, _, _ in RANGES]
    seen = set()
    out = []
    while len(out) < count:
        _, prefix, n = rnd.choices(RANGES, weights)[0]
        if prefix == "0207946":
            number = prefix + "0" + "".join(rnd.choice("0123456789") for _ in range(3))
        else:
            number = prefix + "".join(rnd.choice("0123456789") for _ in range(n))
        if number not in seen:
            seen.add(number)
            out.append(number)
    with open(sys.argv[3], "w") as f:
        f.write("SEQUENTIAL\n" + "\n".join(out) + "\n")


if __name__ == "__main__":
    main()

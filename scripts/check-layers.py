#!/usr/bin/env python3
"""Check the crate's layering: no import cycle between files, and stages import only upstream.

Reads every module file under src/ (sibling test files and `mod tests` blocks are left out: a
test may reach anywhere), collects the paths it names (`use` trees, inline `crate::` paths,
`super::` paths), and resolves each to the module file that defines it. Then:

1. A cycle between files fails (Tarjan's strongly connected components; each cycle is printed
   with the names one file takes from the next).
2. The top-level modules are stages in data-flow order (STAGES below). A file may import its
   own stage, the base, and stages upstream of it. An import against the flow fails, unless it
   is listed in ALLOWED with its reason (the list is empty: keep it so). An ALLOWED entry that
   no longer occurs fails too, so the list only shrinks.

Usage: scripts/check-layers.py [--graph]   (exit 0 clean, 1 on a problem; --graph prints the
module-to-module arrows).
"""

import os
import re
import sys
from collections import defaultdict

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SRC = os.path.join(ROOT, "src")

# Data-flow order. `base` is below everything; `pipeline` wires the stages into threads and
# `cli`/`main` sit on top.
STAGES = [
    "base",
    "capture",
    "decode",
    "flow",
    "sip",
    "media",
    "dialog",
    "detect",
    "output",
    "pipeline",
    "cli",
    "main",
]

# (importing file, imported stage): why it still points against the flow.
ALLOWED: dict = {}

STAGE_RANK = {s: i for i, s in enumerate(STAGES)}


def module_files():
    """Module path (tuple of names) -> file path, for every module file under src/."""
    out = {}
    for dirpath, _, names in os.walk(SRC):
        for n in names:
            if not n.endswith(".rs"):
                continue
            full = os.path.join(dirpath, n)
            rel = os.path.relpath(full, SRC)[:-3].split(os.sep)
            if rel[-1] == "mod":
                rel = rel[:-1]
            if rel in (["lib"],):
                rel = []
            if any(part.startswith("tests") for part in rel):
                continue
            out[tuple(rel)] = full
    return out


def strip_code(text):
    """The text without comments, string literals and `#[cfg(test)] mod ... { }` blocks."""
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r'r#*"(?:.|\n)*?"#*', '""', text)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    text = re.sub(r"'(?:\\.|[^'\\])'", "''", text)
    out = []
    i = 0
    pat = re.compile(r"#\[cfg\(test\)\]\s*(pub\s+)?mod\s+\w+\s*\{")
    while True:
        m = pat.search(text, i)
        if not m:
            out.append(text[i:])
            break
        out.append(text[i : m.start()])
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        i = j
    return "".join(out)


def expand_use(tree):
    """`a::{b, c::{d, e}}` -> [a::b, a::c::d, a::c::e] (names only, `as` dropped)."""
    tree = re.sub(r"\s+as\s+\w+", "", tree)
    tree = re.sub(r"\s+", "", tree)
    depth = 0
    for i, ch in enumerate(tree):
        if ch == "{":
            if depth == 0:
                prefix, inner = tree[:i], tree[i + 1 : tree.rindex("}")]
                parts, d, start = [], 0, 0
                for j, c in enumerate(inner):
                    if c == "{":
                        d += 1
                    elif c == "}":
                        d -= 1
                    elif c == "," and d == 0:
                        parts.append(inner[start:j])
                        start = j + 1
                parts.append(inner[start:])
                res = []
                for p in parts:
                    if p:
                        res.extend(expand_use(prefix + p))
                return res
            depth += 1
    return [tree]


def paths_in(code):
    paths = []
    for m in re.finditer(r"\buse\s+([^;]+);", code):
        for p in expand_use(m.group(1)):
            paths.append(p)
    for m in re.finditer(r"\b(crate|super|self)((?:::\w+)+)", code):
        paths.append(m.group(1) + m.group(2))
    return paths


def resolve(path, here, mods):
    """The module file a path names, from module `here` (tuple), or None (outside the crate)."""
    segs = path.split("::")
    if segs[0] == "crate":
        base, rest = [], segs[1:]
    elif segs[0] in ("super", "self"):
        base = list(here)
        rest = segs
        while rest and rest[0] in ("super", "self"):
            if rest[0] == "super":
                base = base[:-1]
            rest = rest[1:]
    else:
        return None
    full = base + [s for s in rest if s != "self"]
    for k in range(len(full), -1, -1):
        if tuple(full[:k]) in mods:
            return tuple(full[:k])
    return None


def main():
    mods = module_files()
    file_of = mods
    edges = defaultdict(lambda: defaultdict(set))  # module -> module -> names
    for mod, f in mods.items():
        code = strip_code(open(f, encoding="utf-8").read())
        for p in paths_in(code):
            target = resolve(p, mod, mods)
            if target is None or target == mod:
                continue
            # a module's own ancestors are where it is declared, not what it uses
            if mod[: len(target)] == target:
                continue
            edges[mod][target].add(p.split("::")[-1])

    rel = lambda m: os.path.relpath(file_of[m], ROOT)
    problems = []

    # 1. cycles between files
    index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(comp)

    sys.setrecursionlimit(10000)
    for v in list(mods):
        if v not in index:
            strong(v)
    for comp in sccs:
        lines = [f"import cycle between {len(comp)} files:"]
        for a in sorted(comp):
            for b in sorted(edges[a]):
                if b in comp:
                    lines.append(f"  {rel(a)} -> {rel(b)}: {', '.join(sorted(edges[a][b]))}")
        problems.append("\n".join(lines))

    # 2. stages import only upstream
    seen_allowed = set()
    for a in sorted(edges):
        sa = a[0] if a else "lib"
        if sa not in STAGE_RANK:
            continue
        for b in sorted(edges[a]):
            sb = b[0] if b else "lib"
            if sb not in STAGE_RANK or sb == sa or sb == "base":
                continue
            if STAGE_RANK[sb] > STAGE_RANK[sa]:
                key = (rel(a), sb)
                if key in ALLOWED:
                    seen_allowed.add(key)
                    continue
                problems.append(
                    f"{rel(a)} imports {sb} ({', '.join(sorted(edges[a][b]))}), "
                    f"downstream of {sa}"
                )
    for key in sorted(set(ALLOWED) - seen_allowed):
        problems.append(
            f"ALLOWED lists {key[0]} -> {key[1]}, which no longer occurs: take it off the list"
        )

    if "--graph" in sys.argv:
        for a in sorted(edges):
            for b in sorted(edges[a]):
                print(f"{rel(a)} -> {rel(b)}")
    for p in problems:
        print(p)
    n_back = len(seen_allowed)
    print(
        f"check-layers: {len(mods)} files, {sum(len(v) for v in edges.values())} imports, "
        f"{len(sccs)} cycles, {n_back} allowed imports against the flow, "
        f"{len(problems)} problems"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())


#!/usr/bin/env python3
"""docs/architecture.md's module table against the code's includes.

Each row of the table under "## Modules" names its files (first column)
and the headers they may include (last column: backquoted names, a glob
such as `render_*.h`, "none", or "any library header").  This check
fails, naming the file and the include, when a file of src/ or
include/portview/ includes a header of the project that its row does not
allow (a row's own headers are always allowed; so is everywhere a header
whose own row says "every file may include it", as src/i18n.h's _() and
N_()), when a row names a file
that does not exist, and when a file has no row.
Usage: tests/includes.py [TOP]   (TOP: the checkout, default: this file's ..)
"""
import fnmatch
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
TICKED = re.compile(r"`([^`]+)`")


def table_rows(doc):
    """The module table's rows: (line number, files cell, may-include cell)."""
    lines = doc.split("\n")
    start = next(i for i, l in enumerate(lines) if l.strip() == "## Modules")
    rows, in_table = [], False
    for i in range(start + 1, len(lines)):
        line = lines[i]
        if line.startswith("## "):
            break
        if not line.startswith("|"):
            if in_table:
                break
            continue
        in_table = True
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] in ("Module", "---") or set(cells[0]) <= set("- "):
            continue
        rows.append((i + 1, cells[0], cells[-1]))
    return rows


def project_files(top):
    """Every C source and header of the project, by path from top."""
    out = []
    for d in ("src", "include/portview"):
        for root, _, names in os.walk(os.path.join(top, d)):
            for n in names:
                if n.endswith((".c", ".h")):
                    out.append(os.path.relpath(os.path.join(root, n), top))
    return sorted(out)


def main():
    top = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    doc_path = os.path.join(top, "docs", "architecture.md")
    with open(doc_path, encoding="utf-8") as f:
        doc = f.read()
    files = project_files(top)
    by_name = {}
    for p in files:
        # a file is named in the table as it is under src/ (bpf/owners.bpf.c)
        # or by its name alone
        name = p[len("src/"):] if p.startswith("src/") else os.path.basename(p)
        by_name.setdefault(name, []).append(p)
        by_name.setdefault(os.path.basename(p), []).append(p)
    headers = {os.path.basename(p) for p in files if p.endswith(".h")}
    library = {os.path.basename(p) for p in files if p.startswith("include/portview/")}

    fails = []
    rule = {}  # path -> (line, allowed patterns, any library header)
    everywhere = set()  # headers every file may include
    for line, names_cell, allowed_cell in table_rows(doc):
        if "every file may include it" in allowed_cell:
            everywhere.update(n for n in TICKED.findall(names_cell) if n.endswith(".h"))
        names = TICKED.findall(names_cell)
        allowed = [a for a in TICKED.findall(allowed_cell) if a.endswith(".h")]
        any_lib = "any library header" in allowed_cell
        if not names:
            fails.append(f"docs/architecture.md:{line}: a row names no file")
        for n in names:
            paths = sorted(set(by_name.get(n, [])))
            if not paths:
                fails.append(f"docs/architecture.md:{line}: the table names {n}, "
                             f"which does not exist")
            for p in paths:
                own = [x for x in names if x.endswith(".h")]
                rule[p] = (line, allowed + own, any_lib)
        for a in allowed:
            if "*" not in a and a not in headers:
                fails.append(f"docs/architecture.md:{line}: the table allows {a}, "
                             f"which does not exist")

    for p in files:
        if p not in rule:
            fails.append(f"{p}: no row of docs/architecture.md's module table names it")
            continue
        line, allowed, any_lib = rule[p]
        with open(os.path.join(top, p), encoding="utf-8") as f:
            text = f.read()
        for inc in INCLUDE.findall(text):
            h = os.path.basename(inc)
            if h not in headers:
                continue  # generated (the BPF skeleton, vmlinux.h) or outside
            if any_lib and inc.startswith("portview/") and h in library:
                continue
            if any(fnmatch.fnmatchcase(h, a) for a in allowed) or h in everywhere:
                continue
            fails.append(f'{p}: #include "{inc}" is not allowed by its row '
                         f"(docs/architecture.md:{line})")

    for f in fails:
        print("FAIL:", f)
    print(f"{'FAIL' if fails else 'ok'}: {len(files)} files' includes checked "
          f"against {len(rule)} files named in docs/architecture.md's module table")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Compares two folders of PTX files (samples/PtxDump --all) ignoring what a refactor of the emitter may change
without changing the program: comments, blank lines, whitespace and register names. Registers are renamed in order
of first appearance within each file (%tid, %ctaid and the other special registers keep their names), so two
kernels that differ only in how their registers are called normalise to the same text.

Usage: normalize_ptx.py BEFORE_DIR AFTER_DIR   -> prints one line per kernel (identical / normalised-identical /
DIFFERENT / missing) and a summary; exit status 1 when any kernel differs or is missing on one side."""
import difflib
import os
import re
import sys

SPECIAL = {"tid", "ntid", "ctaid", "nctaid", "laneid", "warpid", "nwarpid", "smid", "clock", "clock64"}
REG = re.compile(r"%([A-Za-z_$][A-Za-z0-9_$]*)")


def normalise(text):
    names = {}

    def rename(match):
        name = match.group(1)
        if name in SPECIAL:
            return match.group(0)
        return "%" + names.setdefault(name, "r" + str(len(names)))

    # Comments out, whitespace collapsed (line breaks included), then one statement per line: a header written one
    # parameter per line and one written on a single line compare equal.
    code = " ".join(line.split("//", 1)[0] for line in text.split("\n"))
    code = " ".join(code.split())
    code = re.sub(r"\s*([(),;{}\[\]])\s*", r"\1", code)
    statements = re.split(r"(?<=[;{}])", code)
    return [REG.sub(rename, s.strip()) for s in statements if s.strip()]


def main(before, after):
    files = sorted(set(os.listdir(before)) | set(os.listdir(after)))
    files = [f for f in files if f.endswith(".ptx")]
    counts = {"identical": 0, "normalised-identical": 0, "DIFFERENT": 0, "missing": 0}
    for f in files:
        a, b = os.path.join(before, f), os.path.join(after, f)
        if not (os.path.exists(a) and os.path.exists(b)):
            counts["missing"] += 1
            print("missing  " + f + (" (only before)" if os.path.exists(a) else " (only after)"))
            continue
        ta, tb = open(a).read(), open(b).read()
        if ta == tb:
            counts["identical"] += 1
            continue
        na, nb = normalise(ta), normalise(tb)
        if na == nb:
            counts["normalised-identical"] += 1
            print("normalised-identical  " + f)
            continue
        counts["DIFFERENT"] += 1
        print("DIFFERENT  " + f)
        for d in list(difflib.unified_diff(na, nb, "before/" + f, "after/" + f, n=2, lineterm=""))[:40]:
            print("    " + d)
    print("kernels: %d; byte-identical %d, identical after normalising %d, different %d, missing on one side %d"
          % (len(files), counts["identical"], counts["normalised-identical"], counts["DIFFERENT"], counts["missing"]))
    return 1 if counts["DIFFERENT"] or counts["missing"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))

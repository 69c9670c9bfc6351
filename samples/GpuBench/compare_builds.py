#!/usr/bin/env python3
"""Per-shape ratio of two KernelDsl builds measured in the same device call (issue 9's "no kernel gets slower").

Usage: compare_builds.py BEFORE.json AFTER.json [BEFORE_AGAIN.json]
       compare_builds.py --after-first AFTER.json BEFORE.json AFTER_AGAIN.json
Takes GpuBench (standard grid) or FlexBench (variants) JSON. Prints after/before per shape (time ratio inverted, so
> 1 means the after build is faster), the minimum and the geometric mean. The third file is a second run of the build
that ran first: before, after, before again (default) or, with --after-first, after, before, after again. Its ratio to
the first run (first ms / again ms, > 1 means the later run was faster) is the run-to-run noise the ratios must be read
against; run in both orders, a ratio that moves with the order is a run-order effect, not the build.
The files are named in the order they ran, so the after/before ratio always divides the before build's time by the
after build's, whichever ran first.
"""
import json
import math
import sys


def key(row):
    # Grid rows have D/dtype/causal/S; variant rows add the variant name.
    return (row.get("variant", "grid"), row["dtype"], row["D"], bool(row.get("causal", False)), row["S"])


def load(path):
    with open(path) as f:
        return {key(r): r["ms"] for r in json.load(f)["results"]}


def geomean(values):
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def parse(argv):
    """(after_first, before path, after path, again path or None), or None for a bad command line."""
    args = argv[1:]
    after_first = bool(args) and args[0] == "--after-first"
    if after_first:
        args = args[1:]
        # The again run is what tells the order's effect apart, so this order requires it.
        if len(args) != 3:
            return None
        return True, args[1], args[0], args[2]
    if len(args) not in (2, 3) or any(a.startswith("--") for a in args):
        return None
    return False, args[0], args[1], args[2] if len(args) == 3 else None


def main(argv):
    parsed = parse(argv)
    if parsed is None:
        print(__doc__)
        return 2
    after_first, before_path, after_path, again_path = parsed
    before, after = load(before_path), load(after_path)
    again = load(again_path) if again_path else None
    # The again run repeats whichever build ran first; its noise is first run / again run of that build.
    first = after if after_first else before
    first_name = "after" if after_first else "before"
    order = "after, before, after again" if after_first else "before, after" + (", before again" if again else "")
    shared = sorted(set(before) & set(after))
    missing = sorted(set(before) ^ set(after))
    print(f"run order: {order}")
    print()
    noise_head = f" noise ({first_name} again/{first_name}) |"
    print("| shape | before ms | after ms | after/before speed |" + (noise_head if again else ""))
    print("|---|---|---|---|" + ("---|" if again else ""))
    ratios, noise = [], []
    for k in shared:
        r = before[k] / after[k]
        ratios.append(r)
        row = f"| {' '.join(str(x) for x in k)} | {before[k]:.4f} | {after[k]:.4f} | {r:.3f} |"
        if again is not None:
            if k in again:
                n = first[k] / again[k]
                noise.append(n)
                row += f" {n:.3f} |"
            else:
                row += " – |"
        print(row)
    print()
    if ratios:
        print(f"shapes {len(shared)}; after/before speed: min {min(ratios):.3f}, geomean {geomean(ratios):.3f}, max {max(ratios):.3f}")
    else:
        print("shapes 0: the two builds share no shape")
    if noise:
        print(f"noise ({first_name} run twice): min {min(noise):.3f}, max {max(noise):.3f}, geomean {geomean(noise):.3f}")
    if missing:
        print(f"shapes in only one build: {missing}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/env python3
"""Per-shape ratio of two KernelDsl builds measured in the same device call (issue 9's "no kernel gets slower").

Usage: compare_builds.py BEFORE.json AFTER.json [BEFORE_AGAIN.json]
Takes GpuBench (standard grid) or FlexBench (variants) JSON. Prints after/before per shape (time ratio inverted, so
> 1 means the after build is faster), the minimum and the geometric mean. With a second run of the before build,
also prints before_again/before per shape: the run-to-run noise the ratios must be read against.
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


def main(argv):
    if len(argv) not in (3, 4):
        print(__doc__)
        return 2
    before, after = load(argv[1]), load(argv[2])
    again = load(argv[3]) if len(argv) == 4 else None
    shared = sorted(set(before) & set(after))
    missing = sorted(set(before) ^ set(after))
    print("| shape | before ms | after ms | after/before speed |" + (" noise (before again/before) |" if again else ""))
    print("|---|---|---|---|" + ("---|" if again else ""))
    ratios, noise = [], []
    for k in shared:
        r = before[k] / after[k]
        ratios.append(r)
        row = f"| {' '.join(str(x) for x in k)} | {before[k]:.4f} | {after[k]:.4f} | {r:.3f} |"
        if again and k in again:
            n = before[k] / again[k]
            noise.append(n)
            row += f" {n:.3f} |"
        print(row)
    print()
    print(f"shapes {len(shared)}; after/before speed: min {min(ratios):.3f}, geomean {geomean(ratios):.3f}, max {max(ratios):.3f}")
    if noise:
        print(f"noise (before run twice): min {min(noise):.3f}, max {max(noise):.3f}, geomean {geomean(noise):.3f}")
    if missing:
        print(f"shapes in only one build: {missing}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

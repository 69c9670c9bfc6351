#!/usr/bin/env python3
"""Per-shape after/before ratio from builds run in a balanced alternating order (A B B A ...).

Usage: compare_alternating.py --before B1.json B2.json ... --after A1.json A2.json ...
Each build's time for a shape is the mean of its runs. Run ABBA, both builds sit at the same mean position in the
call, so a drift over the call (the GPU warming up, clocks settling) cancels instead of favouring the build that ran
first. The spread column is each build's (max - min) / mean over its own runs: a ratio that differs from 1 by less
than the spread is not told apart from noise by this call.
"""
import math
import sys

from compare_builds import geomean, load


def parse(argv):
    groups, current = {"--before": [], "--after": []}, None
    for a in argv[1:]:
        if a in groups:
            current = a
        elif current is None:
            return None
        else:
            groups[current].append(a)
    if not groups["--before"] or not groups["--after"]:
        return None
    return groups["--before"], groups["--after"]


def summarize(paths):
    runs = [load(p) for p in paths]
    shapes = set.intersection(*(set(r) for r in runs))
    mean = {k: sum(r[k] for r in runs) / len(runs) for k in shapes}
    spread = {k: (max(r[k] for r in runs) - min(r[k] for r in runs)) / mean[k] for k in shapes}
    return mean, spread


def main(argv):
    parsed = parse(argv)
    if parsed is None:
        print(__doc__)
        return 2
    before, before_spread = summarize(parsed[0])
    after, after_spread = summarize(parsed[1])
    print(f"runs: before {len(parsed[0])}, after {len(parsed[1])}, balanced alternating order")
    print()
    print("| shape | before ms (mean) | after ms (mean) | after/before speed | spread before | spread after |")
    print("|---|---|---|---|---|---|")
    ratios = []
    for k in sorted(set(before) & set(after)):
        r = before[k] / after[k]
        ratios.append(r)
        print(f"| {' '.join(str(x) for x in k)} | {before[k]:.4f} | {after[k]:.4f} | {r:.3f} | {before_spread[k]:.3f} | {after_spread[k]:.3f} |")
    print()
    if ratios:
        print(f"shapes {len(ratios)}; after/before speed: min {min(ratios):.3f}, geomean {geomean(ratios):.3f}, max {max(ratios):.3f}")
        print(f"largest spread of one build over its own runs: {max(max(before_spread.values()), max(after_spread.values())):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

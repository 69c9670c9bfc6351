#!/usr/bin/env python3
"""Joins FlexBench's and flex_variants.py's JSON (same device, same call) into the ratio table of issue 4.
Usage: compare_variants.py kerneldsl-variants.json flex-variants.json > table.md"""
import json, math, sys

ours = json.load(open(sys.argv[1]))
flex = json.load(open(sys.argv[2]))
key = lambda r: (r["variant"], r["dtype"], r["S"])
theirs = {key(r): r for r in flex["results"]}
print(f"Device: {ours['device']} ({ours['date']} UTC); torch {flex['torch']}. TFLOP/s on kept pairs (4*D per pair), D=128, H=16, B=16384/S.\n")
print("| variant | dtype | S | kept pairs/head | KernelDsl TFLOP/s | FlexAttention TFLOP/s | KernelDsl/Flex | first call KernelDsl ms | first call Flex s |")
print("|---|---|---|---|---|---|---|---|---|")
ratios = []
for r in ours["results"]:
    t = theirs.get(key(r))
    if t is None:
        print(f"| {r['variant']} | {r['dtype']} | {r['S']} | {r['kept_pairs_per_head']} | {r['tflops']:.1f} | - | - | | |")
        continue
    if t["kept_pairs_per_head"] != r["kept_pairs_per_head"]:
        sys.exit(f"kept-pair counts disagree for {key(r)}: {r['kept_pairs_per_head']} vs {t['kept_pairs_per_head']}")
    ratio = t["ms"] / r["ms"]
    ratios.append(ratio)
    first = f"{r['first_call_ms']:.0f}" if "first_call_ms" in r else ""
    print(f"| {r['variant']} | {r['dtype']} | {r['S']} | {r['kept_pairs_per_head']} | {r['tflops']:.1f} | {t['tflops']:.1f} | {ratio:.2f} | {first} | {t['first_call_s']:.1f} |")
gm = math.exp(sum(map(math.log, ratios)) / len(ratios)) if ratios else float("nan")
print(f"\nGeometric mean KernelDsl/Flex: {gm:.3f} over {len(ratios)} shapes; min {min(ratios, default=float('nan')):.2f} (bar 0.8, goal 1.0)")

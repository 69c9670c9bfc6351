#!/usr/bin/env python3
"""Joins GpuBench's and torch_anchors.py's JSON (same device, same call) into the ratio table.
Usage: compare.py kerneldsl-gpu.json torch-anchors.json > table.md"""
import json, math, sys

ours = json.load(open(sys.argv[1]))
anchors = json.load(open(sys.argv[2]))
key = lambda r: (r["D"], r["dtype"], r["causal"], r["S"])
theirs = {key(r): r for r in anchors["results"]}
print(f"Device: {ours['device']} ({ours['date']}); torch {anchors['torch']}; measured ceilings: bf16 matmul "
      f"{anchors['matmul_bf16_tflops']:.0f} TFLOP/s, copy {anchors['copy_gbs']:.0f} GB/s\n")
print("| D | dtype | causal | S | KernelDsl TFLOP/s | FA2 (SDPA flash) | cuDNN | FlexAttention | ours/FA2 | ours/cuDNN | ours/Flex |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
ratios = {"flash": [], "cudnn": [], "flex": []}
f = lambda x: f"{x:.1f}" if x else "-"
for r in ours["results"]:
    t = theirs.get(key(r), {})
    cells = []
    for name in ("flash", "cudnn", "flex"):
        if t.get(name):
            ratios[name].append(r["tflops"] / t[name])
            cells.append(f"{r['tflops'] / t[name]:.2f}")
        else:
            cells.append("-")
    print(f"| {r['D']} | {r['dtype']} | {'yes' if r['causal'] else 'no'} | {r['S']} | {r['tflops']:.1f} | {f(t.get('flash'))} | {f(t.get('cudnn'))} | {f(t.get('flex'))} | " + " | ".join(cells) + " |")
gm = lambda xs: math.exp(sum(map(math.log, xs)) / len(xs)) if xs else float("nan")
print()
for name, label in (("flash", "FlashAttention-2 (SDPA flash)"), ("cudnn", "cuDNN"), ("flex", "FlexAttention")):
    print(f"Geometric mean of KernelDsl / {label}: {gm(ratios[name]):.3f} over {len(ratios[name])} shapes")
firsts = [r["first_call_ms"] for r in ours["results"] if "first_call_ms" in r]
flex_firsts = [r["flex_first_call_s"] for r in anchors["results"] if "flex_first_call_s" in r]
if firsts:
    print(f"First call (PTX JIT + module load + run), per spec: median {sorted(firsts)[len(firsts)//2]:.1f} ms, max {max(firsts):.1f} ms")
if flex_firsts:
    print(f"FlexAttention first call (torch.compile) per shape: first {flex_firsts[0]:.1f} s, median {sorted(flex_firsts)[len(flex_firsts)//2]:.1f} s")

#!/usr/bin/env python3
"""Joins `GpuBench --backward`'s and torch_backward.py's JSON (same device, same call) into the backward table: TFLOP/s
(2.5x the forward's FLOPs) of KernelDsl, SDPA flash (FlashAttention-2) and cuDNN, the ratios and their geometric means,
and the same for a forward + backward step (3.5x). Usage: compare_backward.py kerneldsl-bwd.json torch-bwd.json"""
import json, math, sys

ours = json.load(open(sys.argv[1]))
torch_side = json.load(open(sys.argv[2]))
key = lambda r: (r["D"], r["dtype"], r["causal"], r["S"])
theirs = {key(r): r for r in torch_side["results"]}
gm = lambda xs: math.exp(sum(map(math.log, xs)) / len(xs)) if xs else float("nan")
f = lambda x: f"{x:.1f}" if x else "-"
print(f"Device: {ours['device']} ({ours['date']}); torch {torch_side['torch']}\n")
for suffix, ours_key, title in (("", "tflops", "Backward (dQ, dK, dV)"), ("_step", "step_tflops", "Forward + backward step")):
    print(f"### {title}\n")
    print("| D | dtype | causal | S | KernelDsl TFLOP/s | FA2 (SDPA flash) | cuDNN | ours/FA2 | ours/cuDNN |")
    print("|---|---|---|---|---|---|---|---|---|")
    ratios = {"flash": [], "cudnn": []}
    for r in ours["results"]:
        t = theirs.get(key(r), {})
        cells = []
        for name in ("flash", "cudnn"):
            theirs_value = t.get(name + suffix)
            if theirs_value:
                ratios[name].append(r[ours_key] / theirs_value)
                cells.append(f"{r[ours_key] / theirs_value:.2f}")
            else:
                cells.append("-")
        print(f"| {r['D']} | {r['dtype']} | {'yes' if r['causal'] else 'no'} | {r['S']} | {r[ours_key]:.1f} | {f(t.get('flash' + suffix))} | {f(t.get('cudnn' + suffix))} | " + " | ".join(cells) + " |")
    print()
    for name, label in (("flash", "FlashAttention-2 (SDPA flash)"), ("cudnn", "cuDNN")):
        print(f"Geometric mean of KernelDsl / {label}: {gm(ratios[name]):.3f} over {len(ratios[name])} shapes")
    print()
firsts = [r["first_call_ms"] for r in ours["results"] if "first_call_ms" in r]
if firsts:
    print(f"First backward call (three PTX JITs + module loads + run), per spec: median {sorted(firsts)[len(firsts)//2]:.1f} ms, max {max(firsts):.1f} ms")

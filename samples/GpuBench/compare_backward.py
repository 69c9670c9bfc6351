#!/usr/bin/env python3
"""Joins `GpuBench --backward`'s and torch_backward.py's JSON (same device, same call) into the backward table: TFLOP/s
(2.5x the forward's FLOPs) of KernelDsl in both modes -- the default atomic-dQ mode and the deterministic mode
(deterministic: true), timed in the same run -- SDPA flash (FlashAttention-2) and cuDNN, the ratios and their geometric
means, the cost of determinism (deterministic ms / atomic ms), and the same for a forward + backward step (3.5x, default
mode). Older result files without the deterministic columns print '-' there.
Usage: compare_backward.py kerneldsl-bwd.json torch-bwd.json"""
import json, math, sys

ours = json.load(open(sys.argv[1]))
torch_side = json.load(open(sys.argv[2]))
key = lambda r: (r["D"], r["dtype"], r["causal"], r["S"])
theirs = {key(r): r for r in torch_side["results"]}
gm = lambda xs: math.exp(sum(map(math.log, xs)) / len(xs)) if xs else float("nan")
f = lambda x: f"{x:.1f}" if x else "-"
ratio = lambda a, b: f"{a / b:.2f}" if a and b else "-"
print(f"Device: {ours['device']} ({ours['date']}); torch {torch_side['torch']}\n")
if not any("det_tflops" in r for r in ours["results"]):
    print("(This result file predates the atomic-dQ mode: its one mode, shown in the 'ours atomic' column, was the deterministic scheme.)\n")

print("### Backward (dQ, dK, dV): atomic-dQ mode (default) and deterministic mode, same run\n")
print("| D | dtype | causal | S | ours atomic | ours deterministic | det cost | FA2 (SDPA flash) | cuDNN | atomic/FA2 | det/FA2 | atomic/cuDNN | det/cuDNN |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
ratios = {(mode, name): [] for mode in ("tflops", "det_tflops") for name in ("flash", "cudnn")}
costs = []
for r in ours["results"]:
    t = theirs.get(key(r), {})
    det = r.get("det_tflops")
    if r.get("det_cost"):
        costs.append(r["det_cost"])
    for mode in ("tflops", "det_tflops"):
        for name in ("flash", "cudnn"):
            if r.get(mode) and t.get(name):
                ratios[(mode, name)].append(r[mode] / t[name])
    cost = f"{r['det_cost']:.3f}" if r.get("det_cost") else "-"
    print(f"| {r['D']} | {r['dtype']} | {'yes' if r['causal'] else 'no'} | {r['S']} | {r['tflops']:.1f} | {f(det)} | {cost} | {f(t.get('flash'))} | {f(t.get('cudnn'))} | "
          f"{ratio(r['tflops'], t.get('flash'))} | {ratio(det, t.get('flash'))} | {ratio(r['tflops'], t.get('cudnn'))} | {ratio(det, t.get('cudnn'))} |")
print()
for mode, mode_label in (("tflops", "atomic-dQ mode (default)"), ("det_tflops", "deterministic mode")):
    for name, label in (("flash", "FlashAttention-2 (SDPA flash)"), ("cudnn", "cuDNN")):
        xs = ratios[(mode, name)]
        print(f"Geometric mean of KernelDsl {mode_label} / {label}: {gm(xs):.3f} over {len(xs)} shapes")
if costs:
    print(f"Cost of determinism (deterministic ms / atomic-dQ ms, same run): geometric mean {gm(costs):.3f}, range {min(costs):.3f}-{max(costs):.3f} over {len(costs)} shapes")
print()

print("### Forward + backward step (default mode)\n")
print("| D | dtype | causal | S | KernelDsl TFLOP/s | FA2 (SDPA flash) | cuDNN | ours/FA2 | ours/cuDNN |")
print("|---|---|---|---|---|---|---|---|---|")
step = {"flash": [], "cudnn": []}
for r in ours["results"]:
    t = theirs.get(key(r), {})
    for name in ("flash", "cudnn"):
        if t.get(name + "_step"):
            step[name].append(r["step_tflops"] / t[name + "_step"])
    print(f"| {r['D']} | {r['dtype']} | {'yes' if r['causal'] else 'no'} | {r['S']} | {r['step_tflops']:.1f} | {f(t.get('flash_step'))} | {f(t.get('cudnn_step'))} | "
          f"{ratio(r['step_tflops'], t.get('flash_step'))} | {ratio(r['step_tflops'], t.get('cudnn_step'))} |")
print()
for name, label in (("flash", "FlashAttention-2 (SDPA flash)"), ("cudnn", "cuDNN")):
    print(f"Geometric mean of KernelDsl / {label}: {gm(step[name]):.3f} over {len(step[name])} shapes")
print()
firsts = [r["first_call_ms"] for r in ours["results"] if "first_call_ms" in r]
if firsts:
    print(f"First backward call (default mode: PTX JITs + module loads + run), per spec: median {sorted(firsts)[len(firsts)//2]:.1f} ms, max {max(firsts):.1f} ms")

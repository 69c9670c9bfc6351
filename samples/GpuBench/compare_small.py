#!/usr/bin/env python3
"""Joins `GpuBench --small` and torch_small.py (same device, same call) into a table of us per call and ratios
(KernelDsl / PyTorch: below 1 means KernelDsl is faster). The PyTorch reference per shape is its fastest backend
by device time back to back, with auto (PyTorch's own choice) also shown.
Usage: compare_small.py kerneldsl-small.json torch-small.json > small-table.md"""
import json, sys

ours = json.load(open(sys.argv[1]))
torch_rows = json.load(open(sys.argv[2]))
print(f"Device: {ours['device']} ({ours['date']}); torch {torch_rows['torch']}; fp16 BHSD D=64, dense\n")

theirs = {}
for r in torch_rows["results"]:
    theirs.setdefault(r["name"], {})[r.get("backend", "")] = r

f = lambda x: f"{x:.2f}" if isinstance(x, (int, float)) else "-"
print("| problem | stream | kernels | KernelDsl device us/call | host us/call | B/call | graph us/call | torch auto us/call | torch best us/call (backend) | torch host us/call | ours/torch best | ours graph/torch best graph |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for r in ours["results"]:
    t = theirs.get(r["name"], {})
    best = min(t.values(), key=lambda x: x["device_us"]) if t else None
    auto = t.get("auto") or (t.get("torch.cuda._sleep(0)") if r["name"] == "empty kernel" else None)
    ratio = r["device_us"] / best["device_us"] if best else None
    graphs = [x["graph_us"] for x in t.values() if "graph_us" in x]
    graph_ratio = r["graph_us"] / min(graphs) if graphs and "graph_us" in r else None
    print(f"| {r['name']} | {r['stream']} | {r.get('family', '-')} | {f(r['device_us'])} | {f(r['host_us'])} | {r['alloc_bytes_per_call']:.0f} | {f(r.get('graph_us'))} | "
          f"{f(auto['device_us']) if auto else '-'} | {f(best['device_us']) + ' (' + best['backend'] + ')' if best else '-'} | {f(best['host_us']) if best else '-'} | "
          f"{f(ratio)} | {f(graph_ratio)} |")

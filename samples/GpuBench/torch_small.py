#!/usr/bin/env python3
"""PyTorch side of `GpuBench --small` (issue 9, item 6): SDPA on the same small shapes (fp16, BHSD, D = 64, dense),
timed as SmallCalls.cs times KernelDsl: device us per call back to back (CUDA events around groups of 500 calls,
median of 7), host us per call (perf_counter around groups of 200 launches without a sync, median of 15), and the
us per call of a CUDA graph replaying 100 captured calls; per SDPA backend (auto = PyTorch's own choice, flash,
cuDNN, efficient) and an empty-kernel floor (torch.cuda._sleep(0), one launch of a kernel that returns at once).
Usage: torch_small.py OUT.json"""
import json, statistics, sys, time
import torch
import torch.nn.functional as F
from torch.nn.attention import sdpa_kernel, SDPBackend

# Keep in step with SmallCalls.Shapes in SmallCalls.cs.
SHAPES = [("tiny B1 H8 S64", 1, 8, 64, 64), ("small B1 H16 S128", 1, 16, 128, 128),
          ("small B4 H16 S256", 4, 16, 256, 256), ("decode B8 H16 Sq1 Skv1024", 8, 16, 1, 1024)]
D = 64
out_path = [a for a in sys.argv[1:] if not a.startswith("--")][0]


def device_us(fn, groups=7, per_group=500):
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    times = []
    for _ in range(groups):
        start.record()
        for _ in range(per_group):
            fn()
        stop.record(); torch.cuda.synchronize()
        times.append(start.elapsed_time(stop) * 1000.0 / per_group)
    return statistics.median(times)


def host_us(fn, groups=15, per_group=200):
    times = []
    for _ in range(groups):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(per_group):
            fn()
        times.append((time.perf_counter() - t0) * 1e6 / per_group)
    torch.cuda.synchronize()
    return statistics.median(times), min(times)


def graph_us(fn, captured=100):
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(3):
            fn()
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        for _ in range(captured):
            fn()
    return device_us(graph.replay, per_group=10) / captured


def measure(fn):
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < 0.3:
        fn()
    torch.cuda.synchronize()
    row = dict(device_us=device_us(fn))
    row["host_us"], row["host_us_min"] = host_us(fn)
    try:
        row["graph_us"] = graph_us(fn)
    except Exception as ex:
        print(f"  graph capture failed: {str(ex)[:120]}", flush=True)
    return row


props = torch.cuda.get_device_properties(0)
print(f"torch {torch.__version__} on {props.name}", flush=True)
rows = []
if hasattr(torch.cuda, "_sleep"):
    row = measure(lambda: torch.cuda._sleep(0))
    row.update(name="empty kernel", backend="torch.cuda._sleep(0)")
    print(row, flush=True); rows.append(row)

BACKENDS = [("auto", None), ("flash", SDPBackend.FLASH_ATTENTION), ("cudnn", SDPBackend.CUDNN_ATTENTION),
            ("efficient", SDPBackend.EFFICIENT_ATTENTION)]
for name, B, H, Sq, Skv in SHAPES:
    q = torch.rand(B, H, Sq, D, device="cuda", dtype=torch.float16) * 2 - 1
    k, v = (torch.rand(B, H, Skv, D, device="cuda", dtype=torch.float16) * 2 - 1 for _ in range(2))
    for backend_name, backend in BACKENDS:
        def call():
            return F.scaled_dot_product_attention(q, k, v)
        try:
            if backend is None:
                row = measure(call)
            else:
                with sdpa_kernel(backend):
                    row = measure(call)
        except Exception as ex:
            print(f"{name} {backend_name} failed: {str(ex)[:120]}", flush=True)
            continue
        row.update(name=name, backend=backend_name, B=B, H=H, Sq=Sq, Skv=Skv, D=D)
        print(" ".join(f"{k_}={v_:.2f}" if isinstance(v_, float) else f"{k_}={v_}" for k_, v_ in row.items()), flush=True)
        rows.append(row)

json.dump(dict(device=props.name, torch=torch.__version__, dtype="FP16", layout="BHSD", results=rows), open(out_path, "w"), indent=1)
print(f"wrote {out_path}")

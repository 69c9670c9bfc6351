#!/usr/bin/env python3
"""PyTorch side of `GpuBench --backward` (issue 10): the backward of SDPA's FlashAttention-2 backend and of its cuDNN
backend on the same grid (B*S = 16384, H*D = 2048, D in {64, 128}, fp16/bf16, causal and not, BHSD), timed as
BackwardBench.cs times KernelDsl (torch_timing.median_ms: CUDA events, warm-up, groups of ~25 ms, median of 7): the
backward alone (torch.autograd.grad of a retained graph with a fixed random dO: dQ, dK, dV) and one forward + backward
step. TFLOP/s count the backward as 2.5x the forward's FLOPs (halved for causal), as GpuBench --backward does.
Usage: torch_backward.py OUT.json [--quick]"""
import json, sys
import torch
import torch.nn.functional as F
from torch.nn.attention import sdpa_kernel, SDPBackend
from torch_timing import median_ms

QUICK = "--quick" in sys.argv
out_path = [a for a in sys.argv[1:] if not a.startswith("--")][0]
DTYPES = {"FP16": torch.float16, "BF16": torch.bfloat16}
BACKENDS = (("flash", SDPBackend.FLASH_ATTENTION), ("cudnn", SDPBackend.CUDNN_ATTENTION))

props = torch.cuda.get_device_properties(0)
print(f"torch {torch.__version__} on {props.name}", flush=True)
rows = []
seqs = [1024, 8192] if QUICK else [512, 1024, 2048, 4096, 8192, 16384]
for D in (64, 128):
    for dtype in ("FP16", "BF16"):
        for causal in (False, True):
            for S in seqs:
                B, H = 16384 // S, 2048 // D
                q, k, v = (torch.empty(B, H, S, D, device="cuda", dtype=DTYPES[dtype]).uniform_(-1, 1).requires_grad_() for _ in range(3))
                d_o = torch.empty(B, H, S, D, device="cuda", dtype=DTYPES[dtype]).uniform_(-1, 1)
                forward_flops = 4 * B * H * S * S * D / (2 if causal else 1)
                row = dict(D=D, dtype=dtype, causal=causal, S=S, B=B, H=H)
                for name, backend in BACKENDS:
                    try:
                        with sdpa_kernel(backend):
                            out = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
                            backward = lambda: torch.autograd.grad(out, (q, k, v), d_o, retain_graph=True)
                            row[name] = 2.5 * forward_flops / (median_ms(backward) * 1e-3) / 1e12

                            def step():
                                o = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
                                torch.autograd.grad(o, (q, k, v), d_o)
                            row[name + "_step"] = 3.5 * forward_flops / (median_ms(step) * 1e-3) / 1e12
                            del out
                    except Exception as ex:
                        print(f"{name} failed D={D} S={S} {dtype} causal={causal}: {str(ex)[:160]}", flush=True)
                print(" ".join(f"{k_}={v_:.1f}" if isinstance(v_, float) else f"{k_}={v_}" for k_, v_ in row.items()), flush=True)
                rows.append(row)
                del q, k, v, d_o

json.dump(dict(device=props.name, torch=torch.__version__, results=rows), open(out_path, "w"), indent=1)

#!/usr/bin/env python3
"""PyTorch anchors for the GpuBench grid, timed the same way as GpuBench (CUDA events, warm-up, median of
timed groups, fresh random inputs): SDPA's FlashAttention-2 backend, its cuDNN backend, and FlexAttention
(torch.compile'd; first-call compile time recorded). Also measures the device's dense bf16 matmul and copy
ceilings. Usage: torch_anchors.py OUT.json [--quick]"""
import json, math, sys, time
import torch
from torch_timing import median_ms, compile_every_shape_statically
import torch.nn.functional as F
from torch.nn.attention import sdpa_kernel, SDPBackend

QUICK = "--quick" in sys.argv
out_path = [a for a in sys.argv[1:] if not a.startswith("--")][0]
DTYPES = {"FP16": torch.float16, "BF16": torch.bfloat16}
FLEX_COMPILE_BUDGET_S = 180.0


props = torch.cuda.get_device_properties(0)
print(f"torch {torch.__version__} on {props.name}", flush=True)
a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16); b = torch.randn_like(a)
matmul_tflops = 2 * 8192 ** 3 / (median_ms(lambda: a @ b) * 1e-3) / 1e12
x = torch.empty(2 ** 30, dtype=torch.uint8, device="cuda"); y = torch.empty_like(x)
copy_gbs = 2 * 2 ** 30 / (median_ms(lambda: y.copy_(x)) * 1e-3) / 1e9
print(f"ceilings: bf16 matmul {matmul_tflops:.0f} TFLOP/s, device copy {copy_gbs:.0f} GB/s", flush=True)
del a, b, x, y

flex = None
compile_every_shape_statically()
try:
    from torch.nn.attention.flex_attention import flex_attention, create_block_mask
    flex = torch.compile(flex_attention)
except Exception as ex:
    print("FlexAttention unavailable:", ex, flush=True)

rows, flex_compile_total = [], 0.0
seqs = [1024, 8192] if QUICK else [512, 1024, 2048, 4096, 8192, 16384]
for D in (64, 128):
    for dtype in ("FP16", "BF16"):
        for causal in (False, True):
            for S in seqs:
                B, H = 16384 // S, 2048 // D
                q, k, v = (torch.randn(B, H, S, D, device="cuda", dtype=DTYPES[dtype]) for _ in range(3))
                flops = 4 * B * H * S * S * D / (2 if causal else 1)
                row = dict(D=D, dtype=dtype, causal=causal, S=S, B=B, H=H)
                for name, backend in (("flash", SDPBackend.FLASH_ATTENTION), ("cudnn", SDPBackend.CUDNN_ATTENTION)):
                    try:
                        with sdpa_kernel(backend):
                            row[name] = flops / (median_ms(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal)) * 1e-3) / 1e12
                    except Exception as ex:
                        print(f"{name} failed D={D} S={S}: {str(ex)[:120]}", flush=True)
                if flex is not None and flex_compile_total < FLEX_COMPILE_BUDGET_S:
                    try:
                        mask = create_block_mask(lambda b_, h_, qi, ki: qi >= ki, None, None, S, S, device="cuda") if causal else None
                        t0 = time.perf_counter(); flex(q, k, v, block_mask=mask); torch.cuda.synchronize()
                        compile_s = time.perf_counter() - t0
                        flex_compile_total += compile_s
                        row["flex_first_call_s"] = compile_s
                        row["flex"] = flops / (median_ms(lambda: flex(q, k, v, block_mask=mask)) * 1e-3) / 1e12
                    except Exception as ex:
                        print(f"flex failed D={D} S={S}: {str(ex)[:120]}", flush=True)
                print(" ".join(f"{k_}={v_:.1f}" if isinstance(v_, float) else f"{k_}={v_}" for k_, v_ in row.items()), flush=True)
                rows.append(row)
                del q, k, v

json.dump(dict(device=props.name, torch=torch.__version__, matmul_bf16_tflops=matmul_tflops, copy_gbs=copy_gbs, results=rows),
          open(out_path, "w"), indent=1)

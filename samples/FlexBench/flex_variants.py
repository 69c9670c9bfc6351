#!/usr/bin/env python3
"""FlexAttention on issue 4's variants, timed like FlexBench (CUDA events, warm-up, median of 7 groups of ~25 ms,
fresh random inputs): causal, sliding window 1024 (causal), ALiBi (causal), softcap 30 (causal) and, when
FlexBench's JSON carries document lengths, a causal document mask over packed sequences. D = 128, H = 16,
B = 16384 / S, BHSD. TFLOP/s counted on kept pairs (4*D per pair). First call = create_block_mask + the first
torch.compile'd call. Usage: flex_variants.py OUT.json [--quick] [--documents kerneldsl-variants.json]"""
import json, os, sys, time
import torch
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "GpuBench"))
from torch_timing import median_ms, compile_every_shape_statically

QUICK = "--quick" in sys.argv
args = [a for a in sys.argv[1:] if not a.startswith("--")]
out_path = args[0]
docs_from = sys.argv[sys.argv.index("--documents") + 1] if "--documents" in sys.argv else None
DTYPES = {"FP16": torch.float16, "BF16": torch.bfloat16}
D, H, TOKENS = 128, 16, 16384
compile_every_shape_statically()
from torch.nn.attention.flex_attention import flex_attention, create_block_mask
flex = torch.compile(flex_attention)

slopes = torch.tensor([2.0 ** (-8.0 * (h + 1) / H) for h in range(H)], device="cuda", dtype=torch.float32)
causal = lambda b, h, q, kv: q >= kv
sliding = lambda b, h, q, kv: (q >= kv) & (q - kv < 1024)
alibi = lambda score, b, h, q, kv: score - slopes[h] * (q - kv)
softcap = lambda score, b, h, q, kv: 30.0 * torch.tanh(score / 30.0)

documents = None
if docs_from:
    documents = {int(s): lengths for s, lengths in json.load(open(docs_from)).get("document_lengths", {}).items()}


def kept_causal(s): return s * (s + 1) // 2
def kept_window(s, w): ramp = min(s, w); return ramp * (ramp + 1) // 2 + max(0, s - w) * w


variants = [("causal", causal, None, kept_causal), ("sliding1024", sliding, None, lambda s: kept_window(s, 1024)),
            ("alibi", causal, alibi, kept_causal), ("softcap", causal, softcap, kept_causal)]
if documents:
    variants.insert(2, ("document", None, None, None))

props = torch.cuda.get_device_properties(0)
print(f"torch {torch.__version__} on {props.name}", flush=True)
rows = []
seqs = [4096] if QUICK else [4096, 16384]
for name, mask_mod, score_mod, kept_fn in variants:
    for dtype in ("FP16", "BF16"):
        for S in seqs:
            B = TOKENS // S
            if name == "document":
                if S not in documents:
                    continue
                lengths = documents[S]
                doc = torch.repeat_interleave(torch.arange(len(lengths), device="cuda"), torch.tensor(lengths, device="cuda"))
                mask_fn = lambda b, h, q, kv, doc=doc: (doc[q] == doc[kv]) & (q >= kv)
                kept = sum(n * (n + 1) // 2 for n in lengths)
            else:
                mask_fn, kept = mask_mod, kept_fn(S)
            q, k, v = (torch.randn(B, H, S, D, device="cuda", dtype=DTYPES[dtype]) for _ in range(3))
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            block_mask = create_block_mask(mask_fn, None, None, S, S, device="cuda")
            flex(q, k, v, score_mod=score_mod, block_mask=block_mask); torch.cuda.synchronize()
            first_s = time.perf_counter() - t0
            ms = median_ms(lambda: flex(q, k, v, score_mod=score_mod, block_mask=block_mask))
            tflops = 4 * D * B * H * kept / (ms * 1e-3) / 1e12
            row = dict(variant=name, dtype=dtype, S=S, B=B, H=H, D=D, kept_pairs_per_head=kept, ms=ms, tflops=tflops,
                       first_call_s=first_s, flex_sparsity_pct=float(block_mask.sparsity()))
            print(" ".join(f"{k_}={v_:.4g}" if isinstance(v_, float) else f"{k_}={v_}" for k_, v_ in row.items()), flush=True)
            rows.append(row)
            del q, k, v

json.dump(dict(device=props.name, torch=torch.__version__, results=rows), open(out_path, "w"), indent=1)

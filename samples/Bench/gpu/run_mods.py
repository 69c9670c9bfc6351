#!/usr/bin/env python3
"""Device check of KernelDsl's score/mask modifier kernels (correctness only).

Loads each kernel of <dir>/mods.json (written by `PtxDump <dir> --mods`) and <dir>/gen.json (extract_generated.py:
the kernels the source generator emitted for tests/KernelDsl.Tests' modifier library) through the CUDA driver (ctypes), runs it
on fresh random torch tensors (seed printed; output and LSE poisoned with NaN first) and compares with a float64
torch reference that evaluates the same modifiers (softcap 30*tanh(s/30); ALiBi s - 2^(-8(h+1)/16)*|q-kv|;
prefix-LM kv < 64 || q >= kv; window + global kv < 4 || |q-kv| <= 32; sparse rows q%5 != 2 && kv%3 != 1) on top
of the built-in band. Rows a modifier empties must give O = 0 and LSE = -inf.
Usage: python3 run_mods.py <dir> <out dir>
"""
import ctypes, json, os, sys, time
import torch

DIR, OUT = sys.argv[1], sys.argv[2]
# mods.json: PtxDump --mods (hand-built IR); gen.json: extract_generated.py (the source generator's kernels)
MANIFESTS = [f for f in ("mods.json", "gen.json") if os.path.exists(os.path.join(DIR, f))]
os.makedirs(OUT, exist_ok=True)
LOG = open(os.path.join(OUT, "mods-log.txt"), "w")


def say(*a):
    s = " ".join(str(x) for x in a)
    print(s, flush=True)
    LOG.write(s + "\n"); LOG.flush()


cu = ctypes.CDLL("libcuda.so.1")


def check(rc, what):
    if rc != 0:
        raise RuntimeError(f"{what}: CUDA error {rc}")


class Kernel:
    def __init__(self, meta):
        self.meta = meta
        ptx = open(os.path.join(DIR, meta["file"]), "rb").read() + b"\0"
        torch.cuda.synchronize()
        err = ctypes.create_string_buffer(1 << 16)
        opts = (ctypes.c_int * 2)(5, 6)  # CU_JIT_ERROR_LOG_BUFFER, ..._SIZE_BYTES
        vals = (ctypes.c_void_p * 2)(ctypes.cast(err, ctypes.c_void_p).value, 1 << 16)
        self.module = ctypes.c_void_p()
        rc = cu.cuModuleLoadDataEx(ctypes.byref(self.module), ctypes.c_char_p(ptx), 2, opts, vals)
        if rc != 0:
            raise RuntimeError(f"cuModuleLoadDataEx {meta['name']}: {rc}\n{err.value.decode(errors='replace')}")
        self.fn = ctypes.c_void_p()
        check(cu.cuModuleGetFunction(ctypes.byref(self.fn), self.module, meta["entry"].encode()), "cuModuleGetFunction")
        check(cu.cuFuncSetAttribute(self.fn, 8, meta["smem"]), "cuFuncSetAttribute")
        regs = ctypes.c_int(); local = ctypes.c_int()
        cu.cuFuncGetAttribute(ctypes.byref(regs), 4, self.fn)
        cu.cuFuncGetAttribute(ctypes.byref(local), 3, self.fn)
        self.regs, self.local = regs.value, local.value

    def launch(self, q, k, v, o, lse):
        B, Sq, Hq, _ = q.shape
        Skv, Hkv = k.shape[1], k.shape[2]
        u64, u32 = ctypes.c_uint64, ctypes.c_uint32
        vals = [u64(q.data_ptr()), u64(k.data_ptr()), u64(v.data_ptr()), u64(o.data_ptr()),
                u64(lse.data_ptr() if lse is not None else 0), u32(Sq), u32(Skv), u32(Hq), u32(Hkv)]
        for t in (q, k, v, o):
            vals += [u64(t.stride(0)), u64(t.stride(1)), u64(t.stride(2))]
        params = (ctypes.c_void_p * len(vals))(*[ctypes.cast(ctypes.pointer(x), ctypes.c_void_p) for x in vals])
        self._keep = vals
        bq = self.meta["block_q"]
        check(cu.cuLaunchKernel(self.fn, (Sq + bq - 1) // bq, Hq, B, self.meta["threads"], 1, 1, self.meta["smem"],
                                ctypes.c_void_p(torch.cuda.current_stream().cuda_stream), params, None), "cuLaunchKernel")


DT = {"FP16": torch.float16, "BF16": torch.bfloat16, "FP32": torch.float32}


def keep_mask(m, B, H, Sq, Skv, dev):
    """Built-in band and the mask modifier, as a bool tensor broadcastable to [B, H, Sq, Skv]."""
    b = torch.arange(B, device=dev)[:, None, None, None]
    h = torch.arange(H, device=dev)[None, :, None, None]
    i = torch.arange(Sq, device=dev)[None, None, :, None]
    j = torch.arange(Skv, device=dev)[None, None, None, :]
    keep = torch.ones(1, 1, Sq, Skv, dtype=torch.bool, device=dev)
    if m["mask"] != "None":
        d = i + (Skv - Sq if m["alignment"] == "BottomRight" else 0)
        if m["left"] >= 0:
            keep = keep & (j >= d - m["left"])
        if m["right"] >= 0:
            keep = keep & (j <= d + m["right"])
    s = m["set"]
    if s == "PrefixLm":
        keep = keep & ((j < 64) | (i >= j))
    if s in ("WindowGlobal", "SoftcapWindowGlobalCausal"):
        keep = keep & ((j < 4) | ((i - j).abs() <= 32))
    if s == "AlibiSparseRows":
        keep = keep & (i % 5 != 2) & (j % 3 != 1)
    if s == "Gen_Dilated":
        keep = keep & ((j % 4 == i % 4) | (i >= j))
    if s == "Gen_EmptyRowsSoftcap20":
        keep = keep & (i % 4 != 1) & ((i - j < 40) | ((b + h) % 2 == 0))
    return keep


def reference(m, q, k, v):
    q, k, v = q.double(), k.double(), v.double()
    g = q.shape[2] // k.shape[2]
    k = k.repeat_interleave(g, dim=2); v = v.repeat_interleave(g, dim=2)
    s = torch.einsum("bqhd,bkhd->bhqk", q, k) * m["scale"]
    B, Sq, Skv, H = q.shape[0], q.shape[1], k.shape[1], q.shape[2]
    dev = q.device
    h = torch.arange(H, device=dev, dtype=torch.float64)[None, :, None, None]
    qi = torch.arange(Sq, device=dev)[:, None]
    kj = torch.arange(Skv, device=dev)[None, :]
    cap = {"Softcap": 30.0, "SoftcapWindowGlobalCausal": 30.0, "Gen_Softcap30": 30.0, "Gen_EmptyRowsSoftcap20": 20.0}.get(m["set"])
    if cap is not None:
        s = cap * torch.tanh(s / cap)
    if m["set"] in ("Alibi", "AlibiSparseRows"):
        s = s - torch.pow(2.0, -8.0 * (h + 1) / 16.0) * (qi - kj).abs().double()
    if m["set"] == "Gen_AlibiHeads4":
        s = s - torch.pow(2.0, -8.0 * (h + 1) / 4.0) * (qi - kj).double()
    s = s.masked_fill(~keep_mask(m, B, H, Sq, Skv, dev), float("-inf"))
    lse = torch.logsumexp(s, dim=-1)
    p = torch.exp(s - lse[..., None]).nan_to_num(0.0)
    return torch.einsum("bhqk,bkhd->bqhd", p, v), lse


def make(B, S, H, D, dtype, layout, scale=1.0):
    if layout == "BSHD":
        return (torch.randn(B, S, H, D, device="cuda") * scale).to(dtype)
    return (torch.randn(B, H, S, D, device="cuda") * scale).to(dtype).transpose(1, 2)


def main():
    metas = []
    for manifest in MANIFESTS:
        metas += json.load(open(os.path.join(DIR, manifest)))
    seed = int(time.time()) % 100000
    torch.manual_seed(seed)
    say(f"== modifier kernels, correctness (seed {seed}), device {torch.cuda.get_device_name()}")
    cases = [(2, 300, 300, 4, 2, "BSHD", 1.0), (1, 77, 333, 3, 1, "BHSD", 1.0), (1, 200, 65, 2, 2, "BSHD", 1.0),
             (2, 129, 1000, 2, 1, "BHSD", 4.0)]
    failures = 0
    for m in metas:
        kern = Kernel(m)
        worst, worst_lse, empty_rows, ok = 0.0, 0.0, 0, True
        for (B, Sq, Skv, Hq, Hkv, layout, mag) in cases:
            D, Dv = m["head_dim"], m["value_head_dim"]
            q = make(B, Sq, Hq, D, DT[m["dtype"]], layout, mag); k = make(B, Skv, Hkv, D, DT[m["dtype"]], layout, mag)
            v = make(B, Skv, Hkv, Dv, DT[m["dtype"]], layout)
            o = make(B, Sq, Hq, Dv, DT[m["out_dtype"]], layout); o.fill_(float("nan"))
            lse = torch.full((B, Hq, Sq), float("nan"), device="cuda") if m["lse"] else None
            kern.launch(q, k, v, o, lse); torch.cuda.synchronize()
            ro, rl = reference(m, q, k, v)
            err = ((o.double() - ro).norm() / ro.norm().clamp_min(1e-30)).item()
            worst = max(worst, err)
            ok &= (not torch.isnan(o).any().item()) and err < 1e-2
            empty = torch.isinf(rl)  # [B, H, Sq]
            empty_rows += int(empty.sum().item())
            if empty.any():
                ok &= bool((o.permute(0, 2, 1, 3)[empty] == 0).all().item())
            if lse is not None:
                fin = ~empty
                if fin.any():
                    e = (lse[fin].double() - rl[fin]).abs().max().item()
                    worst_lse = max(worst_lse, e); ok &= e < 1e-2
                ok &= bool((lse[empty] == float("-inf")).all().item()) and not torch.isnan(lse).any().item()
        failures += 0 if ok else 1
        say(f"{m['name']:<46} regs {kern.regs:3} local {kern.local}  max rel err {worst:.2e}  lse abs err {worst_lse:.1e}  empty rows {empty_rows:5}  {'ok' if ok else 'FAIL'}")
    say(f"== {len(metas) - failures}/{len(metas)} modifier kernels correct")
    return failures


if __name__ == "__main__":
    sys.exit(1 if main() else 0)

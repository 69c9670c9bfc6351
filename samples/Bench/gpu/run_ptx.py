#!/usr/bin/env python3
"""Device-side harness for KernelDsl's generated PTX (no .NET needed on the GPU machine).

Loads each kernel listed in <ptx dir>/manifest.json (written by samples/PtxDump) through the CUDA driver API
(ctypes: cuModuleLoadDataEx with the JIT's logs, cuFuncSetAttribute for >48 KiB dynamic shared memory,
cuLaunchKernel) on torch-allocated tensors, then
  1. checks every kernel against a float64 reference on fresh random inputs (seed printed), output poisoned
     with NaN first: odd sizes, Sq != Skv, GQA, BSHD and BHSD strides, LSE, empty rows;
  2. times the standard grid (D in {64,128}, S 512..16k, B*S = 16384, H*D = 2048, fp16/bf16, causal or not)
     with CUDA events next to SDPA flash, SDPA cuDNN and FlexAttention, and prints a table with ratios;
  3. reports first-call latency (module load + JIT) against FlexAttention's first compile.
Usage: python3 run_ptx.py <ptx dir> <out dir> [--quick] [--variants] [--small-grids] [--no-bench]
(--small-grids: the '_q64' variants of PtxDump --variants against their defaults on grids under the SM count)
"""
import ctypes, json, math, os, statistics, sys, time
import torch

PTX_DIR, OUT_DIR = sys.argv[1], sys.argv[2]
QUICK = "--quick" in sys.argv
os.makedirs(OUT_DIR, exist_ok=True)
LOG = open(os.path.join(OUT_DIR, "log.txt"), "w")


def say(*a):
    s = " ".join(str(x) for x in a)
    print(s, flush=True)
    LOG.write(s + "\n"); LOG.flush()


# ---------------------------------------------------------------- CUDA driver through ctypes
cu = ctypes.CDLL("libcuda.so.1")


def check(rc, what):
    if rc != 0:
        name = ctypes.c_char_p(); msg = ctypes.c_char_p()
        cu.cuGetErrorName(rc, ctypes.byref(name)); cu.cuGetErrorString(rc, ctypes.byref(msg))
        raise RuntimeError(f"{what}: {rc} {name.value} {msg.value}")


CU_JIT_INFO_LOG_BUFFER, CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES = 3, 4
CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 5, 6
CU_JIT_LOG_VERBOSE = 12
CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES, CU_FUNC_ATTRIBUTE_NUM_REGS = 3, 4
CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8


class Kernel:
    def __init__(self, meta):
        self.meta = meta
        ptx = open(os.path.join(PTX_DIR, meta["file"]), "rb").read() + b"\0"
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        info = ctypes.create_string_buffer(1 << 16); err = ctypes.create_string_buffer(1 << 16)
        opts = (ctypes.c_int * 5)(CU_JIT_INFO_LOG_BUFFER, CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES,
                                   CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES, CU_JIT_LOG_VERBOSE)
        vals = (ctypes.c_void_p * 5)(ctypes.cast(info, ctypes.c_void_p).value, 1 << 16,
                                      ctypes.cast(err, ctypes.c_void_p).value, 1 << 16, 1)
        self.module = ctypes.c_void_p()
        rc = cu.cuModuleLoadDataEx(ctypes.byref(self.module), ctypes.c_char_p(ptx), 5, opts, vals)
        if rc != 0:
            raise RuntimeError(f"cuModuleLoadDataEx {meta['name']}: {rc}\n{err.value.decode(errors='replace')}")
        self.fn = ctypes.c_void_p()
        check(cu.cuModuleGetFunction(ctypes.byref(self.fn), self.module, meta["entry"].encode()), "cuModuleGetFunction")
        check(cu.cuFuncSetAttribute(self.fn, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, meta["smem"]), "cuFuncSetAttribute")
        self.load_s = time.perf_counter() - t0
        regs = ctypes.c_int(); local = ctypes.c_int()
        cu.cuFuncGetAttribute(ctypes.byref(regs), CU_FUNC_ATTRIBUTE_NUM_REGS, self.fn)
        cu.cuFuncGetAttribute(ctypes.byref(local), CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES, self.fn)
        self.regs, self.local = regs.value, local.value
        self.jit_log = info.value.decode(errors="replace").strip()

    def launch(self, q, k, v, o, lse):
        """q, k, v, o: logical [B, S, H, D] views (any strides, last dim contiguous)."""
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
        stream = torch.cuda.current_stream().cuda_stream
        check(cu.cuLaunchKernel(self.fn, (Sq + bq - 1) // bq, Hq, B, self.meta["threads"], 1, 1,
                                self.meta["smem"], ctypes.c_void_p(stream), params, None), "cuLaunchKernel")


DT = {"FP16": torch.float16, "BF16": torch.bfloat16, "FP32": torch.float32}


# ---------------------------------------------------------------- float64 reference (the semantics of DESIGN.md)
def band(meta, Sq, Skv, device):
    if meta["mask"] == "None":
        return torch.ones(Sq, Skv, dtype=torch.bool, device=device)
    i = torch.arange(Sq, device=device)[:, None]
    j = torch.arange(Skv, device=device)[None, :]
    d = i + (Skv - Sq if meta["alignment"] == "BottomRight" else 0)
    keep = torch.ones(Sq, Skv, dtype=torch.bool, device=device)
    if meta["left"] >= 0:
        keep &= j >= d - meta["left"]
    if meta["right"] >= 0:
        keep &= j <= d + meta["right"]
    return keep


def reference(meta, q, k, v):
    q, k, v = q.double(), k.double(), v.double()
    g = q.shape[2] // k.shape[2]
    k = k.repeat_interleave(g, dim=2); v = v.repeat_interleave(g, dim=2)
    s = torch.einsum("bqhd,bkhd->bhqk", q, k) * meta["scale"]
    s = s.masked_fill(~band(meta, q.shape[1], k.shape[1], q.device), float("-inf"))
    lse = torch.logsumexp(s, dim=-1)
    p = torch.exp(s - lse[..., None]).nan_to_num(0.0)
    return torch.einsum("bhqk,bkhd->bqhd", p, v), lse


def make(B, S, H, D, dtype, layout, scale=1.0):
    if layout == "BSHD":
        return (torch.randn(B, S, H, D, device="cuda") * scale).to(dtype)
    return (torch.randn(B, H, S, D, device="cuda") * scale).to(dtype).transpose(1, 2)


def correctness(kernels):
    seed = int(time.time()) % 100000
    torch.manual_seed(seed)
    say(f"== correctness (seed {seed})")
    cases = [  # B, Sq, Skv, Hq, Hkv, layout, magnitude
        (2, 300, 300, 4, 2, "BSHD", 1.0),
        (1, 77, 333, 3, 1, "BHSD", 1.0),
        (1, 200, 65, 2, 2, "BSHD", 1.0),
        (2, 129, 1000, 2, 1, "BHSD", 4.0),
    ]
    failures = 0; rows = []
    for kern in kernels:
        m = kern.meta
        worst = 0.0
        for (B, Sq, Skv, Hq, Hkv, layout, mag) in cases:
            D, Dv = m["head_dim"], m["value_head_dim"]
            q = make(B, Sq, Hq, D, DT[m["dtype"]], layout, mag); k = make(B, Skv, Hkv, D, DT[m["dtype"]], layout, mag)
            v = make(B, Skv, Hkv, Dv, DT[m["dtype"]], layout)
            o = make(B, Sq, Hq, Dv, DT[m["out_dtype"]], layout); o.fill_(float("nan"))
            lse = torch.full((B, Hq, Sq), float("nan"), device="cuda") if m["lse"] else None
            kern.launch(q, k, v, o, lse); torch.cuda.synchronize()
            ro, rl = reference(m, q, k, v)
            err = ((o.double() - ro).norm() / ro.norm().clamp_min(1e-30)).item()
            ok = not torch.isnan(o).any().item() and err < 1e-2
            empty = torch.isinf(rl).transpose(1, 2)  # [B, Sq, Hq]
            if empty.any():
                ok &= bool((o[empty] == 0).all().item())
            lse_err = 0.0
            if lse is not None:
                fin = torch.isfinite(rl)
                ok &= bool(torch.equal(torch.isfinite(lse), fin)) and not torch.isnan(lse).any().item()
                if fin.any():
                    lse_err = (lse.double()[fin] - rl[fin]).abs().max().item()
                ok &= lse_err < 2e-2
                ok &= bool((lse[~fin] == float("-inf")).all().item())
            worst = max(worst, err)
            line = f"{m['name']:32s} B{B} Sq{Sq} Skv{Skv} Hq{Hq}/Hkv{Hkv} {layout} x{mag}: rel err {err:.2e} lse err {lse_err:.1e} empty rows {int(empty.sum())} {'ok' if ok else 'FAIL'}"
            say(line)
            if not ok:
                failures += 1
        rows.append(dict(name=m["name"], worst=worst))
    say(f"correctness: {failures} failing cases of {len(kernels) * len(cases)}")
    return failures


# ---------------------------------------------------------------- timing
def time_fn(fn, target_ms=25.0, groups=5):
    fn(); torch.cuda.synchronize()
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    s.record(); fn(); e.record(); torch.cuda.synchronize()
    n = max(1, min(200, int(target_ms / max(s.elapsed_time(e), 1e-3))))
    per = []
    for _ in range(groups):
        s.record()
        for _ in range(n):
            fn()
        e.record(); torch.cuda.synchronize()
        per.append(s.elapsed_time(e) / n)
    return statistics.median(per)


def bench(kernels):
    from torch.nn.attention import sdpa_kernel, SDPBackend
    from torch.nn.functional import scaled_dot_product_attention as sdpa
    flex = None
    try:
        from torch.nn.attention.flex_attention import flex_attention, create_block_mask
        flex = torch.compile(flex_attention)
    except Exception as ex:
        say("flex unavailable:", ex)
    by_name = {k.meta["name"]: k for k in kernels}
    results = []
    say("== timing (ms median; TFLOP/s = 4*B*H*S*S*D, halved for causal)")
    say(f"{'D':>4} {'dtype':5} {'causal':6} {'S':>6} {'ours':>7} {'flash':>7} {'cudnn':>7} {'flex':>7} | {'/flash':>6} {'/cudnn':>6} {'/flex':>6}")
    flex_first = None
    Ss = [512, 1024, 2048, 4096, 8192, 16384] if not QUICK else [1024, 8192]
    for D in (64, 128):
        for dt in ("BF16", "FP16"):
            for causal in (False, True):
                kern = by_name[f"D{D}_{dt}_{'CausalBR' if causal else 'Dense'}"]
                for S in Ss:
                    B, H = 16384 // S, 2048 // D
                    torch.manual_seed(S + D)
                    q, k, v = (torch.randn(B, H, S, D, device="cuda", dtype=DT[dt]) for _ in range(3))
                    o = torch.empty_like(q)
                    qv, kv, vv, ov = (t.transpose(1, 2) for t in (q, k, v, o))
                    fl = 4 * B * H * S * S * D / (2 if causal else 1)
                    r = dict(D=D, dtype=dt, causal=causal, S=S, B=B, H=H)
                    r["ours"] = time_fn(lambda: kern.launch(qv, kv, vv, ov, None))
                    for name, be in (("flash", SDPBackend.FLASH_ATTENTION), ("cudnn", SDPBackend.CUDNN_ATTENTION)):
                        try:
                            with sdpa_kernel(be):
                                r[name] = time_fn(lambda: sdpa(q, k, v, is_causal=causal))
                        except Exception as ex:
                            r[name] = None
                    r["flex"] = None
                    if flex is not None and dt == "BF16" and causal:
                        try:
                            bm = create_block_mask(lambda b, h, qi, ki: qi >= ki, None, None, S, S, device="cuda")
                            t0 = time.perf_counter(); flex(q, k, v, block_mask=bm); torch.cuda.synchronize()
                            ct = time.perf_counter() - t0
                            if flex_first is None:
                                flex_first = ct
                            r["flex"] = time_fn(lambda: flex(q, k, v, block_mask=bm))
                        except Exception as ex:
                            say("flex failed:", str(ex)[:200])
                    tf = lambda ms: fl / (ms * 1e-3) / 1e12 if ms else None
                    r.update({f"tf_{k}": tf(r[k]) for k in ("ours", "flash", "cudnn", "flex")})
                    # correctness spot check on the timed shape (output written, no NaN)
                    ok = not torch.isnan(o).any().item()
                    ratio = lambda a: f"{r['tf_ours'] / r['tf_' + a]:6.2f}" if r["tf_" + a] else "     -"
                    f = lambda x: f"{x:7.1f}" if x else "      -"
                    say(f"{D:4d} {dt:5} {str(causal):6} {S:6d} {f(r['tf_ours'])} {f(r['tf_flash'])} {f(r['tf_cudnn'])} {f(r['tf_flex'])} | {ratio('flash')} {ratio('cudnn')} {ratio('flex')} {'' if ok else 'NaN!'}")
                    results.append(r)
                    del q, k, v, o
    ratios = [r["tf_ours"] / r["tf_flash"] for r in results if r["tf_flash"]]
    gm = math.exp(sum(math.log(x) for x in ratios) / len(ratios)) if ratios else float("nan")
    rc = [r["tf_ours"] / r["tf_cudnn"] for r in results if r["tf_cudnn"]]
    gmc = math.exp(sum(math.log(x) for x in rc) / len(rc)) if rc else float("nan")
    say(f"geomean ours/flash = {gm:.3f} over {len(ratios)} shapes; ours/cudnn = {gmc:.3f}")
    return results, gm, flex_first


def variants(kernels):
    """Times each tile variant (manifest 'variant' != '') against its default kernel on a few grid shapes."""
    by_name = {k.meta["name"]: k for k in kernels}
    say("== variants (TFLOP/s; ratio variant/default)")
    out = []
    for kern in kernels:
        suffix = kern.meta.get("variant", "")
        if not suffix:
            continue
        base = by_name[kern.meta["name"][: -len(suffix)]]
        m = kern.meta
        if m["mask"] not in ("None", "Causal"):
            continue  # the FLOP count below is the dense/causal one; windows would be timed against the wrong count
        causal = m["mask"] == "Causal"
        for S in (1024, 4096, 16384):
            D, Dv = m["head_dim"], m["value_head_dim"]; B, H = 16384 // S, 2048 // D
            q, k = (torch.randn(B, H, S, D, device="cuda", dtype=DT[m["dtype"]]) for _ in range(2))
            v = torch.randn(B, H, S, Dv, device="cuda", dtype=DT[m["dtype"]])
            o = torch.empty(B, H, S, Dv, device="cuda", dtype=DT[m["out_dtype"]])
            qv, kv, vv, ov = (t.transpose(1, 2) for t in (q, k, v, o))
            fl = 2 * B * H * S * S * (D + Dv) / (2 if causal else 1)
            tv = time_fn(lambda: kern.launch(qv, kv, vv, ov, None))
            tb = time_fn(lambda: base.launch(qv, kv, vv, ov, None))
            say(f"{m['name']:36s} S={S:5d} regs {kern.regs:3d} vs {base.regs:3d}: {fl / tv / 1e9:6.1f} vs {fl / tb / 1e9:6.1f}  x{tb / tv:5.2f}")
            out.append(dict(name=m["name"], S=S, variant_tflops=fl / tv / 1e9, default_tflops=fl / tb / 1e9))
    return out


def time_graph(fn, launches=20):
    """Device time per launch of a kernel too short to time launch by launch from Python (ctypes packing costs more
    host time than the kernel runs): 20 launches captured into a CUDA graph, the graph timed by time_fn."""
    fn(); torch.cuda.synchronize()
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        for _ in range(launches):
            fn()
    g.replay(); torch.cuda.synchronize()
    return time_fn(g.replay) / launches


def small_grids(kernels, sms):
    """The 64-row-tile variants ('_q64') against their 128-row default on problems whose grid does not fill the GPU."""
    by_name = {k.meta["name"]: k for k in kernels}
    say(f"== small grids: 64-row tiles against the default 128-row tiles ({sms} SMs; time per launch in a CUDA graph)")
    out = []
    for kern in kernels:
        m = kern.meta
        if m.get("variant") != "_q64":
            continue
        base = by_name[m["name"][: -len("_q64")]]
        for B, H, S in ((1, 8, 64), (1, 8, 256), (1, 16, 128), (1, 16, 512), (4, 16, 256), (2, 32, 1024)):
            D, Dv = m["head_dim"], m["value_head_dim"]
            q, k = (torch.randn(B, S, H, D, device="cuda", dtype=DT[m["dtype"]]) for _ in range(2))
            v = torch.randn(B, S, H, Dv, device="cuda", dtype=DT[m["dtype"]])
            o = torch.empty(B, S, H, Dv, device="cuda", dtype=DT[m["out_dtype"]])
            tv = time_graph(lambda: kern.launch(q, k, v, o, None))
            tb = time_graph(lambda: base.launch(q, k, v, o, None))
            ctas = lambda bq: -(-S // bq) * H * B
            say(f"{m['name']:36s} B{B} H{H} S{S:5d}: CTAs {ctas(m['block_q']):5d} vs {ctas(base.meta['block_q']):5d}, "
                f"{tv * 1e3:7.2f} vs {tb * 1e3:7.2f} us  default/variant x{tb / tv:5.2f}")
            out.append(dict(name=m["name"], B=B, H=H, S=S, variant_ctas=ctas(m["block_q"]), default_ctas=ctas(base.meta["block_q"]),
                            variant_us=tv * 1e3, default_us=tb * 1e3))
    return out


def main():
    p = torch.cuda.get_device_properties(0)
    say(f"device: {p.name}, sm_{p.major}{p.minor}, {p.multi_processor_count} SMs; torch {torch.__version__}; {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}")
    torch.zeros(1, device="cuda")  # creates and binds the primary context the driver calls use
    check(cu.cuInit(0), "cuInit")
    metas = json.load(open(os.path.join(PTX_DIR, "manifest.json")))
    kernels = []
    for m in metas:
        try:
            k = Kernel(m)
            kernels.append(k)
            say(f"loaded {m['name']:32s} JIT+load {k.load_s * 1e3:7.1f} ms, {k.regs} regs (plan ~{m['est_regs']}), local {k.local} B, smem {m['smem']}")
        except Exception as ex:
            say(f"LOAD FAIL {m['name']}: {ex}")
    first_call = kernels[0].load_s if kernels else None
    fails = correctness(kernels)
    var_results = variants(kernels) if "--variants" in sys.argv else []
    small_results = small_grids(kernels, p.multi_processor_count) if "--small-grids" in sys.argv else []
    results, gm, flex_first = bench(kernels) if "--no-bench" not in sys.argv else ([], None, None)
    say(f"first call: ours (PTX JIT + module load) {first_call * 1e3:.1f} ms; FlexAttention first compile {flex_first if flex_first is None else round(flex_first, 2)} s")
    json.dump(var_results, open(os.path.join(OUT_DIR, "variants.json"), "w"), indent=1)
    if small_results:
        json.dump(small_results, open(os.path.join(OUT_DIR, "small-grids.json"), "w"), indent=1)
    json.dump(dict(device=p.name, date=time.strftime('%Y-%m-%d'), correctness_failures=fails, geomean_vs_flash=gm,
                   first_call_ms=first_call * 1e3 if first_call else None, flex_first_compile_s=flex_first,
                   kernels=[dict(name=k.meta["name"], regs=k.regs, local=k.local, load_ms=k.load_s * 1e3) for k in kernels],
                   results=results), open(os.path.join(OUT_DIR, "results.json"), "w"), indent=1)


main()

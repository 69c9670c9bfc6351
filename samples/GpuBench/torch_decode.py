"""PyTorch side of GpuBench --decode (issue 11): on the shapes GpuBench wrote (its JSON), times one decode step of PyTorch
SDPA's flash and cuDNN backends over a contiguous bf16 cache holding the same tokens ([B, Hkv, Lmax, 128], padded to the
longest sequence where the batch is ragged: PyTorch's dense SDPA has no per-sequence length, so padded keys are read and
attended to — the padded batch a dense engine would run), and measures in the same process the device-to-device copy
bandwidth (read + write) and a read-only roof: the fastest of a torch reduction (sum) and a small Triton kernel that only
loads (when Triton imports) over a 4 GiB buffer, and the same read-only kernels over exactly each shape's K/V bytes (a
buffer of that size; small ones sit in L2 between timed runs, as the decode kernel's cache does), so the table can say
how far each step is from a kernel that only reads what decode must read. GQA goes through enable_gqa=True; where a backend refuses it the K/V heads are repeated (repeat_interleave, not
timed) when that fits in memory. Timing as GpuBench (torch_timing.median_ms). Usage: torch_decode.py kerneldsl-decode.json out.json"""
import json
import sys

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from torch_timing import median_ms

REPEAT_LIMIT_BYTES = 48 << 30


def copy_bandwidth_gbps(nbytes=4 << 30):
    src = torch.empty(nbytes, dtype=torch.uint8, device="cuda").fill_(1)
    dst = torch.empty_like(src)
    ms = median_ms(lambda: dst.copy_(src))
    del src, dst
    torch.cuda.empty_cache()
    # A copy reads and writes every byte: (read + write) / time, the usual definition of copy bandwidth.
    return 2 * nbytes / (ms * 1e-3) / 1e9, ms


def _triton_reader():
    """A read-only kernel: each program loads BLOCK int32 (16-byte vectors) and keeps one xor per program, so every byte is
    read once and almost nothing is written. None when Triton does not import (the torch reduction alone is then the roof)."""
    try:
        import triton
        import triton.language as tl

        @triton.jit
        def read_kernel(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
            offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
            x = tl.load(x_ptr + offs, mask=offs < n, other=0, cache_modifier=".cg")
            tl.store(out_ptr + tl.program_id(0), tl.xor_sum(x, axis=0))
    except Exception as error:  # noqa: BLE001 - Triton is optional
        print("no Triton read kernel: " + str(error).split("\n")[0][:160], flush=True)
        return None

    block = 8192

    def read(buffer, out):
        n = buffer.numel()
        read_kernel[(triton.cdiv(n, block),)](buffer, out, n, BLOCK=block, num_warps=8)

    return read, block


TRITON_READ = _triton_reader()


def read_only_ms(nbytes):
    """Median time of the fastest read-only kernel over nbytes (rounded up to 16 bytes), and which one it was."""
    nbytes = int(nbytes)  # GpuBench writes kv_bytes as a JSON number that may be a float
    words = max(4, (nbytes + 15) // 16 * 4)
    buffer = torch.empty(words, dtype=torch.int32, device="cuda").random_(0, 1 << 30)
    best = (median_ms(lambda: buffer.sum(dtype=torch.int64)), "torch sum")
    if TRITON_READ is not None:
        read, block = TRITON_READ
        out = torch.empty((words + block - 1) // block, dtype=torch.int32, device="cuda")
        try:
            read(buffer, out); torch.cuda.synchronize()
            ms = median_ms(lambda: read(buffer, out))
            if ms < best[0]:
                best = (ms, "triton read")
        except Exception as error:  # noqa: BLE001 - a Triton that cannot compile leaves the torch roof
            print("triton read kernel failed: " + str(error).split("\n")[0][:160], flush=True)
        del out
    del buffer
    torch.cuda.empty_cache()
    return best


def read_roof_gbps(nbytes=4 << 30):
    ms, how = read_only_ms(nbytes)
    # Read-only: every byte is read once and (almost) nothing is written, bytes / time.
    return nbytes / (ms * 1e-3) / 1e9, ms, how


def time_backend(backend, q, k, v, hq, hkv):
    def run_gqa():
        with sdpa_kernel(backend):
            return F.scaled_dot_product_attention(q, k, v, enable_gqa=True)

    try:
        run_gqa(); torch.cuda.synchronize()
        return median_ms(run_gqa), "enable_gqa"
    except Exception as gqa_error:  # noqa: BLE001 - a backend that refuses the call is reported, not fatal
        if hq == hkv:
            return None, "refused: " + str(gqa_error).split("\n")[0][:120]
        if k.numel() * 2 * (hq // hkv) * 2 > REPEAT_LIMIT_BYTES:
            return None, "refused enable_gqa; repeated K/V would not fit"
        kr, vr = k.repeat_interleave(hq // hkv, dim=1), v.repeat_interleave(hq // hkv, dim=1)

        def run_repeated():
            with sdpa_kernel(backend):
                return F.scaled_dot_product_attention(q, kr, vr)

        try:
            run_repeated(); torch.cuda.synchronize()
            ms = median_ms(run_repeated)
        except Exception as error:  # noqa: BLE001
            return None, "refused: " + str(error).split("\n")[0][:120]
        finally:
            del kr, vr
            torch.cuda.empty_cache()
        return ms, "repeated K/V heads"


def main():
    ours = json.load(open(sys.argv[1]))
    out_path = sys.argv[2]
    copy_gbps, copy_ms = copy_bandwidth_gbps()
    print(f"copy bandwidth {copy_gbps:.0f} GB/s (4 GiB device-to-device, read + write)", flush=True)
    read_gbps, read_ms, read_how = read_roof_gbps()
    print(f"read-only roof {read_gbps:.0f} GB/s (4 GiB, {read_how})", flush=True)
    d = ours["head_dim"]
    rows = []
    for shape in ours["results"]:
        b, hq, hkv = shape["batch"], shape["heads_q"], shape["heads_kv"]
        lmax = max(shape["lengths"]) if shape["ragged"] else shape["length"]
        q = torch.full((b, hq, 1, d), 0.25, dtype=torch.bfloat16, device="cuda")
        k = torch.full((b, hkv, lmax, d), 0.03125, dtype=torch.bfloat16, device="cuda")
        v = torch.full((b, hkv, lmax, d), 0.5, dtype=torch.bfloat16, device="cuda")
        row = {"heads_q": hq, "heads_kv": hkv, "batch": b, "length": shape["length"], "ragged": shape["ragged"],
               "page_size": shape["page_size"], "padded_tokens": b * lmax}
        for name, backend in (("flash", SDPBackend.FLASH_ATTENTION), ("cudnn", SDPBackend.CUDNN_ATTENTION)):
            ms, how = time_backend(backend, q, k, v, hq, hkv)
            row[name + "_ms"], row[name + "_how"] = ms, how
        row["read_only_ms"], row["read_only_how"] = read_only_ms(shape["kv_bytes"])
        rows.append(row)
        print(f"{hq}/{hkv} B{b} L{shape['length']}{' ragged' if shape['ragged'] else ''}: "
              f"flash {row['flash_ms']} ({row['flash_how']}), cudnn {row['cudnn_ms']} ({row['cudnn_how']}), "
              f"read-only {row['read_only_ms']} ({row['read_only_how']})", flush=True)
        del q, k, v
        torch.cuda.empty_cache()
    json.dump({"device": torch.cuda.get_device_name(), "torch": torch.__version__, "copy_gbps": copy_gbps, "copy_ms": copy_ms,
               "read_gbps": read_gbps, "read_ms": read_ms, "read_how": read_how,
               "results": rows}, open(out_path, "w"), indent=1)
    print("wrote " + out_path)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""PyTorch owns the memory, KernelDsl computes: q, k, v (random, fp16, BHSD) and the output o (filled with NaN) are
allocated by PyTorch on the GPU and exported as CUDA IPC handles (cuIpcGetMemHandle through the driver API, with the
tensor's offset inside its caching-allocator block) into a JSON file; the C# app (samples/Interop) opens them, wraps
them with DeviceTensor.Wrap and runs CausalFp16.Forward into o. Back here o is checked against a float64 reference
(and SDPA's error against the same reference is printed beside it).

Usage (on the GPU machine; see samples/Interop/README.md):
  python3 samples/Interop/torch_ipc.py --app /tmp/kdsl/apps/Interop/Interop [--batch 2] [--heads 8] [--seq 1000]
Exit code 0 = PASS.
"""
import argparse
import ctypes
import json
import os
import subprocess
import sys
import tempfile

import torch

# The error the repository's GPU tests allow an fp16 tensor-core kernel against float64 (Quickstart's Tolerances.Gpu).
TOLERANCE = 1e-3
D = 64

cuda = ctypes.CDLL("libcuda.so.1")
cuda.cuMemGetAddressRange_v2.argtypes = [ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(ctypes.c_size_t), ctypes.c_uint64]
cuda.cuIpcGetMemHandle.argtypes = [ctypes.c_void_p, ctypes.c_uint64]


class IpcMemHandle(ctypes.Structure):
    _fields_ = [("reserved", ctypes.c_ubyte * 64)]


def check(result, call):
    if result != 0:
        hint = " (PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True allocates memory that CUDA IPC cannot export)" if call == "cuIpcGetMemHandle" else ""
        raise RuntimeError(f"{call} failed with CUDA error {result}{hint}")


def export(tensor):
    """The tensor as the C# side reads it: its block's IPC handle, its offset in the block, shape and strides."""
    pointer = tensor.data_ptr()
    base, size = ctypes.c_uint64(), ctypes.c_size_t()
    check(cuda.cuMemGetAddressRange_v2(ctypes.byref(base), ctypes.byref(size), pointer), "cuMemGetAddressRange")
    handle = IpcMemHandle()
    check(cuda.cuIpcGetMemHandle(ctypes.byref(handle), base.value), "cuIpcGetMemHandle")
    return {
        "handle": bytes(handle.reserved).hex(),
        "offset_bytes": pointer - base.value,
        "shape": list(tensor.shape),
        "strides": list(tensor.stride()),
    }


def reference(q, k, v):
    """Causal attention in float64 (Sq = Skv, so bottom-right and top-left alignment agree)."""
    q, k, v = q.double(), k.double(), v.double()
    scores = (q @ k.transpose(-1, -2)) / D ** 0.5
    s = q.shape[-2]
    keep = torch.ones(s, s, dtype=torch.bool, device=q.device).tril()
    return torch.softmax(scores.masked_fill(~keep, float("-inf")), dim=-1) @ v


def relative_error(out, ref):
    return (torch.linalg.vector_norm(out.double() - ref) / torch.linalg.vector_norm(ref)).item()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--app", required=True, help="the published samples/Interop executable")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--seq", type=int, default=1000, help="not a multiple of the tile, on purpose")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()

    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "little")
    torch.manual_seed(seed)
    shape = (args.batch, args.heads, args.seq, D)
    q, k, v = (torch.randn(shape, dtype=torch.float16, device="cuda") for _ in range(3))
    o = torch.full(shape, float("nan"), dtype=torch.float16, device="cuda")  # an unwritten element fails
    torch.cuda.synchronize()  # the other process must see the data written

    with tempfile.TemporaryDirectory() as folder:
        handoff = os.path.join(folder, "handoff.json")
        with open(handoff, "w") as file:
            json.dump({"device": torch.cuda.current_device(), "dtype": "float16",
                       "tensors": {name: export(t) for name, t in (("q", q), ("k", k), ("v", v), ("o", o))}}, file, indent=2)
        print(f"torch {torch.__version__} on {torch.cuda.get_device_name()}: q, k, v, o of shape {list(shape)} (seed {seed}) exported to {handoff}")
        run = subprocess.run([args.app, handoff], capture_output=True, text=True)
        print(run.stdout, end="")
        print(run.stderr, end="", file=sys.stderr)
        if run.returncode != 0:
            print(f"FAIL: {args.app} exited with {run.returncode}")
            return 1

    torch.cuda.synchronize()
    ref = reference(q, k, v)
    error = relative_error(o, ref)
    sdpa = relative_error(torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True), ref)
    nan = torch.isnan(o).sum().item()
    verdict = "PASS" if nan == 0 and error <= TOLERANCE else "FAIL"
    print(f"{verdict}: KernelDsl output (written into PyTorch's tensor) vs float64: relative error {error:.2e} "
          f"(tolerance {TOLERANCE:.0e}, NaN elements {nan}); SDPA vs float64: {sdpa:.2e}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())

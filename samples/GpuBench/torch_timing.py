"""Shared by the PyTorch sides of the GPU benchmarks (torch_anchors.py, samples/FlexBench/flex_variants.py): the
timing protocol GpuBench/FlexBench use on the C# side (CUDA events, one warm-up, groups of ~25 ms, median of 7),
and Dynamo settings under which every benchmarked shape gets its own static FlexAttention compile."""
import statistics
import torch


def median_ms(fn, target_ms=25.0, groups=7):
    fn(); torch.cuda.synchronize()
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record(); fn(); stop.record(); torch.cuda.synchronize()
    n = max(1, min(200, int(target_ms / max(start.elapsed_time(stop), 1e-3))))
    per = []
    for _ in range(groups):
        start.record()
        for _ in range(n):
            fn()
        stop.record(); torch.cuda.synchronize()
        per.append(start.elapsed_time(stop) / n)
    return statistics.median(per)


def compile_every_shape_statically():
    """Past Dynamo's default recompile limit (8) a compiled function silently falls back to eager, unfused
    FlexAttention (seen: 6-13 TFLOP/s); and after a second shape Dynamo recompiles with dynamic sizes, whose
    FlexAttention kernels are slower (seen on the H100: ALiBi 238 vs 334 TFLOP/s at S = 4096). Raise the limits and
    turn automatic dynamic shapes off, as a user running one fixed shape would: FlexAttention at its best."""
    import torch._dynamo
    for name in ("recompile_limit", "cache_size_limit", "accumulated_recompile_limit", "accumulated_cache_size_limit"):
        if hasattr(torch._dynamo.config, name):
            setattr(torch._dynamo.config, name, 1024)
    torch._dynamo.config.automatic_dynamic_shapes = False

namespace KernelDsl.Compiler.Planning;

/// <summary>
/// Decisions for the CPU kernel. Working-set sizes are per worker thread, in bytes: the FP32 copies of
/// the Q tile, the transposed K tile, the V tile, the score tile and the output accumulator.
/// </summary>
public sealed record CpuKernelPlan(int BlockQ, int BlockKV, int WorkingSetBytes, int L1Bytes, int L2Bytes);

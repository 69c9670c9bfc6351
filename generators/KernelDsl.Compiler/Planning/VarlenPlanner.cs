using System;
using System.Collections.Generic;
using KernelDsl.Compiler.Model;

namespace KernelDsl.Compiler.Planning;

/// <summary>
/// The varlen forward kernels of a [Varlen] spec (issue 11): each forward kernel of the spec — the sm_80 family's, and the
/// sm_90a family's on Hopper where it covers the spec — with its tiles, warps, ring and register budget, measured for the
/// dense forward, run over packed sequences. It differs from the dense
/// kernel only in where a CTA's rows start (cumulative offsets instead of a batch stride), in its per-sequence lengths and
/// band, in LSE's layout ([totalQ, Hq]) and in taking no block mask (a block mask has one shape per call; a varlen batch has
/// none), so a mask modifier is evaluated on every visited tile.
/// </summary>
/// <remarks>
/// Grid: (query blocks of the longest sequence, Hq, sequences), each CTA exiting at once when its block lies past its
/// sequence's queries — FlashAttention-2's varlen grid. The alternative, a flat list of (sequence, block) tiles, launches
/// no idle CTA, but needs a device list rebuilt per batch (a prefix sum on the host and an upload, or a kernel) and a load per
/// CTA; an idle CTA costs a few hundred cycles of one SM, far under one tile of real work, so the flat list only pays when
/// one sequence is much longer than the rest and there are very many sequences. The benchmark (GpuBench --varlen) measures
/// the grid on ragged batches against uniform ones.
/// </remarks>
public static class VarlenPlanner
{
    /// <summary>
    /// One varlen kernel per forward kernel of the spec (the sm_80 family, and the sm_90a family where it covers the spec), in
    /// the same order, or none (no [Varlen], or no GPU forward: the same element and head-dim rules).
    /// </summary>
    public static IEnumerable<GpuKernelPlan> Plan(AttentionSpec spec, IEnumerable<GpuKernelPlan> forwardKernels)
    {
        if (spec.Varlen is null)
        {
            yield break;
        }

        string name = GpuPlanner.EntryNameFor(spec);
        string stem = name.EndsWith("_fwd", StringComparison.Ordinal) ? name.Substring(0, name.Length - 4) : name;
        foreach (var forward in forwardKernels)
        {
            if (forward.Kind != GpuKernelKind.Forward)
            {
                continue;
            }

            yield return forward with
            {
                Kind = GpuKernelKind.ForwardVarlen,
                EntryName = stem + "_varlen" + (forward.Family == GpuFamily.Sm90a ? "_sm90a" : string.Empty),
                TakesBlockMask = false,
            };
        }
    }
}

using System;
using System.Collections.Generic;
using KernelDsl.Compiler.Model;

namespace KernelDsl.Compiler.Planning;

/// <summary>
/// The varlen forward kernel of a [Varlen] spec (issue 11): the spec's portable (sm_80-family) forward kernel — its tiles,
/// warps, ring and register budget, measured for the dense forward — run over packed sequences. It differs from the dense
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
    /// <summary>The varlen forward kernel, or none (no [Varlen], or no GPU forward: the same element and head-dim rules).</summary>
    public static IEnumerable<GpuKernelPlan> Plan(AttentionSpec spec, GpuKernelPlan? portableForward)
    {
        if (spec.Varlen is null || portableForward is null || portableForward.Family != GpuFamily.Sm80)
        {
            yield break;
        }

        string name = GpuPlanner.EntryNameFor(spec);
        string stem = name.EndsWith("_fwd", StringComparison.Ordinal) ? name.Substring(0, name.Length - 4) : name;
        yield return portableForward with
        {
            Kind = GpuKernelKind.ForwardVarlen,
            EntryName = stem + "_varlen",
            TakesBlockMask = false,
        };
    }
}

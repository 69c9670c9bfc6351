using System.Linq;
using KernelDsl.Compiler.Emit.Ptx.Construction;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Planning;
using static KernelDsl.Compiler.Emit.Ptx.PtxLiteral;

namespace KernelDsl.Compiler.Emit.Ptx.Decode;

/// <summary>
/// The paged decode kernel (issue 11) on the construction layer: one CTA per (KV split, KV head × block of 16 packed query
/// rows, sequence). The CTA's rows are the KV group's G query heads × the sequence's q queries, group-major (one m16
/// slab; padding rows are zero-filled and never stored), so each K/V byte is read once per group. K/V tiles of 64 keys are
/// read through the page table (<see cref="PagedKvTile"/>, the GlobalTile.RowAddress hook) by cp.async into a
/// Stages-deep ring; warp w takes keys 16w..16w+15 of every tile with an online softmax of its own (FlashDecoding inside
/// the CTA: four warps keep four tiles' loads and products in flight for one slab of rows), and at the end the warps
/// merge their (m, l, O) in shared memory. With one split the CTA writes O and LSE; with more, its partial (O, LSE) goes
/// to the workspace and <see cref="DecodeMergeKernel"/> combines them. Stages: Setup, Rows, Loop, Merge (partial files).
/// </summary>
internal sealed partial class DecodeKernel
{
    /// <summary>The dynamic shared memory every tile lives in.</summary>
    private const string SharedMemorySymbol = "kdsl_smem";

    private readonly AttentionSpec _spec;
    private readonly GpuKernelPlan _gpu;
    private readonly ElementTraits _element;
    private readonly ElementTraits _output;
    private readonly KernelEntry _entry;
    private readonly PtxWriter _w = new();

    private DecodeKernel(KernelPlan plan, GpuKernelPlan gpu)
    {
        _spec = plan.Spec;
        _gpu = gpu;
        _element = ElementTraits.Of(_spec.InputType);
        _output = ElementTraits.Of(plan.OutputType);
        _entry = new KernelEntry(gpu.EntryName, PtxAbi.For(gpu));
    }

    private int D => _spec.HeadDim;

    private int Dv => _spec.ValueHeadDim;

    private int Threads => _gpu.ThreadsPerBlock;

    private int Warps => _gpu.Warps;

    private int Stages => _gpu.Stages;

    private GpuSharedMemoryLayout Smem => _gpu.Smem;

    /// <summary>log2 of the keys per tile (a power of two: 16 per warp × 4 warps): key index = tile &lt;&lt; TileShift.</summary>
    private int TileShift
    {
        get
        {
            int shift = 0;
            while ((1 << shift) < _gpu.BlockKV)
            {
                shift++;
            }

            return shift;
        }
    }

    /// <summary>The decode kernel's PTX.</summary>
    public static string Build(KernelPlan plan, GpuKernelPlan gpu) => new DecodeKernel(plan, gpu).Build();

    private string Build()
    {
        var w = _w;
        _entry.WriteHeader(w,
            new[]
            {
                "KernelDsl paged decode (GQA-packed rows, split-KV" + (Append ? "; fused " + (Rotary is null ? string.Empty : "rotary + ") + "KV append" : string.Empty) + "), " + _spec.Target.FullName,
                Emit.Host.PlanTextRenderer.SpecSummary(_spec, _spec.Epilogue.OutputType ?? _spec.InputType),
                System.FormattableString.Invariant($"{_gpu.BlockQ} packed rows x {_gpu.BlockKV} keys per tile, {Warps} warps x 16 keys, {Stages} stages, {Smem.TotalBytes} bytes shared memory"),
            },
            framed: true, _gpu.PtxVersion, _gpu.PtxTarget,
            new[] { ("Dynamic shared memory: Q tile, K ring, V ring; after the loop the ring holds the warps' merge.", ".extern .shared .align 128 .b8 " + SharedMemorySymbol + "[];") }.Concat(AppendModuleDeclarations),
            new[] { KernelEntry.MaxThreads(Threads), ".minnctapersm 1" });
        R = new DecodeRegisters(w, _gpu, Dv, Warps);
        DeclareAppendRegisters();
        EmitSetup();
        EmitAppendSetup();
        EmitRows();
        EmitModifierSetup();
        EmitLoop();
        EmitMerge();
        KernelEntry.WriteEnd(w);
        return KernelEntry.AsciiOnly(w.ToString());
    }

    private DecodeRegisters R { get; set; } = null!;

    /// <summary>The fragment row a comment names: g or g+8.</summary>
    private static string RowName(int rr) => rr == 0 ? "g" : "g+8";

    private static string Int(int value) => I(value);
}

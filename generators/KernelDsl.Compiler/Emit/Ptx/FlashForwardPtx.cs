using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Planning;
using static KernelDsl.Compiler.Emit.Ptx.PtxLiteral;

namespace KernelDsl.Compiler.Emit.Ptx;

/// <summary>
/// Builds the PTX of one FlashAttention-2 forward kernel from a plan. The entry reads top to bottom as the
/// algorithm: set up indices → find the KV blocks the mask band keeps → start the cp.async ring → per KV
/// tile: S = Q·Kᵀ, element mask (boundary tiles only), online softmax, O += P·V → normalise and store O, LSE.
/// Each stage is a method in one of the partial files (Setup, Loads, Mma, Softmax, Epilogue).
/// Register naming: %s = score accumulators, %o = output accumulators, %qa = Q A-fragments, %pa = P A-fragments,
/// %m/%l = running max and sum for this thread's two rows (g and g+8 of its warp's 16-row slab).
/// </summary>
internal sealed partial class FlashForwardPtx
{
    private readonly AttentionSpec _spec;
    private readonly GpuKernelPlan _gpu;
    private readonly ElementType _output;
    private readonly PtxWriter _w = new();

    public FlashForwardPtx(KernelPlan plan)
        : this(plan, plan.Gpu ?? throw new System.ArgumentException("plan has no GPU part", nameof(plan)))
    {
    }

    /// <summary>The kernel of one GPU family of the plan (plan.Gpu or plan.GpuHopper).</summary>
    public FlashForwardPtx(KernelPlan plan, GpuKernelPlan gpu)
    {
        _spec = plan.Spec;
        _gpu = gpu;
        _output = plan.OutputType;
    }

    private int D => _spec.HeadDim;

    private int Dv => _spec.ValueHeadDim;

    private int Bkv => _gpu.BlockKV;

    private int Threads => _gpu.ThreadsPerBlock;

    private GpuSharedMemoryLayout Smem => _gpu.Smem;

    /// <summary>m16 row slabs per warp: each K/V fragment loaded from shared memory feeds this many mma.</summary>
    private int Slabs => _gpu.Slabs;

    /// <summary>Query rows per thread: g and g+8 of each slab.</summary>
    private int RowsPerThread => 2 * Slabs;

    /// <summary>The register prefix of slab ms: slab 0 uses the base name, slab 1 appends 'b' (%o → %ob).</summary>
    private static string Slab(string prefix, int ms) => ms == 0 ? prefix : prefix + "b";

    /// <summary>PTX type suffix of the 16-bit input for mma/cvt: f16 or bf16.</summary>
    private string In16 => _spec.InputType == ElementType.BF16 ? "bf16" : "f16";

    private string P(string name) => _gpu.EntryName + "_param_" + name;

    /// <summary>Hopper family: wgmma from swizzled shared memory (FlashForwardPtx.Wgmma.cs) instead of ldmatrix + mma.sync.</summary>
    private bool Wgmma => _gpu.Family == GpuFamily.Sm90a;

    public string Build()
    {
        var w = _w;
        w.Raw("//");
        w.Raw("// KernelDsl FlashAttention-2 forward" + (Wgmma ? " (Hopper wgmma family)" : string.Empty) + ", " + _spec.Target.FullName);
        w.Raw("// " + Emit.Host.PlanTextRenderer.SpecSummary(_spec, _output));
        w.Raw(System.FormattableString.Invariant($"// tiles {_gpu.BlockQ}x{Bkv}, {_gpu.Warps} warps, {_gpu.Stages} stages, {Smem.TotalBytes} bytes shared memory, ~{_gpu.EstimatedRegisters} registers"));
        w.Raw("//");
        w.Raw(".version " + _gpu.PtxVersion);
        w.Raw(".target " + _gpu.PtxTarget);
        w.Raw(".address_size 64");
        w.Blank();
        w.Raw("// Dynamic shared memory: Q tile, K ring, V ring (offsets in the plan)" + (Wgmma ? "; 1024-byte aligned: the 128-byte swizzle repeats every 8 rows of 128 bytes" : string.Empty) + ".");
        w.Raw(".extern .shared .align " + (Wgmma ? "1024" : "128") + " .b8 kdsl_smem[];");
        w.Blank();
        w.Raw(".visible .entry " + _gpu.EntryName + "(");
        var parameters = PtxAbi.For(_spec);
        for (int i = 0; i < parameters.Count; i++)
        {
            w.Raw("    .param ." + parameters[i].Type + " " + P(parameters[i].Name) + (i + 1 < parameters.Count ? "," : string.Empty));
        }

        w.Raw(")");
        w.Raw(".maxntid " + I(Threads) + ", 1, 1");
        w.Raw("// one block per SM is enough: lets ptxas use the registers it needs instead of capping for two (which spilled at D = 64)");
        w.Raw(".minnctapersm 1");
        w.Raw("{");
        DeclareKernelRegisters();
        EmitSetup();
        EmitModifierSetup();
        EmitBlockRange();
        if (Wgmma)
        {
            EmitWgmmaPrologueAndLoop();
        }
        else
        {
            EmitPrologue();
            EmitMainLoop();
        }

        EmitEpilogue();
        w.Raw("}");
        return AsciiOnly(w.ToString());
    }

    /// <summary>The driver's PTX JIT rejects any non-ASCII byte (even in comments); CUDA 11.8's ptxas accepts them, so check here.</summary>
    private static string AsciiOnly(string ptx)
    {
        foreach (char c in ptx)
        {
            if (c > 127)
            {
                throw new System.InvalidOperationException("non-ASCII character '" + c + "' in emitted PTX");
            }
        }

        return ptx;
    }

    private void DeclareKernelRegisters()
    {
        var w = _w;
        w.Comment("thread/block indices and problem sizes");
        w.Ins(".reg .b32 %thr, %warp, %lane, %g, %t4, %qblk, %head, %batch, %hkv");
        w.Ins(".reg .b32 %seq_q, %seq_kv, %heads_q, %heads_kv");
        w.Comment("global byte pointers for this (batch, head), sequence strides in bytes");
        w.Ins(".reg .b64 %q_base, %k_base, %v_base, %o_base, %lse_ptr, %q_ss, %k_ss, %v_ss, %o_ss");
        if (Wgmma)
        {
            w.Comment("shared-memory addresses of the tiles (the tensor cores address within them through descriptors)");
            w.Ins(".reg .b32 %smem, %q_tile, %k_ring, %v_ring");
        }
        else
        {
            w.Comment("shared-memory addresses: tiles, and each lane's ldmatrix row address within a tile");
            w.Ins(".reg .b32 %smem, %q_tile, %k_ring, %v_ring, %q_ld, %k_ld, %v_ld, %k_cur, %v_cur");
        }
        w.Comment("rows and the mask band: this thread's rows (g, g+8 of each of its m16 slabs), per-row key bounds, the KV block range");
        w.Ins(".reg .b32 %q0, %align, %d_min, %d_max, %full_lo, %full_hi");
        w.Ins(".reg .b32 %row<" + I(RowsPerThread) + ">, %lo<" + I(RowsPerThread) + ">, %hi<" + I(RowsPerThread) + ">");
        w.Ins(".reg .b32 %n, %n_start, %n_end, %kv0, %read_stage, %write_stage");
        w.Ins(".reg .f32 %scale_log2");
        w.Comment("online-softmax state per row: running max (raw scores) and partial sum");
        w.Ins(".reg .f32 %m<" + I(RowsPerThread) + ">, %l<" + I(RowsPerThread) + ">, %alpha<" + I(RowsPerThread) + ">");
        for (int ms = 0; ms < Slabs; ms++)
        {
            w.Comment(System.FormattableString.Invariant($"slab {ms}: accumulators O 16x{Dv} and S 16x{Bkv}, fp32, mma C-fragment order"));
            w.Ins(".reg .f32 " + Slab("%o", ms) + "<" + I(Dv / 2) + ">");
            w.Ins(".reg .f32 " + Slab("%s", ms) + "<" + I(Bkv / 2) + ">");
            w.Comment("P A-fragments: the probabilities converted to 16-bit, reused from registers for P*V");
            w.Ins(".reg .b32 " + Slab("%pa", ms) + "<" + I(Bkv / 4) + ">");
        }

        w.Ins(".reg .pred %p_empty, %p_more, %p_lse");
        DeclareBlockMaskRegisters();
        if (Wgmma)
        {
            DeclareWgmmaRegisters();
        }
    }
}

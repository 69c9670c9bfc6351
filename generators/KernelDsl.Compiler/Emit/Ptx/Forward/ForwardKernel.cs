using KernelDsl.Compiler.Emit.Ptx.Construction;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Planning;
using static KernelDsl.Compiler.Emit.Ptx.PtxLiteral;

namespace KernelDsl.Compiler.Emit.Ptx.Forward;

/// <summary>
/// The stages every FlashAttention-2 forward kernel shares, whatever its matmul family: the entry and its registers,
/// setup (indices, GQA, base pointers, shared memory), the mask band and block-mask range, the cp.async ring, the element
/// mask and modifiers, the online softmax, and the epilogue. A kernel of one family (<see cref="FlashForwardSm80"/>,
/// <see cref="FlashForwardSm90a"/>) composes them with its family's products into its pipeline; the stages themselves
/// are in the partial files of this class (Setup, Band, Ring, ElementMask, Softmax, Modifiers, BlockMask, Epilogue).
/// </summary>
internal abstract partial class ForwardKernel
{
    protected ForwardKernel(KernelPlan plan, GpuKernelPlan gpu, IMatmulFamily family)
    {
        Spec = plan.Spec;
        Gpu = gpu;
        OutputType = plan.OutputType;
        Family = family;
        Shape = new ForwardShape(Spec.HeadDim, Spec.ValueHeadDim, gpu.BlockQ, gpu.BlockKV, gpu.Slabs, gpu.ThreadsPerBlock, gpu.Stages,
            ElementTraits.Of(Spec.InputType), ElementTraits.Of(plan.OutputType));
        Entry = new KernelEntry(gpu.EntryName, PtxAbi.For(gpu));
    }

    protected AttentionSpec Spec { get; }

    protected GpuKernelPlan Gpu { get; }

    protected ElementType OutputType { get; }

    protected IMatmulFamily Family { get; }

    protected ForwardShape Shape { get; }

    protected KernelEntry Entry { get; }

    protected PtxWriter W { get; } = new();

    /// <summary>The dynamic shared-memory array every tile lives in (declared in the header, its address taken by setup).</summary>
    private const string SharedMemorySymbol = "kdsl_smem";

    /// <summary>Where every thread ends: the band's empty check branches here, the epilogue places it.</summary>
    protected PtxLabel Epilogue { get; private set; } = null!;

    /// <summary>The kernel-scope registers (set once the entry is open).</summary>
    protected ForwardRegisters R { get; private set; } = null!;

    /// <summary>One kernel of the plan's list (plan.GpuKernels): the family's composition of the forward pipeline.</summary>
    public static string Build(KernelPlan plan, GpuKernelPlan gpu)
    {
        var (element, d, dv) = (ElementTraits.Of(plan.Spec.InputType), plan.Spec.HeadDim, plan.Spec.ValueHeadDim);
        ForwardKernel kernel = gpu.Family switch
        {
            GpuFamily.Sm90a => new FlashForwardSm90a(plan, gpu, new WgmmaFamily(gpu, element, d, dv)),
            _ => new FlashForwardSm80(plan, gpu, new MmaSyncFamily(gpu, element, d, dv)),
        };
        return kernel.Build();
    }

    /// <summary>The algorithm: open the entry, set up, find the band, run the family's pipeline over the kept KV tiles, write O and LSE.</summary>
    private string Build()
    {
        OpenEntry();
        EmitSetup();
        EmitModifierSetup();
        EmitBlockRange();
        EmitPipeline();
        EmitEpilogue();
        KernelEntry.WriteEnd(W);
        return KernelEntry.AsciiOnly(W.ToString());
    }

    /// <summary>The prologue and the main loop over the kept KV tiles: S = Q·Kᵀ, element mask, online softmax, O += P·V.</summary>
    protected abstract void EmitPipeline();

    private void OpenEntry()
    {
        Entry.WriteHeader(W,
            new[]
            {
                "KernelDsl FlashAttention-2 " + (IsVarlen ? "varlen forward (packed sequences, cu_seqlens)" : "forward") + Family.BannerTag + ", " + Spec.Target.FullName,
                Emit.Host.PlanTextRenderer.SpecSummary(Spec, OutputType),
                System.FormattableString.Invariant($"tiles {Gpu.BlockQ}x{Gpu.BlockKV}, {Gpu.Warps} warps, {Gpu.Stages} stages, {Gpu.Smem.TotalBytes} bytes shared memory, ~{Gpu.EstimatedRegisters} registers"),
            },
            framed: true, Gpu.PtxVersion, Gpu.PtxTarget,
            new[] { ("Dynamic shared memory: Q tile, K ring, V ring (offsets in the plan)" + Family.SharedAlignmentNote + ".", ".extern .shared .align " + I(Family.SharedAlignment) + " .b8 " + SharedMemorySymbol + "[];") },
            new[]
            {
                KernelEntry.MaxThreads(Shape.Threads),
                "// one block per SM is enough: lets ptxas use the registers it needs instead of capping for two (which spilled at D = 64)",
                ".minnctapersm 1",
            });
        R = new ForwardRegisters(W, Shape, Family, HasBlockMask, IsVarlen);
        Epilogue = W.NewLabel("EPILOGUE");
    }
}

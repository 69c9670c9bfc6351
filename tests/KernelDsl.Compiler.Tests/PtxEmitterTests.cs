using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using KernelDsl.Compiler.Compilation;
using KernelDsl.Compiler.Emit.Ptx;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Planning;
using Shouldly;
using Xunit;

namespace KernelDsl.Compiler.Tests;

public sealed class PtxEmitterTests
{
    [Fact]
    public void Emits_the_gpu_file_with_launch_constants_inside_the_partial_class()
    {
        var output = KernelCompiler.Compile(Specs.Make(128, mask: Specs.CausalBottomRight, name: "Causal"));
        var file = output.Files.Single(f => f.HintName == "Tests.Causal.Gpu.g.cs");
        var gpu = Planner.Plan(Specs.Make(128, mask: Specs.CausalBottomRight, name: "Causal")).Plan!.PortableGpuKernel()!;
        file.Text.ShouldContain("static partial class Causal");
        file.Text.ShouldContain("private static class __GpuKernel");
        file.Text.ShouldContain("public const string EntryName = \"kdsl_Tests_Causal_fwd\";");
        file.Text.ShouldContain($"public const int ThreadsPerBlock = {gpu.ThreadsPerBlock};");
        file.Text.ShouldContain($"public const int BlockQ = {gpu.BlockQ};");
        file.Text.ShouldContain($"public const int SharedMemoryBytes = {gpu.Smem.TotalBytes};");
        file.Text.ShouldContain("public static readonly string Ptx = global::System.Text.Encoding.UTF8.GetString(\"\"\"");
    }

    [Fact]
    public void Fp32_specs_get_no_gpu_file()
    {
        KernelCompiler.Compile(Specs.Make(64, dtype: ElementType.FP32)).Files.ShouldNotContain(f => f.HintName.EndsWith(".Gpu.g.cs"));
    }

    [Fact]
    public void Ptx_header_params_and_instructions_follow_the_abi()
    {
        var plan = Planner.Plan(Specs.Make(128, dtype: ElementType.FP16, lse: true)).Plan!;
        string ptx = PtxEmitter.PtxFor(plan)!;
        ptx.ShouldContain(".version 7.8\n.target sm_80\n.address_size 64");
        var names = Regex.Matches(ptx, @"\.param \.(u64|u32) kdsl_Tests_Spec_fwd_param_(\w+)").Select(m => (m.Groups[2].Value, m.Groups[1].Value)).ToList();
        names.ShouldBe(PtxAbi.Parameters.Select(p => (p.Name, p.Type)).ToList());
        ptx.ShouldContain("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32");
        ptx.ShouldContain("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16");
        ptx.ShouldContain("cp.async.cg.shared.global");
        ptx.ShouldContain("ex2.approx.ftz.f32");
        ptx.ShouldContain("cvt.rn.f16x2.f32");
        ptx.ShouldAllBe(c => c < 128);
    }

    [Fact]
    public void Bf16_specs_use_bf16_mma_and_conversions()
    {
        string ptx = PtxEmitter.PtxFor(Planner.Plan(Specs.Make(64, dtype: ElementType.BF16)).Plan!)!;
        ptx.ShouldContain("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32");
        ptx.ShouldContain("cvt.rn.bf16x2.f32");
        ptx.ShouldNotContain(".f16.f16");
    }

    [Fact]
    public void Unmasked_specs_still_mask_keys_past_the_end_but_use_no_band_bound()
    {
        string dense = PtxEmitter.PtxFor(Planner.Plan(Specs.Make(64)).Plan!)!;
        dense.ShouldContain("MASK_DONE");
        dense.ShouldNotContain("sub.s32 %rel_lo0, %lo0, %jb");
        string window = PtxEmitter.PtxFor(Planner.Plan(Specs.Make(64, mask: Specs.WindowTopLeft)).Plan!)!;
        window.ShouldContain("sub.s32 %rel_lo0, %lo0, %jb");
    }

    [Fact]
    public void Emission_is_deterministic()
    {
        var spec = Specs.Make(96, mask: Specs.WindowBottomRight, lse: true);
        PtxEmitter.PtxFor(Planner.Plan(spec).Plan!).ShouldBe(PtxEmitter.PtxFor(Planner.Plan(spec).Plan!));
    }

    /// <summary>
    /// Snapshot of one whole kernel (D = 128, bf16, causal bottom-right, LSE): any change to the emitted PTX shows
    /// up as a diff of Snapshots/*.approved.ptx. Set KDSL_ACCEPT_SNAPSHOTS=1 to rewrite the baseline.
    /// </summary>
    [Fact]
    public void Snapshot_of_a_causal_bf16_kernel()
    {
        var spec = Specs.Make(128, dtype: ElementType.BF16, mask: Specs.CausalBottomRight, lse: true, name: "CausalBf16");
        MatchesApprovedPtx(PtxEmitter.PtxFor(Planner.Plan(spec).Plan!)!, "CausalBf16");
    }

    /// <summary>The Hopper-family kernel of the same spec (wgmma, swizzled shared memory), reviewed as a diff like the sm_80 one.</summary>
    [Fact]
    public void Snapshot_of_a_causal_bf16_hopper_kernel()
    {
        var spec = Specs.Make(128, dtype: ElementType.BF16, mask: Specs.CausalBottomRight, lse: true, name: "CausalBf16");
        MatchesApprovedPtx(PtxEmitter.PtxFor(Planner.Plan(spec).Plan!, Planner.Plan(spec).Plan!.GpuKernel(GpuFamily.Sm90a)!), "CausalBf16.sm90a");
    }

    private static void MatchesApprovedPtx(string ptx, string name) => PtxSnapshot.Matches(ptx, name);
}

using System;
using System.Collections.Concurrent;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using KernelDsl.Compiler.Emit.Ptx;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Planning;
using Shouldly;
using Xunit;

namespace KernelDsl.Compiler.Tests;

/// <summary>
/// The varlen forward kernel (issue 11) in the plan, its ABI, its PTX snapshot, the dense forward left byte-identical, and
/// the ptxas gate: every varlen kernel of the matrix assembles for sm_80 and sm_90 with the main toolchain (CUDA 11.8) with no
/// stack and no spills, and for sm_90 with CUDA 12.4's where present (KDSL_CUDA12_BIN) with none wherever the dense kernel
/// of the spec has none; HMMA in the SASS.
/// </summary>
public sealed class VarlenPtxTests
{
    [Fact]
    public void A_varlen_spec_plans_a_varlen_kernel_with_the_forward_tiles_and_no_block_mask()
    {
        var plan = Planner.Plan(VarlenSpecs.Varlen(Specs.Make(128, null, ElementType.BF16, Specs.CausalBottomRight, true))).Plan!;
        plan.GpuKernels.Select(k => k.Kind).ShouldBe([GpuKernelKind.Forward, GpuKernelKind.Forward, GpuKernelKind.ForwardVarlen, GpuKernelKind.ForwardVarlen]);
        foreach (var family in new[] { GpuFamily.Sm80, GpuFamily.Sm90a })
        {
            var varlen = plan.GpuKernel(family, GpuKernelKind.ForwardVarlen)!;
            var forward = plan.GpuKernel(family)!;
            (varlen.BlockQ, varlen.BlockKV, varlen.Warps, varlen.Stages, varlen.Slabs).ShouldBe((forward.BlockQ, forward.BlockKV, forward.Warps, forward.Stages, forward.Slabs));
            varlen.EntryName.ShouldEndWith(family == GpuFamily.Sm90a ? "_varlen_sm90a" : "_varlen");
        }

        plan.PortableGpuKernel(GpuKernelKind.ForwardVarlen)!.Family.ShouldBe(GpuFamily.Sm80);
        Planner.Plan(VarlenSpecs.Varlen(Specs.Make(256))).Plan!.GpuKernelsOf(GpuKernelKind.ForwardVarlen).Select(k => k.Family).ShouldBe([GpuFamily.Sm80]);

        var masked = Planner.Plan(VarlenSpecs.Varlen(Modifiers.With(Specs.Make(64), null, Modifiers.PrefixLm))).Plan!;
        masked.PortableGpuKernel()!.TakesBlockMask.ShouldBeTrue();
        masked.PortableGpuKernel(GpuKernelKind.ForwardVarlen)!.TakesBlockMask.ShouldBeFalse();

        Planner.Plan(Specs.Make(128)).Plan!.GpuKernelsOf(GpuKernelKind.ForwardVarlen).ShouldBeEmpty();
        Planner.Plan(VarlenSpecs.Varlen(Specs.Make(128, dtype: ElementType.FP32))).Plan!.GpuKernels.ShouldBeEmpty();
        var both = Planner.Plan(DecodeSpecs.Paged(VarlenSpecs.Varlen(Specs.Make(128, null, ElementType.BF16, Specs.CausalBottomRight, true)))).Plan!;
        both.GpuKernels.Select(k => k.Kind).ShouldBe([GpuKernelKind.Forward, GpuKernelKind.Forward, GpuKernelKind.Decode, GpuKernelKind.DecodeMerge, GpuKernelKind.ForwardVarlen, GpuKernelKind.ForwardVarlen]);
    }

    [Fact]
    public void The_varlen_entry_lists_the_parameters_of_its_abi_record()
    {
        var spec = VarlenSpecs.Varlen(Modifiers.With(Specs.Make(128, null, ElementType.BF16, Specs.CausalBottomRight, true), Modifiers.CapturedAlibi, null));
        var plan = Planner.Plan(spec).Plan!;
        var kernel = plan.PortableGpuKernel(GpuKernelKind.ForwardVarlen)!;
        string ptx = PtxEmitter.PtxFor(plan, kernel);
        var declared = System.Text.RegularExpressions.Regex.Matches(ptx, @"\.param \.(u64|u32|s32) (\S+?)[,\n)]").Select(m => (m.Groups[2].Value, m.Groups[1].Value)).ToList();
        declared.ShouldBe(kernel.Abi.Parameters.Select(p => (kernel.EntryName + "_param_" + p.Name, p.PtxType)).ToList());
        kernel.Abi.Parameters.Select(p => p.Value).ShouldContain(AbiValue.KeyOffsets);
        kernel.Abi.Parameters.Select(p => p.Value).ShouldNotContain(AbiValue.SeqQ);
        kernel.Abi.Parameters.Count(p => p.Value == AbiValue.CapturedBuffer).ShouldBe(1);
    }

    [Fact]
    public void Varlen_leaves_the_dense_forward_kernels_byte_identical()
    {
        foreach (var dense in VarlenSpecs.Matrix().Select(s => s with { Varlen = null }))
        {
            var densePlan = Planner.Plan(dense).Plan!;
            var varlenPlan = Planner.Plan(VarlenSpecs.Varlen(dense)).Plan!;
            foreach (var kernel in densePlan.GpuKernelsOf(GpuKernelKind.Forward))
            {
                PtxEmitter.PtxFor(varlenPlan, varlenPlan.GpuKernel(kernel.Family)!).ShouldBe(PtxEmitter.PtxFor(densePlan, kernel));
            }
        }
    }

    [Fact]
    public void The_varlen_kernel_reads_offsets_exits_past_its_sequence_and_writes_token_major_lse()
    {
        var spec = VarlenSpecs.Varlen(Specs.Make(128, null, ElementType.BF16, Specs.CausalBottomRight, true));
        var plan = Planner.Plan(spec).Plan!;
        string ptx = PtxEmitter.PtxFor(plan, plan.PortableGpuKernel(GpuKernelKind.ForwardVarlen)!);
        ptx.ShouldContain("_param_query_offsets");
        ptx.ShouldContain("_param_key_offsets");
        ptx.ShouldContain("@%leave ret;");
        ptx.ShouldContain("varlen LSE [totalQ, Hq]");
        ptx.ShouldNotContain("_param_seq_q");
        ptx.ShouldNotContain("batch_stride");
    }

    /// <summary>The varlen kernel of the causal bf16 spec, reviewed as a diff (Snapshots/CausalBf16.varlen.approved.ptx).</summary>
    [Fact]
    public void Snapshot_of_a_causal_bf16_varlen_kernel()
    {
        var spec = VarlenSpecs.Varlen(Specs.Make(128, dtype: ElementType.BF16, mask: Specs.CausalBottomRight, lse: true, name: "CausalBf16"));
        var plan = Planner.Plan(spec).Plan!;
        PtxSnapshot.Matches(PtxEmitter.PtxFor(plan, plan.PortableGpuKernel(GpuKernelKind.ForwardVarlen)!), "CausalBf16.varlen");
    }

    /// <summary>The Hopper family's varlen kernel of the same spec (wgmma), reviewed as a diff like the sm_80 one.</summary>
    [Fact]
    public void Snapshot_of_a_causal_bf16_hopper_varlen_kernel()
    {
        var spec = VarlenSpecs.Varlen(Specs.Make(128, dtype: ElementType.BF16, mask: Specs.CausalBottomRight, lse: true, name: "CausalBf16"));
        var plan = Planner.Plan(spec).Plan!;
        PtxSnapshot.Matches(PtxEmitter.PtxFor(plan, plan.GpuKernel(GpuFamily.Sm90a, GpuKernelKind.ForwardVarlen)!), "CausalBf16.varlen.sm90a");
    }

    /// <summary>The sm_90a varlen kernels assemble with CUDA 12+ for sm_90a with HGMMA, and spill only where the dense sm_90a kernel of the spec does.</summary>
    [Fact]
    public void Every_hopper_varlen_kernel_assembles_for_sm90a()
    {
        if (PtxTools.Hopper is not { } hopper)
        {
            Assert.NotEqual("1", Environment.GetEnvironmentVariable("KDSL_REQUIRE_SM90A"));
            Assert.Skip(PtxTools.HopperMissingReason);
            return;
        }

        string dir = Path.Combine(Path.GetTempPath(), "kdsl-ptx-varlen-sm90a-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        var kernels = VarlenSpecs.Matrix().Select(spec => Planner.Plan(spec).Plan!)
            .Where(plan => plan.GpuKernel(GpuFamily.Sm90a, GpuKernelKind.ForwardVarlen) is not null)
            .Select(plan => (Plan: plan, Kernel: plan.GpuKernel(GpuFamily.Sm90a, GpuKernelKind.ForwardVarlen)!, Dense: plan.GpuKernel(GpuFamily.Sm90a)!)).ToList();
        kernels.ShouldNotBeEmpty();
        var lines = new ConcurrentBag<string>();
        var failures = new ConcurrentBag<string>();
        Parallel.ForEach(kernels, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, item =>
        {
            var (plan, gpu, dense) = item;
            (PtxTools.Report Report, string Sass)? Assemble(GpuKernelPlan kernel)
            {
                string ptxPath = Path.Combine(dir, kernel.EntryName + ".ptx");
                File.WriteAllText(ptxPath, PtxEmitter.PtxFor(plan, kernel));
                var (code, output) = PtxTools.Run(hopper.Ptxas, $"-arch=sm_90a -v \"{ptxPath}\" -o \"{ptxPath}.cubin\"");
                return code != 0 ? null : (PtxTools.Parse(output), PtxTools.Run(hopper.Cuobjdump, $"-sass \"{ptxPath}.cubin\"").Output);
            }

            if (Assemble(gpu) is not { } varlen || Assemble(dense) is not { } baseline)
            {
                failures.Add($"{gpu.EntryName} sm_90a (CUDA {hopper.Release}): ptxas failed");
                return;
            }

            static bool Spills(PtxTools.Report r) => r.StackFrame != 0 || r.SpillStores != 0 || r.SpillLoads != 0;
            int hgmma = varlen.Sass.Split('\n').Count(l => l.Contains("HGMMA"));
            lines.Add($"{gpu.EntryName,-44} sm_90a CUDA {hopper.Release}  regs {varlen.Report.Registers,3} (dense {baseline.Report.Registers,3})  stack {varlen.Report.StackFrame}  spills {varlen.Report.SpillStores}/{varlen.Report.SpillLoads}  HGMMA {hgmma}");
            if (Spills(varlen.Report) && !Spills(baseline.Report))
            {
                failures.Add($"{gpu.EntryName} sm_90a: stack frame {varlen.Report.StackFrame}, spills {varlen.Report.SpillStores}/{varlen.Report.SpillLoads} (the dense kernel has none)");
            }

            if (hgmma == 0)
            {
                failures.Add($"{gpu.EntryName} sm_90a: no HGMMA in SASS");
            }
        });

        foreach (var line in lines.OrderBy(l => l, StringComparer.Ordinal))
        {
            TestContext.Current.TestOutputHelper?.WriteLine(line);
        }

        Directory.Delete(dir, recursive: true);
        failures.ShouldBeEmpty(string.Join("\n", failures));
        lines.Count.ShouldBe(kernels.Count);
    }

    [Fact]
    public void Every_varlen_kernel_assembles_for_sm80_and_sm90_without_spills()
    {
        if (PtxTools.Ptxas is null || PtxTools.Cuobjdump is null)
        {
            Assert.NotEqual("1", Environment.GetEnvironmentVariable("KDSL_REQUIRE_PTXAS"));
            Assert.Skip(PtxTools.MissingReason);
            return;
        }

        var toolchains = new[] { (Name: "main", Ptxas: PtxTools.Ptxas!, Cuobjdump: PtxTools.Cuobjdump!, Release: PtxTools.PtxasRelease, Archs: new[] { "sm_80", "sm_90" }) }.ToList();
        if (PtxTools.Hopper is { } hopper && hopper.Ptxas != PtxTools.Ptxas)
        {
            toolchains.Add(("hopper", hopper.Ptxas, hopper.Cuobjdump, hopper.Release, new[] { "sm_90" }));
        }

        string dir = Path.Combine(Path.GetTempPath(), "kdsl-ptx-varlen-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        var kernels = VarlenSpecs.Matrix().Select(spec =>
        {
            var plan = Planner.Plan(spec).Plan!;
            return (Plan: plan, Kernel: plan.PortableGpuKernel(GpuKernelKind.ForwardVarlen)!);
        }).ToList();
        var lines = new ConcurrentBag<string>();
        var failures = new ConcurrentBag<string>();
        Parallel.ForEach(kernels, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, item =>
        {
            var (plan, gpu) = item;
            string ptxPath = Path.Combine(dir, gpu.EntryName + ".ptx");
            File.WriteAllText(ptxPath, PtxEmitter.PtxFor(plan, gpu));
            foreach (var tools in toolchains)
            {
                foreach (var arch in tools.Archs)
                {
                    string cubin = Path.Combine(dir, gpu.EntryName + "." + tools.Name + "." + arch + ".cubin");
                    var (code, output) = PtxTools.Run(tools.Ptxas, $"-arch={arch} -v \"{ptxPath}\" -o \"{cubin}\"");
                    if (code != 0)
                    {
                        failures.Add($"{gpu.EntryName} {arch} (CUDA {tools.Release}): ptxas failed\n{output}");
                        continue;
                    }

                    var report = PtxTools.Parse(output);
                    var (_, sass) = PtxTools.Run(tools.Cuobjdump, $"-sass \"{cubin}\"");
                    int hmma = sass.Split('\n').Count(l => l.Contains("HMMA"));
                    lines.Add($"{gpu.EntryName,-40} {arch} CUDA {tools.Release}  regs {report.Registers,3} (plan ~{gpu.EstimatedRegisters,3})  stack {report.StackFrame}  spills {report.SpillStores}/{report.SpillLoads}  HMMA {hmma}  smem {gpu.Smem.TotalBytes}");
                    if (report.StackFrame != 0 || report.SpillStores != 0 || report.SpillLoads != 0)
                    {
                        // CUDA 12.4's ptxas spills the dense sm_80-family forward itself on sm_90 for some D = 128 specs
                        // (captured ALiBi 8/32 bytes, a sliding window 8/8: measured 2026-12-03). With CUDA 12 or later the
                        // varlen kernel is held to the dense kernel's standard (it must not spill where the dense one does
                        // not); with CUDA 11.8 (CI's), to none.
                        bool? dense = IsCuda12OrLater(tools.Release) ? DenseSpills(plan, tools.Ptxas, arch, dir) : null;
                        if (dense is null || !dense.Value)
                        {
                            failures.Add($"{gpu.EntryName} {arch} (CUDA {tools.Release}): stack frame {report.StackFrame}, spills {report.SpillStores}/{report.SpillLoads}");
                        }
                        else
                        {
                            lines.Add($"{gpu.EntryName,-40} {arch} CUDA {tools.Release}  spills where the dense forward of the spec spills too (allowed, see the comment)");
                        }
                    }

                    if (hmma == 0)
                    {
                        failures.Add($"{gpu.EntryName} {arch} (CUDA {tools.Release}): no HMMA in SASS");
                    }
                }
            }
        });

        var log = TestContext.Current.TestOutputHelper;
        foreach (var line in lines.OrderBy(l => l, StringComparer.Ordinal))
        {
            log?.WriteLine(line);
        }

        Directory.Delete(dir, recursive: true);
        failures.ShouldBeEmpty(string.Join("\n", failures));
        lines.Count(l => !l.Contains("allowed", StringComparison.Ordinal)).ShouldBe(kernels.Count * toolchains.Sum(t => t.Archs.Length));
    }

    private static bool IsCuda12OrLater(string release) => int.TryParse(release.Split('.')[0], out int major) && major >= 12;

    /// <summary>Whether the dense sm_80-family forward of the same spec spills (or uses stack) with this ptxas and arch.</summary>
    private static bool DenseSpills(KernelPlan plan, string ptxas, string arch, string dir)
    {
        var dense = plan.PortableGpuKernel()!;
        string ptxPath = Path.Combine(dir, dense.EntryName + ".dense." + arch + ".ptx");
        File.WriteAllText(ptxPath, PtxEmitter.PtxFor(plan, dense));
        var (code, output) = PtxTools.Run(ptxas, $"-arch={arch} -v \"{ptxPath}\" -o \"{ptxPath}.cubin\"");
        if (code != 0)
        {
            return false;
        }

        var report = PtxTools.Parse(output);
        return report.StackFrame != 0 || report.SpillStores != 0 || report.SpillLoads != 0;
    }
}

using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
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
/// The paged decode kernels (issue 11) in the plan, the ABI and the ptxas gate: every decode and merge kernel of the
/// matrix assembles for sm_80 and sm_90 with no stack and no spills, the decode kernel's SASS holds HMMA, and the
/// registers stay near the plan's estimate.
/// </summary>
public sealed class DecodePtxTests
{
    private const int EstimateTolerance = 48;

    [Fact]
    public void A_paged_spec_plans_a_decode_and_a_merge_kernel_after_its_forward_kernels()
    {
        var plan = Planner.Plan(DecodeSpecs.Paged(Specs.Make(128, null, ElementType.BF16, Specs.CausalBottomRight, true))).Plan!;
        plan.GpuKernels.Select(k => k.Kind).ShouldBe([GpuKernelKind.Forward, GpuKernelKind.Forward, GpuKernelKind.Decode, GpuKernelKind.DecodeMerge]);
        var decode = plan.PortableGpuKernel(GpuKernelKind.Decode)!;
        decode.Family.ShouldBe(GpuFamily.Sm80);
        decode.BlockQ.ShouldBe(16);
        decode.BlockKV.ShouldBe(64);
        decode.Warps.ShouldBe(4);
        decode.EntryName.ShouldEndWith("_decode");
        plan.PortableGpuKernel(GpuKernelKind.DecodeMerge)!.EntryName.ShouldEndWith("_decode_merge");
        Planner.Plan(Specs.Make(128)).Plan!.GpuKernelsOf(GpuKernelKind.Decode).ShouldBeEmpty();
        Planner.Plan(DecodeSpecs.Paged(Specs.Make(128, dtype: ElementType.FP32))).Plan!.GpuKernels.ShouldBeEmpty();
    }

    [Fact]
    public void An_append_spec_plans_the_fused_kernel_next_to_decode_except_at_head_dim_256()
    {
        var plan = Planner.Plan(DecodeSpecs.Append(Specs.Make(128, null, ElementType.BF16, Specs.CausalBottomRight, true), RotaryConvention.HalfSplit, 64)).Plan!;
        plan.GpuKernels.Select(k => k.Kind).ShouldBe([GpuKernelKind.Forward, GpuKernelKind.Forward, GpuKernelKind.Decode, GpuKernelKind.DecodeAppend, GpuKernelKind.RotateAppend, GpuKernelKind.DecodeMerge]);
        plan.PortableGpuKernel(GpuKernelKind.RotateAppend)!.Abi.Parameters.Select(p => p.Value).ShouldContain(AbiValue.RotatedQ);
        var append = plan.PortableGpuKernel(GpuKernelKind.DecodeAppend)!;
        append.EntryName.ShouldEndWith("_decode_append");
        append.Abi.Parameters.TakeLast(2).Select(p => p.Value).ShouldBe([AbiValue.NewKeys, AbiValue.NewValues]);
        string ptx = PtxEmitter.PtxFor(plan, append);
        ptx.ShouldContain(".const .align 8 .u64 kdsl_rope_turns[32]");
        ptx.ShouldContain("sin.approx.f32");
        PtxEmitter.PtxFor(plan, plan.PortableGpuKernel(GpuKernelKind.Decode)!).ShouldNotContain("kdsl_rope_turns");

        var wide = Planner.Plan(DecodeSpecs.Append(Specs.Make(256, null, ElementType.BF16, Specs.CausalBottomRight, true), RotaryConvention.HalfSplit, null)).Plan!;
        wide.GpuKernelsOf(GpuKernelKind.DecodeAppend).ShouldBeEmpty();
        wide.GpuKernelsOf(GpuKernelKind.RotateAppend).ShouldBeEmpty();
        wide.GpuKernelsOf(GpuKernelKind.Decode).ShouldNotBeEmpty();
        KernelDsl.Compiler.Emit.Host.PlanTextRenderer.Render(wide).ShouldContain("DecodeAppend runs on the CPU only");
    }

    [Fact]
    public void The_rotary_table_holds_each_pairs_turns_per_position_in_fixed_point()
    {
        var plan = Planner.Plan(DecodeSpecs.Append(Specs.Make(64, null, ElementType.FP16, MaskSpec.None, false), RotaryConvention.Interleaved, 8)).Plan!;
        string ptx = PtxEmitter.PtxFor(plan, plan.PortableGpuKernel(GpuKernelKind.DecodeAppend)!);
        var table = System.Text.RegularExpressions.Regex.Match(ptx, @"kdsl_rope_turns\[4\] = \{([0-9, ]+)\}").Groups[1].Value.Split(", ").Select(ulong.Parse).ToArray();
        table.Length.ShouldBe(4);
        for (int i = 0; i < 4; i++)
        {
            double theta = Math.Pow(500000.0, -2.0 * i / 8);
            (table[i] / 18446744073709551616.0 * 2 * Math.PI).ShouldBe(theta, theta * 1e-12);
        }
    }

    [Fact]
    public void The_decode_entry_lists_the_parameters_of_its_abi_record()
    {
        var spec = DecodeSpecs.Paged(Modifiers.With(Specs.Make(128, null, ElementType.BF16, Specs.CausalBottomRight, true), Modifiers.CapturedAlibi, Modifiers.CapturedDocuments));
        var plan = Planner.Plan(spec).Plan!;
        foreach (var kernel in plan.GpuKernels.Where(k => k.Kind != GpuKernelKind.Forward))
        {
            string ptx = PtxEmitter.PtxFor(plan, kernel);
            var declared = System.Text.RegularExpressions.Regex.Matches(ptx, @"\.param \.(u64|u32|s32) (\S+?)[,\n)]").Select(m => (m.Groups[2].Value, m.Groups[1].Value)).ToList();
            declared.ShouldBe(kernel.Abi.Parameters.Select(p => (kernel.EntryName + "_param_" + p.Name, p.PtxType)).ToList());
        }

        plan.PortableGpuKernel(GpuKernelKind.Decode)!.Abi.Parameters.Count(p => p.Value == AbiValue.CapturedBuffer).ShouldBe(2);
    }

    [Fact]
    public void Every_decode_and_merge_kernel_assembles_for_sm80_and_sm90_without_spills()
    {
        if (PtxTools.Ptxas is null || PtxTools.Cuobjdump is null)
        {
            Assert.NotEqual("1", Environment.GetEnvironmentVariable("KDSL_REQUIRE_PTXAS"));
            Assert.Skip(PtxTools.MissingReason);
            return;
        }

        string dir = Path.Combine(Path.GetTempPath(), "kdsl-ptx-decode-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        var kernels = DecodeSpecs.Matrix().SelectMany(spec =>
        {
            var plan = Planner.Plan(spec).Plan!;
            return plan.GpuKernels.Where(k => k.Kind != GpuKernelKind.Forward).Select(k => (Spec: spec, Plan: plan, Kernel: k));
        }).ToList();
        var lines = new ConcurrentBag<string>();
        var failures = new ConcurrentBag<string>();
        Parallel.ForEach(kernels, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, item =>
        {
            var (spec, plan, gpu) = item;
            string ptxPath = Path.Combine(dir, gpu.EntryName + ".ptx");
            File.WriteAllText(ptxPath, PtxEmitter.PtxFor(plan, gpu));
            foreach (var arch in new[] { "sm_80", "sm_90" })
            {
                string cubin = Path.Combine(dir, gpu.EntryName + "." + arch + ".cubin");
                var (code, output) = PtxTools.Run(PtxTools.Ptxas!, $"-arch={arch} -v \"{ptxPath}\" -o \"{cubin}\"");
                if (code != 0)
                {
                    failures.Add($"{gpu.EntryName} {arch}: ptxas failed\n{output}");
                    continue;
                }

                var report = PtxTools.Parse(output);
                var (_, sass) = PtxTools.Run(PtxTools.Cuobjdump!, $"-sass \"{cubin}\"");
                int hmma = sass.Split('\n').Count(l => l.Contains("HMMA"));
                lines.Add($"{gpu.EntryName,-50} {arch}  regs {report.Registers,3} (plan ~{gpu.EstimatedRegisters,3})  stack {report.StackFrame}  spills {report.SpillStores}/{report.SpillLoads}  HMMA {hmma}  smem {gpu.Smem.TotalBytes}");
                if (report.StackFrame != 0 || report.SpillStores != 0 || report.SpillLoads != 0)
                {
                    failures.Add($"{gpu.EntryName} {arch}: stack frame {report.StackFrame}, spills {report.SpillStores}/{report.SpillLoads}");
                }

                if (gpu.Kind is GpuKernelKind.Decode or GpuKernelKind.DecodeAppend && hmma == 0)
                {
                    failures.Add($"{gpu.EntryName} {arch}: no HMMA in SASS");
                }

                if (gpu.Kind is GpuKernelKind.Decode or GpuKernelKind.DecodeAppend && Math.Abs(report.Registers - gpu.EstimatedRegisters) > EstimateTolerance)
                {
                    failures.Add($"{gpu.EntryName} {arch}: {report.Registers} registers, plan estimated {gpu.EstimatedRegisters}");
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
        lines.Count.ShouldBe(2 * kernels.Count);
    }
}

using System;
using System.Collections.Concurrent;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using KernelDsl.Compiler.Emit.Ptx;
using KernelDsl.Compiler.Planning;
using Shouldly;
using Xunit;

namespace KernelDsl.Compiler.Tests;

/// <summary>
/// The CI gate for GPU code without a GPU: every kernel of the spec matrix is assembled by ptxas for sm_80 and
/// sm_90; it must assemble, use no stack frame and spill nothing, stay within the register limit, and its SASS
/// must hold tensor-core instructions (HMMA). Registers are printed next to the plan's estimate.
/// </summary>
public sealed class PtxAssemblyTests
{
    /// <summary>How far ptxas may land from the planner's estimate before the estimate is considered wrong.</summary>
    private const int EstimateTolerance = 48;

    [Fact]
    public void Every_kernel_assembles_for_sm80_and_sm90_without_spills_and_uses_HMMA() => AssembleAll(Specs.PtxMatrix(), "kdsl-ptx-");

    /// <summary>Score/mask modifier kernels (softcap, ALiBi, prefix-LM, sliding window + global tokens; fp16/bf16; D 64/128).</summary>
    [Fact]
    public void Every_modifier_kernel_assembles_for_sm80_and_sm90_without_spills_and_uses_HMMA() => AssembleAll(Modifiers.PtxMatrix(), "kdsl-ptx-mods-");

    [Fact]
    public void Every_captured_buffer_kernel_assembles_for_sm80_and_sm90_without_spills_and_uses_HMMA() => AssembleAll(Modifiers.CapturedPtxMatrix(), "kdsl-ptx-captured-");

    /// <summary>
    /// The backward's three kernels (preprocess, dK/dV, dQ; sm_80 family) of every spec of the backward matrix: head dims
    /// 32–128, fp16/bf16, dense/causal/window, D ≠ Dv, fp32 output, softcap, ALiBi, captured slopes and documents, prefix-LM.
    /// The preprocess has no matrix product, so only the other two must hold HMMA.
    /// </summary>
    [Fact]
    public void Every_backward_kernel_assembles_for_sm80_and_sm90_without_spills_and_uses_HMMA() =>
        AssembleAll(Specs.BackwardMatrix(), "kdsl-ptx-bwd-", kernels: plan => plan.GpuKernels.Where(k => k.Kind != GpuKernelKind.Forward));

    /// <summary>
    /// The atomic-dQ mode's two kernels (dK/dV + dQ by red.global.add, and the dQ conversion) of the same matrix built
    /// without Deterministic, plus head dim 80 (an odd count of 16-column groups, split between two warps with one repeated).
    /// </summary>
    [Fact]
    public void Every_atomic_dq_backward_kernel_assembles_for_sm80_and_sm90_without_spills_and_uses_HMMA() =>
        AssembleAll(Specs.AtomicBackwardMatrix(), "kdsl-ptx-bwd-atomic-",
            kernels: plan => plan.GpuKernels.Where(k => k.Kind is GpuKernelKind.BackwardKeyValueAtomic or GpuKernelKind.BackwardQueryConvert));

    /// <summary>
    /// The Hopper-family kernels (sm_90a, wgmma) of all three matrices: 0 spills, HGMMA in the SASS, and no wgmma
    /// serialization warning (ptxas serializes wgmma when it cannot prove the accumulators are left alone while in
    /// flight, which would undo the overlap). Needs a CUDA 12+ ptxas (PtxTools.Hopper): CI fetches Debian trixie's
    /// CUDA 12.4 next to bookworm's 11.8 and sets KDSL_REQUIRE_SM90A=1, so there a missing one fails instead of skipping.
    /// </summary>
    [Fact]
    public void Every_hopper_kernel_assembles_for_sm90a_without_spills_and_uses_HGMMA()
    {
        if (PtxTools.Hopper is not { } tools)
        {
            Assert.NotEqual("1", Environment.GetEnvironmentVariable("KDSL_REQUIRE_SM90A"));
            Assert.Skip(PtxTools.HopperMissingReason);
            return;
        }

        TestContext.Current.TestOutputHelper?.WriteLine("sm_90a toolchain: ptxas " + tools.Release + " (" + tools.Ptxas + ")");
        AssembleAll(Specs.PtxMatrix().Concat(Modifiers.PtxMatrix()).Concat(Modifiers.CapturedPtxMatrix()), "kdsl-ptx-sm90a-", hopper: true);
    }

    private static void RequireTools()
    {
        if (PtxTools.Ptxas is null || PtxTools.Cuobjdump is null)
        {
            // CI sets KDSL_REQUIRE_PTXAS=1: there a missing assembler is a failure, never a silent skip.
            Assert.NotEqual("1", Environment.GetEnvironmentVariable("KDSL_REQUIRE_PTXAS"));
            Assert.Skip(PtxTools.MissingReason);
        }
    }

    private static void AssembleAll(System.Collections.Generic.IEnumerable<Model.AttentionSpec> matrix, string tempPrefix, bool hopper = false,
        Func<KernelPlan, System.Collections.Generic.IEnumerable<GpuKernelPlan>>? kernels = null)
    {
        kernels ??= plan => new[] { hopper ? plan.GpuKernel(GpuFamily.Sm90a)! : plan.PortableGpuKernel()! };
        if (!hopper)
        {
            RequireTools();
        }

        string ptxas = hopper ? PtxTools.Hopper!.Value.Ptxas : PtxTools.Ptxas!;
        string cuobjdump = hopper ? PtxTools.Hopper!.Value.Cuobjdump : PtxTools.Cuobjdump!;

        string dir = Path.Combine(Path.GetTempPath(), tempPrefix + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        var specs = matrix.Where(spec => !hopper || Planner.Plan(spec).Plan!.GpuKernel(GpuFamily.Sm90a) is not null).ToList();
        string[] arches = hopper ? new[] { "sm_90a" } : new[] { "sm_80", "sm_90" };
        string tensorCoreOp = hopper ? "HGMMA" : "HMMA";
        var lines = new ConcurrentBag<string>();
        var failures = new ConcurrentBag<string>();
        var jobs = specs.SelectMany(spec => kernels(Planner.Plan(spec).Plan!).Select(gpu => (spec, gpu))).ToList();
        Parallel.ForEach(jobs, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, job =>
        {
            var (spec, gpu) = job;
            var plan = Planner.Plan(spec).Plan!;
            string ptxPath = Path.Combine(dir, gpu.EntryName + ".ptx");
            File.WriteAllText(ptxPath, PtxEmitter.PtxFor(plan, gpu));
            foreach (var arch in arches)
            {
                string cubin = Path.Combine(dir, gpu.EntryName + "." + arch + ".cubin");
                var (code, output) = PtxTools.Run(ptxas, $"-arch={arch} -v \"{ptxPath}\" -o \"{cubin}\"");
                if (code != 0)
                {
                    failures.Add($"{spec.Target.Name} {arch}: ptxas failed\n{output}");
                    continue;
                }

                var report = PtxTools.Parse(output);
                var (_, sass) = PtxTools.Run(cuobjdump, $"-sass \"{cubin}\"");
                int hmma = sass.Split('\n').Count(l => l.Contains(tensorCoreOp));
                lines.Add($"{gpu.EntryName.Replace("kdsl_Tests_", string.Empty),-44} {arch}  regs {report.Registers,3} (plan ~{gpu.EstimatedRegisters,3})  stack {report.StackFrame}  spills {report.SpillStores}/{report.SpillLoads}  {tensorCoreOp} {hmma}  smem {gpu.Smem.TotalBytes}");
                if (hopper && output.Contains("serialized", StringComparison.OrdinalIgnoreCase))
                {
                    failures.Add($"{spec.Target.Name} {arch}: ptxas serialized the wgmma\n{output}");
                }
                if (report.StackFrame != 0 || report.SpillStores != 0 || report.SpillLoads != 0)
                {
                    failures.Add($"{spec.Target.Name} {arch}: stack frame {report.StackFrame}, spills {report.SpillStores}/{report.SpillLoads}");
                }

                if (hmma == 0 && gpu.Kind is not (GpuKernelKind.BackwardPreprocess or GpuKernelKind.BackwardQueryConvert))
                {
                    failures.Add($"{spec.Target.Name} {arch}: no {tensorCoreOp} in SASS");
                }

                // Hopper kernels run one 256-thread block per SM whatever they use up to the 255 cap, so only an estimate
                // that is too high (or a kernel over the cap) is wrong there; sm_80 estimates also decide occupancy.
                bool estimateWrong = hopper
                    ? report.Registers < gpu.EstimatedRegisters - EstimateTolerance
                    : Math.Abs(report.Registers - gpu.EstimatedRegisters) > EstimateTolerance;
                if (report.Registers > GpuPlanner.MaxRegistersPerThread || estimateWrong)
                {
                    failures.Add($"{spec.Target.Name} {arch}: {report.Registers} registers, plan estimated {gpu.EstimatedRegisters}");
                }
            }
        });

        var log = TestContext.Current.TestOutputHelper;
        foreach (var line in lines.OrderBy(l => l, StringComparer.Ordinal))
        {
            log?.WriteLine(line);
        }

        Directory.Delete(dir, recursive: true);
        lines.Count.ShouldBe(arches.Length * jobs.Count, string.Join("\n", failures));
        failures.ShouldBeEmpty(string.Join("\n", failures));
    }
}

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

    private static void AssembleAll(System.Collections.Generic.IEnumerable<Model.AttentionSpec> matrix, string tempPrefix)
    {
        if (PtxTools.Ptxas is null || PtxTools.Cuobjdump is null)
        {
            // CI sets KDSL_REQUIRE_PTXAS=1: there a missing assembler is a failure, never a silent skip.
            Assert.NotEqual("1", Environment.GetEnvironmentVariable("KDSL_REQUIRE_PTXAS"));
            Assert.Skip(PtxTools.MissingReason);
        }

        string dir = Path.Combine(Path.GetTempPath(), tempPrefix + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        var specs = matrix.ToList();
        var lines = new ConcurrentBag<string>();
        var failures = new ConcurrentBag<string>();
        Parallel.ForEach(specs, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, spec =>
        {
            var plan = Planner.Plan(spec).Plan!;
            var gpu = plan.Gpu!;
            string ptxPath = Path.Combine(dir, gpu.EntryName + ".ptx");
            File.WriteAllText(ptxPath, PtxEmitter.PtxFor(plan));
            foreach (var arch in new[] { "sm_80", "sm_90" })
            {
                string cubin = Path.Combine(dir, gpu.EntryName + "." + arch + ".cubin");
                var (code, output) = PtxTools.Run(PtxTools.Ptxas!, $"-arch={arch} -v \"{ptxPath}\" -o \"{cubin}\"");
                if (code != 0)
                {
                    failures.Add($"{spec.Target.Name} {arch}: ptxas failed\n{output}");
                    continue;
                }

                var report = PtxTools.Parse(output);
                var (_, sass) = PtxTools.Run(PtxTools.Cuobjdump!, $"-sass \"{cubin}\"");
                int hmma = sass.Split('\n').Count(l => l.Contains("HMMA"));
                lines.Add($"{spec.Target.Name,-40} {arch}  regs {report.Registers,3} (plan ~{gpu.EstimatedRegisters,3})  stack {report.StackFrame}  spills {report.SpillStores}/{report.SpillLoads}  HMMA {hmma}  smem {gpu.Smem.TotalBytes}");
                if (report.StackFrame != 0 || report.SpillStores != 0 || report.SpillLoads != 0)
                {
                    failures.Add($"{spec.Target.Name} {arch}: stack frame {report.StackFrame}, spills {report.SpillStores}/{report.SpillLoads}");
                }

                if (hmma == 0)
                {
                    failures.Add($"{spec.Target.Name} {arch}: no HMMA in SASS");
                }

                if (report.Registers > GpuPlanner.MaxRegistersPerThread || Math.Abs(report.Registers - gpu.EstimatedRegisters) > EstimateTolerance)
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
        lines.Count.ShouldBe(2 * specs.Count, string.Join("\n", failures));
        failures.ShouldBeEmpty(string.Join("\n", failures));
    }
}

using System;
using System.Collections.Concurrent;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using KernelDsl.Compiler.Compilation;
using KernelDsl.Compiler.Emit.Ptx;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Planning;
using Shouldly;
using Xunit;
using static KernelDsl.Compiler.Tests.Modifiers;

namespace KernelDsl.Compiler.Tests;

/// <summary>
/// The GPU block-mask builder kernel (<see cref="BlockMaskPtx"/>): the ptxas gate over every mask-modifier spec (sm_80 and
/// sm_90, no stack, no spills), its ABI, where the modifier is evaluated, a PTX snapshot, and the generated host members.
/// </summary>
public sealed class BlockMaskPtxTests
{
    private static string Builder(AttentionSpec spec) => BlockMaskPtx.PtxFor(Planner.Plan(spec).Plan!)!;

    [Fact]
    public void Every_block_mask_builder_assembles_for_sm80_and_sm90_without_spills()
    {
        if (PtxTools.Ptxas is null)
        {
            Assert.NotEqual("1", Environment.GetEnvironmentVariable("KDSL_REQUIRE_PTXAS"));
            Assert.Skip(PtxTools.MissingReason);
        }

        string dir = Path.Combine(Path.GetTempPath(), "kdsl-ptx-blockmask-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        var specs = BlockMaskBuilderMatrix().ToList();
        specs.Count.ShouldBeGreaterThanOrEqualTo(20);
        var lines = new ConcurrentBag<string>();
        var failures = new ConcurrentBag<string>();
        Parallel.ForEach(specs, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, spec =>
        {
            var plan = Planner.Plan(spec).Plan!;
            string entry = BlockMaskPtx.EntryName(plan.PortableGpuKernel()!);
            string ptxPath = Path.Combine(dir, entry + ".ptx");
            File.WriteAllText(ptxPath, BlockMaskPtx.PtxFor(plan));
            foreach (var arch in new[] { "sm_80", "sm_90" })
            {
                string cubin = Path.Combine(dir, entry + "." + arch + ".cubin");
                var (code, output) = PtxTools.Run(PtxTools.Ptxas!, $"-arch={arch} -v \"{ptxPath}\" -o \"{cubin}\"");
                if (code != 0)
                {
                    failures.Add($"{spec.Target.Name} {arch}: ptxas failed\n{output}");
                    continue;
                }

                var report = PtxTools.Parse(output);
                lines.Add($"{spec.Target.Name,-40} {arch}  regs {report.Registers,3}  stack {report.StackFrame}  spills {report.SpillStores}/{report.SpillLoads}");
                if (report.StackFrame != 0 || report.SpillStores != 0 || report.SpillLoads != 0)
                {
                    failures.Add($"{spec.Target.Name} {arch}: stack frame {report.StackFrame}, spills {report.SpillStores}/{report.SpillLoads}");
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

    [Fact]
    public void Header_and_params_follow_the_abi()
    {
        var spec = With(Specs.Make(64, dtype: ElementType.BF16, mask: Specs.CausalTopLeft, name: "Docs"), mask: CapturedDocuments);
        string ptx = Builder(spec);
        ptx.ShouldContain(".version 7.8\n.target sm_80\n.address_size 64");
        ptx.ShouldContain(".visible .entry kdsl_Tests_Docs_fwd_blockmask(");
        var names = Regex.Matches(ptx, @"\.param \.(u64|u32|s32) kdsl_Tests_Docs_fwd_blockmask_param_(\w+)").Select(m => (m.Groups[2].Value, m.Groups[1].Value)).ToList();
        names.ShouldBe(BlockMaskPtx.Parameters(CapturedDocuments).Select(p => (p.Name, p.Type)).ToList());
        names.Select(n => n.Item1).ShouldBe(new[] { "seq_q", "seq_kv", "block_q", "block_kv", "band_offset", "band_left", "band_right", "heads", "out", "captured0", "captured0_last" });
        ptx.ShouldContain(".maxntid " + BlockMaskPtx.ThreadsPerBlock + ", 1, 1");
        ptx.ShouldContain("vote.sync.any.pred");
        ptx.ShouldContain("vote.sync.all.pred");
        ptx.ShouldContain("bar.sync 0");
        ptx.ShouldContain("st.global.u8 [%at], %x");
        ptx.ShouldAllBe(c => c < 128);
    }

    [Fact]
    public void The_modifier_and_its_buffer_reads_run_only_for_in_range_elements_inside_the_band()
    {
        string ptx = Builder(With(Specs.Make(64, dtype: ElementType.FP16, name: "Docs"), mask: CapturedDocuments));
        int element = ptx.IndexOf("ELEMENT:", StringComparison.Ordinal);
        int rowCheck = ptx.IndexOf("setp.ge.u32 %p, %r, %nq", StringComparison.Ordinal);
        int columnCheck = ptx.IndexOf("setp.ge.u32 %p, %c, %nk", StringComparison.Ordinal);
        int bandBranch = ptx.IndexOf("@!%band bra KEPT", StringComparison.Ordinal);
        int kept = ptx.IndexOf("KEPT:", StringComparison.Ordinal);
        element.ShouldBeGreaterThan(0);
        rowCheck.ShouldBeGreaterThan(element);
        columnCheck.ShouldBeGreaterThan(rowCheck);
        bandBranch.ShouldBeGreaterThan(columnCheck);
        var loads = Regex.Matches(ptx, @"ld\.global\.nc\.s32").Select(m => m.Index).ToList();
        loads.Count.ShouldBe(2, "documents[q] and documents[kv], once each per element");
        loads.ShouldAllBe(i => i > bandBranch && i < kept);
    }

    [Fact]
    public void Subexpressions_of_batch_and_head_are_hoisted_out_of_the_element_loop()
    {
        string ptx = Builder(With(Specs.Make(64, name: "BH"), mask: BatchHeadRows));
        int element = ptx.IndexOf("ELEMENT:", StringComparison.Ordinal);
        string setup = ptx[..element];
        setup.ShouldContain("add.s32 %hm");
        setup.ShouldContain("%batch, %head");
        Regex.Matches(ptx[element..], @"rem\.s32").Count.ShouldBe(1, "only q % 4 per element; (b + h) % 2 once per thread");
    }

    [Fact]
    public void Specs_without_a_mask_modifier_or_a_gpu_kernel_have_no_builder()
    {
        BlockMaskPtx.PtxFor(Planner.Plan(Specs.Make(64)).Plan!).ShouldBeNull();
        BlockMaskPtx.PtxFor(Planner.Plan(With(Specs.Make(64), score: Softcap)).Plan!).ShouldBeNull();
        BlockMaskPtx.PtxFor(Planner.Plan(With(Specs.Make(64, dtype: ElementType.FP32), mask: PrefixLm)).Plan!).ShouldBeNull();
    }

    [Fact]
    public void Emission_is_deterministic()
    {
        var spec = With(Specs.Make(128, mask: Specs.WindowTopLeft), Softcap, CapturedGuarded);
        Builder(spec).ShouldBe(Builder(spec));
    }

    [Fact]
    public void The_block_mask_file_has_the_device_builder_for_gpu_specs_only()
    {
        var gpuSpec = With(Specs.Make(64, dtype: ElementType.BF16, name: "Docs"), mask: CapturedDocuments);
        string text = KernelCompiler.Compile(gpuSpec).Files.Single(f => f.HintName == "Tests.Docs.BlockMask.g.cs").Text;
        text.ShouldContain("public static global::KernelDsl.BlockMask CreateBlockMaskOnDevice(global::KernelDsl.AttentionShape shape, int blockQ, int blockKV, global::KernelDsl.DeviceBuffer<int> documents, global::KernelDsl.Cuda.CudaStream? stream = null, global::KernelDsl.Cuda.CudaContext? context = null)");
        text.ShouldContain("public static global::KernelDsl.BlockMask CreateGpuBlockMaskOnDevice(global::KernelDsl.AttentionShape shape, global::KernelDsl.DeviceBuffer<int> documents,");
        text.ShouldContain("private static class __GpuBlockMaskKernel");
        text.ShouldContain("public const string EntryName = \"kdsl_Tests_Docs_fwd_blockmask\";");
        text.ShouldContain("PerBatch: false, PerHead: false");
        text.ShouldContain(Builder(gpuSpec).Split('\n')[1]);

        string bh = KernelCompiler.Compile(With(Specs.Make(64, name: "BH"), mask: BatchHeadRows)).Files.Single(f => f.HintName == "Tests.BH.BlockMask.g.cs").Text;
        bh.ShouldContain("PerBatch: true, PerHead: true");
        string h = KernelCompiler.Compile(With(Specs.Make(64, name: "H"), mask: HeadStride)).Files.Single(f => f.HintName == "Tests.H.BlockMask.g.cs").Text;
        h.ShouldContain("PerBatch: false, PerHead: true");

        string cpuOnly = KernelCompiler.Compile(With(Specs.Make(64, dtype: ElementType.FP32, name: "Cpu"), mask: PrefixLm)).Files.Single(f => f.HintName == "Tests.Cpu.BlockMask.g.cs").Text;
        cpuOnly.ShouldContain("CreateBlockMask(");
        cpuOnly.ShouldNotContain("OnDevice");
        cpuOnly.ShouldNotContain("__GpuBlockMaskKernel");
    }

    /// <summary>
    /// Snapshot of one builder kernel (document ids, a captured buffer): any change to it shows up as a diff of
    /// Snapshots/DocumentsBlockMask.approved.ptx. Set KDSL_ACCEPT_SNAPSHOTS=1 to rewrite the baseline.
    /// </summary>
    [Fact]
    public void Snapshot_of_a_document_mask_builder()
    {
        string ptx = Builder(With(Specs.Make(64, dtype: ElementType.BF16, mask: Specs.CausalTopLeft, name: "Documents"), mask: CapturedDocuments));
        string approved = Path.Combine(PtxTools.RepoRoot, "tests", "KernelDsl.Compiler.Tests", "Snapshots", "DocumentsBlockMask.approved.ptx");
        bool created = !File.Exists(approved);
        if (Environment.GetEnvironmentVariable("KDSL_ACCEPT_SNAPSHOTS") == "1" || created)
        {
            File.WriteAllText(approved, ptx);
        }

        string expected = File.ReadAllText(approved).Replace("\r\n", "\n");
        if (expected != ptx)
        {
            File.WriteAllText(approved.Replace(".approved.ptx", ".received.ptx"), ptx);
        }

        created.ShouldBeFalse("no baseline existed; one was written to " + approved + ": review it and commit it");
        ptx.ShouldBe(expected, "emitted PTX differs from Snapshots/DocumentsBlockMask.approved.ptx (a .received.ptx was written next to it)");
    }
}

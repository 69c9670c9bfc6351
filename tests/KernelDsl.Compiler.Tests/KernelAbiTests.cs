using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.RegularExpressions;
using KernelDsl.Compiler.Compilation;
using KernelDsl.Compiler.Emit.Ptx;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Planning;
using Shouldly;
using Xunit;

namespace KernelDsl.Compiler.Tests;

/// <summary>
/// The kernel ABI record generates both sides: for every kernel of the test matrices (the 52-spec PTX matrix, the
/// modifier and captured-buffer matrices; both families), the PTX <c>.entry</c> parameters and the generated launcher's
/// packing table list the same parameters, in the same order, with the same sizes — and both are the plan's record.
/// (The runtime's packer writing one value of each slot's size is tested in KernelDsl.Cuda.Tests.)
/// </summary>
public class KernelAbiTests
{
    public static IEnumerable<AttentionSpec> Matrix() =>
        Specs.PtxMatrix().Concat(Modifiers.PtxMatrix()).Concat(Modifiers.CapturedPtxMatrix());

    [Fact]
    public void Ptx_entry_and_generated_launcher_agree_for_every_kernel_of_the_matrices()
    {
        int kernels = 0;
        foreach (var spec in Matrix())
        {
            var plan = Planner.Plan(spec).Plan!;
            string host = KernelCompiler.Compile(spec).Files.Single(f => f.HintName == spec.Target.FullName + ".g.cs").Text;
            foreach (var kernel in plan.GpuKernels)
            {
                var record = kernel.Abi.Parameters;
                var ptx = EntryParameters(PtxEmitter.PtxFor(plan, kernel), kernel.EntryName);
                ptx.ShouldBe(record.Select(p => (p.Name, p.PtxType)).ToList(), $"PTX entry of {kernel.EntryName}");

                var table = LauncherTable(host, PtxEmitter.KernelClassName(kernel) + "Abi");
                table.ShouldBe(record.Select(p => (p.Value.ToString(), p.Bytes, p.IsPerBuffer ? p.Index : 0, p.PtxType, p.Name)).ToList(), $"launcher table of {kernel.EntryName}");
                table.Select(t => t.Bytes).ShouldBe(ptx.Select(p => p.Type == "u64" ? 8 : 4).ToList(), $"sizes of {kernel.EntryName}");
                kernels++;
            }
        }

        kernels.ShouldBeGreaterThan(100);
    }

    [Fact]
    public void Block_mask_builder_entry_and_generated_launcher_agree_for_every_builder_of_the_matrix()
    {
        int builders = 0;
        foreach (var spec in Modifiers.BlockMaskBuilderMatrix())
        {
            var plan = Planner.Plan(spec).Plan!;
            var record = KernelAbi.BlockMaskBuilder(spec.MaskModifier!.Buffers.Count).Parameters;
            string entry = BlockMaskPtx.EntryName(plan.PortableGpuKernel()!);
            EntryParameters(BlockMaskPtx.PtxFor(plan)!, entry).ShouldBe(record.Select(p => (p.Name, p.PtxType)).ToList(), entry);

            string file = KernelCompiler.Compile(spec).Files.Single(f => f.HintName == spec.Target.FullName + ".BlockMask.g.cs").Text;
            LauncherTable(file, null).ShouldBe(record.Select(p => (p.Value.ToString(), p.Bytes, p.IsPerBuffer ? p.Index : 0, p.PtxType, p.Name)).ToList(), entry);
            builders++;
        }

        builders.ShouldBeGreaterThan(20);
    }

    [Fact]
    public void The_record_follows_the_kernels_decisions()
    {
        KernelAbi.Forward(false, 0).Parameters.Count.ShouldBe(21);
        KernelAbi.Forward(true, 0).Parameters.Skip(21).Select(p => p.Value).ShouldBe(
            [AbiValue.BlockCounts, AbiValue.BlockIndices, AbiValue.BlockBatchStride, AbiValue.BlockHeadStride, AbiValue.BlockKvBlocks]);
        var captured = KernelAbi.Forward(true, 3).Parameters.Skip(26).ToList();
        captured.Select(p => (p.Name, p.Value, p.PtxType, p.Index)).ShouldBe(
        [
            ("captured0", AbiValue.CapturedBuffer, "u64", 0), ("captured0_last", AbiValue.CapturedLastIndex, "u32", 0),
            ("captured1", AbiValue.CapturedBuffer, "u64", 1), ("captured1_last", AbiValue.CapturedLastIndex, "u32", 1),
            ("captured2", AbiValue.CapturedBuffer, "u64", 2), ("captured2_last", AbiValue.CapturedLastIndex, "u32", 2),
        ]);
        captured.ShouldAllBe(p => p.IsPerBuffer);
    }

    /// <summary>The (name, type) of each <c>.param</c> of the entry, its entry-name prefix removed.</summary>
    private static List<(string Name, string Type)> EntryParameters(string ptx, string entry)
    {
        int open = ptx.IndexOf(".entry " + entry + "(", System.StringComparison.Ordinal);
        open.ShouldBeGreaterThanOrEqualTo(0, entry);
        string list = ptx[open..ptx.IndexOf(')', open)];
        return Regex.Matches(list, @"\.param\s+\.(\w+)\s+" + Regex.Escape(entry) + @"_param_(\w+)")
            .Select(m => (m.Groups[2].Value, m.Groups[1].Value))
            .ToList();
    }

    /// <summary>The slots of a generated AbiSlot[] field: (value, bytes, index, PTX type and name from the comment).</summary>
    private static List<(string Value, int Bytes, int Index, string Type, string Name)> LauncherTable(string host, string? field)
    {
        int start = host.IndexOf(field is null ? "Abi = new global::KernelDsl.Cuda.AbiSlot[]" : "AbiSlot[] " + field + " =", System.StringComparison.Ordinal);
        start.ShouldBeGreaterThanOrEqualTo(0, field ?? "the builder's table");
        string body = host[start..host.IndexOf("};", start, System.StringComparison.Ordinal)];
        return Regex.Matches(body, @"new\(global::KernelDsl\.Cuda\.AbiValue\.(\w+), (\d+)(?:, (\d+))?\), // \.(\w+) (\w+)")
            .Select(m => (m.Groups[1].Value, int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture),
                m.Groups[3].Success ? int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture) : 0, m.Groups[4].Value, m.Groups[5].Value))
            .ToList();
    }
}

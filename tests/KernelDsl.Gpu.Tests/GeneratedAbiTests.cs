using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Text.RegularExpressions;
using KernelDsl.Cuda;
using Shouldly;
using Xunit;

namespace KernelDsl.Gpu.Tests;

/// <summary>
/// For every generated spec in this assembly (the 80-spec GPU matrix, the modifier, library, captured-buffer and
/// interop specs) and every kernel of its list: the launcher's parameter table (the descriptor's <see cref="GpuKernelInfo.Abi"/>,
/// which <see cref="AttentionLauncher"/> packs) matches the kernel's PTX <c>.entry</c> parameters one for one — what,
/// in which order, of which size. Runs without a GPU: it reads the generated descriptors, as the launcher would.
/// </summary>
public class GeneratedAbiTests
{
    [Fact]
    public void Every_generated_kernels_launcher_table_matches_its_ptx_entry()
    {
        int kernels = 0;
        foreach (var set in GeneratedKernelSets())
        {
            foreach (var kernel in set.Kernels)
            {
                kernel.Abi.ShouldNotBeNull(kernel.EntryName);
                var entry = EntryParameters(kernel.Ptx, kernel.EntryName);
                kernel.Abi!.Select(Describe).ShouldBe(entry.Select(p => (Expected(p.Name), p.Type == "u64" ? 8 : 4)).ToList(), kernel.EntryName);
                kernels++;
            }
        }

        kernels.ShouldBeGreaterThan(100);
    }

    /// <summary>The backward's three kernels of every [Backward] spec here (Backward/GpuBackwardSpecs.cs): table = PTX entry, slot for slot.</summary>
    [Fact]
    public void Every_generated_backward_kernels_launcher_table_matches_its_ptx_entry()
    {
        var sets = typeof(GeneratedAbiTests).Assembly.GetTypes()
            .Select(t => t.GetField("__GpuBackwardKernels", BindingFlags.NonPublic | BindingFlags.Static))
            .Where(f => f is not null)
            .Select(f => (GpuBackwardKernels)f!.GetValue(null)!)
            .ToList();
        foreach (var set in sets)
        {
            foreach (var kernel in new[] { set.Preprocess, set.KeyValue, set.Query, set.KeyValueAtomicDq, set.QueryConvert }.OfType<GpuKernelInfo>())
            {
                kernel.Abi.ShouldNotBeNull(kernel.EntryName);
                var entry = EntryParameters(kernel.Ptx, kernel.EntryName);
                kernel.Abi!.Select(Describe).ShouldBe(entry.Select(p => (Expected(p.Name), p.Type == "u64" ? 8 : 4)).ToList(), kernel.EntryName);
            }
        }

        sets.Count.ShouldBeGreaterThanOrEqualTo(8);
        sets.Count(set => set.HasAtomicDq).ShouldBeGreaterThanOrEqualTo(8);
    }

    [Fact]
    public void Every_generated_block_mask_builders_launcher_table_matches_its_ptx_entry()
    {
        var builders = typeof(GeneratedAbiTests).Assembly.GetTypes()
            .Where(t => t.Name == "__GpuBlockMaskKernel")
            .Select(t => (GpuBlockMaskKernelInfo)t.GetField("Info", BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!)
            .ToList();
        foreach (var builder in builders)
        {
            builder.Abi.ShouldNotBeNull(builder.EntryName);
            var entry = EntryParameters(builder.Ptx, builder.EntryName);
            builder.Abi!.Select(Describe).ShouldBe(entry.Select(p => (BuilderValue(p.Name), p.Type == "u64" ? 8 : 4)).ToList(), builder.EntryName);
        }

        builders.Count.ShouldBeGreaterThan(5);
    }

    /// <summary>The paged decode and merge kernels of every [PagedKv] spec here (issue 11), and the fused and unfused append kernels (issue 12): their tables against their PTX entries.</summary>
    [Fact]
    public void Every_generated_decode_kernels_launcher_table_matches_its_ptx_entry()
    {
        var kernels = typeof(GeneratedAbiTests).Assembly.GetTypes()
            .SelectMany(t => new[] { "__GpuDecode", "__GpuDecodeMerge", "__GpuDecodeAppend", "__GpuRotateAppend" }.Select(name => t.GetField(name, BindingFlags.NonPublic | BindingFlags.Static)))
            .Where(f => f is not null)
            .Select(f => (GpuKernelInfo)f!.GetValue(null)!)
            .ToList();
        foreach (var kernel in kernels)
        {
            kernel.Abi.ShouldNotBeNull(kernel.EntryName);
            var entry = EntryParameters(kernel.Ptx, kernel.EntryName);
            kernel.Abi!.Select(Describe).ShouldBe(entry.Select(p => (DecodeValue(p.Name), p.Type == "u64" ? 8 : 4)).ToList(), kernel.EntryName);
        }

        // Two kernels (decode, merge) for every [PagedKv] spec of this assembly, so a spec whose fields are not generated fails here,
        // and two more (DecodeAppend, RotateAppend) for each with [Fusion(AppendKv = true)] (all of them have head dims <= 128).
        int pagedSpecs = typeof(GeneratedAbiTests).Assembly.GetTypes().Count(t => t.GetCustomAttribute<PagedKvAttribute>() is not null);
        int appendSpecs = typeof(GeneratedAbiTests).Assembly.GetTypes().Count(t => t.GetCustomAttribute<PagedKvAttribute>() is not null && t.GetCustomAttribute<FusionAttribute>() is { AppendKv: true });
        pagedSpecs.ShouldBeGreaterThanOrEqualTo(7);
        appendSpecs.ShouldBe(3);
        kernels.Count.ShouldBe((2 * pagedSpecs) + (2 * appendSpecs));
    }

    /// <summary>The varlen forward kernels (both families) of every [Varlen] spec here (issue 11): their tables against their PTX entries.</summary>
    [Fact]
    public void Every_generated_varlen_kernels_launcher_table_matches_its_ptx_entry()
    {
        var kernels = typeof(GeneratedAbiTests).Assembly.GetTypes()
            .Select(t => t.GetField("__GpuForwardVarlenKernels", BindingFlags.NonPublic | BindingFlags.Static))
            .Where(f => f is not null)
            .SelectMany(f => ((GpuKernelSet)f!.GetValue(null)!).Kernels.ToArray())
            .ToList();
        foreach (var kernel in kernels)
        {
            kernel.Abi.ShouldNotBeNull(kernel.EntryName);
            var entry = EntryParameters(kernel.Ptx, kernel.EntryName);
            kernel.Abi!.Select(Describe).ShouldBe(entry.Select(p => (VarlenValue(p.Name), p.Type == "u64" ? 8 : 4)).ToList(), kernel.EntryName);
        }

        // GpuVarlenCausalBf16 (D = 128: sm_80 and sm_90a), GpuVarlenWindowFp16 (Dv = 32: sm_80 only), GpuVarlenPrefixLm (D = 64: both).
        kernels.Count.ShouldBe(5);
    }

    private static string VarlenValue(string name) => name switch
    {
        "q" => nameof(AbiValue.QPointer),
        "k" => nameof(AbiValue.KPointer),
        "v" => nameof(AbiValue.VPointer),
        "o" => nameof(AbiValue.OutputPointer),
        "lse" => nameof(AbiValue.LsePointer),
        "query_offsets" => nameof(AbiValue.QueryOffsets),
        "key_offsets" => nameof(AbiValue.KeyOffsets),
        "heads_q" => nameof(AbiValue.HeadsQ),
        "heads_kv" => nameof(AbiValue.HeadsKv),
        "q_seq_stride" => nameof(AbiValue.QSeqStride),
        "q_head_stride" => nameof(AbiValue.QHeadStride),
        "k_seq_stride" => nameof(AbiValue.KSeqStride),
        "k_head_stride" => nameof(AbiValue.KHeadStride),
        "v_seq_stride" => nameof(AbiValue.VSeqStride),
        "v_head_stride" => nameof(AbiValue.VHeadStride),
        "o_seq_stride" => nameof(AbiValue.OutputSeqStride),
        "o_head_stride" => nameof(AbiValue.OutputHeadStride),
        _ when name.StartsWith("captured", StringComparison.Ordinal) => Captured(name),
        _ => "unknown parameter " + name,
    };

    private static string DecodeValue(string name) => name switch
    {
        "q" => nameof(AbiValue.QPointer),
        "k_pool" => nameof(AbiValue.KPointer),
        "v_pool" => nameof(AbiValue.VPointer),
        "o" => nameof(AbiValue.OutputPointer),
        "lse" => nameof(AbiValue.LsePointer),
        "query_offsets" => nameof(AbiValue.QueryOffsets),
        "kv_lengths" => nameof(AbiValue.KvLengths),
        "page_table" => nameof(AbiValue.PageTable),
        "max_pages" => nameof(AbiValue.MaxPagesPerSequence),
        "page_size" => nameof(AbiValue.PageSize),
        "heads_q" => nameof(AbiValue.HeadsQ),
        "heads_kv" => nameof(AbiValue.HeadsKv),
        "row_blocks" => nameof(AbiValue.RowBlocks),
        "k_page_stride" => nameof(AbiValue.KPageStride),
        "k_slot_stride" => nameof(AbiValue.KSlotStride),
        "k_head_stride" => nameof(AbiValue.KPoolHeadStride),
        "v_page_stride" => nameof(AbiValue.VPageStride),
        "v_slot_stride" => nameof(AbiValue.VSlotStride),
        "v_head_stride" => nameof(AbiValue.VPoolHeadStride),
        "splits" => nameof(AbiValue.KvSplits),
        "total_q" => nameof(AbiValue.TotalQueries),
        "partial_o" => nameof(AbiValue.PartialOutput),
        "partial_lse" => nameof(AbiValue.PartialLse),
        "k_new" => nameof(AbiValue.NewKeys),
        "v_new" => nameof(AbiValue.NewValues),
        "q_rot" => nameof(AbiValue.RotatedQ),
        _ when name.StartsWith("captured", StringComparison.Ordinal) => Captured(name),
        _ => "unknown parameter " + name,
    };

    private static string BuilderValue(string name) => name switch
    {
        "seq_q" => nameof(AbiValue.SeqQ),
        "seq_kv" => nameof(AbiValue.SeqKv),
        "block_q" => nameof(AbiValue.MaskBlockQ),
        "block_kv" => nameof(AbiValue.MaskBlockKV),
        "band_offset" => nameof(AbiValue.BandOffset),
        "band_left" => nameof(AbiValue.BandLeft),
        "band_right" => nameof(AbiValue.BandRight),
        "heads" => nameof(AbiValue.MaskHeads),
        "out" => nameof(AbiValue.Classification),
        _ when name.StartsWith("captured", StringComparison.Ordinal) => Captured(name),
        _ => "unknown parameter " + name,
    };

    /// <summary>The value each PTX parameter name stands for (the test's own oracle, independent of the compiler's record).</summary>
    private static string Expected(string name)
    {
        var fixedNames = new Dictionary<string, AbiValue>
        {
            ["q"] = AbiValue.QPointer, ["k"] = AbiValue.KPointer, ["v"] = AbiValue.VPointer, ["o"] = AbiValue.OutputPointer, ["lse"] = AbiValue.LsePointer,
            ["seq_q"] = AbiValue.SeqQ, ["seq_kv"] = AbiValue.SeqKv, ["heads_q"] = AbiValue.HeadsQ, ["heads_kv"] = AbiValue.HeadsKv,
            ["q_batch_stride"] = AbiValue.QBatchStride, ["q_seq_stride"] = AbiValue.QSeqStride, ["q_head_stride"] = AbiValue.QHeadStride,
            ["k_batch_stride"] = AbiValue.KBatchStride, ["k_seq_stride"] = AbiValue.KSeqStride, ["k_head_stride"] = AbiValue.KHeadStride,
            ["v_batch_stride"] = AbiValue.VBatchStride, ["v_seq_stride"] = AbiValue.VSeqStride, ["v_head_stride"] = AbiValue.VHeadStride,
            ["o_batch_stride"] = AbiValue.OutputBatchStride, ["o_seq_stride"] = AbiValue.OutputSeqStride, ["o_head_stride"] = AbiValue.OutputHeadStride,
            ["block_counts"] = AbiValue.BlockCounts, ["block_indices"] = AbiValue.BlockIndices, ["block_batch_stride"] = AbiValue.BlockBatchStride,
            ["block_head_stride"] = AbiValue.BlockHeadStride, ["block_kv_blocks"] = AbiValue.BlockKvBlocks,
            ["d_o"] = AbiValue.DOutputPointer, ["dq"] = AbiValue.DqPointer, ["dk"] = AbiValue.DkPointer, ["dv"] = AbiValue.DvPointer,
            ["delta"] = AbiValue.DeltaPointer, ["lse2"] = AbiValue.ScaledLsePointer, ["dq_acc"] = AbiValue.DqAccumulatorPointer,
            ["block_classes"] = AbiValue.BlockClasses, ["block_cls_batch_stride"] = AbiValue.BlockClassBatchStride, ["block_cls_head_stride"] = AbiValue.BlockClassHeadStride,
            ["block_mask_q"] = AbiValue.BlockMaskTileQ, ["block_mask_kv"] = AbiValue.BlockMaskTileKv, ["block_mask_kv_blocks"] = AbiValue.BlockMaskKvBlocks,
            ["d_o_batch_stride"] = AbiValue.DOutputBatchStride, ["d_o_seq_stride"] = AbiValue.DOutputSeqStride, ["d_o_head_stride"] = AbiValue.DOutputHeadStride,
            ["dq_batch_stride"] = AbiValue.DqBatchStride, ["dq_seq_stride"] = AbiValue.DqSeqStride, ["dq_head_stride"] = AbiValue.DqHeadStride,
            ["dk_batch_stride"] = AbiValue.DkBatchStride, ["dk_seq_stride"] = AbiValue.DkSeqStride, ["dk_head_stride"] = AbiValue.DkHeadStride,
            ["dv_batch_stride"] = AbiValue.DvBatchStride, ["dv_seq_stride"] = AbiValue.DvSeqStride, ["dv_head_stride"] = AbiValue.DvHeadStride,
        };
        return fixedNames.TryGetValue(name, out var value) ? value.ToString()
            : name.StartsWith("captured", StringComparison.Ordinal) ? Captured(name)
            : "unknown parameter " + name;
    }

    /// <summary>captured{i} is buffer i's address, captured{i}_last its last index (the device reads' clamp).</summary>
    private static string Captured(string name) => name.EndsWith("_last", StringComparison.Ordinal)
        ? AbiValue.CapturedLastIndex + "#" + name["captured".Length..^"_last".Length]
        : AbiValue.CapturedBuffer + "#" + name["captured".Length..];

    private static (string Value, int Bytes) Describe(AbiSlot slot) =>
        (slot.Value is AbiValue.CapturedBuffer or AbiValue.CapturedLastIndex ? slot.Value + "#" + slot.Index : slot.Value.ToString(), slot.Bytes);

    private static IEnumerable<GpuKernelSet> GeneratedKernelSets() =>
        typeof(GeneratedAbiTests).Assembly.GetTypes()
            .Select(t => t.GetField("__GpuForwardKernels", BindingFlags.NonPublic | BindingFlags.Static))
            .Where(f => f is not null)
            .Select(f => (GpuKernelSet)f!.GetValue(null)!);

    private static List<(string Name, string Type)> EntryParameters(string ptx, string entry)
    {
        int open = ptx.IndexOf(".entry " + entry + "(", StringComparison.Ordinal);
        open.ShouldBeGreaterThanOrEqualTo(0, entry);
        string list = ptx[open..ptx.IndexOf(')', open)];
        return Regex.Matches(list, @"\.param\s+\.(\w+)\s+" + Regex.Escape(entry) + @"_param_(\w+)")
            .Select(m => (m.Groups[2].Value, m.Groups[1].Value))
            .ToList();
    }
}

using System;
using KernelDsl.Cuda;
using Shouldly;
using Xunit;

namespace KernelDsl.Cuda.Tests;

/// <summary>
/// The device Decode's parameter packing (KernelDsl.Cuda.DecodeLauncher.Pack), without a GPU: every slot of the decode and merge
/// kernels' ABI tables gets the call's value at its width — pointers, the batch arrays, the pools' element strides for both
/// page layouts, the split count and the workspace — and a table that names a value the decode launcher does not fill, or a
/// captured buffer the call did not pass, is an error naming the kernel.
/// </summary>
public sealed class DecodeLaunchPackTests
{
    private static readonly AbiSlot[] DecodeAbi =
    {
        new(AbiValue.QPointer, 8), new(AbiValue.KPointer, 8), new(AbiValue.VPointer, 8), new(AbiValue.OutputPointer, 8), new(AbiValue.LsePointer, 8),
        new(AbiValue.QueryOffsets, 8), new(AbiValue.KvLengths, 8), new(AbiValue.PageTable, 8), new(AbiValue.MaxPagesPerSequence, 4), new(AbiValue.PageSize, 4),
        new(AbiValue.HeadsQ, 4), new(AbiValue.HeadsKv, 4), new(AbiValue.RowBlocks, 4),
        new(AbiValue.KPageStride, 8), new(AbiValue.KSlotStride, 8), new(AbiValue.KPoolHeadStride, 8),
        new(AbiValue.VPageStride, 8), new(AbiValue.VSlotStride, 8), new(AbiValue.VPoolHeadStride, 8),
        new(AbiValue.KvSplits, 4), new(AbiValue.TotalQueries, 4), new(AbiValue.PartialOutput, 8), new(AbiValue.PartialLse, 8),
        new(AbiValue.CapturedBuffer, 8, 0), new(AbiValue.CapturedLastIndex, 4, 0),
    };

    private static DecodeLauncher.DecodeCall Call(PagedKvLayout layout) => new(
        Q: 0x1000, KPool: 0x2000, VPool: 0x3000, Output: 0x4000, Lse: 0x5000, QueryOffsets: 0x6000, KvLengths: 0x7000, PageTable: 0x8000, MaxPages: 9,
        Geometry: new PagedKvGeometry(40, 16, 4, 128, 64, layout), HeadsQ: 32, RowBlocks: 2, Splits: 5, TotalQueries: 11, PartialOutput: 0x9000, PartialLse: 0xA000);

    [Theory]
    [InlineData(PagedKvLayout.PageHeadSlot, 128UL, 16UL * 128, 64UL, 16UL * 64)]
    [InlineData(PagedKvLayout.PageSlotHead, 4UL * 128, 128UL, 4UL * 64, 64UL)]
    public void The_decode_kernels_values_follow_its_abi(PagedKvLayout layout, ulong kSlot, ulong kHead, ulong vSlot, ulong vHead)
    {
        var kernel = new GpuKernelInfo("ptx", "k_decode", 128, 16, 108800, BlockKV: 64) { Abi = DecodeAbi };
        var args = new LaunchArguments();
        DecodeLauncher.Pack(kernel, Call(layout), [new CapturedDeviceBuffer("tree", ["B"], 0xB000, 3)], ref args);

        args.Count.ShouldBe(DecodeAbi.Length);
        for (int i = 0; i < args.Count; i++)
        {
            args.SizeOf(i).ShouldBe(DecodeAbi[i].Bytes);
        }

        (args.ValueOf(0), args.ValueOf(1), args.ValueOf(2), args.ValueOf(3), args.ValueOf(4)).ShouldBe((0x1000UL, 0x2000UL, 0x3000UL, 0x4000UL, 0x5000UL));
        (args.ValueOf(5), args.ValueOf(6), args.ValueOf(7)).ShouldBe((0x6000UL, 0x7000UL, 0x8000UL));
        (args.ValueOf(8), args.ValueOf(9), args.ValueOf(10), args.ValueOf(11), args.ValueOf(12)).ShouldBe((9UL, 16UL, 32UL, 4UL, 2UL));
        (args.ValueOf(13), args.ValueOf(14), args.ValueOf(15)).ShouldBe((16UL * 4 * 128, kSlot, kHead));
        (args.ValueOf(16), args.ValueOf(17), args.ValueOf(18)).ShouldBe((16UL * 4 * 64, vSlot, vHead));
        (args.ValueOf(19), args.ValueOf(20), args.ValueOf(21), args.ValueOf(22), args.ValueOf(23)).ShouldBe((5UL, 11UL, 0x9000UL, 0xA000UL, 0xB000UL));
        args.ValueOf(24).ShouldBe(2UL, "the tree buffer's last index");
    }

    /// <summary>CUDA's 65,535 limit on grid y (Hkv x row blocks) and z (sequences): a clear error naming the batch, at the limit a plan.</summary>
    [Fact]
    public void Grid_limits_are_checked_with_a_clear_error()
    {
        var tooManySequences = Should.Throw<ArgumentException>(() => DecodeLauncher.Plan(65_536, 1, 100, 6_553_600, 8, 8, 264));
        tooManySequences.ParamName.ShouldBe("batch");
        tooManySequences.Message.ShouldContain("one layer per sequence (65536)");
        tooManySequences.Message.ShouldContain("65535");

        // Hkv = 4096, G = 16, 16 queries each: 4096 x ceil(256 / 16) = 65,536 grid rows.
        Should.Throw<ArgumentException>(() => DecodeLauncher.Plan(1, 16, 100, 100, 65_536, 4096, 264)).Message.ShouldContain("= 65536 grid rows");
        var atTheLimit = DecodeLauncher.Plan(65_535, 1, 100, 6_553_500, 8, 8, 264);
        (atTheLimit.Grid.Y, atTheLimit.Grid.Z).ShouldBe((8u, 65_535u));
    }

    [Fact]
    public void The_append_kernel_gets_the_new_tokens_after_the_decode_values()
    {
        var abi = new AbiSlot[DecodeAbi.Length + 2];
        DecodeAbi.CopyTo(abi, 0);
        abi[^2] = new(AbiValue.NewKeys, 8);
        abi[^1] = new(AbiValue.NewValues, 8);
        var kernel = new GpuKernelInfo("ptx", "k_decode_append", 128, 16, 108800, BlockKV: 64) { Abi = abi };
        var args = new LaunchArguments();
        DecodeLauncher.Pack(kernel, Call(PagedKvLayout.PageHeadSlot) with { NewKeys = 0xC000, NewValues = 0xD000 }, [new CapturedDeviceBuffer("tree", ["B"], 0xB000, 3)], ref args);
        args.Count.ShouldBe(abi.Length);
        (args.ValueOf(0), args.ValueOf(23), args.ValueOf(24), args.ValueOf(25), args.ValueOf(26)).ShouldBe((0x1000UL, 0xB000UL, 2UL, 0xC000UL, 0xD000UL));
    }

    [Fact]
    public void The_merge_kernel_gets_the_workspace_and_the_sizes()
    {
        var merge = new GpuKernelInfo("ptx", "k_merge", 64, 1, 0)
        {
            Abi = new AbiSlot[]
            {
                new(AbiValue.PartialOutput, 8), new(AbiValue.PartialLse, 8), new(AbiValue.OutputPointer, 8), new(AbiValue.LsePointer, 8),
                new(AbiValue.KvSplits, 4), new(AbiValue.TotalQueries, 4), new(AbiValue.HeadsQ, 4),
            },
        };
        var args = new LaunchArguments();
        DecodeLauncher.Pack(merge, Call(PagedKvLayout.PageHeadSlot), default, ref args);
        (args.ValueOf(0), args.ValueOf(1), args.ValueOf(2), args.ValueOf(3)).ShouldBe((0x9000UL, 0xA000UL, 0x4000UL, 0x5000UL));
        (args.ValueOf(4), args.ValueOf(5), args.ValueOf(6)).ShouldBe((5UL, 11UL, 32UL));
    }

    [Fact]
    public void A_table_the_decode_launcher_cannot_fill_is_named()
    {
        var args = new LaunchArguments();
        var forward = new GpuKernelInfo("ptx", "k_forward_by_mistake", 128, 16, 0) { Abi = [new(AbiValue.SeqQ, 4)] };
        Should.Throw<ArgumentException>(() => DecodeLauncher.Pack(forward, Call(PagedKvLayout.PageHeadSlot), default, ref args)).Message.ShouldContain("k_forward_by_mistake");

        var args2 = new LaunchArguments();
        var decode = new GpuKernelInfo("ptx", "k_decode", 128, 16, 0) { Abi = DecodeAbi };
        Should.Throw<ArgumentException>(() => DecodeLauncher.Pack(decode, Call(PagedKvLayout.PageHeadSlot), default, ref args2)).ParamName.ShouldBe("captured");

        var args3 = new LaunchArguments();
        var noAbi = new GpuKernelInfo("ptx", "k_no_abi", 128, 16, 0);
        Should.Throw<ArgumentException>(() => DecodeLauncher.Pack(noAbi, Call(PagedKvLayout.PageHeadSlot), default, ref args3)).ParamName.ShouldBe("kernel");
    }
}

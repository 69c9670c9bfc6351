using System;
using KernelDsl.Cuda;
using Shouldly;
using Xunit;

namespace KernelDsl.Cuda.Tests;

/// <summary>
/// The device ForwardVarlen's parameter packing (KernelDsl.Cuda.VarlenLauncher.Pack) and grid, without a GPU: every slot of
/// the varlen kernel's ABI table gets the call's value at its width — pointers, the two offset arrays, head counts, the packed
/// tensors' token and head strides in elements — a table naming a value the varlen launcher does not fill, or a captured
/// buffer the call did not pass, is an error naming the kernel; the grid covers the longest sequence's query blocks.
/// </summary>
public sealed class VarlenLaunchPackTests
{
    private static readonly AbiSlot[] VarlenAbi =
    {
        new(AbiValue.QPointer, 8), new(AbiValue.KPointer, 8), new(AbiValue.VPointer, 8), new(AbiValue.OutputPointer, 8), new(AbiValue.LsePointer, 8),
        new(AbiValue.QueryOffsets, 8), new(AbiValue.KeyOffsets, 8), new(AbiValue.HeadsQ, 4), new(AbiValue.HeadsKv, 4),
        new(AbiValue.QSeqStride, 8), new(AbiValue.QHeadStride, 8), new(AbiValue.KSeqStride, 8), new(AbiValue.KHeadStride, 8),
        new(AbiValue.VSeqStride, 8), new(AbiValue.VHeadStride, 8), new(AbiValue.OutputSeqStride, 8), new(AbiValue.OutputHeadStride, 8),
        new(AbiValue.CapturedBuffer, 8, 0), new(AbiValue.CapturedLastIndex, 4, 0),
    };

    private static VarlenLauncher.VarlenCall Call() => new(
        Q: 0x1000, K: 0x2000, V: 0x3000, Output: 0x4000, Lse: 0x5000, QueryOffsets: 0x6000, KeyOffsets: 0x7000, HeadsQ: 32, HeadsKv: 8, HeadDim: 128, ValueHeadDim: 64);

    [Fact]
    public void The_varlen_kernels_values_follow_its_abi()
    {
        var kernel = new GpuKernelInfo("ptx", "k_varlen", 128, 128, 69632, BlockKV: 32) { Abi = VarlenAbi };
        var args = new LaunchArguments();
        VarlenLauncher.Pack(kernel, Call(), [new CapturedDeviceBuffer("prefix", ["B"], 0x8000, 3)], ref args);

        args.Count.ShouldBe(VarlenAbi.Length);
        for (int i = 0; i < args.Count; i++)
        {
            args.SizeOf(i).ShouldBe(VarlenAbi[i].Bytes);
        }

        (args.ValueOf(0), args.ValueOf(1), args.ValueOf(2), args.ValueOf(3), args.ValueOf(4)).ShouldBe((0x1000UL, 0x2000UL, 0x3000UL, 0x4000UL, 0x5000UL));
        (args.ValueOf(5), args.ValueOf(6), args.ValueOf(7), args.ValueOf(8)).ShouldBe((0x6000UL, 0x7000UL, 32UL, 8UL));
        (args.ValueOf(9), args.ValueOf(10), args.ValueOf(11), args.ValueOf(12)).ShouldBe((32UL * 128, 128UL, 8UL * 128, 128UL));
        (args.ValueOf(13), args.ValueOf(14), args.ValueOf(15), args.ValueOf(16)).ShouldBe((8UL * 64, 64UL, 32UL * 64, 64UL));
        (args.ValueOf(17), args.ValueOf(18)).ShouldBe((0x8000UL, 2UL), "the prefix buffer and its last index");
    }

    [Fact]
    public void A_value_the_launcher_does_not_fill_or_a_missing_buffer_is_an_error_naming_the_kernel()
    {
        var foreign = new GpuKernelInfo("ptx", "k_varlen", 128, 128, 0) { Abi = [new(AbiValue.QPointer, 8), new(AbiValue.SeqQ, 4)] };
        var args = new LaunchArguments();
        Should.Throw<ArgumentException>(() => VarlenLauncher.Pack(foreign, Call(), default, ref args)).Message.ShouldContain("k_varlen");
        var kernel = new GpuKernelInfo("ptx", "k_varlen", 128, 128, 0) { Abi = VarlenAbi };
        var again = new LaunchArguments();
        Should.Throw<ArgumentException>(() => VarlenLauncher.Pack(kernel, Call(), default, ref again)).ParamName.ShouldBe("captured");
    }

    [Theory]
    [InlineData(3, 300, 8, 128, 3)]
    [InlineData(3, 256, 8, 128, 2)]
    [InlineData(5, 1, 4, 64, 1)]
    public void The_grid_covers_the_longest_sequences_query_blocks(int sequences, int longest, int headsQ, int blockQ, int blocks)
    {
        var grid = VarlenLauncher.Grid(sequences, longest, headsQ, blockQ)!.Value;
        ((int)grid.X, (int)grid.Y, (int)grid.Z).ShouldBe((blocks, headsQ, sequences));
    }

    [Theory]
    [InlineData(2, 0)]
    [InlineData(0, 0)]
    public void A_call_without_queries_launches_nothing(int sequences, int longest) =>
        VarlenLauncher.Grid(sequences, longest, 8, 128).ShouldBeNull();

    [Fact]
    public void Too_many_sequences_for_one_grid_is_an_error_naming_the_batch() =>
        Should.Throw<ArgumentException>(() => VarlenLauncher.Grid(70000, 10, 8, 128)).ParamName.ShouldBe("batch");
}

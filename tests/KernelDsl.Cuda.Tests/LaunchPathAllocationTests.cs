using System;
using KernelDsl.Cuda;
using Shouldly;
using Xunit;

namespace KernelDsl.Cuda.Tests;

/// <summary>
/// The device <c>Forward</c>'s work before the driver call (tensor binding and checks, kernel selection, block-mask and
/// captured-buffer checks, grid limits, argument packing) allocates nothing in steady state. Runs without a GPU: the
/// launcher's <see cref="AttentionLauncher.Pack"/> works on views with fake device addresses. (The two driver calls
/// after it, cuCtxSetCurrent and cuLaunchKernel, are measured on the GPU by GpuLaunchAllocationTests and GpuBench --small.)
/// </summary>
public unsafe class LaunchPathAllocationTests
{
    private static readonly GpuKernelSet Kernels = new(
        new GpuKernelInfo("ptx", "k_fwd", 128, 128, 55296, BlockKV: 64, TakesBlockMask: true) { Abi = TestAbi.Forward(true, 2) },
        new GpuKernelInfo("ptx90a", "k_fwd_sm90a", 256, 128, 147456, BlockKV: 128, TakesBlockMask: true, Family: "sm_90a", MinComputeCapability: 90, MaxComputeCapability: 99) { Abi = TestAbi.Forward(true, 2) });

    private static readonly string[] TableDims = { "Hq", "8" };
    private static readonly string[] DocumentDims = { "Skv" };

    [Fact]
    public void PackingAndSelectionAllocateNothingAfterWarmUp()
    {
        // B=1, Hq=8, Hkv=2, Sq=Skv=64, D=64, BHSD; LSE; two captured buffers; a block mask of the sm_80 kernel's tiles.
        var f = new Fixture(batch: 1, heads: 8, kvHeads: 2, seq: 64, dim: 64);
        var mask = new BlockMask(64, 64, 128, 64, 1, 1, new int[2], new int[1]);
        var args = default(LaunchArguments);
        for (int i = 0; i < 100; i++)
        {
            args = f.Pack(mask);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++)
        {
            args = f.Pack(mask);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        allocated.ShouldBe(0, "bytes allocated by 10,000 packed launches");
        args.Count.ShouldBe(21 + 5 + 2 * 2);
    }

    [Fact]
    public void PackedValuesFollowTheAbi()
    {
        var f = new Fixture(batch: 2, heads: 8, kvHeads: 2, seq: 100, dim: 64);
        var args = f.Pack(blockMask: null);

        args.Count.ShouldBe(30);
        args.ValueOf(0).ShouldBe(f.QAddress);
        args.ValueOf(4).ShouldBe(f.LseAddress);
        (args.ValueOf(5), args.ValueOf(6), args.ValueOf(7), args.ValueOf(8)).ShouldBe((100UL, 100UL, 8UL, 2UL));
        args.SizeOf(5).ShouldBe(4);

        // BHSD strides are [H*S*D, S*D, D, 1]; the ABI takes (batch, seq, head).
        (args.ValueOf(9), args.ValueOf(10), args.ValueOf(11)).ShouldBe((8UL * 100 * 64, 64UL, 100UL * 64));
        (args.ValueOf(12), args.ValueOf(13), args.ValueOf(14)).ShouldBe((2UL * 100 * 64, 64UL, 100UL * 64));
        args.SizeOf(9).ShouldBe(8);
        for (int i = 0; i < args.Count; i++)
        {
            args.SizeOf(i).ShouldBe(TestAbi.Forward(true, 2)[i].Bytes, $"size of parameter {i}: the slot's");
        }

        // No block mask: null pointers and zero strides; then the captured buffers in the spec's order, each address
        // followed by its last index (the device reads' clamp): table [Hq, 8] of 64 elements, documents [Skv] of 100.
        (args.ValueOf(21), args.ValueOf(22), args.ValueOf(25)).ShouldBe((0UL, 0UL, 0UL));
        (args.ValueOf(26), args.ValueOf(27)).ShouldBe((f.TableAddress, 63UL));
        (args.ValueOf(28), args.ValueOf(29)).ShouldBe((f.DocumentsAddress, 99UL));
    }

    [Fact]
    public void The_last_index_is_the_length_less_one_capped_at_the_largest_int_and_an_empty_buffer_is_refused()
    {
        CapturedDeviceBuffer[] buffers =
        [
            new CapturedDeviceBuffer("one", ["1"], 0x7f00_0000_0000, 1),
            new CapturedDeviceBuffer("huge", ["B", "Skv"], 0x7f00_0000_0000, 3_000_000_000),
            new CapturedDeviceBuffer("ids", ["Skv"], 0x7f00_0000_0000, 0),
        ];
        AttentionLauncher.CapturedLastIndex(buffers, 0).ShouldBe(0UL);
        AttentionLauncher.CapturedLastIndex(buffers, 1).ShouldBe((ulong)int.MaxValue, "a C# index is an int");
        var error = Should.Throw<ArgumentException>(() => AttentionLauncher.CapturedLastIndex(buffers, 2));
        error.ParamName.ShouldBe("ids");
        error.Message.ShouldContain("empty");
        Should.Throw<ArgumentException>(() => AttentionLauncher.CapturedLastIndex(buffers, 3)).ParamName.ShouldBe("captured");
    }

    [Fact]
    public void GridLimitsAreCheckedWithAClearError()
    {
        var shape = new AttentionShape(70_000, 16, 16, 8, 8, 64, 64);
        var error = Should.Throw<ArgumentException>(() => AttentionLauncher.Grid(shape, 128));
        error.Message.ShouldContain("65535");
        error.Message.ShouldContain("batch (70000)");

        Should.Throw<ArgumentException>(() => AttentionLauncher.Grid(new AttentionShape(1, 16, 16, 65_536, 1, 64, 64), 128))
            .Message.ShouldContain("query head (65536)");
        AttentionLauncher.Grid(new AttentionShape(65_535, 300, 16, 65_535, 1, 64, 64), 128).ShouldBe(new Dim3(3, 65_535, 65_535));
    }

    [Fact]
    public void AFailedCheckStillNamesTheArgument()
    {
        var f = new Fixture(batch: 1, heads: 8, kvHeads: 2, seq: 64, dim: 64);
        Should.Throw<ArgumentException>(() => f.Pack(blockMask: null, tableLength: 63)).ParamName.ShouldBe("table");
        Should.Throw<ArgumentException>(() => f.Pack(blockMask: null, misalignQ: true)).ParamName.ShouldBe("q");
        var wrongTiles = new BlockMask(64, 64, 64, 64, 1, 1, new int[2], new int[1]);
        Should.Throw<ArgumentException>(() => f.Pack(wrongTiles)).ParamName.ShouldBe("blockMask");
        Should.Throw<ArgumentException>(() => f.Pack(blockMask: null, capturedCount: 1)).ParamName.ShouldBe("captured");
    }

    [Fact]
    public void A_descriptor_without_an_abi_record_is_refused()
    {
        var f = new Fixture(batch: 1, heads: 8, kvHeads: 2, seq: 64, dim: 64);
        Should.Throw<ArgumentException>(() => f.Pack(blockMask: null, kernels: new GpuKernelSet(new GpuKernelInfo("ptx", "k_fwd", 128, 128, 0, 64, true))))
            .Message.ShouldContain("no ABI record");
    }

    /// <summary>Lengths and strides of BHSD tensors (allocated once, as a DeviceTensor holds them) at fake 256-byte aligned addresses.</summary>
    private sealed class Fixture(int batch, int heads, int kvHeads, int seq, int dim)
    {
        private readonly nint[] _qLengths = { batch, heads, seq, dim };
        private readonly nint[] _qStrides = { (nint)heads * seq * dim, (nint)seq * dim, dim, 1 };
        private readonly nint[] _kvLengths = { batch, kvHeads, seq, dim };
        private readonly nint[] _kvStrides = { (nint)kvHeads * seq * dim, (nint)seq * dim, dim, 1 };
        private readonly nint[] _lseLengths = { batch, heads, seq };
        private readonly nint[] _lseStrides = { (nint)heads * seq, seq, 1 };

        public ulong QAddress => 0x7f00_0000_0000;

        public ulong LseAddress => 0x7f50_0000_0000;

        public ulong TableAddress => 0x7f60_0000_0000;

        public ulong DocumentsAddress => 0x7f70_0000_0000;

        public LaunchArguments Pack(BlockMask? blockMask, long tableLength = -1, bool misalignQ = false, int capturedCount = 2, GpuKernelSet? kernels = null)
        {
            var args = new LaunchArguments();
            var q = new TensorArgument("q", (void*)(QAddress + (misalignQ ? 2UL : 0)), 2, _qLengths, _qStrides);
            var k = new TensorArgument("k", (void*)0x7f10_0000_0000, 2, _kvLengths, _kvStrides);
            var v = new TensorArgument("v", (void*)0x7f20_0000_0000, 2, _kvLengths, _kvStrides);
            var o = new TensorArgument("output", (void*)0x7f30_0000_0000, 2, _qLengths, _qStrides);
            var lse = new TensorArgument("lse", (void*)LseAddress, 4, _lseLengths, _lseStrides);
            var selected = GpuKernelSelection.Select(kernels ?? Kernels, 90, blockMask, forcedFamily: null);
            ReadOnlySpan<CapturedDeviceBuffer> captured =
            [
                new CapturedDeviceBuffer("table", TableDims, TableAddress, tableLength >= 0 ? tableLength : heads * 8L),
                new CapturedDeviceBuffer("documents", DocumentDims, DocumentsAddress, seq),
            ];
            AttentionLauncher.Pack(selected, TensorLayout.BHSD, 64, 64, q, k, v, o, lse, captured[..capturedCount], blockMask, 0x7f80_0000_0000, 0x7f90_0000_0000, ref args);
            return args;
        }
    }
}

using System;
using KernelDsl.Cuda;
using Shouldly;
using Xunit;

namespace KernelDsl.Cuda.Tests;

/// <summary>
/// The device Backward's work before the driver calls (KernelDsl.Cuda.BackwardLauncher): the same checks as the CPU
/// Backward plus 16-byte rows, and each kernel's parameters packed from its ABI table. Runs without a GPU, on views with
/// fake device addresses (BHSD, Hq = 8, Hkv = 2: GQA).
/// </summary>
public unsafe class BackwardLaunchPackTests
{
    private static readonly string[] SlopeDims = { "Hq" };

    [Fact]
    public void The_dkdv_kernels_values_follow_its_abi()
    {
        var f = new Fixture(batch: 2, heads: 8, kvHeads: 2, seqQ: 100, seqKv: 70, dim: 64);
        var kernel = new GpuKernelInfo("ptx", "k_bwd_dkdv", 128, 64, 56320, BlockKV: 64) { Abi = TestAbi.Backward(keyValue: true, capturedBuffers: 1) };
        var args = f.Pack(kernel);

        args.Count.ShouldBe(8 + 4 + 18 + 2);
        (args.ValueOf(0), args.ValueOf(3), args.ValueOf(4), args.ValueOf(5)).ShouldBe((Fixture.Q, Fixture.DOut, Fixture.Delta, Fixture.Lse2));
        (args.ValueOf(6), args.ValueOf(7)).ShouldBe((Fixture.DK, Fixture.DV));
        (args.ValueOf(8), args.ValueOf(9), args.ValueOf(10), args.ValueOf(11)).ShouldBe((100UL, 70UL, 8UL, 2UL));
        args.SizeOf(8).ShouldBe(4);

        // BHSD strides are [H*S*D, S*D, D, 1]; the ABI takes (batch, seq, head): q's, then k's … dv's.
        (args.ValueOf(12), args.ValueOf(13), args.ValueOf(14)).ShouldBe((8UL * 100 * 64, 64UL, 100UL * 64));
        (args.ValueOf(15), args.ValueOf(16), args.ValueOf(17)).ShouldBe((2UL * 70 * 64, 64UL, 70UL * 64));
        (args.ValueOf(27), args.ValueOf(28), args.ValueOf(29)).ShouldBe((2UL * 70 * 64, 64UL, 70UL * 64));
        (args.ValueOf(30), args.ValueOf(31)).ShouldBe((Fixture.Slopes, 7UL), "the slopes [Hq] and their last index");
        for (int i = 0; i < args.Count; i++)
        {
            args.SizeOf(i).ShouldBe(kernel.Abi![i].Bytes);
        }
    }

    [Fact]
    public void The_preprocess_and_dq_kernels_get_their_own_tensors()
    {
        var f = new Fixture(batch: 1, heads: 8, kvHeads: 2, seqQ: 64, seqKv: 64, dim: 64);
        var preprocess = new GpuKernelInfo("ptx", "k_bwd_pre", 128, 16, 0)
        {
            Abi = new AbiSlot[]
            {
                new(AbiValue.OutputPointer, 8), new(AbiValue.DOutputPointer, 8), new(AbiValue.LsePointer, 8), new(AbiValue.DeltaPointer, 8),
                new(AbiValue.ScaledLsePointer, 8), new(AbiValue.SeqQ, 4), new(AbiValue.HeadsQ, 4),
            },
        };
        var args = f.Pack(preprocess);
        (args.ValueOf(0), args.ValueOf(1), args.ValueOf(2), args.ValueOf(3), args.ValueOf(4)).ShouldBe((Fixture.O, Fixture.DOut, Fixture.Lse, Fixture.Delta, Fixture.Lse2));

        var dq = new GpuKernelInfo("ptx", "k_bwd_dq", 128, 64, 55296, BlockKV: 64) { Abi = TestAbi.Backward(keyValue: false, capturedBuffers: 1) };
        args = f.Pack(dq);
        args.ValueOf(6).ShouldBe(Fixture.DQ);
        args.Count.ShouldBe(7 + 4 + 15 + 2);
    }

    [Fact]
    public void The_atomic_dq_kernels_get_the_accumulator_and_a_deterministic_launch_has_none()
    {
        var f = new Fixture(batch: 1, heads: 8, kvHeads: 2, seqQ: 64, seqKv: 64, dim: 64);
        const ulong Accumulator = 0x7fb0_0000_0000;
        var convert = new GpuKernelInfo("ptx", "k_bwd_dq_convert", 128, 16, 0)
        {
            Abi = new AbiSlot[] { new(AbiValue.DqAccumulatorPointer, 8), new(AbiValue.DqPointer, 8), new(AbiValue.SeqQ, 4), new(AbiValue.HeadsQ, 4) },
        };
        var args = f.Pack(convert, dqAccumulator: Accumulator);
        (args.ValueOf(0), args.ValueOf(1), args.ValueOf(2), args.ValueOf(3)).ShouldBe((Accumulator, Fixture.DQ, 64UL, 8UL));
        Should.Throw<ArgumentException>(() => f.Pack(convert)).Message.ShouldContain("atomic-dQ accumulator");
    }

    [Fact]
    public void The_mode_is_the_specs_default_unless_the_call_asks_and_a_deterministic_spec_refuses_the_atomic_one()
    {
        var k = new GpuKernelInfo("ptx", "k", 128, 64, 0);
        var deterministicOnly = new GpuBackwardKernels(k, k, k);
        var both = deterministicOnly with { KeyValueAtomicDq = k, QueryConvert = k };
        BackwardLauncher.UsesAtomicDq(both, null).ShouldBeTrue();
        BackwardLauncher.UsesAtomicDq(both, false).ShouldBeTrue();
        BackwardLauncher.UsesAtomicDq(both, true).ShouldBeFalse();
        BackwardLauncher.UsesAtomicDq(deterministicOnly, null).ShouldBeFalse();
        BackwardLauncher.UsesAtomicDq(deterministicOnly, true).ShouldBeFalse();
        var error = Should.Throw<ArgumentException>(() => BackwardLauncher.UsesAtomicDq(deterministicOnly, false));
        error.ParamName.ShouldBe("deterministic");
        error.Message.ShouldContain("Deterministic = true");
    }

    /// <summary>A block mask for the backward: shape as the forward's check, tiles multiples of the kernels', only for mask-modifier specs; its cells packed with strides in cells.</summary>
    [Fact]
    public void A_block_mask_must_fit_the_backward_kernels_and_is_packed_as_cells()
    {
        var shape = new AttentionShape(2, 256, 192, 8, 2, 64, 64);
        var keyValue = new GpuKernelInfo("ptx", "k_bwd_dkdv", 128, 64, 0, BlockKV: 64, TakesBlockMask: true);
        var query = new GpuKernelInfo("ptx", "k_bwd_dq", 128, 64, 0, BlockKV: 64, TakesBlockMask: true);
        BlockMask Mask(int tileQ, int tileKv, int heads)
        {
            int rows = heads * ((256 + tileQ - 1) / tileQ), kv = (192 + tileKv - 1) / tileKv;
            var counts = new int[2 * rows];
            var indices = new int[rows * kv];
            for (int row = 0; row < rows; row++)
            {
                counts[2 * row] = 1;
                indices[row * kv] = 0;
                for (int j = 1; j < kv; j++)
                {
                    indices[(row * kv) + j] = -1;
                }
            }

            return new BlockMask(256, 192, tileQ, tileKv, 1, heads, counts, indices);
        }

        BackwardLauncher.RequireBlockMask(Mask(128, 64, 8), shape, keyValue, query);
        BackwardLauncher.RequireBlockMask(Mask(128, 128, 1), shape, keyValue, null);
        Should.Throw<ArgumentException>(() => BackwardLauncher.RequireBlockMask(Mask(32, 64, 1), shape, keyValue, query)).ParamName.ShouldBe("blockMask");
        Should.Throw<ArgumentException>(() => BackwardLauncher.RequireBlockMask(Mask(128, 64, 4), shape, keyValue, query)).ParamName.ShouldBe("blockMask");
        Should.Throw<ArgumentException>(() => BackwardLauncher.RequireBlockMask(Mask(128, 64, 1), shape, keyValue with { TakesBlockMask = false }, null))
            .Message.ShouldContain("no mask modifier");

        var f = new Fixture(batch: 2, heads: 8, kvHeads: 2, seqQ: 256, seqKv: 192, dim: 64);
        var kernel = new GpuKernelInfo("ptx", "k", 128, 64, 0)
        {
            Abi = new AbiSlot[]
            {
                new(AbiValue.BlockClasses, 8), new(AbiValue.BlockClassBatchStride, 4), new(AbiValue.BlockClassHeadStride, 4),
                new(AbiValue.BlockMaskTileQ, 4), new(AbiValue.BlockMaskTileKv, 4), new(AbiValue.BlockMaskKvBlocks, 4),
            },
        };
        var none = f.Pack(kernel);
        none.ValueOf(0).ShouldBe(0UL);
        var args = f.Pack(kernel, classes: new BackwardLauncher.BlockClasses(0x7fc0_0000_0000, Mask(128, 64, 8)));
        (args.ValueOf(0), args.ValueOf(1), args.ValueOf(2), args.ValueOf(3), args.ValueOf(4), args.ValueOf(5)).ShouldBe((0x7fc0_0000_0000UL, 0UL, 2UL * 3, 128UL, 64UL, 3UL));
    }

    [Fact]
    public void The_workspace_holds_the_dq_accumulator_in_the_atomic_mode()
    {
        BackwardLauncher.WorkspaceLength(2, 8, 100, 64, deterministic: true).ShouldBe(BackwardLauncher.WorkspaceLength(2, 8, 100));
        BackwardLauncher.WorkspaceLength(2, 8, 100, 64, deterministic: false).ShouldBe((2L + 64) * 2 * 8 * 100);
    }

    [Fact]
    public void Every_check_names_the_argument()
    {
        var f = new Fixture(batch: 1, heads: 8, kvHeads: 2, seqQ: 64, seqKv: 64, dim: 64);
        var kernel = new GpuKernelInfo("ptx", "k_bwd_dq", 128, 64, 55296, BlockKV: 64) { Abi = TestAbi.Backward(keyValue: false, capturedBuffers: 1) };
        Should.Throw<ArgumentException>(() => f.Pack(kernel, misalign: "dOutput")).ParamName.ShouldBe("dOutput");
        Should.Throw<ArgumentException>(() => f.Pack(kernel, misalign: "q")).ParamName.ShouldBe("q");
        Should.Throw<ArgumentException>(() => f.Pack(kernel, dqHeads: 4)).ParamName.ShouldBe("dq");
        Should.Throw<ArgumentException>(() => f.Pack(kernel, dqAliasesQ: true)).Message.ShouldContain("dq");
        Should.Throw<ArgumentException>(() => f.Pack(kernel, slopesLength: 7)).ParamName.ShouldBe("slopes");
        var grid = Should.Throw<ArgumentException>(() => new Fixture(batch: 65_536, heads: 8, kvHeads: 2, seqQ: 64, seqKv: 64, dim: 64).Pack(kernel));
        grid.ParamName.ShouldBe("q");
        grid.Message.ShouldContain("one layer per batch (65536)");
        grid.Message.ShouldContain("65535");
        Should.Throw<ArgumentException>(() => f.Pack(new GpuKernelInfo("ptx", "k_bwd_dq", 128, 64, 0)))
            .Message.ShouldContain("no ABI record");
    }

    /// <summary>BHSD views at fake 256-byte aligned addresses; gradients shaped like their inputs.</summary>
    private sealed class Fixture(int batch, int heads, int kvHeads, int seqQ, int seqKv, int dim)
    {
        public const ulong Q = 0x7f00_0000_0000, K = 0x7f10_0000_0000, V = 0x7f20_0000_0000, O = 0x7f30_0000_0000, Lse = 0x7f40_0000_0000;
        public const ulong DOut = 0x7f50_0000_0000, DQ = 0x7f60_0000_0000, DK = 0x7f70_0000_0000, DV = 0x7f80_0000_0000;
        public const ulong Delta = 0x7f90_0000_0000, Lse2 = 0x7f90_0010_0000, Slopes = 0x7fa0_0000_0000;

        private readonly nint[] _qLengths = { batch, heads, seqQ, dim };
        private readonly nint[] _qStrides = { (nint)heads * seqQ * dim, (nint)seqQ * dim, dim, 1 };
        private readonly nint[] _kvLengths = { batch, kvHeads, seqKv, dim };
        private readonly nint[] _kvStrides = { (nint)kvHeads * seqKv * dim, (nint)seqKv * dim, dim, 1 };
        private readonly nint[] _lseLengths = { batch, heads, seqQ };
        private readonly nint[] _lseStrides = { (nint)heads * seqQ, seqQ, 1 };

        public LaunchArguments Pack(GpuKernelInfo kernel, string? misalign = null, int? dqHeads = null, bool dqAliasesQ = false, long slopesLength = -1, ulong dqAccumulator = 0, BackwardLauncher.BlockClasses? classes = null)
        {
            nint[] dqLengths = { batch, dqHeads ?? heads, seqQ, dim };
            var t = new BackwardLauncher.BackwardTensors(
                View("q", Q, misalign, _qLengths, _qStrides), View("k", K, misalign, _kvLengths, _kvStrides), View("v", V, misalign, _kvLengths, _kvStrides),
                View("output", O, misalign, _qLengths, _qStrides), new TensorArgument("lse", (void*)Lse, 4, _lseLengths, _lseStrides),
                View("dOutput", DOut, misalign, _qLengths, _qStrides), View("dq", dqAliasesQ ? Q : DQ, misalign, dqLengths, _qStrides),
                View("dk", DK, misalign, _kvLengths, _kvStrides), View("dv", DV, misalign, _kvLengths, _kvStrides));
            ReadOnlySpan<CapturedDeviceBuffer> captured = [new CapturedDeviceBuffer("slopes", SlopeDims, Slopes, slopesLength >= 0 ? slopesLength : heads)];
            var shape = BackwardLauncher.Check(TensorLayout.BHSD, dim, dim, t, captured);
            var args = new LaunchArguments();
            BackwardLauncher.Pack(kernel, TensorLayout.BHSD, shape, t, Delta, Lse2, captured, ref args, dqAccumulator, classes);
            return args;
        }

        private static TensorArgument View(string name, ulong address, string? misalign, nint[] lengths, nint[] strides) =>
            new(name, (void*)(address + (misalign == name ? 2UL : 0)), 2, lengths, strides);
    }
}

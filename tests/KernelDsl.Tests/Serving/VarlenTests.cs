using System;
using System.Linq;
using KernelDsl.Reference;
using KernelDsl.Tests.Numerics;
using Shouldly;
using Xunit;

namespace KernelDsl.Tests.Serving;

/// <summary>
/// The generated CPU <c>ForwardVarlen</c> (packed sequences, cumulative offsets, each with its own alignment) against the
/// float64 reference: ragged Sq and Skv including 0 and 1, Sq ≠ Skv, tile boundaries, GQA and MQA, a top-left window with
/// Dv ≠ D; outputs NaN-poisoned.
/// </summary>
public sealed class VarlenTests(ITestOutputHelper output)
{
    /// <summary>(Sq, Skv) per sequence: a key-less one, a query-less one, single tokens, tile boundaries ± 1, long ones.</summary>
    private static readonly (int Q, int Kv)[] Sequences = [(5, 0), (0, 7), (1, 1), (1, 100), (31, 33), (64, 64), (65, 130), (97, 40)];

    [Theory]
    [InlineData(4, 4)]
    [InlineData(8, 2)]
    [InlineData(4, 1)]
    public void Causal_fp32_and_bf16_match_the_reference(int headsQ, int headsKv)
    {
        int seed = Random.Shared.Next();
        var random = new Random(seed);
        var batch = Batch(random);
        var fp32 = Run<float, float>(random, batch, headsQ, headsKv, 32, 32, ServingCausalFp32.Serving.BandFor,
            (q, k, v, o, lse) => ServingCausalFp32.ForwardVarlen(q, k, v, o, lse, batch, headsQ, headsKv));
        var bf16 = Run<BFloat16, BFloat16>(random, batch, headsQ, headsKv, 64, 64, ServingCausalBf16.Serving.BandFor,
            (q, k, v, o, lse) => ServingCausalBf16.ForwardVarlen(q, k, v, o, lse, batch, headsQ, headsKv));
        output.WriteLine($"Hq/Hkv {headsQ}/{headsKv}: fp32 O {fp32.Output:E2} LSE {fp32.Lse:E2}; bf16 O {bf16.Output:E2} LSE {bf16.Lse:E2} (seed {seed})");
        fp32.Output.ShouldBeLessThan(Tolerances.Output(DType.FP32, false), $"seed {seed}");
        fp32.Lse.ShouldBeLessThan(Tolerances.Lse(false), $"seed {seed}");
        bf16.Output.ShouldBeLessThan(Tolerances.Output(DType.BF16, false), $"seed {seed}");
        bf16.Lse.ShouldBeLessThan(Tolerances.Lse(false) * 4, $"seed {seed}");
    }

    [Fact]
    public void Top_left_window_with_a_narrower_value_head_matches_the_reference()
    {
        int seed = Random.Shared.Next();
        var random = new Random(seed);
        var batch = Batch(random);
        var errors = Run<Half, float>(random, batch, 6, 3, 48, 32, VarlenWindowFp16.Serving.BandFor,
            (q, k, v, o, lse) => VarlenWindowFp16.ForwardVarlen(q, k, v, o, lse, batch, 6, 3));
        output.WriteLine($"window fp16→fp32: O {errors.Output:E2} LSE {errors.Lse:E2} (seed {seed})");
        errors.Output.ShouldBeLessThan(Tolerances.Output(DType.FP32, false), $"seed {seed}");
        errors.Lse.ShouldBeLessThan(Tolerances.Lse(false), $"seed {seed}");
    }

    [Fact]
    public void Misuse_names_the_argument()
    {
        var batch = new VarlenBatch([0, 2], [0, 3]);
        var q = new float[2 * 2 * 32];
        var k = new float[3 * 32];
        var o = new float[q.Length];
        var lse = new float[4];
        ServingCausalFp32.ForwardVarlen(q, k, k, o, lse, batch, 2, 1);
        Should.Throw<ArgumentException>(() => ServingCausalFp32.ForwardVarlen(q, k, k, o, lse, batch, 3, 1)).ParamName.ShouldBe("q");
        Should.Throw<ArgumentException>(() => ServingCausalFp32.ForwardVarlen(q, k.AsSpan(1), k, o, lse, batch, 2, 1)).ParamName.ShouldBe("k");
        Should.Throw<ArgumentException>(() => ServingCausalFp32.ForwardVarlen(q, k, k, o, lse, batch, 2, 0)).ParamName.ShouldBe("headsKv");
        Should.Throw<ArgumentException>(() => ServingCausalFp32.ForwardVarlen(q, k, k, q, lse, batch, 2, 1)).ParamName.ShouldBe("output");
        Should.Throw<ArgumentNullException>(() => ServingCausalFp32.ForwardVarlen(q, k, k, o, lse, null!, 2, 1)).ParamName.ShouldBe("batch");
    }

    private static VarlenBatch Batch(Random random)
    {
        var order = Sequences.OrderBy(_ => random.Next()).ToArray();
        var qOffsets = new int[order.Length + 1];
        var kOffsets = new int[order.Length + 1];
        for (int s = 0; s < order.Length; s++)
        {
            qOffsets[s + 1] = qOffsets[s] + order[s].Q;
            kOffsets[s + 1] = kOffsets[s] + order[s].Kv;
        }

        return new VarlenBatch(qOffsets, kOffsets);
    }

    private delegate void VarlenCall<TIn, TOut>(TIn[] q, TIn[] k, TIn[] v, TOut[] output, float[] lse)
        where TIn : unmanaged
        where TOut : unmanaged;

    private static (double Output, double Lse) Run<TIn, TOut>(Random random, VarlenBatch batch, int headsQ, int headsKv, int headDim, int valueHeadDim,
        Func<AttentionShape, MaskBand> band, VarlenCall<TIn, TOut> call)
        where TIn : unmanaged
        where TOut : unmanaged
    {
        var q = RandomTensors.Uniform<TIn>(random, batch.TotalQueries * headsQ * headDim);
        var k = RandomTensors.Uniform<TIn>(random, batch.TotalKeys * headsKv * headDim);
        var v = RandomTensors.Uniform<TIn>(random, batch.TotalKeys * headsKv * valueHeadDim);
        var o = ServingCase.Poisoned<TOut>(batch.TotalQueries * headsQ * valueHeadDim);
        var lse = ServingCase.Poisoned<float>(batch.TotalQueries * headsQ);
        call(q, k, v, o, lse);
        var reference = ServingReference.Varlen<TIn>(q, k, v, batch, headsQ, headsKv, headDim, valueHeadDim, 1 / Math.Sqrt(headDim), band);
        return ServingCase.Errors(o, lse, reference);
    }
}

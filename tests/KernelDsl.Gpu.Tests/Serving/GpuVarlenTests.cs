using System;
using System.Linq;
using KernelDsl.Reference;
using Shouldly;
using Xunit;

namespace KernelDsl.Gpu.Tests.Serving;

/// <summary>
/// The generated device <c>ForwardVarlen</c> (issue 11) against the float64 reference (ServingReference.Varlen, each sequence
/// as a dense B = 1 call): ragged lengths with 0 and 1, lengths at the query-block (128) and key-tile boundaries ± 1, more and
/// fewer keys than queries, empty key runs, GQA 1/4/8 and MQA, a top-left window with Dv ≠ D and fp32 output, modifiers
/// with a captured buffer; outputs NaN-poisoned; fresh random inputs (seed printed). The main cases run on the device's kernel
/// (the sm_90a family's on Hopper) and again with the sm_80 family forced.
/// </summary>
[Collection(nameof(GpuCollection))]
public sealed class GpuVarlenTests(ITestOutputHelper output)
{
    /// <summary>(Hq, Hkv): MHA, GQA 4, GQA 8, MQA.</summary>
    private static readonly (int HeadsQ, int HeadsKv)[] Groups = [(4, 4), (8, 2), (16, 2), (4, 1)];

    /// <summary>Query-run lengths around the kernel's blocks (128 query rows; 32- and 64-key tiles), with 0 and 1.</summary>
    private static readonly int[] Boundaries = [0, 1, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 257];

    private static void RequireGpu() => Assert.SkipUnless(Cuda.Cuda.IsAvailable, $"No CUDA GPU: {Cuda.Cuda.UnavailableReason}");

    /// <summary>The device's kernel (sm_90a on Hopper), and the sm_80 family forced (which every GPU runs).</summary>
    public static TheoryData<string> Families => new("auto", "sm_80");

    [Theory]
    [MemberData(nameof(Families))]
    public void Bf16_causal_varlen_matches_the_reference(string family)
    {
        RequireGpu();
        using var _ = Family(family);
        int seed = Random.Shared.Next();
        foreach (var (headsQ, headsKv) in Groups)
        {
            var random = new Random(seed + (headsQ * 10) + headsKv);
            var queries = Boundaries.OrderBy(_ => random.Next()).Take(9).Append(0).Append(1).Append(128 + random.Next(400)).ToArray();
            // Keys: as many as queries (prefill), more (a cached prefix), fewer (rows before the diagonal keep nothing), none.
            var keys = queries.Select(q => random.Next(4) switch { 0 => q, 1 => q + random.Next(300), 2 => Math.Max(0, q - random.Next(40)), _ => q + 1 }).ToArray();
            keys[random.Next(keys.Length)] = 0;
            var batch = Batch(queries, keys);
            var (o, lse, reference) = RunCausal(random, batch, headsQ, headsKv);
            var (outputError, lseError) = (ErrorMetrics.RelativeError<BFloat16>(o, reference.Output), ErrorMetrics.MaxLseError(lse, reference.Lse));
            string label = $"{family}: Hq/Hkv {headsQ}/{headsKv} queries [{string.Join(", ", queries)}] keys [{string.Join(", ", keys)}]";
            output.WriteLine($"{label}: O {outputError:E2}, LSE {lseError:E2} (seed {seed})");
            outputError.ShouldBeLessThan(GpuTolerances.Output(bf16Inputs: true), $"{label} seed {seed}");
            lseError.ShouldBeLessThan(GpuTolerances.Lse(1), $"{label} seed {seed}");
        }
    }

    /// <summary>
    /// Every sequence of the same length: the varlen kernel's result matches the dense GPU Forward's on the same tensors (to the
    /// bf16 tolerance: on Hopper the dense call runs the sm_90a kernel, whose sums are ordered differently).
    /// </summary>
    [Fact]
    public void Uniform_lengths_agree_with_the_dense_forward()
    {
        RequireGpu();
        int seed = Random.Shared.Next();
        var random = new Random(seed);
        const int sequences = 3, length = 300, headsQ = 8, headsKv = 2, headDim = 128;
        var batch = Batch(Enumerable.Repeat(length, sequences).ToArray(), Enumerable.Repeat(length, sequences).ToArray());
        var (o, lse, _) = RunCausal(random, batch, headsQ, headsKv, out var q, out var k, out var v);
        using var dq = Packed(q, sequences, length, headsQ, headDim);
        using var dk = Packed(k, sequences, length, headsKv, headDim);
        using var dv = Packed(v, sequences, length, headsKv, headDim);
        using var dout = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, sequences, length, headsQ, headDim);
        using var dlse = new DeviceBuffer<float>(sequences * headsQ * length);
        GpuVarlenCausalBf16.Forward(dq, dk, dv, dout, dlse);
        var dense = dout.ToArray();
        var denseLse = dlse.ToArray();
        // Dense LSE is [B, Hq, Sq]; varlen's is [tokens, Hq].
        var reordered = new float[denseLse.Length];
        for (int b = 0; b < sequences; b++)
        {
            for (int h = 0; h < headsQ; h++)
            {
                for (int i = 0; i < length; i++)
                {
                    reordered[(((b * length) + i) * headsQ) + h] = denseLse[(((b * headsQ) + h) * length) + i];
                }
            }
        }

        double outputError = ErrorMetrics.RelativeError<BFloat16>(o, dense.Select(x => (double)(float)x).ToArray());
        output.WriteLine($"varlen vs dense: O {outputError:E2} (seed {seed})");
        outputError.ShouldBeLessThan(GpuTolerances.Output(bf16Inputs: true), $"seed {seed}");
        ErrorMetrics.MaxLseError(lse, reordered.Select(x => (double)x).ToArray()).ShouldBeLessThan(GpuTolerances.Lse(1), $"seed {seed}");
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void Sequences_without_keys_give_zeros_and_minus_infinity(string family)
    {
        RequireGpu();
        using var _ = Family(family);
        var random = new Random(Random.Shared.Next());
        const int headsQ = 8;
        var batch = Batch([3, 0, 130, 5], [0, 0, 0, 9]);
        var (o, lse, _) = RunCausal(random, batch, headsQ, 2);
        int emptyRows = (3 + 130) * headsQ;
        o.Take(emptyRows * 128).ShouldAllBe(x => (float)x == 0f);
        lse.Take(emptyRows).ShouldAllBe(x => float.IsNegativeInfinity(x));
        lse.Skip(emptyRows).ShouldAllBe(x => float.IsFinite(x));
    }

    [Fact]
    public void A_top_left_window_with_a_narrower_value_head_matches_the_reference()
    {
        RequireGpu();
        const int headsQ = 6, headsKv = 3, headDim = 64, valueHeadDim = 32;
        int seed = Random.Shared.Next();
        var random = new Random(seed);
        int[] queries = [0, 1, 63, 64, 65, 200, 129, 7];
        int[] keys = [5, 1, 80, 64, 0, 330, 129, 1];
        var batch = Batch(queries, keys);
        var q = RandomTensors.Uniform<Half>(random, batch.TotalQueries * headsQ * headDim, 2f);
        var k = RandomTensors.Uniform<Half>(random, batch.TotalKeys * headsKv * headDim, 2f);
        var v = RandomTensors.Uniform<Half>(random, batch.TotalKeys * headsKv * valueHeadDim);
        using var dq = Packed(q, 1, batch.TotalQueries, headsQ, headDim);
        using var dk = Packed(k, 1, batch.TotalKeys, headsKv, headDim);
        using var dv = Packed(v, 1, batch.TotalKeys, headsKv, valueHeadDim);
        using var dbatch = batch.ToDevice();
        using var dout = DeviceTensor<float>.Create(TensorLayout.BSHD, 1, batch.TotalQueries, headsQ, valueHeadDim);
        dout.Fill(float.NaN);
        GpuVarlenWindowFp16.ForwardVarlen(dq, dk, dv, dout, dbatch, headsQ, headsKv);
        var reference = ServingReference.Varlen<Half>(q, k, v, batch, headsQ, headsKv, headDim, valueHeadDim, 1 / Math.Sqrt(headDim), GpuVarlenWindowFp16.Serving.BandFor);
        double outputError = ErrorMetrics.RelativeError<float>(dout.ToArray(), reference.Output);
        output.WriteLine($"window: O {outputError:E2} (seed {seed})");
        outputError.ShouldBeLessThan(GpuTolerances.Output(bf16Inputs: false), $"seed {seed}");
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void Modifiers_with_a_per_sequence_captured_buffer_match_the_reference(string family)
    {
        RequireGpu();
        using var _ = Family(family);
        const int headsQ = 4, headsKv = 4, headDim = 64;
        int seed = Random.Shared.Next();
        var random = new Random(seed);
        int[] queries = [129, 1, 0, 64, 300];
        var keys = queries.Select(q => q + random.Next(3)).ToArray();
        var prefix = keys.Select(l => random.Next(l + 1)).ToArray();
        var batch = Batch(queries, keys);
        var q = RandomTensors.Uniform<Half>(random, batch.TotalQueries * headsQ * headDim, 3f);
        var k = RandomTensors.Uniform<Half>(random, batch.TotalKeys * headsKv * headDim, 3f);
        var v = RandomTensors.Uniform<Half>(random, batch.TotalKeys * headsKv * headDim);
        using var dq = Packed(q, 1, batch.TotalQueries, headsQ, headDim);
        using var dk = Packed(k, 1, batch.TotalKeys, headsKv, headDim);
        using var dv = Packed(v, 1, batch.TotalKeys, headsKv, headDim);
        using var dbatch = batch.ToDevice();
        using var dprefix = DeviceBuffer<int>.From(prefix);
        using var dout = DeviceTensor<Half>.Create(TensorLayout.BSHD, 1, batch.TotalQueries, headsQ, headDim);
        using var dlse = new DeviceBuffer<float>((long)batch.TotalQueries * headsQ);
        dout.Fill(Half.NaN);
        dlse.Fill(float.NaN);
        GpuVarlenPrefixLm.ForwardVarlen(dq, dk, dv, dout, dlse, dprefix, dbatch, headsQ, headsKv);
        var reference = ServingReference.Varlen<Half>(q, k, v, batch, headsQ, headsKv, headDim, headDim, 1 / Math.Sqrt(headDim), GpuVarlenPrefixLm.Serving.BandFor,
            GpuVarlenPrefixLm.ScoreModifierReference, (b, h, i, j) => GpuVarlenPrefixLm.MaskModifierReference(b, h, i, j, prefix));
        double outputError = ErrorMetrics.RelativeError<Half>(dout.ToArray(), reference.Output);
        double lseError = ErrorMetrics.MaxLseError(dlse.ToArray(), reference.Lse);
        output.WriteLine($"prefix [{string.Join(", ", prefix)}]: O {outputError:E2}, LSE {lseError:E2} (seed {seed})");
        outputError.ShouldBeLessThan(GpuTolerances.Output(bf16Inputs: false), $"seed {seed}");
        lseError.ShouldBeLessThan(GpuTolerances.Lse(3), $"seed {seed}");
    }

    /// <summary>After the first call (JIT), a device ForwardVarlen allocates no managed memory.</summary>
    [Fact]
    public void A_steady_state_call_allocates_nothing()
    {
        RequireGpu();
        var batch = Batch([100, 0, 300], [120, 4, 300]);
        using var dbatch = batch.ToDevice();
        using var dq = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, 1, batch.TotalQueries, 8, 128);
        using var dk = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, 1, batch.TotalKeys, 2, 128);
        using var dv = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, 1, batch.TotalKeys, 2, 128);
        using var dout = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, 1, batch.TotalQueries, 8, 128);
        using var dlse = new DeviceBuffer<float>(batch.TotalQueries * 8);
        for (int i = 0; i < 3; i++)
        {
            GpuVarlenCausalBf16.ForwardVarlen(dq, dk, dv, dout, dlse, dbatch, 8, 2);
        }

        Cuda.Cuda.Synchronize();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 200; i++)
        {
            GpuVarlenCausalBf16.ForwardVarlen(dq, dk, dv, dout, dlse, dbatch, 8, 2);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Cuda.Cuda.Synchronize();
        output.WriteLine($"{allocated} bytes over 200 calls");
        allocated.ShouldBe(0);
    }

    [Fact]
    public void Misuse_at_the_call_names_the_argument()
    {
        RequireGpu();
        var batch = Batch([5, 17], [5, 20]);
        using var dbatch = batch.ToDevice();
        using var dq = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, 1, 22, 8, 128);
        using var dk = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, 1, 25, 2, 128);
        using var dv = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, 1, 25, 2, 128);
        using var dout = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, 1, 22, 8, 128);
        using var dlse = new DeviceBuffer<float>(22 * 8);
        GpuVarlenCausalBf16.ForwardVarlen(dq, dk, dv, dout, dlse, dbatch, 8, 2);

        Should.Throw<ArgumentException>(() => GpuVarlenCausalBf16.ForwardVarlen(dq, dk, dv, dout, dlse, dbatch, 7, 2)).ParamName.ShouldBe("headsQ");
        Should.Throw<ArgumentException>(() => GpuVarlenCausalBf16.ForwardVarlen(dq, dk, dv, dout, dlse, dbatch, 8, 4)).ParamName.ShouldBe("k");
        using var wrongQ = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, 1, 21, 8, 128);
        Should.Throw<ArgumentException>(() => GpuVarlenCausalBf16.ForwardVarlen(wrongQ, dk, dv, dout, dlse, dbatch, 8, 2)).ParamName.ShouldBe("q");
        using var shortV = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, 1, 24, 2, 128);
        Should.Throw<ArgumentException>(() => GpuVarlenCausalBf16.ForwardVarlen(dq, dk, shortV, dout, dlse, dbatch, 8, 2)).ParamName.ShouldBe("v");
        using var wrongOut = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, 1, 22, 8, 64);
        Should.Throw<ArgumentException>(() => GpuVarlenCausalBf16.ForwardVarlen(dq, dk, dv, wrongOut, dlse, dbatch, 8, 2)).ParamName.ShouldBe("output");
        using var shortLse = new DeviceBuffer<float>((22 * 8) - 1);
        Should.Throw<ArgumentException>(() => GpuVarlenCausalBf16.ForwardVarlen(dq, dk, dv, dout, shortLse, dbatch, 8, 2)).ParamName.ShouldBe("lse");
        using var strided = DeviceTensor<BFloat16>.Create(TensorLayout.BHSD, 1, 22, 8, 128);
        Should.Throw<ArgumentException>(() => GpuVarlenCausalBf16.ForwardVarlen(strided, dk, dv, dout, dlse, dbatch, 8, 2)).ParamName.ShouldBe("q");
        Should.Throw<ArgumentNullException>(() => GpuVarlenCausalBf16.ForwardVarlen(dq, dk, dv, dout, dlse, null!, 8, 2)).ParamName.ShouldBe("batch");
        using var dprefix = DeviceBuffer<int>.From([1]);
        using var hq = DeviceTensor<Half>.Create(TensorLayout.BSHD, 1, 22, 4, 64);
        using var hk = DeviceTensor<Half>.Create(TensorLayout.BSHD, 1, 25, 4, 64);
        using var hout = DeviceTensor<Half>.Create(TensorLayout.BSHD, 1, 22, 4, 64);
        using var hlse = new DeviceBuffer<float>(22 * 4);
        Should.Throw<ArgumentException>(() => GpuVarlenPrefixLm.ForwardVarlen(hq, hk, hk, hout, hlse, dprefix, dbatch, 4, 4)).ParamName.ShouldBe("prefix");
    }

    /// <summary>One causal bf16 varlen call on fresh random tensors; returns O, LSE and the reference.</summary>
    private static (BFloat16[] Output, float[] Lse, ReferenceResult Reference) RunCausal(Random random, VarlenBatch batch, int headsQ, int headsKv) =>
        RunCausal(random, batch, headsQ, headsKv, out _, out _, out _);

    private static (BFloat16[] Output, float[] Lse, ReferenceResult Reference) RunCausal(
        Random random, VarlenBatch batch, int headsQ, int headsKv, out BFloat16[] q, out BFloat16[] k, out BFloat16[] v)
    {
        const int headDim = 128;
        q = RandomTensors.Uniform<BFloat16>(random, batch.TotalQueries * headsQ * headDim);
        k = RandomTensors.Uniform<BFloat16>(random, batch.TotalKeys * headsKv * headDim);
        v = RandomTensors.Uniform<BFloat16>(random, batch.TotalKeys * headsKv * headDim);
        using var dq = Packed(q, 1, batch.TotalQueries, headsQ, headDim);
        using var dk = Packed(k, 1, batch.TotalKeys, headsKv, headDim);
        using var dv = Packed(v, 1, batch.TotalKeys, headsKv, headDim);
        using var dbatch = batch.ToDevice();
        using var dout = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, 1, batch.TotalQueries, headsQ, headDim);
        using var dlse = new DeviceBuffer<float>((long)batch.TotalQueries * headsQ);
        dout.Fill(RandomTensors.FromFloat<BFloat16>(float.NaN));
        dlse.Fill(float.NaN);
        GpuVarlenCausalBf16.ForwardVarlen(dq, dk, dv, dout, dlse, dbatch, headsQ, headsKv);
        var reference = ServingReference.Varlen<BFloat16>(q, k, v, batch, headsQ, headsKv, headDim, headDim, 1 / Math.Sqrt(headDim), GpuVarlenCausalBf16.Serving.BandFor);
        return (dout.ToArray(), dlse.ToArray(), reference);
    }

    /// <summary>Forces the kernel family ("auto": the device's choice) until disposed.</summary>
    private static IDisposable Family(string family)
    {
        string? previous = Cuda.GpuKernelSelection.ForcedFamily;
        Cuda.GpuKernelSelection.ForcedFamily = family == "auto" ? previous : family;
        return new Restore(() => Cuda.GpuKernelSelection.ForcedFamily = previous);
    }

    private sealed class Restore(Action restore) : IDisposable
    {
        public void Dispose() => restore();
    }

    /// <summary>cu_seqlens from per-sequence lengths.</summary>
    private static VarlenBatch Batch(int[] queries, int[] keys)
    {
        var qo = new int[queries.Length + 1];
        var ko = new int[keys.Length + 1];
        for (int s = 0; s < queries.Length; s++)
        {
            qo[s + 1] = qo[s] + queries[s];
            ko[s + 1] = ko[s] + keys[s];
        }

        return new VarlenBatch(qo, ko);
    }

    /// <summary>data as a contiguous BSHD [batch, tokens, heads, dim] on the device.</summary>
    private static DeviceTensor<T> Packed<T>(T[] data, int batch, int tokens, int heads, int dim)
        where T : unmanaged
    {
        var tensor = DeviceTensor<T>.Create(TensorLayout.BSHD, batch, tokens, heads, dim);
        tensor.Upload(data);
        return tensor;
    }
}

using System;
using System.Linq;
using System.Numerics.Tensors;
using System.Reflection;
using KernelDsl.Samples.Library;
using KernelDsl.Tests.Backward;
using KernelDsl.Tests.Numerics;
using Shouldly;
using Xunit;

namespace KernelDsl.Tests.Arguments;

/// <summary>
/// Every ArgumentException a public entry point raises names its parameter: for each bad-argument case, the exception's
/// ParamName is non-null, is a parameter of the method called (found by reflection), and is the one at fault. Covers the
/// CPU Forward and Backward (span and tensor overloads), captured buffers, block masks and their builders, and the
/// device views' Wrap (its checks run before the driver). The device Forward's cases need a GPU: GpuParamNameTests.
/// </summary>
public sealed class ParamNameAuditTests
{
    private static readonly AttentionShape Shape = new(2, 5, 7, 4, 2, 64, 64);

    private static readonly Type SpanF = typeof(ReadOnlySpan<float>);

    private static readonly Type TensorF = typeof(ReadOnlyTensorSpan<float>);

    [Fact]
    public void Span_forward()
    {
        var m = Method(typeof(Fp32BshdNoMaskD64), "Forward", SpanF);
        var (q, k, v, o, lse) = Buffers(Shape);
        Names(m, "q", () => Fp32BshdNoMaskD64.Forward(q[1..], k, v, o, lse, Shape));
        Names(m, "k", () => Fp32BshdNoMaskD64.Forward(q, k[1..], v, o, lse, Shape));
        Names(m, "v", () => Fp32BshdNoMaskD64.Forward(q, k, v[1..], o, lse, Shape));
        Names(m, "output", () => Fp32BshdNoMaskD64.Forward(q, k, v, o[1..], lse, Shape));
        Names(m, "lse", () => Fp32BshdNoMaskD64.Forward(q, k, v, o, lse[1..], Shape));
        Names(m, "shape", () => Fp32BshdNoMaskD64.Forward(q, k, v, o, lse, Shape with { HeadDim = 32 }));
        Names(m, "shape", () => Fp32BshdNoMaskD64.Forward(q, k, v, o, lse, Shape with { HeadsKv = 3 }));
        Names(m, "shape", () => Fp32BshdNoMaskD64.Forward(q, k, v, o, lse, Shape with { SeqQ = -1 }));
    }

    [Fact]
    public void Tensor_forward()
    {
        var m = Method(typeof(Fp32BshdNoMaskD64), "Forward", TensorF);
        var (q, k, v, o, lse) = Buffers(Shape);
        void Call(ReadOnlyTensorSpan<float> tq, ReadOnlyTensorSpan<float> tk, ReadOnlyTensorSpan<float> tv, TensorSpan<float> to, TensorSpan<float> tl) =>
            Fp32BshdNoMaskD64.Forward(tq, tk, tv, to, tl);
        Names(m, "q", () => Call(new(q, [2, 5, 256]), T(k, 2, 7, 2), T(v, 2, 7, 2), O(o, 2, 5, 4), L(lse)));
        Names(m, "q", () => Call(new(q, [2, 5, 8, 32]), T(k, 2, 7, 2), T(v, 2, 7, 2), O(o, 2, 5, 4), L(lse)));
        Names(m, "k", () => Call(T(q, 2, 5, 4), new(k, [1, 14, 2, 64]), T(v, 2, 7, 2), O(o, 2, 5, 4), L(lse)));
        Names(m, "k", () => Call(T(q, 2, 5, 4), new(new float[2 * 7 * 3 * 64], [2, 7, 3, 64]), T(v, 2, 7, 2), O(o, 2, 5, 4), L(lse))); // 4 heads over 3
        Names(m, "v", () => Call(T(q, 2, 5, 4), T(k, 2, 7, 2), new(v, [2, 7, 1, 128]), O(o, 2, 5, 4), L(lse)));
        Names(m, "output", () => Call(T(q, 2, 5, 4), T(k, 2, 7, 2), T(v, 2, 7, 2), new(o, [2, 5, 2, 128]), L(lse)));
        Names(m, "output", () => Call(T(q, 2, 5, 4), T(k, 2, 7, 2), T(v, 2, 7, 2), new(q, [2, 5, 4, 64]), L(lse))); // aliases q
        Names(m, "output", () => Call(T(q, 2, 5, 4), T(k, 2, 7, 2), T(v, 2, 7, 2), new(o, [2, 5, 4, 64], [0, 0, 0, 1]), L(lse))); // overlaps itself
        Names(m, "lse", () => Call(T(q, 2, 5, 4), T(k, 2, 7, 2), T(v, 2, 7, 2), O(o, 2, 5, 4), new(lse, [2, 5, 4])));
        Names(m, "lse", () => Call(T(q, 2, 5, 4), T(k, 2, 7, 2), T(v, 2, 7, 2), O(o, 2, 5, 4), new(o, [2, 4, 5]))); // aliases output
        Names(m, "q", () => Call(new(q, [2, 5, 0, 64]), T(k, 2, 7, 2), T(v, 2, 7, 2), new(o, [2, 5, 0, 64]), new(lse, [2, 0, 5]))); // no query head
    }

    [Fact]
    public void Captured_buffers_and_block_masks()
    {
        var shape = new AttentionShape(1, 40, 40, 2, 2, 64, 64);
        var q = new BFloat16[40 * 2 * 64];
        var documents = new int[40];
        var m = Method(typeof(DocumentMaskAttention), "Forward", typeof(ReadOnlySpan<BFloat16>));
        Names(m, "documents", () => DocumentMaskAttention.Forward(q, q, q, new BFloat16[q.Length], new float[80], documents[1..], shape));
        var wrongShape = DocumentMaskAttention.CreateCpuBlockMask(shape with { SeqQ = 39, SeqKv = 39 }, new int[39]);
        Names(m, "blockMask", () => DocumentMaskAttention.Forward(q, q, q, new BFloat16[q.Length], new float[80], documents, shape, wrongShape));

        var build = Method(typeof(DocumentMaskAttention), "CreateBlockMask", typeof(AttentionShape));
        Names(build, "blockQ", () => DocumentMaskAttention.CreateBlockMask(shape, 0, 64, documents));
        Names(build, "documents", () => DocumentMaskAttention.CreateBlockMask(shape, 64, 64, documents[1..]));
        Names(build, "shape", () => DocumentMaskAttention.CreateBlockMask(shape with { SeqKv = 0 }, 64, 64, []));
        var cpu = Method(typeof(DocumentMaskAttention), "CreateCpuBlockMask", typeof(AttentionShape));
        Names(cpu, "shape", () => DocumentMaskAttention.CreateCpuBlockMask(shape with { HeadsKv = 3 }, documents));
        var gpu = Method(typeof(DocumentMaskAttention), "CreateGpuBlockMaskOnDevice", typeof(AttentionShape));
        Names(gpu, "shape", () => DocumentMaskAttention.CreateGpuBlockMaskOnDevice(shape with { Batch = 0 }, null!));
    }

    [Fact]
    public void Block_mask_construction()
    {
        var ctor = typeof(BlockMask).GetConstructors().Single();
        int[] counts = [0, 1, 0, 1], indices = [0, 0];
        Names(ctor, "seqQ", () => _ = new BlockMask(0, 8, 8, 8, 1, 1, counts, indices));
        Names(ctor, "blockKV", () => _ = new BlockMask(16, 8, 8, 0, 1, 1, counts, indices));
        Names(ctor, "heads", () => _ = new BlockMask(16, 8, 8, 8, 1, -1, counts, indices));
        Names(ctor, "counts", () => _ = new BlockMask(16, 8, 8, 8, 1, 1, [0, 1], indices));
        Names(ctor, "counts", () => _ = new BlockMask(16, 8, 8, 8, 1, 1, [0, 2, 0, 1], indices));
        Names(ctor, "indices", () => _ = new BlockMask(16, 8, 8, 8, 1, 1, counts, [0, 1]));
        Names(ctor, "perBatch", () => _ = new BlockMask(16, 8, 8, 8, 2, 1, [0, 1, 0, 1, 0, 1, 0, 1], [0, 0, 0, 0], perBatch: false));
        var compact = typeof(BlockMaskBuilder).GetMethod(nameof(BlockMaskBuilder.Compact))!;
        Names(compact, "batches", () => BlockMaskBuilder.Compact(16, 8, 8, 8, 0, 1, [2, 2]));
        Names(compact, "kinds", () => BlockMaskBuilder.Compact(16, 8, 8, 8, 1, 1, [2]));
        Names(compact, "kinds", () => BlockMaskBuilder.Compact(16, 8, 8, 8, 1, 1, [2, 7]));
    }

    [Fact]
    public void Backward_span_and_tensor()
    {
        var shape = new AttentionShape(1, 6, 9, 2, 1, 32, 32);
        var q = new float[6 * 2 * 32];
        var kv = new float[9 * 32];
        var lse = new float[12];
        var span = Method(typeof(BwdFp32Plain), "Backward", SpanF);
        Names(span, "dq", () => BwdFp32Plain.Backward(q, kv, kv, q, lse, q, new float[q.Length - 1], new float[kv.Length], new float[kv.Length], shape));
        Names(span, "dOutput", () => BwdFp32Plain.Backward(q, kv, kv, q, lse, q[1..], new float[q.Length], new float[kv.Length], new float[kv.Length], shape));
        Names(span, "lse", () => BwdFp32Plain.Backward(q, kv, kv, q, lse[1..], q, new float[q.Length], new float[kv.Length], new float[kv.Length], shape));
        Names(span, "shape", () => BwdFp32Plain.Backward(q, kv, kv, q, lse, q, new float[q.Length], new float[kv.Length], new float[kv.Length], shape with { HeadDim = 64 }));

        var tensor = Method(typeof(BwdFp32Plain), "Backward", TensorF);
        var (o, dO, dq, dk, dv) = (new float[q.Length], new float[q.Length], new float[q.Length], new float[kv.Length], new float[kv.Length]);
        void Call(float[] dqMemory, float[] dkMemory, float[] dvMemory, nint[]? dkLengths = null) => BwdFp32Plain.Backward(
            new ReadOnlyTensorSpan<float>(q, [1, 6, 2, 32]), new ReadOnlyTensorSpan<float>(kv, [1, 9, 1, 32]), new ReadOnlyTensorSpan<float>(kv, [1, 9, 1, 32]),
            new ReadOnlyTensorSpan<float>(o, [1, 6, 2, 32]), new ReadOnlyTensorSpan<float>(lse, [1, 2, 6]), new ReadOnlyTensorSpan<float>(dO, [1, 6, 2, 32]),
            new TensorSpan<float>(dqMemory, [1, 6, 2, 32]), new TensorSpan<float>(dkMemory, dkLengths ?? [1, 9, 1, 32]), new TensorSpan<float>(dvMemory, [1, 9, 1, 32]));
        Names(tensor, "dk", () => Call(dq, dk, dv, [1, 3, 3, 32]));
        Names(tensor, "dq", () => Call(o, dk, dv)); // dq aliases output
        Names(tensor, "dk", () => Call(dq, dv, dv)); // dk aliases dv
        Names(tensor, "dv", () => Call(dq, dk, kv)); // dv aliases v

        var learnable = Method(typeof(BwdAlibiLearnable), "Backward", SpanF);
        var slopes = new float[2];
        Names(learnable, "slopesGradient", () => BwdAlibiLearnable.Backward(q, kv, kv, o, lse, dO, new float[q.Length], new float[kv.Length], new float[kv.Length], slopes, new float[3], shape));
        Names(learnable, "slopes", () => BwdAlibiLearnable.Backward(q, kv, kv, o, lse, dO, new float[q.Length], new float[kv.Length], new float[kv.Length], new float[3], new float[3], shape));
    }

    [Fact]
    public void Device_views_check_before_the_driver()
    {
        var buffer = typeof(DeviceBuffer<float>).GetMethod(nameof(DeviceBuffer<float>.Wrap))!;
        Names(buffer, "devicePointer", () => DeviceBuffer<float>.Wrap(0, 16));
        Names(buffer, "length", () => DeviceBuffer<float>.Wrap(0x7f00_0000_0000, -1));
        Names(buffer, "devicePointer", () => DeviceBuffer<float>.Wrap(0x7f00_0000_0002, 4));
        var strided = typeof(DeviceTensor<Half>).GetMethods().Single(x => x.Name == "Wrap" && x.GetParameters().Length == 5);
        Names(strided, "strides", () => DeviceTensor<Half>.Wrap(0x7f00_0000_0000, TensorLayout.BSHD, [1, 2, 3, 8], [48, 24, 8]));
        Names(strided, "lengths", () => DeviceTensor<Half>.Wrap(0x7f00_0000_0000, TensorLayout.BSHD, [1, -2, 3, 8], [48, 24, 8, 1]));
        Names(strided, "layout", () => DeviceTensor<Half>.Wrap(0x7f00_0000_0000, (TensorLayout)9, [1, 2, 3, 8], [48, 24, 8, 1]));
        var create = typeof(DeviceTensor<Half>).GetMethod(nameof(DeviceTensor<Half>.Create))!;
        Names(create, "layout", () => DeviceTensor<Half>.Create((TensorLayout)9, 1, 1, 1, 8));
    }

    /// <summary>The call throws an ArgumentException whose ParamName is <paramref name="expected"/>, a parameter of <paramref name="method"/>.</summary>
    private static void Names(MethodBase method, string expected, Action call)
    {
        var error = Should.Throw<ArgumentException>(call);
        var parameters = method.GetParameters().Select(p => p.Name).ToArray();
        error.ParamName.ShouldNotBeNull($"{method.Name}: '{error.Message}' names no parameter");
        parameters.ShouldContain(error.ParamName, $"{method.Name}({string.Join(", ", parameters)}) has no parameter '{error.ParamName}' ('{error.Message}')");
        error.ParamName.ShouldBe(expected, error.Message);
    }

    /// <summary>The public static overload of <paramref name="name"/> whose first parameter has type <paramref name="first"/>.</summary>
    private static MethodInfo Method(Type type, string name, Type first) =>
        type.GetMethods(BindingFlags.Public | BindingFlags.Static).Single(x => x.Name == name && x.GetParameters()[0].ParameterType == first);

    private static (float[] Q, float[] K, float[] V, float[] O, float[] Lse) Buffers(AttentionShape s) =>
        (new float[s.Batch * s.SeqQ * s.HeadsQ * 64], new float[s.Batch * s.SeqKv * s.HeadsKv * 64], new float[s.Batch * s.SeqKv * s.HeadsKv * 64],
         new float[s.Batch * s.SeqQ * s.HeadsQ * 64], new float[s.Batch * s.HeadsQ * s.SeqQ]);

    private static ReadOnlyTensorSpan<float> T(float[] data, int b, int s, int h) => new(data, [b, s, h, 64]);

    private static TensorSpan<float> O(float[] data, int b, int s, int h) => new(data, [b, s, h, 64]);

    private static TensorSpan<float> L(float[] data) => new(data, [2, 4, 5]);
}

using System;
using System.Linq;
using System.Numerics.Tensors;
using Shouldly;
using Xunit;

namespace KernelDsl.Cuda.Tests;

/// <summary>4-D device tensors: layout, strides, uploads from spans and (strided) tensor spans, downloads.</summary>
[Collection(GpuCollection.Name)]
public class GpuDeviceTensorTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(TensorLayout.BSHD)]
    [InlineData(TensorLayout.BHSD)]
    public void CreateOrdersDimensionsAndStridesByLayout(TensorLayout layout)
    {
        TestSupport.RequireGpu();
        const int B = 2, S = 5, H = 3, D = 8;
        using var tensor = DeviceTensor<Half>.Create(layout, B, S, H, D);

        (tensor.Batch, tensor.Seq, tensor.Heads, tensor.Dim).ShouldBe((B, S, H, D));
        tensor.Length.ShouldBe(B * S * H * D);
        tensor.BatchStride.ShouldBe(S * H * D);
        if (layout == TensorLayout.BSHD)
        {
            tensor.Lengths.ToArray().ShouldBe(new nint[] { B, S, H, D });
            (tensor.SeqStride, tensor.HeadStride).ShouldBe((H * D, D));
        }
        else
        {
            tensor.Lengths.ToArray().ShouldBe(new nint[] { B, H, S, D });
            (tensor.SeqStride, tensor.HeadStride).ShouldBe((D, S * D));
        }

        tensor.DevicePointer.ShouldBe(tensor.Buffer.DevicePointer);
        tensor.DevicePointer.ShouldNotBe(0UL);
    }

    [Fact]
    public void SpanRoundTrip()
    {
        TestSupport.RequireGpu();
        var random = TestSupport.SeededRandom(output);
        using var tensor = new DeviceTensor<BFloat16>(TensorLayout.BHSD, 2, 3, 17, 64);
        BFloat16[] host = TestSupport.RandomFloats(random, (int)tensor.Length).Select(v => (BFloat16)v).ToArray();

        tensor.Fill(BFloat16.NaN);
        tensor.Upload(host);
        var back = new BFloat16[host.Length];
        tensor.Download(back);

        back.Select(b => b.RawValue).ShouldBe(host.Select(b => b.RawValue));
    }

    [Fact]
    public void DenseTensorSpanRoundTrip()
    {
        TestSupport.RequireGpu();
        var random = TestSupport.SeededRandom(output);
        nint[] shape = { 2, 7, 3, 32 };
        float[] host = TestSupport.RandomFloats(random, 2 * 7 * 3 * 32);
        using var tensor = new DeviceTensor<float>(TensorLayout.BSHD, 2, 7, 3, 32);

        tensor.Upload(new ReadOnlyTensorSpan<float>(host, shape));
        float[] backing = Enumerable.Repeat(float.NaN, host.Length).ToArray();
        tensor.Download(new TensorSpan<float>(backing, shape));

        backing.ShouldBe(host);
    }

    [Fact]
    public void StridedTensorSpanIsUploadedInLogicalOrder()
    {
        TestSupport.RequireGpu();
        var random = TestSupport.SeededRandom(output);
        const int B = 2, S = 6, H = 4, D = 16;
        // A BHSD host array viewed as BSHD through strides: the upload must gather, not copy memory order.
        float[] bhsd = TestSupport.RandomFloats(random, B * H * S * D);
        var view = new ReadOnlyTensorSpan<float>(bhsd, new nint[] { B, S, H, D }, new nint[] { H * S * D, D, S * D, 1 });
        using var tensor = DeviceTensor<float>.Create(TensorLayout.BSHD, B, S, H, D);

        tensor.Upload(view);
        float[] back = tensor.ToArray();

        for (int b = 0; b < B; b++)
        {
            for (int s = 0; s < S; s++)
            {
                for (int h = 0; h < H; h++)
                {
                    for (int d = 0; d < D; d++)
                    {
                        float expected = bhsd[(((b * H) + h) * S + s) * D + d];
                        back[(((b * S) + s) * H + h) * D + d].ShouldBe(expected);
                    }
                }
            }
        }
    }

    [Fact]
    public void ShapeMismatchNamesTheArgument()
    {
        TestSupport.RequireGpu();
        using var tensor = new DeviceTensor<float>(TensorLayout.BSHD, 1, 2, 3, 4);

        Should.Throw<ArgumentException>(() => tensor.Upload(new float[23])).ParamName.ShouldBe("source");
        Should.Throw<ArgumentException>(() => tensor.Download(new float[25])).ParamName.ShouldBe("destination");
        var wrong = Should.Throw<ArgumentException>(() => tensor.Upload(new ReadOnlyTensorSpan<float>(new float[24], new nint[] { 1, 3, 2, 4 })));
        wrong.ParamName.ShouldBe("source");
        wrong.Message.ShouldContain("[1, 3, 2, 4]");
    }

    [Fact]
    public void AsArgumentFeedsTheBinding()
    {
        TestSupport.RequireGpu();
        using var q = DeviceTensor<Half>.Create(TensorLayout.BHSD, 2, 33, 4, 64);
        using var k = DeviceTensor<Half>.Create(TensorLayout.BHSD, 2, 47, 2, 64);
        using var v = DeviceTensor<Half>.Create(TensorLayout.BHSD, 2, 47, 2, 64);
        using var o = DeviceTensor<Half>.Create(TensorLayout.BHSD, 2, 33, 4, 64);

        AttentionShape shape = AttentionBinding.Bind(
            TensorLayout.BHSD, 64, 64, q.AsArgument("q"), k.AsArgument("k"), v.AsArgument("v"), o.AsArgument("output"), default);

        shape.ShouldBe(new AttentionShape(2, 33, 47, 4, 2, 64, 64));
    }
}

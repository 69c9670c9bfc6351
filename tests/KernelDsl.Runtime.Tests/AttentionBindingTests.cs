using System;
using System.Numerics.Tensors;
using KernelDsl;
using Shouldly;
using Xunit;

namespace KernelDsl.Runtime.Tests;

public unsafe class AttentionBindingTests
{
    private static AttentionShape Bind(float[] q, nint[] qShape, float[] k, nint[] kShape, float[] v, nint[] vShape, float[] o, nint[] oShape, TensorLayout layout = TensorLayout.BSHD)
    {
        var qt = new ReadOnlyTensorSpan<float>(q, qShape);
        var kt = new ReadOnlyTensorSpan<float>(k, kShape);
        var vt = new ReadOnlyTensorSpan<float>(v, vShape);
        var ot = new TensorSpan<float>(o, oShape);
        fixed (float* qp = q, kp = k, vp = v, op = o)
        {
            return AttentionBinding.Bind(layout, 8, 8,
                new TensorArgument("q", qp, 4, qt.Lengths, qt.Strides),
                new TensorArgument("k", kp, 4, kt.Lengths, kt.Strides),
                new TensorArgument("v", vp, 4, vt.Lengths, vt.Strides),
                new TensorArgument("output", op, 4, ot.Lengths, ot.Strides),
                default);
        }
    }

    [Fact]
    public void InfersTheShapeForBothLayouts()
    {
        Bind(new float[2 * 3 * 4 * 8], [2, 3, 4, 8], new float[2 * 5 * 2 * 8], [2, 5, 2, 8], new float[2 * 5 * 2 * 8], [2, 5, 2, 8], new float[2 * 3 * 4 * 8], [2, 3, 4, 8])
            .ShouldBe(new AttentionShape(2, 3, 5, 4, 2, 8, 8));
        Bind(new float[2 * 3 * 4 * 8], [2, 4, 3, 8], new float[2 * 5 * 2 * 8], [2, 2, 5, 8], new float[2 * 5 * 2 * 8], [2, 2, 5, 8], new float[2 * 3 * 4 * 8], [2, 4, 3, 8], TensorLayout.BHSD)
            .ShouldBe(new AttentionShape(2, 3, 5, 4, 2, 8, 8));
    }

    [Fact]
    public void WrongHeadDimNamesTheArgumentAndTheExpectedShape()
    {
        var e = Should.Throw<ArgumentException>(() =>
            Bind(new float[1 * 3 * 2 * 16], [1, 3, 2, 16], new float[40], [1, 5, 1, 8], new float[40], [1, 5, 1, 8], new float[48], [1, 3, 2, 8]));
        e.ParamName.ShouldBe("q");
        e.Message.ShouldContain("HeadDim = 8");
        e.Message.ShouldContain("[1, 3, 2, 8]");
    }

    [Fact]
    public void HeadCountsThatAreNotAMultipleAreRejected()
    {
        var e = Should.Throw<ArgumentException>(() =>
            Bind(new float[3 * 8], [1, 1, 3, 8], new float[16], [1, 1, 2, 8], new float[16], [1, 1, 2, 8], new float[24], [1, 1, 3, 8]));
        e.ParamName.ShouldBe("k");
        e.Message.ShouldContain("multiple");
    }

    [Fact]
    public void OutputWithTheWrongSequenceLengthIsRejected()
    {
        var e = Should.Throw<ArgumentException>(() =>
            Bind(new float[24], [1, 3, 1, 8], new float[40], [1, 5, 1, 8], new float[40], [1, 5, 1, 8], new float[40], [1, 5, 1, 8]));
        e.ParamName.ShouldBe("output");
        e.Message.ShouldContain("expected shape [1, 3, 1, 8]");
    }

    private readonly record struct Arg(float[] Data, nint[] Shape, nint[]? Strides = null);

    private static AttentionShape BindArgs(Arg q, Arg k, Arg v, Arg o)
    {
        var qt = q.Strides is null ? new ReadOnlyTensorSpan<float>(q.Data, q.Shape) : new ReadOnlyTensorSpan<float>(q.Data, q.Shape, q.Strides);
        var kt = k.Strides is null ? new ReadOnlyTensorSpan<float>(k.Data, k.Shape) : new ReadOnlyTensorSpan<float>(k.Data, k.Shape, k.Strides);
        var vt = v.Strides is null ? new ReadOnlyTensorSpan<float>(v.Data, v.Shape) : new ReadOnlyTensorSpan<float>(v.Data, v.Shape, v.Strides);
        var ot = o.Strides is null ? new TensorSpan<float>(o.Data, o.Shape) : new TensorSpan<float>(o.Data, o.Shape, o.Strides);
        fixed (float* qp = q.Data, kp = k.Data, vp = v.Data, op = o.Data)
        {
            return AttentionBinding.Bind(TensorLayout.BSHD, 8, 8,
                new TensorArgument("q", qp, 4, qt.Lengths, qt.Strides),
                new TensorArgument("k", kp, 4, kt.Lengths, kt.Strides),
                new TensorArgument("v", vp, 4, vt.Lengths, vt.Strides),
                new TensorArgument("output", op, 4, ot.Lengths, ot.Strides),
                default);
        }
    }

    [Fact]
    public void OutputAliasingAnInputIsRejected()
    {
        var shared = new Arg(new float[24], [1, 3, 1, 8]);
        var other = new Arg(new float[24], [1, 3, 1, 8]);
        var e = Should.Throw<ArgumentException>(() => BindArgs(shared, other, other, shared));
        e.ParamName.ShouldBe("output");
        e.Message.ShouldContain("overlaps 'q'");
    }

    [Fact]
    public void AnOutputThatOverlapsItselfIsRejected()
    {
        // Sequence stride 0 broadcasts one row to every position: parallel writes would race.
        var input = new Arg(new float[24], [1, 3, 1, 8]);
        var broadcast = new Arg(new float[256], [1, 3, 1, 8], [0, 0, 0, 1]);
        var e = Should.Throw<ArgumentException>(() => BindArgs(input, input, input, broadcast));
        e.ParamName.ShouldBe("output");
        e.Message.ShouldContain("overlap");
    }

    [Fact]
    public void NonContiguousLastDimensionIsRejected()
    {
        var strided = new Arg(new float[256], [1, 3, 1, 8], [0, 16, 0, 2]);
        var input = new Arg(new float[24], [1, 3, 1, 8]);
        var e = Should.Throw<ArgumentException>(() => BindArgs(strided, input, input, new Arg(new float[24], [1, 3, 1, 8])));
        e.ParamName.ShouldBe("q");
        e.Message.ShouldContain("contiguous");
    }

    [Fact]
    public void StridedViewsOfLargerBuffersAreAccepted()
    {
        // q is every other row of a larger buffer: a strided, non-dense view. (TensorSpan wants stride 0 on length-1 dims.)
        var strided = new Arg(new float[256], [1, 3, 1, 8], [0, 16, 0, 1]);
        var input = new Arg(new float[24], [1, 3, 1, 8]);
        BindArgs(strided, input, input, new Arg(new float[24], [1, 3, 1, 8])).ShouldBe(new AttentionShape(1, 3, 3, 1, 1, 8, 8));
    }
}

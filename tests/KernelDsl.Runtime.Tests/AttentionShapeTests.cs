using System;
using Shouldly;
using Xunit;

namespace KernelDsl.Runtime.Tests;

/// <summary>
/// Every error of AttentionShape.Validate names the parameter it comes from: the Forward overloads' 'shape'. Empty
/// batches and sequences are valid calls (README: empty dims), but not shapes a block mask or an estimate describes.
/// </summary>
public sealed class AttentionShapeTests
{
    [Theory]
    [InlineData(-1, 5, 5, 2, 2)]
    [InlineData(1, -1, 5, 2, 2)]
    [InlineData(1, 5, -3, 2, 2)]
    [InlineData(1, 5, 5, 0, 2)]
    [InlineData(1, 5, 5, 2, 0)]
    [InlineData(1, 5, 5, 3, 2)]
    public void An_invalid_shape_names_the_shape_parameter(int batch, int seqQ, int seqKv, int headsQ, int headsKv) =>
        Should.Throw<ArgumentException>(() => new AttentionShape(batch, seqQ, seqKv, headsQ, headsKv, 64, 64).Validate()).ParamName.ShouldBe("shape");

    [Theory]
    [InlineData(0, 5, 5)]
    [InlineData(1, 0, 5)]
    [InlineData(1, 5, 0)]
    public void Empty_dims_are_valid_calls_but_have_no_blocks(int batch, int seqQ, int seqKv)
    {
        var shape = new AttentionShape(batch, seqQ, seqKv, 2, 2, 64, 64);
        shape.Validate();
        shape.IsEmpty.ShouldBeTrue();
        Should.Throw<ArgumentException>(shape.ValidateNonEmpty).ParamName.ShouldBe("shape");
        new AttentionShape(1, 1, 1, 2, 2, 64, 64).IsEmpty.ShouldBeFalse();
    }
}

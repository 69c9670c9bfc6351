using System;
using Shouldly;
using Xunit;

namespace KernelDsl.Runtime.Tests;

/// <summary>Every error of AttentionShape.Validate names the parameter it comes from: the Forward overloads' 'shape'.</summary>
public sealed class AttentionShapeTests
{
    [Theory]
    [InlineData(0, 5, 5, 2, 2)]
    [InlineData(1, -1, 5, 2, 2)]
    [InlineData(1, 5, 0, 2, 2)]
    [InlineData(1, 5, 5, 0, 2)]
    [InlineData(1, 5, 5, 2, 0)]
    [InlineData(1, 5, 5, 3, 2)]
    public void An_invalid_shape_names_the_shape_parameter(int batch, int seqQ, int seqKv, int headsQ, int headsKv) =>
        Should.Throw<ArgumentException>(() => new AttentionShape(batch, seqQ, seqKv, headsQ, headsKv, 64, 64).Validate()).ParamName.ShouldBe("shape");
}

using System;
using System.Linq;
using Shouldly;
using Xunit;
using CompilerEnums = KernelDsl.Compiler.Model;
using RuntimeEnums = KernelDsl;

namespace KernelDsl.Generators.Tests;

/// <summary>
/// The compiler core mirrors the runtime's public enums value by value (the generator reads attribute
/// arguments as integers and casts). Names and values must agree exactly.
/// </summary>
public sealed class EnumMirrorTests
{
    public static TheoryData<Type, Type> Pairs { get; } = new()
    {
        { typeof(RuntimeEnums.DType), typeof(CompilerEnums.ElementType) },
        { typeof(RuntimeEnums.TensorLayout), typeof(CompilerEnums.TensorLayout) },
        { typeof(RuntimeEnums.MaskKind), typeof(CompilerEnums.MaskKind) },
        { typeof(RuntimeEnums.MaskAlignment), typeof(CompilerEnums.MaskAlignment) },
        { typeof(RuntimeEnums.RotaryConvention), typeof(CompilerEnums.RotaryConvention) },
        { typeof(RuntimeEnums.Cuda.AbiValue), typeof(KernelDsl.Compiler.Planning.AbiValue) },
    };

    [Theory]
    [MemberData(nameof(Pairs))]
    public void Runtime_and_compiler_enums_have_identical_names_and_values(Type runtime, Type compiler)
    {
        Describe(compiler).ShouldBe(Describe(runtime));
        Enum.GetUnderlyingType(compiler).ShouldBe(Enum.GetUnderlyingType(runtime));
    }

    private static string[] Describe(Type type) =>
        Enum.GetNames(type).Select(name => $"{name}={Convert.ToInt64(Enum.Parse(type, name), System.Globalization.CultureInfo.InvariantCulture)}").ToArray();
}

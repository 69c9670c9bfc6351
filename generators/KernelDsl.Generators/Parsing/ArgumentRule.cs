using System;
using System.Collections.Generic;
using System.Linq;
using KernelDsl.Compiler.Model;

namespace KernelDsl.Generators.Parsing;

/// <summary>What an attribute argument must be: the C# type it is written as.</summary>
internal enum ArgumentType
{
    Int,
    Double,
    Bool,
    Enum,
}

/// <summary>
/// One argument of one KernelDsl attribute: its name (the property, or the constructor parameter with its first
/// letter raised), its type, and, for enums, the runtime enum and the compiler's mirror of it (whose defined
/// values are the valid ones).
/// </summary>
internal sealed class ArgumentRule
{
    private ArgumentRule(string attribute, string property, ArgumentType type, int constructorIndex, string? enumName, Type? mirror, string example)
    {
        Attribute = attribute;
        Property = property;
        Type = type;
        ConstructorIndex = constructorIndex;
        RuntimeEnumName = enumName;
        MirrorEnum = mirror;
        Example = example;
    }

    /// <summary>Short attribute name, e.g. "Mask"; also the first part of the spec path.</summary>
    public string Attribute { get; }

    public string Property { get; }

    public ArgumentType Type { get; }

    /// <summary>Position among the constructor's parameters, or -1 for a named (property) argument.</summary>
    public int ConstructorIndex { get; }

    /// <summary>Metadata name of the runtime enum, e.g. "KernelDsl.DType".</summary>
    public string? RuntimeEnumName { get; }

    public Type? MirrorEnum { get; }

    /// <summary>A correct way to write it, for messages: "HeadDim = 128".</summary>
    public string Example { get; }

    /// <summary>The spec path diagnostics use for this argument, e.g. "Mask.Left".</summary>
    public string SpecPath => Attribute + "." + Property;

    /// <summary>"DType.FP32, DType.FP16 or DType.BF16", from the mirror enum.</summary>
    public string EnumChoices
    {
        get
        {
            string shortName = RuntimeEnumName!.Substring(RuntimeEnumName.LastIndexOf('.') + 1);
            var names = System.Enum.GetNames(MirrorEnum!).Select(name => shortName + "." + name).ToArray();
            return string.Join(", ", names.Take(names.Length - 1)) + " or " + names[names.Length - 1];
        }
    }

    public static ArgumentRule Named(string attribute, string property, ArgumentType type, string example) =>
        new(attribute, property, type, -1, null, null, example);

    public static ArgumentRule NamedEnum(string attribute, string property, string enumName, Type mirror, string example) =>
        new(attribute, property, ArgumentType.Enum, -1, enumName, mirror, example);

    public static ArgumentRule CtorEnum(string attribute, string property, string enumName, Type mirror, string example) =>
        new(attribute, property, ArgumentType.Enum, 0, enumName, mirror, example);
}

/// <summary>
/// Every argument of every KernelDsl attribute the adapter reads. The runtime's attributes
/// (src/KernelDsl/Spec/Attributes.cs) and this table change together: an argument missing here is reported
/// as unknown rather than silently ignored.
/// </summary>
internal static class ArgumentRules
{
    public const string Attention = "Attention";
    public const string Precision = "Precision";
    public const string Layout = "Layout";
    public const string Mask = "Mask";
    public const string Tiling = "Tiling";
    public const string Fusion = "Fusion";
    public const string Backward = "Backward";
    public const string Varlen = "Varlen";
    public const string PagedKv = "PagedKv";

    private const string DType = "KernelDsl.DType";

    public static IReadOnlyList<ArgumentRule> All { get; } = new[]
    {
        ArgumentRule.Named(Attention, "HeadDim", ArgumentType.Int, "HeadDim = 128"),
        ArgumentRule.Named(Attention, "ValueHeadDim", ArgumentType.Int, "ValueHeadDim = 128"),
        ArgumentRule.Named(Attention, "Scale", ArgumentType.Double, "Scale = 0.125"),
        ArgumentRule.CtorEnum(Precision, "Input", DType, typeof(ElementType), "[Precision(DType.BF16)]"),
        ArgumentRule.CtorEnum(Layout, "Value", "KernelDsl.TensorLayout", typeof(TensorLayout), "[Layout(TensorLayout.BHSD)]"),
        ArgumentRule.CtorEnum(Mask, "Kind", "KernelDsl.MaskKind", typeof(MaskKind), "[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]"),
        ArgumentRule.NamedEnum(Mask, "Alignment", "KernelDsl.MaskAlignment", typeof(MaskAlignment), "Alignment = MaskAlignment.BottomRight"),
        ArgumentRule.Named(Mask, "Left", ArgumentType.Int, "Left = 1024"),
        ArgumentRule.Named(Mask, "Right", ArgumentType.Int, "Right = 0"),
        ArgumentRule.Named(Tiling, "BlockQ", ArgumentType.Int, "BlockQ = 64"),
        ArgumentRule.Named(Tiling, "BlockKV", ArgumentType.Int, "BlockKV = 64"),
        ArgumentRule.NamedEnum(Fusion, "OutputType", DType, typeof(ElementType), "OutputType = DType.FP32"),
        ArgumentRule.Named(Fusion, "WriteLse", ArgumentType.Bool, "WriteLse = true"),
        ArgumentRule.Named(Fusion, "AppendKv", ArgumentType.Bool, "AppendKv = true"),
        ArgumentRule.NamedEnum(Fusion, "Rotary", "KernelDsl.RotaryConvention", typeof(RotaryConvention), "Rotary = RotaryConvention.HalfSplit"),
        ArgumentRule.Named(Fusion, "RotaryDim", ArgumentType.Int, "RotaryDim = 64"),
        ArgumentRule.Named(Fusion, "RotaryBase", ArgumentType.Double, "RotaryBase = 10000"),
        ArgumentRule.Named(Backward, "Deterministic", ArgumentType.Bool, "Deterministic = true"),
        ArgumentRule.Named(PagedKv, "MaxQueriesPerSequence", ArgumentType.Int, "MaxQueriesPerSequence = 16"),
        ArgumentRule.Named(PagedKv, "PageSize", ArgumentType.Int, "PageSize = 16"),
        ArgumentRule.Named(PagedKv, "EvictionScores", ArgumentType.Bool, "EvictionScores = true"),
    };

    /// <summary>The spec attributes by short name, in the order the parser reads them.</summary>
    public static IReadOnlyList<string> Attributes { get; } = new[] { Attention, Precision, Layout, Mask, Tiling, Fusion, Backward, Varlen, PagedKv };

    public static string MetadataName(string attribute) => "KernelDsl." + attribute + "Attribute";

    public static ArgumentRule? Named(string attribute, string property) =>
        All.FirstOrDefault(rule => rule.Attribute == attribute && rule.ConstructorIndex < 0 && rule.Property == property);

    public static ArgumentRule? Constructor(string attribute, int index) =>
        All.FirstOrDefault(rule => rule.Attribute == attribute && rule.ConstructorIndex == index);

    public static int ConstructorArity(string attribute) => All.Count(rule => rule.Attribute == attribute && rule.ConstructorIndex >= 0);

    /// <summary>
    /// "use HeadDim, ValueHeadDim or Scale", for the message about an unknown named argument; an attribute with
    /// no named arguments ([Precision], [Layout]) says so instead.
    /// </summary>
    public static string NamedChoices(string attribute)
    {
        var names = All.Where(rule => rule.Attribute == attribute && rule.ConstructorIndex < 0).Select(rule => rule.Property).ToArray();
        return names.Length switch
        {
            0 => $"[{attribute}] takes no named arguments; write it as {All.FirstOrDefault(rule => rule.Attribute == attribute)?.Example ?? "[" + attribute + "]"}",
            1 => "use " + names[0],
            _ => "use " + string.Join(", ", names.Take(names.Length - 1)) + " or " + names[names.Length - 1],
        };
    }
}

using KernelDsl.Compiler.Model;

namespace KernelDsl.Compiler.Emit;

/// <summary>C# spellings of model values in generated code (always global::-qualified).</summary>
public static class TypeNames
{
    public static string Element(ElementType type) => type switch
    {
        ElementType.FP32 => "float",
        ElementType.FP16 => "global::System.Half",
        ElementType.BF16 => "global::KernelDsl.BFloat16",
        _ => throw new System.ArgumentOutOfRangeException(nameof(type)),
    };

    public static string DType(ElementType type) => "global::KernelDsl.DType." + type;

    public static string Layout(TensorLayout layout) => "global::KernelDsl.TensorLayout." + layout;

    public static string Mask(MaskKind kind) => "global::KernelDsl.MaskKind." + kind;

    public static string Alignment(MaskAlignment alignment) => "global::KernelDsl.MaskAlignment." + alignment;

    /// <summary>A float literal that round-trips exactly (e.g. <c>0.08838835f</c>).</summary>
    public static string FloatLiteral(double value) =>
        ((float)value).ToString("R", System.Globalization.CultureInfo.InvariantCulture) + "f";

    /// <summary>A double literal that round-trips exactly.</summary>
    public static string DoubleLiteral(double value) =>
        value.ToString("R", System.Globalization.CultureInfo.InvariantCulture) + "d";
}

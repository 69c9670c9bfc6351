namespace KernelDsl.Compiler.Diagnostics;

/// <summary>
/// Names of the spec pieces that diagnostics point at. The Roslyn adapter records, for each of these, the
/// syntax that wrote it; a path it has not seen falls back to its attribute ("Mask.Left" → "Mask"), then to
/// the class name.
/// </summary>
public static class SpecPaths
{
    public const string Class = "Class";
    public const string Attention = "Attention";
    public const string HeadDim = "Attention.HeadDim";
    public const string ValueHeadDim = "Attention.ValueHeadDim";
    public const string Scale = "Attention.Scale";
    public const string Precision = "Precision";
    public const string InputType = "Precision.Input";
    public const string Layout = "Layout";
    public const string LayoutValue = "Layout.Value";
    public const string Mask = "Mask";
    public const string MaskKind = "Mask.Kind";
    public const string MaskLeft = "Mask.Left";
    public const string MaskRight = "Mask.Right";
    public const string MaskAlignment = "Mask.Alignment";
    public const string Tiling = "Tiling";
    public const string BlockQ = "Tiling.BlockQ";
    public const string BlockKV = "Tiling.BlockKV";
    public const string Fusion = "Fusion";
    public const string OutputType = "Fusion.OutputType";
    public const string WriteLse = "Fusion.WriteLse";
    public const string AppendKv = "Fusion.AppendKv";
    public const string Rotary = "Fusion.Rotary";
    public const string RotaryDim = "Fusion.RotaryDim";
    public const string RotaryBase = "Fusion.RotaryBase";
    public const string Varlen = "Varlen";
    public const string PagedKv = "PagedKv";
    public const string PagedKvMaxQueries = "PagedKv.MaxQueriesPerSequence";
    public const string PagedKvPageSize = "PagedKv.PageSize";
    public const string ScoreModifier = "ScoreMod";
    public const string MaskModifier = "MaskMod";

    /// <summary>The attribute part of a path: "Mask.Left" → "Mask".</summary>
    public static string AttributeOf(string path)
    {
        int dot = path.IndexOf('.');
        return dot < 0 ? path : path.Substring(0, dot);
    }
}

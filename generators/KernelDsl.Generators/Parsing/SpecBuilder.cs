using System.Collections.Generic;
using KernelDsl.Compiler.Diagnostics;
using KernelDsl.Compiler.Model;
using KernelDsl.Generators.Model;

namespace KernelDsl.Generators.Parsing;

/// <summary>
/// Parsed attributes → <see cref="AttentionSpec"/>. Defaults live here, and only here: an argument that was not
/// written is not the same as one written with its default value (Scale unset → null, Mask.Left unset → null,
/// ValueHeadDim unset → HeadDim, [Precision] absent → FP32, [Layout] absent → BSHD, OutputType unset → null).
/// Range checks are the compiler's (SpecValidator); this only reports what the spec cannot even express.
/// </summary>
internal static class SpecBuilder
{
    public static AttentionSpec? Build(
        TargetType target,
        ParsedAttribute attention,
        IReadOnlyDictionary<string, ParsedAttribute> attributes,
        List<LocatedDiagnostic> diagnostics)
    {
        // An unreadable [Attention] (e.g. [Attention(64)]) already has a KDSL0010 that says how to write it.
        if (attention.IsValid && !attention.IsMentioned("HeadDim"))
        {
            diagnostics.Add(LocatedDiagnostic.Create(DiagnosticCatalog.HeadDimMissing, attention.Location, target.Name));
            return null;
        }

        foreach (var attribute in attributes.Values)
        {
            if (!attribute.IsValid)
            {
                return null;
            }
        }

        var precision = Find(attributes, ArgumentRules.Precision);
        var layout = Find(attributes, ArgumentRules.Layout);
        var mask = Find(attributes, ArgumentRules.Mask);
        var tiling = Find(attributes, ArgumentRules.Tiling);
        var fusion = Find(attributes, ArgumentRules.Fusion);

        var backward = Find(attributes, ArgumentRules.Backward);
        var varlen = Find(attributes, ArgumentRules.Varlen);
        var paged = Find(attributes, ArgumentRules.PagedKv);
        bool writeLse = fusion?.Get("WriteLse", false) ?? false;
        if (backward is not null && fusion is not null && fusion.IsWritten("WriteLse") && !writeLse)
        {
            // The backward recomputes P from the LSE, so a trainable spec's forward always writes it.
            diagnostics.Add(LocatedDiagnostic.Create(DiagnosticCatalog.BackwardNeedsLse, FindArgument(fusion, "WriteLse"), target.Name));
        }

        int headDim = attention.Get("HeadDim", 0);
        var maskSpec = mask is null
            ? MaskSpec.None
            : new MaskSpec((MaskKind)mask.Get("Kind", 0), (MaskAlignment)mask.Get("Alignment", 0), mask.GetOrNull<int>("Left"), mask.GetOrNull<int>("Right"));

        return new AttentionSpec(
            target,
            headDim,
            attention.Get("ValueHeadDim", headDim),
            attention.GetOrNull<double>("Scale"),
            (ElementType)(precision?.Get("Input", 0) ?? 0),
            (TensorLayout)(layout?.Get("Value", 0) ?? 0),
            maskSpec,
            new TilingSpec(Block(tiling, "BlockQ", diagnostics), Block(tiling, "BlockKV", diagnostics)),
            new EpilogueSpec(fusion?.GetOrNull<int>("OutputType") is int output ? (ElementType)output : null, writeLse || backward is not null))
        {
            Backward = backward is null ? null : new BackwardSpec(backward.Get("Deterministic", false)),
            Varlen = varlen is null ? null : VarlenSpec.Default,
            PagedKv = paged is null ? null : new PagedKvSpec(paged.Get("MaxQueriesPerSequence", PagedKvSpec.DefaultMaxQueriesPerSequence), paged.GetOrNull<int>("PageSize"), paged.Get("EvictionScores", false)),
            Prologue = Prologue(fusion),
        };
    }

    /// <summary>[Fusion]'s prologue options as written, or null when none is (so specs without them keep an equal model).</summary>
    private static PrologueSpec? Prologue(ParsedAttribute? fusion)
    {
        if (fusion is null || !(fusion.IsWritten("AppendKv") || fusion.IsWritten("Rotary") || fusion.IsWritten("RotaryDim") || fusion.IsWritten("RotaryBase")))
        {
            return null;
        }

        return new PrologueSpec(
            fusion.Get("AppendKv", false),
            fusion.GetOrNull<int>("Rotary") is int rotary ? (RotaryConvention)rotary : null,
            fusion.GetOrNull<int>("RotaryDim"),
            fusion.GetOrNull<double>("RotaryBase"));
    }

    /// <summary>
    /// A block size; 0 means "the planner chooses" in the model, so a 0 the user wrote is reported here
    /// (KDSL0004), where the difference between written and left out is still known.
    /// </summary>
    private static int Block(ParsedAttribute? tiling, string property, List<LocatedDiagnostic> diagnostics)
    {
        if (tiling is null || !tiling.IsWritten(property))
        {
            return 0;
        }

        int block = tiling.Get(property, 0);
        if (block == 0)
        {
            diagnostics.Add(LocatedDiagnostic.Create(DiagnosticCatalog.BlockSizeInvalid, FindArgument(tiling, property), property, "0"));
        }

        return block;
    }

    private static LocationInfo FindArgument(ParsedAttribute attribute, string property)
    {
        foreach (var pair in attribute.Arguments)
        {
            if (pair.Key == property)
            {
                return pair.Value.Location;
            }
        }

        return attribute.Location;
    }

    private static ParsedAttribute? Find(IReadOnlyDictionary<string, ParsedAttribute> attributes, string name) =>
        attributes.TryGetValue(name, out var attribute) ? attribute : null;
}

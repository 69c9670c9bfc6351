using System.Collections.Generic;
using KernelDsl.Compiler.Model;

namespace KernelDsl.Compiler.Diagnostics;

/// <summary>
/// Checks a parsed spec against what the compiler supports. Runs before planning; a spec with errors is
/// never planned or emitted. Target-specific limits (shared memory, registers) belong to the planners.
/// </summary>
public static class SpecValidator
{
    public const int MinHeadDim = 8;
    public const int MaxHeadDim = 256;
    public const int MinBlock = 16;
    public const int MaxBlock = 256;

    public static List<SpecDiagnostic> Validate(AttentionSpec spec)
    {
        var diagnostics = new List<SpecDiagnostic>();

        if (!IsSupportedHeadDim(spec.HeadDim))
        {
            diagnostics.Add(SpecDiagnostic.Create(DiagnosticCatalog.HeadDimUnsupported, SpecPaths.HeadDim, spec.HeadDim));
        }

        // ValueHeadDim defaults to HeadDim: only report it when the user wrote a different value.
        if (spec.ValueHeadDim != spec.HeadDim && !IsSupportedHeadDim(spec.ValueHeadDim))
        {
            diagnostics.Add(SpecDiagnostic.Create(DiagnosticCatalog.ValueHeadDimUnsupported, SpecPaths.ValueHeadDim, spec.ValueHeadDim));
        }

        if (spec.Scale is double scale && !(scale > 0 && !double.IsInfinity(scale)))
        {
            diagnostics.Add(SpecDiagnostic.Create(DiagnosticCatalog.ScaleInvalid, SpecPaths.Scale, scale.ToString("R", System.Globalization.CultureInfo.InvariantCulture)));
        }

        ValidateMask(spec.Mask, diagnostics);
        ValidateBlock(spec.Tiling.BlockQ, "BlockQ", SpecPaths.BlockQ, diagnostics);
        ValidateBlock(spec.Tiling.BlockKV, "BlockKV", SpecPaths.BlockKV, diagnostics);

        if (spec.Epilogue.OutputType is ElementType output && output != spec.InputType && output != ElementType.FP32)
        {
            diagnostics.Add(SpecDiagnostic.Create(DiagnosticCatalog.PrecisionCombinationUnsupported, SpecPaths.OutputType, output, spec.InputType));
        }

        ValidateServing(spec, diagnostics);
        ValidatePrologue(spec, diagnostics);
        return diagnostics;
    }

    public const int MaxQueriesPerSequence = 16;
    public const int MaxPageSize = 256;

    /// <summary>[PagedKv] and [Varlen] (issue 11): option ranges, the decode alignment, and buffer dims that need one sequence length.</summary>
    private static void ValidateServing(AttentionSpec spec, List<SpecDiagnostic> diagnostics)
    {
        if (spec.PagedKv is { } paged)
        {
            if (paged.MaxQueriesPerSequence < 1 || paged.MaxQueriesPerSequence > MaxQueriesPerSequence)
            {
                diagnostics.Add(SpecDiagnostic.Create(DiagnosticCatalog.PagedKvMaxQueriesInvalid, SpecPaths.PagedKvMaxQueries, paged.MaxQueriesPerSequence));
            }

            if (paged.PageSize is int pageSize && (pageSize < 1 || pageSize > MaxPageSize))
            {
                diagnostics.Add(SpecDiagnostic.Create(DiagnosticCatalog.PagedKvPageSizeInvalid, SpecPaths.PagedKvPageSize, pageSize));
            }

            if (spec.Mask.IsMasked && spec.Mask.Alignment == MaskAlignment.TopLeft)
            {
                diagnostics.Add(SpecDiagnostic.Create(DiagnosticCatalog.PagedKvTopLeftAlignment, SpecPaths.MaskAlignment, spec.Mask.Kind));
            }
        }

        if (!spec.IsServing)
        {
            return;
        }

        string attribute = spec.PagedKv is not null ? SpecPaths.PagedKv : SpecPaths.Varlen;
        foreach (var (modifier, path) in new[] { (spec.ScoreModifier, SpecPaths.ScoreModifier), (spec.MaskModifier, SpecPaths.MaskModifier) })
        {
            foreach (var buffer in modifier?.Buffers ?? EquatableArray<Model.Expressions.CapturedBuffer>.Empty)
            {
                foreach (var dim in buffer.Dims)
                {
                    if (dim is "Sq" or "Skv")
                    {
                        diagnostics.Add(SpecDiagnostic.Create(DiagnosticCatalog.ServingBufferSequenceDim, path, buffer.Name, modifier!.MethodName, dim, attribute));
                        break;
                    }
                }
            }
        }
    }

    /// <summary>
    /// [Fusion]'s prologue (issue 12): the rotary dim and base, options that need Rotary, and where the prologue is fused
    /// (the paged decode step only, and rotary only with the append, because the cache holds K after rotary).
    /// </summary>
    private static void ValidatePrologue(AttentionSpec spec, List<SpecDiagnostic> diagnostics)
    {
        if (spec.Prologue is not { } prologue)
        {
            return;
        }

        if (prologue.RotaryDim is int rotaryDim)
        {
            string? why = rotaryDim <= 0 ? "rotate a positive number of features, or leave it out for HeadDim"
                : rotaryDim % 2 != 0 ? "features are rotated in pairs, so use an even number"
                : rotaryDim > spec.HeadDim ? $"it is larger than HeadDim = {spec.HeadDim}; use at most HeadDim (a smaller even value is partial rotary)"
                : null;
            if (why is not null)
            {
                diagnostics.Add(SpecDiagnostic.Create(DiagnosticCatalog.RotaryDimInvalid, SpecPaths.RotaryDim, rotaryDim, why));
            }
        }

        if (prologue.RotaryBase is double rotaryBase && !(rotaryBase > 0 && !double.IsInfinity(rotaryBase)))
        {
            diagnostics.Add(SpecDiagnostic.Create(DiagnosticCatalog.RotaryBaseInvalid, SpecPaths.RotaryBase, rotaryBase.ToString("R", System.Globalization.CultureInfo.InvariantCulture)));
        }

        if (prologue.Rotary is null)
        {
            foreach (var (written, path, name) in new[] { (prologue.RotaryDim is not null, SpecPaths.RotaryDim, "RotaryDim"), (prologue.RotaryBase is not null, SpecPaths.RotaryBase, "RotaryBase") })
            {
                if (written)
                {
                    diagnostics.Add(SpecDiagnostic.Create(DiagnosticCatalog.RotaryOptionWithoutRotary, path, name));
                }
            }
        }

        if (spec.PagedKv is null)
        {
            if (prologue.AppendKv)
            {
                diagnostics.Add(SpecDiagnostic.Create(DiagnosticCatalog.PrologueWithoutPagedKv, SpecPaths.AppendKv, "AppendKv", spec.Target.Name));
            }

            if (prologue.Rotary is not null)
            {
                diagnostics.Add(SpecDiagnostic.Create(DiagnosticCatalog.PrologueWithoutPagedKv, SpecPaths.Rotary, "Rotary", spec.Target.Name));
            }
        }
        else if (prologue.Rotary is not null && !prologue.AppendKv)
        {
            diagnostics.Add(SpecDiagnostic.Create(DiagnosticCatalog.RotaryWithoutAppendKv, SpecPaths.Rotary));
        }
    }

    public static bool IsSupportedHeadDim(int dim) => dim >= MinHeadDim && dim <= MaxHeadDim && dim % 8 == 0;

    private static void ValidateBlock(int block, string name, string path, List<SpecDiagnostic> diagnostics)
    {
        bool auto = block == 0;
        bool powerOfTwo = block > 0 && (block & (block - 1)) == 0;
        if (!auto && !(powerOfTwo && block >= MinBlock && block <= MaxBlock))
        {
            diagnostics.Add(SpecDiagnostic.Create(DiagnosticCatalog.BlockSizeInvalid, path, name, block));
        }
    }

    private static void ValidateMask(MaskSpec mask, List<SpecDiagnostic> diagnostics)
    {
        if (mask.Kind != MaskKind.SlidingWindow)
        {
            if (mask.WindowLeft is not null)
            {
                diagnostics.Add(SpecDiagnostic.Create(DiagnosticCatalog.WindowWithoutWindowMask, SpecPaths.MaskLeft, "Left", mask.Kind));
            }

            if (mask.WindowRight is not null)
            {
                diagnostics.Add(SpecDiagnostic.Create(DiagnosticCatalog.WindowWithoutWindowMask, SpecPaths.MaskRight, "Right", mask.Kind));
            }
        }
        else
        {
            if (mask.WindowLeft is null)
            {
                diagnostics.Add(SpecDiagnostic.Create(DiagnosticCatalog.WindowBoundsInvalid, SpecPaths.Mask,
                    "A sliding window needs Left (keys before the diagonal, -1 for unbounded), e.g. [Mask(MaskKind.SlidingWindow, Left = 1024, Right = 0, Alignment = MaskAlignment.BottomRight)]"));
            }
            else if (mask.WindowLeft < -1)
            {
                diagnostics.Add(SpecDiagnostic.Create(DiagnosticCatalog.WindowBoundsInvalid, SpecPaths.MaskLeft,
                    $"Left = {mask.WindowLeft} is not a window bound: use a count of keys ≥ 0, or -1 for unbounded"));
            }

            if (mask.WindowRight is int right && right < -1)
            {
                diagnostics.Add(SpecDiagnostic.Create(DiagnosticCatalog.WindowBoundsInvalid, SpecPaths.MaskRight,
                    $"Right = {right} is not a window bound: use a count of keys ≥ 0, or -1 for unbounded"));
            }

            if (mask.WindowLeft == -1 && mask.WindowRight == -1)
            {
                diagnostics.Add(SpecDiagnostic.Create(DiagnosticCatalog.WindowBoundsInvalid, SpecPaths.Mask,
                    "A window unbounded on both sides masks nothing: use MaskKind.None, or bound one side"));
            }
        }

        if (mask.Kind == MaskKind.None && mask.Alignment != MaskAlignment.Unspecified)
        {
            diagnostics.Add(SpecDiagnostic.Create(DiagnosticCatalog.AlignmentWithoutMask, SpecPaths.MaskAlignment));
        }

        if (mask.Kind != MaskKind.None && mask.Alignment == MaskAlignment.Unspecified)
        {
            diagnostics.Add(SpecDiagnostic.Create(DiagnosticCatalog.AlignmentMissing, SpecPaths.Mask, mask.Kind));
        }
    }
}

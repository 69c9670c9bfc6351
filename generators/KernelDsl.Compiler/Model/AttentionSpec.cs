namespace KernelDsl.Compiler.Model;

/// <summary>
/// Everything a user's attributes say about one attention kernel, as plain data.
/// Contract: immutable with structural equality and no Roslyn types inside — the incremental generator
/// caches on it, so a field that compares by reference would make every edit re-emit every kernel.
/// </summary>
public sealed record AttentionSpec(
    TargetType Target,
    int HeadDim,
    int ValueHeadDim,
    double? Scale,
    ElementType InputType,
    TensorLayout Layout,
    MaskSpec Mask,
    TilingSpec Tiling,
    EpilogueSpec Epilogue)
{
    /// <summary>The translated [ScoreMod] method, applied to each scaled score (issue 4); null when absent.</summary>
    public Expressions.ModifierSpec? ScoreModifier { get; init; }

    /// <summary>[Backward] (issue 10): the generator adds the backward pass; null when the spec does not train.</summary>
    public BackwardSpec? Backward { get; init; }

    /// <summary>[Varlen] (issue 11): the generator adds ForwardVarlen over packed sequences; null when absent.</summary>
    public VarlenSpec? Varlen { get; init; }

    /// <summary>[PagedKv] (issue 11): the generator adds Decode over a paged KV cache; null when absent.</summary>
    public PagedKvSpec? PagedKv { get; init; }

    /// <summary>
    /// The decode step's fused prologue from [Fusion] (issue 12): KV append and rotary; null when neither is written.
    /// </summary>
    public PrologueSpec? Prologue { get; init; }

    /// <summary>True when the spec has the fused rotary/append decode step (DecodeAppend).</summary>
    public bool HasDecodeAppend => PagedKv is not null && Prologue is { AppendKv: true };

    /// <summary>True when the spec has any serving entry point (varlen or paged).</summary>
    public bool IsServing => Varlen is not null || PagedKv is not null;

    /// <summary>The translated [MaskMod] method, and-ed with the built-in mask (issue 4); null when absent.</summary>
    public Expressions.ModifierSpec? MaskModifier { get; init; }

    /// <summary>
    /// The captured buffers of both modifiers, each once, in first-seen order (score modifier first): the extra
    /// parameters of every generated Forward and of the kernels.
    /// </summary>
    public System.Collections.Generic.IReadOnlyList<Expressions.CapturedBuffer> CapturedBuffers
    {
        get
        {
            var all = new System.Collections.Generic.List<Expressions.CapturedBuffer>();
            foreach (var modifier in new[] { ScoreModifier, MaskModifier })
            {
                foreach (var buffer in modifier?.Buffers ?? EquatableArray<Expressions.CapturedBuffer>.Empty)
                {
                    if (!all.Exists(b => b.Name == buffer.Name))
                    {
                        all.Add(buffer);
                    }
                }
            }

            return all;
        }
    }

    /// <summary>The softmax scale: the user's, or 1/sqrt(HeadDim).</summary>
    public double EffectiveScale => Scale ?? 1.0 / System.Math.Sqrt(HeadDim);
}

/// <summary>
/// The built-in mask. Window bounds are counted in keys; -1 means unbounded on that side; null means the
/// user did not write it (the validator decides whether that is allowed: Left is required for a window,
/// Right defaults to 0).
/// </summary>
public sealed record MaskSpec(MaskKind Kind, MaskAlignment Alignment, int? WindowLeft, int? WindowRight)
{
    public static MaskSpec None { get; } = new(MaskKind.None, MaskAlignment.Unspecified, null, null);

    /// <summary>
    /// The mask as a band around the aligned diagonal: key j is kept for query i when
    /// i' − Left ≤ j ≤ i' + Right, with i' = i (top-left) or i + Skv − Sq (bottom-right).
    /// Causal is the band (∞, 0); no mask is (∞, ∞).
    /// </summary>
    public int BandLeft => Kind == MaskKind.SlidingWindow ? WindowLeft ?? -1 : -1;

    public int BandRight => Kind switch
    {
        MaskKind.Causal => 0,
        MaskKind.SlidingWindow => WindowRight ?? 0,
        _ => -1,
    };

    /// <summary>True when the mask drops some (query, key) pairs.</summary>
    public bool IsMasked => Kind != MaskKind.None;
}

/// <summary>Tile sizes the user asked for; 0 means the planner chooses.</summary>
public sealed record TilingSpec(int BlockQ, int BlockKV)
{
    public static TilingSpec Auto { get; } = new(0, 0);
}

/// <summary>[Backward]: the spec has a backward pass; Deterministic asks for bit-identical gradients on every target.</summary>
public sealed record BackwardSpec(bool Deterministic);

/// <summary>[Varlen]: packed variable-length sequences (no options yet).</summary>
public sealed record VarlenSpec
{
    public static VarlenSpec Default { get; } = new();
}

/// <summary>
/// [PagedKv]: decode over a paged KV cache. MaxQueriesPerSequence bounds the new tokens per sequence (1–16); PageSize is the
/// one page size the spec serves, or null for any page size given by the pool at run time. Written values are validated
/// (SpecValidator), so the model keeps what the user wrote. EvictionScores adds the CPU decode's keyMass output (issue 12).
/// </summary>
public sealed record PagedKvSpec(int MaxQueriesPerSequence, int? PageSize, bool EvictionScores = false)
{
    public const int DefaultMaxQueriesPerSequence = 1;
}

/// <summary>
/// [Fusion]'s prologue options (issue 12), as written (null = not written; SpecValidator checks them): AppendKv adds the fused
/// decode step over a paged cache; Rotary (with RotaryDim, default HeadDim, and RotaryBase, default 10000) rotates the new Q and
/// K in it.
/// </summary>
public sealed record PrologueSpec(bool AppendKv, RotaryConvention? Rotary, int? RotaryDim, double? RotaryBase)
{
    public const double DefaultRotaryBase = 10000.0;

    /// <summary>The rotary dim to use: the written one or the head dim.</summary>
    public int EffectiveRotaryDim(int headDim) => RotaryDim ?? headDim;

    public double EffectiveRotaryBase => RotaryBase ?? DefaultRotaryBase;
}

/// <summary>What the kernel fuses after the softmax-weighted sum.</summary>
public sealed record EpilogueSpec(ElementType? OutputType, bool WriteLse)
{
    public static EpilogueSpec Default { get; } = new(null, false);
}

/// <summary>
/// The user's partial class and where it sits, so emitters can reopen it. Plain strings only.
/// </summary>
public sealed record TargetType(
    string? Namespace,
    EquatableArray<ContainingType> ContainingTypes,
    string Name,
    string Keyword,
    bool IsStatic)
{
    /// <summary>Namespace-qualified name with nesting, e.g. <c>Demo.Outer.CausalAttention</c>; used in file names and headers.</summary>
    public string FullName
    {
        get
        {
            var prefix = Namespace is null ? string.Empty : Namespace + ".";
            foreach (var outer in ContainingTypes)
            {
                prefix += outer.Name + ".";
            }

            return prefix + Name;
        }
    }
}

/// <summary>A type enclosing the user's class (for nested specs): its keyword (class, struct, record) and name with type parameters.</summary>
public sealed record ContainingType(string Keyword, string Name, bool IsStatic);

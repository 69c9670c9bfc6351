using System;

namespace KernelDsl;

/// <summary>
/// Marks a <c>partial</c> class as an attention spec. The KernelDsl generator adds <c>Forward</c> (the
/// compiled kernels) and <c>Plan</c> (the memory plan) to it at build time.
/// </summary>
/// <example><code>
/// [Attention(HeadDim = 128)]
/// [Precision(DType.BF16)]
/// [Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
/// public static partial class CausalAttention { }
/// </code></example>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class AttentionAttribute : Attribute
{
    /// <summary>Head dimension of Q and K (required): a multiple of 8 from 8 to 256.</summary>
    public int HeadDim { get; set; }

    /// <summary>Head dimension of V and O, when it differs from <see cref="HeadDim"/>.</summary>
    public int ValueHeadDim { get; set; }

    /// <summary>Softmax scale applied to q·k; leave it out for 1/sqrt(HeadDim).</summary>
    public double Scale { get; set; }
}

/// <summary>Element type of Q, K and V (and of O, unless <see cref="FusionAttribute.OutputType"/> says FP32). Default FP32.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class PrecisionAttribute : Attribute
{
    public PrecisionAttribute(DType input) => Input = input;

    /// <summary>The input element type.</summary>
    public DType Input { get; }
}

/// <summary>Memory layout of Q, K, V and O. Default BSHD.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class LayoutAttribute : Attribute
{
    public LayoutAttribute(TensorLayout value) => Value = value;

    /// <summary>The layout.</summary>
    public TensorLayout Value { get; }
}

/// <summary>
/// The built-in mask. Causal and sliding-window masks need an explicit <see cref="Alignment"/>.
/// Key j is kept for query i when d − Left ≤ j ≤ d + Right, with d = i (top-left) or i + Skv − Sq
/// (bottom-right); causal is Left = ∞, Right = 0.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class MaskAttribute : Attribute
{
    public MaskAttribute(MaskKind kind) => Kind = kind;

    /// <summary>Which mask.</summary>
    public MaskKind Kind { get; }

    /// <summary>Where the diagonal lies when Sq ≠ Skv (required for causal and sliding-window masks).</summary>
    public MaskAlignment Alignment { get; set; }

    /// <summary>Sliding window: keys kept before the diagonal (required; -1 = unbounded).</summary>
    public int Left { get; set; }

    /// <summary>Sliding window: keys kept after the diagonal (default 0; -1 = unbounded).</summary>
    public int Right { get; set; }
}

/// <summary>Tile sizes (powers of two, 16 to 256). Optional: the planner chooses when absent.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class TilingAttribute : Attribute
{
    /// <summary>Query rows per tile.</summary>
    public int BlockQ { get; set; }

    /// <summary>Key/value rows per tile.</summary>
    public int BlockKV { get; set; }
}

/// <summary>
/// What the kernel fuses beyond scale, mask and softmax: the epilogue (output type, log-sum-exp) and, on a
/// <see cref="PagedKvAttribute"/> spec, the decode step's prologue (issue 12): <see cref="AppendKv"/> adds
/// <c>DecodeAppend</c>, which writes the new tokens' K and V into the paged cache and attends over it in one call, and
/// <see cref="Rotary"/> rotates the new Q and K there first (RoPE at each token's position in its sequence; K is stored
/// after rotary).
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class FusionAttribute : Attribute
{
    /// <summary>Element type of O: the input type (default) or FP32.</summary>
    public DType OutputType { get; set; }

    /// <summary>Also write the natural-log log-sum-exp of each query row, shape [B, Hq, Sq], FP32 (−∞ for fully masked rows).</summary>
    public bool WriteLse { get; set; }

    /// <summary>
    /// Paged decode only (needs <see cref="PagedKvAttribute"/>): adds <c>DecodeAppend(q, k, v, cache, output, …, batch, headsQ)</c>,
    /// which appends the new tokens' K (after rotary, when <see cref="Rotary"/> is set) and V at each sequence's current length
    /// (crossing into the next page of its table), then attends over the cache, new tokens included, in one call.
    /// </summary>
    public bool AppendKv { get; set; }

    /// <summary>
    /// Rotary position embedding (RoPE) of the new Q and K in <c>DecodeAppend</c> (needs <see cref="AppendKv"/>): which features
    /// form a pair — <see cref="RotaryConvention.Interleaved"/> (2i, 2i + 1) or <see cref="RotaryConvention.HalfSplit"/>
    /// (i, i + RotaryDim / 2, GPT-NeoX / Llama). Leave it out for no rotary.
    /// </summary>
    public RotaryConvention Rotary { get; set; }

    /// <summary>Features rotated, even and at most HeadDim (partial rotary when smaller); default HeadDim. Needs <see cref="Rotary"/>.</summary>
    public int RotaryDim { get; set; }

    /// <summary>The frequency base, finite and positive: θᵢ = base^(−2i / RotaryDim); default 10000. Needs <see cref="Rotary"/>.</summary>
    public double RotaryBase { get; set; }
}

/// <summary>
/// Marks a static method of a spec class as its score modifier, FlexAttention-style:
/// <c>static float M(float score, int b, int h, int q, int kv)</c> (parameters optional, matched by name).
/// It is applied to each scaled score s = scale·(q·k) before the softmax. Its body (an expression, or locals and a
/// return) is compiled into the kernels; unsupported constructs are build errors.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
public sealed class ScoreModAttribute : Attribute
{
}

/// <summary>
/// Marks a static method of a spec class as its mask modifier: <c>static bool M(int b, int h, int q, int kv)</c>
/// (parameters optional, matched by name). Key kv is kept for query q only when it returns true and the built-in
/// mask keeps it too.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
public sealed class MaskModAttribute : Attribute
{
}

/// <summary>
/// Marks a <c>ReadOnlySpan&lt;float&gt;</c> or <c>ReadOnlySpan&lt;int&gt;</c> parameter of a modifier as a captured
/// buffer: a read-only tensor the caller passes to every generated <c>Forward</c> (as a span on the CPU, a
/// <c>DeviceBuffer</c> on the GPU), indexed in the modifier as <c>buffer[i]</c>. <see cref="Dims"/> is its row-major
/// shape: each dim is <c>"B"</c>, <c>"Hq"</c>, <c>"Hkv"</c>, <c>"Sq"</c>, <c>"Skv"</c> or a positive integer
/// literal; the length is checked at every call. Example: <c>[Captured("Hq", "32")] ReadOnlySpan&lt;float&gt; bias</c>
/// read as <c>bias[h * 32 + bucket]</c>. The kernels do not check indices; the float64 reference does.
/// </summary>
[AttributeUsage(AttributeTargets.Parameter, AllowMultiple = false, Inherited = false)]
public sealed class CapturedAttribute : Attribute
{
    public CapturedAttribute(params string[] dims) => Dims = dims;

    /// <summary>The row-major shape, one entry per dimension.</summary>
    public string[] Dims { get; }

    /// <summary>
    /// A float buffer read by the score modifier whose gradient the generated <c>Backward</c> returns (the spec needs
    /// <see cref="BackwardAttribute"/>): ALiBi slopes, a T5 bucket table, a relative-position bias.
    /// </summary>
    public bool Learnable { get; set; }
}

/// <summary>
/// Makes the spec trainable (issue 10): the generator adds <c>Backward(q, k, v, output, lse, dOutput, dq, dk, dv[,
/// gradients of learnable buffers][, blockMask])</c>, and the forward writes the LSE the backward needs. Gradients follow
/// DESIGN.md (Backward); score modifiers are differentiated symbolically at build time.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class BackwardAttribute : Attribute
{
    /// <summary>
    /// Bit-identical gradients from run to run. The CPU backward is deterministic by construction whatever this says
    /// (no floating-point atomics; every sum has a fixed order); the flag is for the GPU kernels.
    /// </summary>
    public bool Deterministic { get; set; }
}

/// <summary>
/// Serving, prefill side: the generator adds <c>ForwardVarlen(q, k, v, output[, lse][, buffers…], batch, headsQ, headsKv)</c>
/// over packed sequences of different lengths (FlashAttention's varlen convention: Q [totalQ, Hq, D], K/V [totalKv, Hkv, D],
/// cumulative offsets in a <see cref="VarlenBatch"/>). Each sequence is its own attention problem with its own mask
/// alignment; the modifiers see b = the sequence's index and q, kv counted within it. The spec's <see cref="LayoutAttribute"/>
/// applies to the dense <c>Forward</c> only.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class VarlenAttribute : Attribute
{
}

/// <summary>
/// Serving, decode side: the generator adds <c>Decode(q, cache, output[, lse][, buffers…], batch, headsQ)</c>, attention of
/// 1 to <see cref="MaxQueriesPerSequence"/> new query tokens per sequence over a paged KV cache
/// (<see cref="PagedKvCache{T}"/> and a <see cref="PagedKvBatch"/> of page tables and lengths). Query i of a sequence with q
/// queries and L cached tokens (its new tokens included) is aligned bottom-right: its causal diagonal is key L − q + i.
/// A draft tree for speculative verification is a mask modifier reading a captured ancestry buffer.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class PagedKvAttribute : Attribute
{
    /// <summary>The most query tokens one sequence brings to a call, 1 to 16 (default 1: plain decode; more for speculative verification).</summary>
    public int MaxQueriesPerSequence { get; set; }

    /// <summary>
    /// Tokens per page, 1 to 256, when the spec serves one page size only (the pool is checked against it at each call, and a
    /// GPU kernel may specialise on it). Leave it out to take the page size from each pool at run time.
    /// </summary>
    public int PageSize { get; set; }

    /// <summary>
    /// Eviction scores: the CPU <c>Decode</c>/<c>DecodeAppend</c> take one more output, <c>keyMass</c> [Σ L, Hkv] fp32, the
    /// attention mass each cached key received in the call (summed over the sequence's queries and its KV group's query
    /// heads), packed like the cache's tokens — feed it to an eviction policy and <c>KvCompaction.Compact</c>. CPU only.
    /// </summary>
    public bool EvictionScores { get; set; }
}

namespace KernelDsl.Compiler.Diagnostics;

/// <summary>
/// Every diagnostic KernelDsl reports, in one place, with sequential IDs. Messages say what to change.
/// IDs are stable: never renumber, only append. Each ID has a test in tests/KernelDsl.Generators.Tests.
/// </summary>
public static class DiagnosticCatalog
{
    public static readonly DiagnosticDescriptorInfo ClassNotPartial = new(
        "KDSL0001", "Attention spec class must be partial",
        "The attention spec '{0}' must be declared 'partial' so the generator can add Forward and Plan to it",
        Severity.Error);

    public static readonly DiagnosticDescriptorInfo HeadDimUnsupported = new(
        "KDSL0002", "Unsupported head dimension",
        "HeadDim = {0} is not supported: use a multiple of 8 between 8 and 256 (e.g. 64 or 128)",
        Severity.Error);

    public static readonly DiagnosticDescriptorInfo ValueHeadDimUnsupported = new(
        "KDSL0003", "Unsupported value head dimension",
        "ValueHeadDim = {0} is not supported: use a multiple of 8 between 8 and 256, or leave it out to use HeadDim",
        Severity.Error);

    public static readonly DiagnosticDescriptorInfo BlockSizeInvalid = new(
        "KDSL0004", "Invalid block size",
        "{0} = {1} is not a valid tile size: use a power of two between 16 and 256, or leave it out and let the planner choose",
        Severity.Error);

    public static readonly DiagnosticDescriptorInfo ConflictingMasks = new(
        "KDSL0005", "Conflicting masks",
        "Only one [Mask] may be given, but this spec also has a {0} mask; for a causal window use one [Mask(MaskKind.SlidingWindow, Left = n, Right = 0)]",
        Severity.Error);

    public static readonly DiagnosticDescriptorInfo WindowWithoutWindowMask = new(
        "KDSL0006", "Window bounds on a mask that is not a sliding window",
        "'{0}' applies only to MaskKind.SlidingWindow, but the mask is {1}: remove '{0}' or use MaskKind.SlidingWindow",
        Severity.Error);

    public static readonly DiagnosticDescriptorInfo WindowBoundsInvalid = new(
        "KDSL0007", "Invalid sliding-window bounds",
        "{0}",
        Severity.Error);

    public static readonly DiagnosticDescriptorInfo AlignmentMissing = new(
        "KDSL0008", "Mask alignment must be explicit",
        "A {0} mask must say how queries align with keys when Sq ≠ Skv: add Alignment = MaskAlignment.BottomRight (FlashAttention, decoding) or MaskAlignment.TopLeft",
        Severity.Error);

    public static readonly DiagnosticDescriptorInfo PrecisionCombinationUnsupported = new(
        "KDSL0009", "Unsupported precision combination",
        "Output type {0} with {1} inputs is not supported: the output is written in the input type or in FP32",
        Severity.Error);

    public static readonly DiagnosticDescriptorInfo InvalidArgument = new(
        "KDSL0010", "Invalid attribute argument",
        "{0}",
        Severity.Error);

    public static readonly DiagnosticDescriptorInfo HeadDimMissing = new(
        "KDSL0011", "Head dimension missing",
        "[Attention] on '{0}' must set HeadDim, e.g. [Attention(HeadDim = 128)]",
        Severity.Error);

    public static readonly DiagnosticDescriptorInfo ScaleInvalid = new(
        "KDSL0012", "Invalid softmax scale",
        "Scale = {0} is not a valid softmax scale: use a finite positive number, or leave it out for 1/sqrt(HeadDim)",
        Severity.Error);

    public static readonly DiagnosticDescriptorInfo GenericSpecUnsupported = new(
        "KDSL0013", "Generic spec classes are not supported",
        "The attention spec '{0}' is generic; kernels are compiled for fixed types, so remove the type parameters",
        Severity.Error);

    public static readonly DiagnosticDescriptorInfo ContainingTypeNotPartial = new(
        "KDSL0014", "Containing type must be partial",
        "'{0}' contains the attention spec '{1}' and must be declared 'partial' as well",
        Severity.Error);

    public static readonly DiagnosticDescriptorInfo AlignmentWithoutMask = new(
        "KDSL0015", "Alignment on an unmasked spec",
        "Alignment has no effect without a causal or sliding-window mask: remove it, or pick MaskKind.Causal or MaskKind.SlidingWindow",
        Severity.Error);

    public static readonly DiagnosticDescriptorInfo CpuTileTooLarge = new(
        "KDSL0016", "Tiles exceed the CPU working-set budget",
        "BlockQ = {0} and BlockKV = {1} need {2} KiB of per-thread working set with HeadDim = {3}, over the {4} KiB budget (L2): use smaller tiles",
        Severity.Error);

    public static readonly DiagnosticDescriptorInfo SpecAttributeMisplaced = new(
        "KDSL0017", "Spec attribute without [Attention]",
        "[{0}] on '{1}' has no effect without [Attention(HeadDim = ...)] on the same class",
        Severity.Warning);

    public static readonly DiagnosticDescriptorInfo FileLocalSpecUnsupported = new(
        "KDSL0018", "File-local spec classes are not supported",
        "'{0}' is declared 'file', so the generated code (in another file) cannot extend the attention spec '{1}': remove 'file'",
        Severity.Error);

    public static readonly DiagnosticDescriptorInfo GpuHeadDimUnsupported = new(
        "KDSL0019", "No GPU kernel for these head dimensions",
        "HeadDim = {0} and ValueHeadDim = {1}: the GPU kernel needs multiples of 16 (tensor-core k16 steps); only the CPU kernel is generated. Use e.g. 64 or 128 for a GPU kernel",
        Severity.Warning);

    public static readonly DiagnosticDescriptorInfo GpuSharedMemoryExceeded = new(
        "KDSL0020", "GPU tiles exceed shared memory",
        "The GPU kernel would need {0} bytes of shared memory per block for HeadDim = {1}, ValueHeadDim = {2}, over sm_80's {3}; only the CPU kernel is generated. Use smaller head dimensions",
        Severity.Warning);

    public static readonly DiagnosticDescriptorInfo GpuRegistersExceeded = new(
        "KDSL0021", "GPU kernel exceeds the register budget",
        "The GPU kernel would need about {0} registers per thread for HeadDim = {1}, ValueHeadDim = {2}, over the limit of {3}; only the CPU kernel is generated. Use smaller head dimensions",
        Severity.Warning);

    public static readonly DiagnosticDescriptorInfo ModifierDuplicate = new(
        "KDSL0022", "More than one modifier of a kind",
        "The spec '{0}' has more than one [{1}] method ('{2}' and '{3}'): combine them into one method",
        Severity.Error);

    public static readonly DiagnosticDescriptorInfo ModifierSignatureInvalid = new(
        "KDSL0023", "Invalid modifier signature",
        "The [{0}] method '{1}' {2}: declare it as '{3}' (any subset of the parameters, in any order, matched by name)",
        Severity.Error);

    public static readonly DiagnosticDescriptorInfo ModifierConstructUnsupported = new(
        "KDSL0024", "Unsupported construct in a modifier",
        "{0} is not supported in the modifier '{1}': {2}",
        Severity.Error);

    public static readonly DiagnosticDescriptorInfo ModifierTypeUnsupported = new(
        "KDSL0025", "Unsupported type in a modifier",
        "The type '{0}' is not supported in the modifier '{1}': use int, float, double or bool (convert with a cast such as (int) or (float))",
        Severity.Error);

    public static readonly DiagnosticDescriptorInfo ModifierPowExponentNotConstant = new(
        "KDSL0026", "Pow needs a constant exponent",
        "{0} in the modifier '{1}' needs a constant exponent or a constant positive base: make one of them a literal or a const, or write the power with Exp and Log",
        Severity.Error);

    /// <summary>Retired: no longer reported since the PTX emitter evaluates modifiers (the ID stays reserved, never reused).</summary>
    public static readonly DiagnosticDescriptorInfo ModifierWithoutGpuKernel = new(
        "KDSL0027", "Modifiers have no GPU kernel yet (retired, no longer reported)",
        "The {0} modifier '{1}' runs only in the CPU kernel for now; no GPU kernel (and no device-tensor Forward) is generated for this spec",
        Severity.Warning);

    public static readonly DiagnosticDescriptorInfo CapturedBufferInvalid = new(
        "KDSL0028", "Invalid captured buffer",
        "The buffer parameter '{0}' of the modifier '{1}' {2}: declare it as [Captured(\"Hq\", \"32\")] ReadOnlySpan<float> {0} (or ReadOnlySpan<int>), with dims from B, Hq, Hkv, Sq, Skv or positive integer literals",
        Severity.Error);

    public static readonly DiagnosticDescriptorInfo CapturedBufferConflict = new(
        "KDSL0029", "Captured buffer declared twice differently",
        "The buffer '{0}' is captured by both modifiers with different types or shapes ({1} and {2}): one name is one buffer, so declare it identically or rename one",
        Severity.Error);

    public static readonly DiagnosticDescriptorInfo CapturedBufferUse = new(
        "KDSL0030", "Unsupported use of a captured buffer",
        "The buffer '{0}' is used as '{1}' in the modifier '{2}': a buffer can only be indexed with an int, as {0}[i] (its length is fixed by its [Captured] shape)",
        Severity.Error);

    public static readonly DiagnosticDescriptorInfo UnsafeCodeDisabled = new(
        "KDSL0031", "Unsafe code is not allowed in this project",
        "The attention spec '{0}' needs unsafe code (its kernels use pointers to pinned memory), but the project does not allow it: add <AllowUnsafeBlocks>true</AllowUnsafeBlocks> to the project (the KernelDsl package sets it unless the project turns it off)",
        Severity.Error);

    public static readonly DiagnosticDescriptorInfo ModifierTooLarge = new(
        "KDSL0032", "Modifier too large",
        "The modifier '{0}' has {1} syntax nodes in its body; at most {2} compile: its code is inlined at every score element of every kernel, so a larger body makes megabytes of PTX and a slow build. Split the work into a captured table, or simplify it",
        Severity.Error);

    public static readonly DiagnosticDescriptorInfo BackwardNeedsLse = new(
        "KDSL0033", "A trainable spec must write the LSE",
        "The spec '{0}' has [Backward], whose gradients are recomputed from the forward's log-sum-exp, but says WriteLse = false: remove WriteLse (a [Backward] spec always writes it)",
        Severity.Error);

    public static readonly DiagnosticDescriptorInfo LearnableBufferNotFloat = new(
        "KDSL0034", "A learnable buffer must be float",
        "The buffer '{0}' of the modifier '{1}' is marked Learnable but holds ints, which have no gradient: declare it ReadOnlySpan<float>, or drop Learnable",
        Severity.Error);

    public static readonly DiagnosticDescriptorInfo LearnableWithoutBackward = new(
        "KDSL0035", "A learnable buffer needs [Backward]",
        "The buffer '{0}' is marked Learnable, but the spec '{1}' has no [Backward], so nothing computes its gradient: add [Backward] to the spec, or drop Learnable",
        Severity.Error);

    public static readonly DiagnosticDescriptorInfo LearnableInMaskModifier = new(
        "KDSL0036", "A mask modifier cannot read a learnable buffer",
        "The mask modifier '{1}' reads the learnable buffer '{0}', but a mask keeps or drops pairs and has no gradient: read learnable buffers in the score modifier only",
        Severity.Error);

    public static readonly DiagnosticDescriptorInfo ModifierNotDifferentiable = new(
        "KDSL0037", "The score modifier is not differentiable here",
        "'{0}' in the score modifier '{1}' {2}, so the [Backward] spec has no gradient through it: rewrite it with arithmetic, Tanh, Exp, Log, Sqrt, Pow, Abs, Min, Max and ?:",
        Severity.Error);

    public static readonly DiagnosticDescriptorInfo PagedKvMaxQueriesInvalid = new(
        "KDSL0038", "Invalid MaxQueriesPerSequence",
        "MaxQueriesPerSequence = {0} is not supported: a decode call brings 1 to 16 query tokens per sequence (1 for plain decode, up to 16 draft tokens for speculative verification)",
        Severity.Error);

    public static readonly DiagnosticDescriptorInfo PagedKvPageSizeInvalid = new(
        "KDSL0039", "Invalid page size",
        "PageSize = {0} is not supported: use 1 to 256 tokens per page, or leave it out to take the page size from each pool at run time",
        Severity.Error);

    public static readonly DiagnosticDescriptorInfo PagedKvTopLeftAlignment = new(
        "KDSL0040", "Decode needs bottom-right alignment",
        "[PagedKv] decodes the last tokens of each sequence, so its {0} mask must be aligned bottom-right (query i of q sees keys up to L − q + i): write Alignment = MaskAlignment.BottomRight",
        Severity.Error);

    public static readonly DiagnosticDescriptorInfo ServingBufferSequenceDim = new(
        "KDSL0041", "Captured buffer sized by a sequence length in a serving spec",
        "The captured buffer '{0}' of '{1}' has the dim '{2}', but [{3}] calls pack sequences of different lengths, so '{2}' has no single value: size it with B, Hq, Hkv or literals (e.g. [Captured(\"B\", \"16\")] indexed by b and q)",
        Severity.Error);

    public static readonly DiagnosticDescriptorInfo RotaryDimInvalid = new(
        "KDSL0042", "Invalid rotary dim",
        "RotaryDim = {0} is not supported: {1}",
        Severity.Error);

    public static readonly DiagnosticDescriptorInfo RotaryBaseInvalid = new(
        "KDSL0043", "Invalid rotary base",
        "RotaryBase = {0} is not supported: the frequencies are base^(−2i/RotaryDim), so use a finite base > 0 (10000 in most models, 500000 in Llama 3), or leave it out for 10000",
        Severity.Error);

    public static readonly DiagnosticDescriptorInfo RotaryOptionWithoutRotary = new(
        "KDSL0044", "Rotary option without Rotary",
        "{0} has no effect without a rotary convention: add Rotary = RotaryConvention.HalfSplit (GPT-NeoX / Llama) or RotaryConvention.Interleaved to the [Fusion], or remove {0}",
        Severity.Error);

    public static readonly DiagnosticDescriptorInfo PrologueWithoutPagedKv = new(
        "KDSL0045", "Fused prologue without [PagedKv]",
        "{0} is fused into the paged decode step (DecodeAppend), but the spec '{1}' has no [PagedKv]: add [PagedKv], or remove {0} (the dense Forward and ForwardVarlen do not rotate or append yet)",
        Severity.Error);

    public static readonly DiagnosticDescriptorInfo RotaryWithoutAppendKv = new(
        "KDSL0046", "Rotary without AppendKv",
        "Rotary is applied to the new Q and K in the fused append step, and the cache holds K after rotary, so it needs AppendKv = true in the [Fusion] (Decode over a cache of rotated keys needs no rotary option)",
        Severity.Error);

    /// <summary>All descriptors, for documentation and tests.</summary>
    public static System.Collections.Generic.IReadOnlyList<DiagnosticDescriptorInfo> All { get; } = new[]
    {
        ClassNotPartial, HeadDimUnsupported, ValueHeadDimUnsupported, BlockSizeInvalid, ConflictingMasks,
        WindowWithoutWindowMask, WindowBoundsInvalid, AlignmentMissing, PrecisionCombinationUnsupported,
        InvalidArgument, HeadDimMissing, ScaleInvalid, GenericSpecUnsupported, ContainingTypeNotPartial,
        AlignmentWithoutMask, CpuTileTooLarge, SpecAttributeMisplaced, FileLocalSpecUnsupported,
        GpuHeadDimUnsupported, GpuSharedMemoryExceeded, GpuRegistersExceeded, ModifierDuplicate,
        ModifierSignatureInvalid, ModifierConstructUnsupported, ModifierTypeUnsupported, ModifierPowExponentNotConstant,
        ModifierWithoutGpuKernel, CapturedBufferInvalid, CapturedBufferConflict, CapturedBufferUse,
        UnsafeCodeDisabled, ModifierTooLarge,
        BackwardNeedsLse, LearnableBufferNotFloat, LearnableWithoutBackward, LearnableInMaskModifier, ModifierNotDifferentiable,
        PagedKvMaxQueriesInvalid, PagedKvPageSizeInvalid, PagedKvTopLeftAlignment, ServingBufferSequenceDim,
        RotaryDimInvalid, RotaryBaseInvalid, RotaryOptionWithoutRotary, PrologueWithoutPagedKv, RotaryWithoutAppendKv,
    };
}

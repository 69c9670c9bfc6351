namespace KernelDsl.Cuda;

/// <summary>
/// What the host puts into one kernel parameter: the runtime's mirror of the compiler's ABI record
/// (generators/KernelDsl.Compiler/Planning/KernelAbi.cs; same names and numbers, checked by EnumMirrorTests). The
/// generated descriptor lists a kernel's parameters as <see cref="AbiSlot"/>s, written from the same record as the
/// kernel's PTX <c>.entry</c> list; <see cref="AttentionLauncher"/> fills each slot from the call.
/// </summary>
public enum AbiValue
{
    QPointer = 0,
    KPointer = 1,
    VPointer = 2,
    OutputPointer = 3,
    LsePointer = 4,
    SeqQ = 5,
    SeqKv = 6,
    HeadsQ = 7,
    HeadsKv = 8,
    QBatchStride = 9,
    QSeqStride = 10,
    QHeadStride = 11,
    KBatchStride = 12,
    KSeqStride = 13,
    KHeadStride = 14,
    VBatchStride = 15,
    VSeqStride = 16,
    VHeadStride = 17,
    OutputBatchStride = 18,
    OutputSeqStride = 19,
    OutputHeadStride = 20,
    BlockCounts = 21,
    BlockIndices = 22,
    BlockBatchStride = 23,
    BlockHeadStride = 24,
    BlockKvBlocks = 25,
    CapturedBuffer = 26,
    MaskBlockQ = 27,
    MaskBlockKV = 28,
    BandOffset = 29,
    BandLeft = 30,
    BandRight = 31,
    MaskHeads = 32,
    Classification = 33,
    DOutputPointer = 34,
    DqPointer = 35,
    DkPointer = 36,
    DvPointer = 37,
    DeltaPointer = 38,
    ScaledLsePointer = 39,
    DOutputBatchStride = 40,
    DOutputSeqStride = 41,
    DOutputHeadStride = 42,
    DqBatchStride = 43,
    DqSeqStride = 44,
    DqHeadStride = 45,
    DkBatchStride = 46,
    DkSeqStride = 47,
    DkHeadStride = 48,
    DvBatchStride = 49,
    DvSeqStride = 50,
    DvHeadStride = 51,
}

/// <summary>One kernel parameter as the launcher packs it: its value, its size in bytes (4 or 8), and for captured buffers their index.</summary>
public readonly record struct AbiSlot(AbiValue Value, int Bytes, int Index = 0);

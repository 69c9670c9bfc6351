namespace KernelDsl.Compiler.Planning;

/// <summary>
/// Decisions for the CPU kernel: tile sizes, and the per-worker fp32 scratch the kernel carves its tiles
/// from. <see cref="WorkingSetBytes"/> is exactly that scratch (what one thread touches besides the
/// tensors themselves), O(BlockQ·D + BlockKV·D) and independent of the sequence lengths.
/// </summary>
public sealed record CpuKernelPlan(int BlockQ, int BlockKV, int WorkingSetBytes, int L1Bytes, int L2Bytes, CpuScratchLayout Scratch);

/// <summary>
/// Where each fp32 buffer of a worker's scratch starts, in floats; every buffer starts on a 64-byte line.
/// V and O rows are padded to <see cref="ValueHeadDimPadded"/> (a multiple of 16 floats) so the kernel
/// reads and writes whole vectors of any width up to 512 bits.
/// </summary>
/// <param name="KeysInPlace">FP32 inputs: K rows are read where they lie (the Scores kernel only broadcasts scalars from them), no copy.</param>
/// <param name="ValuesInPlace">FP32 inputs whose V rows are whole 512-bit vectors: V is read where it lies.</param>
public sealed record CpuScratchLayout(
    int ValueHeadDimPadded,
    bool KeysInPlace,
    bool ValuesInPlace,
    int QueryTransposed,
    int Keys,
    int Values,
    int Scores,
    int Output,
    int RowMax,
    int RowSum,
    int Rescale,
    int RowBuffer,
    int TotalFloats)
{
    public const int LineFloats = 16;

    public static int Aligned(int floats) => (floats + LineFloats - 1) / LineFloats * LineFloats;

    public static CpuScratchLayout For(int headDim, int valueHeadDim, bool fp32Inputs, int blockQ, int blockKV)
    {
        int valuePadded = Aligned(valueHeadDim);
        bool keysInPlace = fp32Inputs;
        bool valuesInPlace = fp32Inputs && valuePadded == valueHeadDim;
        int at = 0;
        int Take(int floats)
        {
            int start = at;
            at += Aligned(floats);
            return start;
        }

        int qT = Take(headDim * blockQ);
        int keys = Take(keysInPlace ? 0 : blockKV * headDim);
        int values = Take(valuesInPlace ? 0 : blockKV * valuePadded);
        int scores = Take(blockKV * blockQ);
        int output = Take(blockQ * valuePadded);
        int rowMax = Take(blockQ);
        int rowSum = Take(blockQ);
        int rescale = Take(blockQ);
        int rowBuffer = Take(System.Math.Max(headDim, valuePadded));
        return new CpuScratchLayout(valuePadded, keysInPlace, valuesInPlace, qT, keys, values, scores, output, rowMax, rowSum, rescale, rowBuffer, at);
    }
}

using System.Collections.Generic;
using KernelDsl.Cuda;

namespace KernelDsl.Cuda.Tests;

/// <summary>
/// The forward kernel's parameter table for hand-made kernel descriptors in these tests (generated descriptors carry
/// the table the compiler writes from its ABI record; KernelDsl.Compiler.Tests.KernelAbiTests checks that one).
/// </summary>
internal static class TestAbi
{
    public static AbiSlot[] Forward(bool takesBlockMask, int capturedBuffers)
    {
        var slots = new List<AbiSlot>();
        for (var value = AbiValue.QPointer; value <= AbiValue.OutputHeadStride; value++)
        {
            slots.Add(new AbiSlot(value, value is >= AbiValue.SeqQ and <= AbiValue.HeadsKv ? 4 : 8));
        }

        if (takesBlockMask)
        {
            slots.Add(new AbiSlot(AbiValue.BlockCounts, 8));
            slots.Add(new AbiSlot(AbiValue.BlockIndices, 8));
            slots.Add(new AbiSlot(AbiValue.BlockBatchStride, 4));
            slots.Add(new AbiSlot(AbiValue.BlockHeadStride, 4));
            slots.Add(new AbiSlot(AbiValue.BlockKvBlocks, 4));
        }

        for (int i = 0; i < capturedBuffers; i++)
        {
            slots.Add(new AbiSlot(AbiValue.CapturedBuffer, 8, i));
        }

        return slots.ToArray();
    }
}

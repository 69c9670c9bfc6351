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
            slots.Add(new AbiSlot(AbiValue.CapturedLastIndex, 4, i));
        }

        return slots.ToArray();
    }

    /// <summary>The backward's dK/dV (<paramref name="keyValue"/>) or dQ kernel table, as the compiler's KernelAbi.Backward writes it.</summary>
    public static AbiSlot[] Backward(bool keyValue, int capturedBuffers)
    {
        var slots = new List<AbiSlot>
        {
            new(AbiValue.QPointer, 8), new(AbiValue.KPointer, 8), new(AbiValue.VPointer, 8), new(AbiValue.DOutputPointer, 8),
            new(AbiValue.DeltaPointer, 8), new(AbiValue.ScaledLsePointer, 8),
        };
        if (keyValue)
        {
            slots.Add(new(AbiValue.DkPointer, 8));
            slots.Add(new(AbiValue.DvPointer, 8));
        }
        else
        {
            slots.Add(new(AbiValue.DqPointer, 8));
        }

        slots.AddRange(new AbiSlot[] { new(AbiValue.SeqQ, 4), new(AbiValue.SeqKv, 4), new(AbiValue.HeadsQ, 4), new(AbiValue.HeadsKv, 4) });
        var strides = new List<AbiValue> { AbiValue.QBatchStride, AbiValue.KBatchStride, AbiValue.VBatchStride, AbiValue.DOutputBatchStride };
        strides.AddRange(keyValue ? new[] { AbiValue.DkBatchStride, AbiValue.DvBatchStride } : new[] { AbiValue.DqBatchStride });
        foreach (var first in strides)
        {
            slots.Add(new(first, 8));
            slots.Add(new(first + 1, 8));
            slots.Add(new(first + 2, 8));
        }

        for (int i = 0; i < capturedBuffers; i++)
        {
            slots.Add(new AbiSlot(AbiValue.CapturedBuffer, 8, i));
            slots.Add(new AbiSlot(AbiValue.CapturedLastIndex, 4, i));
        }

        return slots.ToArray();
    }
}

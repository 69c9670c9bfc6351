using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using Shouldly;
using Xunit;

namespace KernelDsl.Cuda.Tests;

/// <summary>The void** array cuLaunchKernel receives: one aligned pointer per parameter, each at its value.</summary>
public class KernelArgumentsTests
{
    [Fact]
    public void ValuesAreAlignedToTheirSizeInOrder()
    {
        var arguments = new KernelArguments()
            .AddU32(7)
            .AddPointer(0x7F00_1234_5600UL)
            .AddF32(1.5f)
            .AddS32(-3)
            .AddU64(ulong.MaxValue - 1);

        arguments.Count.ShouldBe(5);
        arguments.GetSlot(0).ShouldBe((0, 4));
        arguments.GetSlot(1).ShouldBe((8, 8));   // padded from 4 to 8
        arguments.GetSlot(2).ShouldBe((16, 4));
        arguments.GetSlot(3).ShouldBe((20, 4));
        arguments.GetSlot(4).ShouldBe((24, 8));
        arguments.SizeInBytes.ShouldBe(32);
    }

    [Fact]
    public void BytesAreLittleEndianValues()
    {
        var arguments = new KernelArguments().AddU32(0xDEADBEEF).AddS32(-2).AddF32(-0.25f).AddPointer(0x1122_3344_5566_7788UL);

        BinaryPrimitives.ReadUInt32LittleEndian(arguments.GetBytes(0)).ShouldBe(0xDEADBEEFu);
        BinaryPrimitives.ReadInt32LittleEndian(arguments.GetBytes(1)).ShouldBe(-2);
        BinaryPrimitives.ReadSingleLittleEndian(arguments.GetBytes(2)).ShouldBe(-0.25f);
        BinaryPrimitives.ReadUInt64LittleEndian(arguments.GetBytes(3)).ShouldBe(0x1122_3344_5566_7788UL);
    }

    [Fact]
    public unsafe void PointerArrayPointsAtEachAlignedValue()
    {
        var random = new Random(12345);
        var expected = new List<object>();
        var arguments = new KernelArguments();

        // More than the initial 64 bytes, so the buffer grows and the pointers must follow it.
        for (int i = 0; i < 40; i++)
        {
            switch (i % 4)
            {
                case 0: uint u = (uint)random.Next(); arguments.AddU32(u); expected.Add(u); break;
                case 1: ulong p = (ulong)random.NextInt64(); arguments.AddPointer(p); expected.Add(p); break;
                case 2: float f = random.NextSingle(); arguments.AddF32(f); expected.Add(f); break;
                default: int s = -random.Next(); arguments.AddS32(s); expected.Add(s); break;
            }
        }

        // The launcher points the i-th void* at Data + GetSlot(i).Offset inside a fixed block.
        fixed (byte* data = arguments.Data)
        {
            for (int i = 0; i < expected.Count; i++)
            {
                void* slot = data + arguments.GetSlot(i).Offset;
                object actual = expected[i] switch
                {
                    uint => *(uint*)slot,
                    ulong => *(ulong*)slot,
                    float => *(float*)slot,
                    _ => *(int*)slot,
                };
                actual.ShouldBe(expected[i], $"parameter {i}");
                ((nint)slot % (expected[i] is ulong ? 8 : 4)).ShouldBe(0, $"alignment of parameter {i}");
            }
        }
    }

    [Fact]
    public void ClearStartsOver()
    {
        var arguments = new KernelArguments().AddU64(1).AddU32(2);
        arguments.Clear().AddU32(3);

        arguments.Count.ShouldBe(1);
        arguments.GetSlot(0).ShouldBe((0, 4));
        BinaryPrimitives.ReadUInt32LittleEndian(arguments.GetBytes(0)).ShouldBe(3u);
    }
}

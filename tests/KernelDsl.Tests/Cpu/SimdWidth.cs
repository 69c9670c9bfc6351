using System;
using System.Runtime.Intrinsics;
using KernelDsl.Cpu;
using Xunit;

namespace KernelDsl.Tests.Cpu;

/// <summary>
/// Runs a generic test body once per SIMD width. Every width runs, accelerated or not (a width the machine
/// lacks runs in the runtime's software fallback), so the portable paths are tested on any CI machine.
/// </summary>
public interface IWidthTest
{
    void Run<TOps, TV>()
        where TOps : struct, ISimdOps<TV>
        where TV : struct;
}

public static class SimdWidth
{
    public static TheoryData<int> All => new(512, 256, 128);

    public static void Run(int bits, IWidthTest test)
    {
        switch (bits)
        {
            case 512: test.Run<Simd512, Vector512<float>>(); break;
            case 256: test.Run<Simd256, Vector256<float>>(); break;
            case 128: test.Run<Simd128, Vector128<float>>(); break;
            default: throw new ArgumentOutOfRangeException(nameof(bits));
        }
    }

    public static float[] RandomFloats(Random random, int count, float low = -1, float high = 1)
    {
        var data = new float[count];
        for (int i = 0; i < count; i++)
        {
            data[i] = low + ((high - low) * (float)random.NextDouble());
        }

        return data;
    }
}

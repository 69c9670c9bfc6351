using System;

namespace KernelDsl.Reference;

/// <summary>Fresh random test inputs in any element type (never zeros or constants: they hide indexing bugs).</summary>
public static class RandomTensors
{
    /// <summary><paramref name="count"/> values uniform in [−magnitude, magnitude), rounded to nearest even in T.</summary>
    public static T[] Uniform<T>(Random random, int count, float magnitude = 1f)
        where T : unmanaged
    {
        var data = new T[count];
        for (int i = 0; i < count; i++)
        {
            data[i] = FromFloat<T>((float)((random.NextDouble() * 2) - 1) * magnitude);
        }

        return data;
    }

    /// <summary>float → float, Half or BFloat16 (round to nearest even); NaN stays NaN, so it also makes poison.</summary>
    public static T FromFloat<T>(float value)
        where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            return (T)(object)value;
        }

        if (typeof(T) == typeof(Half))
        {
            return (T)(object)(Half)value;
        }

        if (typeof(T) == typeof(BFloat16))
        {
            return (T)(object)(BFloat16)value;
        }

        throw new NotSupportedException($"Element type {typeof(T).Name} is not an attention element type (float, Half, BFloat16).");
    }
}

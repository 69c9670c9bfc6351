using System;
using System.Globalization;

namespace KernelDsl;

/// <summary>
/// Run-time checks of captured buffers (the read-only tensors a spec's modifiers index, declared with
/// <c>[Captured(dims…)]</c>): their length must be the product of their dims resolved against the call's shape.
/// </summary>
public static class CapturedBuffers
{
    /// <summary>The dims resolved against <paramref name="shape"/>: "Hq" → shape.HeadsQ, "32" → 32.</summary>
    public static long[] Resolve(ReadOnlySpan<string> dims, AttentionShape shape)
    {
        var resolved = new long[dims.Length];
        for (int i = 0; i < dims.Length; i++)
        {
            resolved[i] = dims[i] switch
            {
                "B" => shape.Batch,
                "Hq" => shape.HeadsQ,
                "Hkv" => shape.HeadsKv,
                "Sq" => shape.SeqQ,
                "Skv" => shape.SeqKv,
                var literal => long.Parse(literal, NumberStyles.None, CultureInfo.InvariantCulture),
            };
        }

        return resolved;
    }

    /// <summary>Throws an ArgumentException naming the buffer when its length does not match its declared shape at this call.</summary>
    public static void RequireLength(string name, long length, string[] dims, AttentionShape shape)
    {
        var resolved = Resolve(dims, shape);
        long expected = 1;
        try
        {
            foreach (long dim in resolved)
            {
                expected = checked(expected * dim);
            }
        }
        catch (OverflowException)
        {
            // Unchecked, the product wraps (65536^4 is 0) and a tiny buffer would pass the check below.
            throw new ArgumentException(
                $"Captured buffer '{name}' has the shape [{string.Join(", ", dims)}], which is [{string.Join(", ", resolved)}] at this call ({shape}): more elements than a 64-bit count can hold.",
                name);
        }

        if (length != expected)
        {
            throw new ArgumentException(
                $"Captured buffer '{name}' has {length} elements, but its shape [{string.Join(", ", dims)}] is [{string.Join(", ", resolved)}] at this call ({shape}), which needs {expected}.",
                name);
        }
    }
}

/// <summary>
/// A captured buffer on the device, as the launchers receive it: name and declared dims (for the check), pointer and
/// length, and (optional) the context it lives in, which the block-mask builder checks.
/// </summary>
public readonly record struct CapturedDeviceBuffer(string Name, string[] Dims, ulong DevicePointer, long Length)
{
    /// <summary>The CUDA context the buffer was allocated in (null: not checked).</summary>
    public Cuda.CudaContext? Context { get; init; }
}

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
            resolved[i] = Resolve(dims[i], shape);
        }

        return resolved;
    }

    /// <summary>
    /// Throws an ArgumentException naming the buffer when its length does not match its declared shape at this call
    /// (or when that shape's element count overflows). Allocates only to report a failure.
    /// </summary>
    public static void RequireLength(string name, long length, string[] dims, AttentionShape shape)
    {
        long expected = 1;
        bool overflow = false;
        foreach (string dim in dims)
        {
            long size = Resolve(dim, shape);
            overflow |= size != 0 && expected > long.MaxValue / size;
            expected = unchecked(expected * size);
        }

        if (overflow || length != expected)
        {
            var resolved = Resolve(dims, shape);
            throw new ArgumentException(
                overflow
                    ? $"Captured buffer '{name}' has shape [{string.Join(", ", dims)}] = [{string.Join(", ", resolved)}] at this call ({shape}), whose element count overflows a 64-bit integer."
                    : $"Captured buffer '{name}' has {length} elements, but its shape [{string.Join(", ", dims)}] is [{string.Join(", ", resolved)}] at this call ({shape}), which needs {expected}.",
                name);
        }
    }

    private static long Resolve(string dim, AttentionShape shape) => dim switch
    {
        "B" => shape.Batch,
        "Hq" => shape.HeadsQ,
        "Hkv" => shape.HeadsKv,
        "Sq" => shape.SeqQ,
        "Skv" => shape.SeqKv,
        var literal => long.Parse(literal, NumberStyles.None, CultureInfo.InvariantCulture),
    };
}

/// <summary>
/// A captured buffer on the device, as the launchers receive it: name and declared dims (for the check), pointer and
/// length, and (optional) the context it lives in, which the block-mask builder checks.
/// </summary>
public readonly record struct CapturedDeviceBuffer(string Name, string[] Dims, ulong DevicePointer, long Length)
{
    /// <summary>The CUDA context the buffer was allocated in (null: not checked).</summary>
    public Cuda.CudaContext? Context { get; init; }

    /// <summary>
    /// The kernels' clamp on a modifier's index into this buffer (AbiValue.CapturedLastIndex): its last index, capped at
    /// 2^31 − 1 (a C# index is an int). An empty buffer has none, and the kernels' clamp needs one element to point at,
    /// so it is an error (a non-empty call's dims already require at least one element).
    /// </summary>
    internal uint LastIndex => Length > 0
        ? (uint)(Math.Min(Length, 1L << 31) - 1)
        : throw new ArgumentException($"Captured buffer '{Name}' is empty; the GPU kernels clamp every read to its last element, so it needs at least one.", Name);
}

using System;
using System.Diagnostics.CodeAnalysis;

namespace KernelDsl;

/// <summary>
/// A captured buffer as the generated CPU kernels read it: its pinned data, length and parameter name. Every read a
/// modifier makes is bounds-checked (one unsigned compare), so a modifier index outside the buffer — e.g.
/// <c>bias[h * 17 + kv]</c> with more keys than the table has columns — throws an <see cref="ArgumentException"/> naming
/// the buffer instead of reading foreign memory. Valid only while the buffer is pinned (inside the generated call).
/// </summary>
public readonly unsafe struct CapturedSpan<T>
    where T : unmanaged
{
    private readonly T* _data;

    public CapturedSpan(T* data, int length, string name)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        _data = data;
        Length = length;
        Name = name;
    }

    /// <summary>Number of elements.</summary>
    public int Length { get; }

    /// <summary>The parameter name of the buffer (the exception's ParamName).</summary>
    public string Name { get; }

    /// <summary>Element <paramref name="index"/>; an index outside [0, Length) throws.</summary>
    public T this[int index]
    {
        get
        {
            if ((uint)index >= (uint)Length)
            {
                ThrowOutOfRange(index);
            }

            return _data[index];
        }
    }

    /// <summary>
    /// Element <paramref name="index"/> of this buffer's gradient accumulator (as long as the buffer), checked like a read:
    /// the backward adds ∂L/∂buffer[index] there.
    /// </summary>
    public ref double Gradient(double* gradient, int index)
    {
        if ((uint)index >= (uint)Length)
        {
            ThrowOutOfRange(index);
        }

        return ref gradient[index];
    }

    [DoesNotReturn]
    private void ThrowOutOfRange(int index) =>
        throw new ArgumentException(
            $"A modifier indexed captured buffer '{Name}' at {index}, outside its {Length} elements; a modifier's indices must stay within the buffer (check its [Captured] dims against the call's shape).",
            Name);
}

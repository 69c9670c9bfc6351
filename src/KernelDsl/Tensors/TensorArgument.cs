using System;

namespace KernelDsl;

/// <summary>
/// One tensor argument of a Forward call as the binding checks it: its parameter name, pinned address,
/// element size, lengths and strides (in elements). Generated code builds these inside its <c>fixed</c> block.
/// </summary>
public readonly unsafe ref struct TensorArgument
{
    public TensorArgument(string name, void* data, int elementSize, ReadOnlySpan<nint> lengths, ReadOnlySpan<nint> strides)
    {
        Name = name;
        Data = data;
        ElementSize = elementSize;
        Lengths = lengths;
        Strides = strides;
        IsPresent = true;
    }

    public string Name { get; }

    public void* Data { get; }

    public int ElementSize { get; }

    public ReadOnlySpan<nint> Lengths { get; }

    public ReadOnlySpan<nint> Strides { get; }

    /// <summary>False for an absent optional argument (an LSE output the spec does not write).</summary>
    public bool IsPresent { get; }

    public string ShapeText => "[" + string.Join(", ", Lengths.ToArray()) + "]";

    /// <summary>The lowest and one-past-the-highest byte address the tensor touches (for aliasing checks).</summary>
    public (nuint Start, nuint End) ByteRange
    {
        get
        {
            nuint start = (nuint)Data;
            nint last = 0;
            for (int i = 0; i < Lengths.Length; i++)
            {
                if (Lengths[i] == 0)
                {
                    return (start, start);
                }

                last += (Lengths[i] - 1) * Strides[i];
            }

            return (start, start + (nuint)((last + 1) * ElementSize));
        }
    }
}

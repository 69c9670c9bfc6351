using System;

namespace KernelDsl.Cuda;

/// <summary>A grid or block size. Converts from an int or an (x, y) / (x, y, z) tuple; every extent must be ≥ 1.</summary>
public readonly record struct Dim3
{
    public Dim3(int x, int y = 1, int z = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(x, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(y, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(z, 1);
        X = (uint)x;
        Y = (uint)y;
        Z = (uint)z;
    }

    public uint X { get; }

    public uint Y { get; }

    public uint Z { get; }

    /// <summary>X·Y·Z.</summary>
    public long Volume => (long)X * Y * Z;

    public static implicit operator Dim3(int x) => new(x);

    public static implicit operator Dim3((int X, int Y) size) => new(size.X, size.Y);

    public static implicit operator Dim3((int X, int Y, int Z) size) => new(size.X, size.Y, size.Z);

    public override string ToString() => $"({X}, {Y}, {Z})";
}

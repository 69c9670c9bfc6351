using System;
using System.Globalization;
using System.Runtime.CompilerServices;

namespace KernelDsl;

/// <summary>
/// bfloat16: the upper 16 bits of an IEEE float32 (8-bit exponent, 7-bit mantissa). Neither the BCL nor
/// System.Numerics.Tensors 10 has one. Conversion from float rounds to nearest, ties to even; NaN stays NaN.
/// </summary>
public readonly struct BFloat16 : IEquatable<BFloat16>, IComparable<BFloat16>, IFormattable
{
    private readonly ushort _bits;

    private BFloat16(ushort bits) => _bits = bits;

    /// <summary>The raw 16 bits.</summary>
    public ushort RawValue => _bits;

    public static BFloat16 FromRawValue(ushort bits) => new(bits);

    public static BFloat16 NaN => new(0x7FC0);

    public static BFloat16 PositiveInfinity => new(0x7F80);

    public static BFloat16 NegativeInfinity => new(0xFF80);

    public static BFloat16 Zero => new(0);

    /// <summary>Largest finite value, about 3.39e38.</summary>
    public static BFloat16 MaxValue => new(0x7F7F);

    /// <summary>Difference between 1 and the next representable value: 2^-7.</summary>
    public static float Epsilon => 0.0078125f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static explicit operator BFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if ((bits & 0x7FFF_FFFF) > 0x7F80_0000)
        {
            // NaN: keep the sign, force a quiet mantissa bit so truncation cannot make it an infinity.
            return new BFloat16((ushort)((bits >> 16) | 0x0040));
        }

        uint roundingBias = 0x7FFF + ((bits >> 16) & 1);
        return new BFloat16((ushort)((bits + roundingBias) >> 16));
    }

    public static explicit operator BFloat16(double value) => (BFloat16)(float)value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static implicit operator float(BFloat16 value) => BitConverter.UInt32BitsToSingle((uint)value._bits << 16);

    public static implicit operator double(BFloat16 value) => (float)value;

    public static bool IsNaN(BFloat16 value) => (value._bits & 0x7FFF) > 0x7F80;

    public static bool IsFinite(BFloat16 value) => (value._bits & 0x7F80) != 0x7F80;

    public bool Equals(BFloat16 other) => _bits == other._bits || ((float)this == (float)other && !IsNaN(this));

    public override bool Equals(object? obj) => obj is BFloat16 other && Equals(other);

    public override int GetHashCode() => ((float)this).GetHashCode();

    public int CompareTo(BFloat16 other) => ((float)this).CompareTo((float)other);

    public override string ToString() => ((float)this).ToString(CultureInfo.InvariantCulture);

    public string ToString(string? format, IFormatProvider? formatProvider) => ((float)this).ToString(format, formatProvider);

    public static bool operator ==(BFloat16 left, BFloat16 right) => (float)left == (float)right;

    public static bool operator !=(BFloat16 left, BFloat16 right) => (float)left != (float)right;

    public static bool operator <(BFloat16 left, BFloat16 right) => (float)left < (float)right;

    public static bool operator >(BFloat16 left, BFloat16 right) => (float)left > (float)right;

    public static bool operator <=(BFloat16 left, BFloat16 right) => (float)left <= (float)right;

    public static bool operator >=(BFloat16 left, BFloat16 right) => (float)left >= (float)right;
}

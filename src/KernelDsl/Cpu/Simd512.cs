using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace KernelDsl.Cpu;

/// <summary>512-bit vectors (16 floats): AVX-512. Used when <see cref="Vector512.IsHardwareAccelerated"/>.</summary>
public readonly unsafe struct Simd512 : ISimdOps<Vector512<float>>
{
    public static int Lanes => Vector512<float>.Count;

    public static Vector512<float> Zero => Vector512<float>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Broadcast(float value) => Vector512.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(float* source) => Vector512.Load(source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(float* destination, Vector512<float> value) => value.Store(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MultiplyAdd(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.FusedMultiplyAdd(a, b, c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Multiply(Vector512<float> a, Vector512<float> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Subtract(Vector512<float> a, Vector512<float> b) => a - b;

    // MaxNative: the plain max instruction, without Vector512.Max's IEEE NaN/±0 fix-ups. It may drop a NaN score from the
    // running max m; that NaN still reaches l and O through Exp2, which propagates NaN (OnlineSoftmax.Step).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Max(Vector512<float> a, Vector512<float> b) => Vector512.MaxNative(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ReplaceNegativeInfinity(Vector512<float> x, Vector512<float> replacement) =>
        Vector512.ConditionalSelect(Vector512.Equals(x, Vector512.Create(float.NegativeInfinity)), replacement, x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp2(Vector512<float> x)
    {
        // x = n + f with n = round(x) and f in [-1/2, 1/2]; 2^f from its Taylor polynomial (relative error
        // < 1.2e-7 on that interval), 2^n added straight into the exponent bits. Lanes below -125 (masked
        // scores are -inf) return exactly 0, so a masked key contributes nothing.
        var clamped = Vector512.MaxNative(x, Vector512.Create(-126f));
        var n = Vector512.Round(clamped);
        var f = clamped - n;
        var p = Vector512.FusedMultiplyAdd(Vector512.Create(Exp2Polynomial.C6), f, Vector512.Create(Exp2Polynomial.C5));
        p = Vector512.FusedMultiplyAdd(p, f, Vector512.Create(Exp2Polynomial.C4));
        p = Vector512.FusedMultiplyAdd(p, f, Vector512.Create(Exp2Polynomial.C3));
        p = Vector512.FusedMultiplyAdd(p, f, Vector512.Create(Exp2Polynomial.C2));
        p = Vector512.FusedMultiplyAdd(p, f, Vector512.Create(Exp2Polynomial.C1));
        p = Vector512.FusedMultiplyAdd(p, f, Vector512.Create(1f));
        var scaled = (p.AsInt32() + Vector512.ShiftLeft(Vector512.ConvertToInt32Native(n), 23)).AsSingle();
        var result = Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512.Create(-125f)), Vector512<float>.Zero, scaled);

        // NaN in, NaN out (the clamp above turned it into 2^-126): a NaN score must reach l and O, as in the reference.
        return Vector512.ConditionalSelect(Vector512.Equals(x, x), result, x);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> WidenBFloat16(ushort* source) =>
        Vector512.ShiftLeft(Vector512.WidenLower(Vector256.Load(source).ToVector512Unsafe()), 16).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void NarrowBFloat16(Vector512<float> value, ushort* destination)
    {
        var bits = value.AsUInt32();
        var rounded = (bits + Vector512.Create(0x7FFFu) + ((bits >> 16) & Vector512.Create(1u))) >> 16;
        var isNaN = Vector512.GreaterThan(bits & Vector512.Create(0x7FFF_FFFFu), Vector512.Create(0x7F80_0000u));
        var result = Vector512.ConditionalSelect(isNaN, (bits >> 16) | Vector512.Create(0x40u), rounded);
        Vector512.Narrow(result, Vector512<uint>.Zero).GetLower().Store(destination);
    }
}

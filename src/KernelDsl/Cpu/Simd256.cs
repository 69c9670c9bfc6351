using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace KernelDsl.Cpu;

/// <summary>256-bit vectors (8 floats): AVX2, or AVX-512VL machines without fast 512-bit units. Used when <see cref="Vector256.IsHardwareAccelerated"/> and 512-bit vectors are not.</summary>
public readonly unsafe struct Simd256 : ISimdOps<Vector256<float>>
{
    public static int Lanes => Vector256<float>.Count;

    public static Vector256<float> Zero => Vector256<float>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Broadcast(float value) => Vector256.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load(float* source) => Vector256.Load(source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(float* destination, Vector256<float> value) => value.Store(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MultiplyAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.FusedMultiplyAdd(a, b, c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Multiply(Vector256<float> a, Vector256<float> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Subtract(Vector256<float> a, Vector256<float> b) => a - b;

    // MaxNative: the plain max instruction, without Vector256.Max's IEEE NaN/±0 fix-ups. It may drop a NaN score from the
    // running max m; that NaN still reaches l and O through Exp2, which propagates NaN (OnlineSoftmax.Step).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Max(Vector256<float> a, Vector256<float> b) => Vector256.MaxNative(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ReplaceNegativeInfinity(Vector256<float> x, Vector256<float> replacement) =>
        Vector256.ConditionalSelect(Vector256.Equals(x, Vector256.Create(float.NegativeInfinity)), replacement, x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp2(Vector256<float> x)
    {
        // x = n + f with n = round(x) and f in [-1/2, 1/2]; 2^f from its Taylor polynomial (relative error
        // < 1.2e-7 on that interval), 2^n added straight into the exponent bits. Lanes below -125 (masked
        // scores are -inf) return exactly 0, so a masked key contributes nothing.
        var clamped = Vector256.MaxNative(x, Vector256.Create(-126f));
        var n = Vector256.Round(clamped);
        var f = clamped - n;
        var p = Vector256.FusedMultiplyAdd(Vector256.Create(Exp2Polynomial.C6), f, Vector256.Create(Exp2Polynomial.C5));
        p = Vector256.FusedMultiplyAdd(p, f, Vector256.Create(Exp2Polynomial.C4));
        p = Vector256.FusedMultiplyAdd(p, f, Vector256.Create(Exp2Polynomial.C3));
        p = Vector256.FusedMultiplyAdd(p, f, Vector256.Create(Exp2Polynomial.C2));
        p = Vector256.FusedMultiplyAdd(p, f, Vector256.Create(Exp2Polynomial.C1));
        p = Vector256.FusedMultiplyAdd(p, f, Vector256.Create(1f));
        var scaled = (p.AsInt32() + Vector256.ShiftLeft(Vector256.ConvertToInt32Native(n), 23)).AsSingle();
        var result = Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256.Create(-125f)), Vector256<float>.Zero, scaled);

        // NaN in, NaN out (the clamp above turned it into 2^-126): a NaN score must reach l and O, as in the reference.
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), result, x);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> WidenBFloat16(ushort* source) =>
        Vector256.ShiftLeft(Vector256.WidenLower(Vector128.Load(source).ToVector256Unsafe()), 16).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void NarrowBFloat16(Vector256<float> value, ushort* destination)
    {
        var bits = value.AsUInt32();
        var rounded = (bits + Vector256.Create(0x7FFFu) + ((bits >> 16) & Vector256.Create(1u))) >> 16;
        var isNaN = Vector256.GreaterThan(bits & Vector256.Create(0x7FFF_FFFFu), Vector256.Create(0x7F80_0000u));
        var result = Vector256.ConditionalSelect(isNaN, (bits >> 16) | Vector256.Create(0x40u), rounded);
        Vector256.Narrow(result, Vector256<uint>.Zero).GetLower().Store(destination);
    }
}

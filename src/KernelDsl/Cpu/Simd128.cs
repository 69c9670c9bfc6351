using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace KernelDsl.Cpu;

/// <summary>128-bit vectors (4 floats): SSE or Arm NEON — the portable fallback. Used when <see cref="Vector128.IsHardwareAccelerated"/> and nothing wider is.</summary>
public readonly unsafe struct Simd128 : ISimdOps<Vector128<float>>
{
    public static int Lanes => Vector128<float>.Count;

    public static Vector128<float> Zero => Vector128<float>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Broadcast(float value) => Vector128.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Load(float* source) => Vector128.Load(source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(float* destination, Vector128<float> value) => value.Store(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> MultiplyAdd(Vector128<float> a, Vector128<float> b, Vector128<float> c) => Vector128.FusedMultiplyAdd(a, b, c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Multiply(Vector128<float> a, Vector128<float> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Add(Vector128<float> a, Vector128<float> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Subtract(Vector128<float> a, Vector128<float> b) => a - b;

    // MaxNative: the plain max instruction, without Vector128.Max's IEEE NaN/±0 fix-ups. It may drop a NaN score from the
    // running max m; that NaN still reaches l and O through Exp2, which propagates NaN (OnlineSoftmax.Step).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Max(Vector128<float> a, Vector128<float> b) => Vector128.MaxNative(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> ReplaceNegativeInfinity(Vector128<float> x, Vector128<float> replacement) =>
        Vector128.ConditionalSelect(Vector128.Equals(x, Vector128.Create(float.NegativeInfinity)), replacement, x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Exp2(Vector128<float> x)
    {
        // x = n + f with n = round(x) and f in [-1/2, 1/2]; 2^f from its Taylor polynomial (relative error
        // < 1.2e-7 on that interval), 2^n added straight into the exponent bits. Lanes below -125 (masked
        // scores are -inf) return exactly 0, so a masked key contributes nothing.
        var clamped = Vector128.MaxNative(x, Vector128.Create(-126f));
        var n = Vector128.Round(clamped);
        var f = clamped - n;
        var p = Vector128.FusedMultiplyAdd(Vector128.Create(Exp2Polynomial.C6), f, Vector128.Create(Exp2Polynomial.C5));
        p = Vector128.FusedMultiplyAdd(p, f, Vector128.Create(Exp2Polynomial.C4));
        p = Vector128.FusedMultiplyAdd(p, f, Vector128.Create(Exp2Polynomial.C3));
        p = Vector128.FusedMultiplyAdd(p, f, Vector128.Create(Exp2Polynomial.C2));
        p = Vector128.FusedMultiplyAdd(p, f, Vector128.Create(Exp2Polynomial.C1));
        p = Vector128.FusedMultiplyAdd(p, f, Vector128.Create(1f));
        var scaled = (p.AsInt32() + Vector128.ShiftLeft(Vector128.ConvertToInt32Native(n), 23)).AsSingle();
        var result = Vector128.ConditionalSelect(Vector128.LessThan(x, Vector128.Create(-125f)), Vector128<float>.Zero, scaled);

        // NaN in, NaN out (the clamp above turned it into 2^-126): a NaN score must reach l and O, as in the reference.
        return Vector128.ConditionalSelect(Vector128.Equals(x, x), result, x);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> WidenBFloat16(ushort* source) =>
        Vector128.ShiftLeft(Vector128.WidenLower(Vector64.Load(source).ToVector128Unsafe()), 16).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void NarrowBFloat16(Vector128<float> value, ushort* destination)
    {
        var bits = value.AsUInt32();
        var rounded = (bits + Vector128.Create(0x7FFFu) + ((bits >> 16) & Vector128.Create(1u))) >> 16;
        var isNaN = Vector128.GreaterThan(bits & Vector128.Create(0x7FFF_FFFFu), Vector128.Create(0x7F80_0000u));
        var result = Vector128.ConditionalSelect(isNaN, (bits >> 16) | Vector128.Create(0x40u), rounded);
        Vector128.Narrow(result, Vector128<uint>.Zero).GetLower().Store(destination);
    }
}

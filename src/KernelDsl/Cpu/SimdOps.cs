using System.Runtime.Intrinsics;

namespace KernelDsl.Cpu;

/// <summary>
/// The vector operations the CPU kernel needs, over one SIMD width. Kernels are generic over an
/// implementation (<see cref="Simd512"/>, <see cref="Simd256"/>, <see cref="Simd128"/>) and the vector type
/// it uses; both are structs, so the JIT compiles one specialised copy per width with every call inlined.
/// The generated kernel picks the widest accelerated width at run time.
/// </summary>
/// <typeparam name="TV">The vector type, e.g. <see cref="Vector512{T}"/> of float.</typeparam>
public unsafe interface ISimdOps<TV>
    where TV : struct
{
    /// <summary>Floats per vector.</summary>
    static abstract int Lanes { get; }

    static abstract TV Zero { get; }

    static abstract TV Broadcast(float value);

    static abstract TV Load(float* source);

    static abstract void Store(float* destination, TV value);

    /// <summary>a·b + c, fused where the hardware has FMA.</summary>
    static abstract TV MultiplyAdd(TV a, TV b, TV c);

    static abstract TV Multiply(TV a, TV b);

    static abstract TV Add(TV a, TV b);

    static abstract TV Subtract(TV a, TV b);

    static abstract TV Max(TV a, TV b);

    /// <summary>x, with every −∞ lane replaced by <paramref name="replacement"/>.</summary>
    static abstract TV ReplaceNegativeInfinity(TV x, TV replacement);

    /// <summary>2^x for x ≤ 0 (the only range softmax needs); 0 for x below −125 (and for −∞); NaN for NaN.</summary>
    static abstract TV Exp2(TV x);

    /// <summary>Lanes bfloat16 values (raw bits) widened to float: the bits shifted into the high half.</summary>
    static abstract TV WidenBFloat16(ushort* source);

    /// <summary>Lanes floats narrowed to bfloat16 (raw bits), rounding to nearest even, NaN kept NaN.</summary>
    static abstract void NarrowBFloat16(TV value, ushort* destination);
}

/// <summary>A compile-time integer: kernels take one as a type argument so the JIT folds it.</summary>
public interface IConstant
{
    static abstract int Value { get; }
}

#pragma warning disable SA1649, SA1402 // the constants are one idea, kept together
public readonly struct Const1 : IConstant { public static int Value => 1; }

public readonly struct Const2 : IConstant { public static int Value => 2; }

public readonly struct Const3 : IConstant { public static int Value => 3; }

public readonly struct Const4 : IConstant { public static int Value => 4; }

public readonly struct Const5 : IConstant { public static int Value => 5; }

public readonly struct Const6 : IConstant { public static int Value => 6; }
#pragma warning restore SA1649, SA1402

namespace KernelDsl.Compiler.Model;

/// <summary>
/// What the planner and the GPU kernels need to know about an element type of the tensor-core operands: its size, its
/// PTX spelling in mma/wgmma/cvt, the k of one mma step, and how many elements one 16-byte copy or one 32-bit register
/// holds. No emitter or planner writes an element width as a literal; it asks these.
/// </summary>
/// <remarks>
/// e4m3/e5m2 are declared for the fp8 forward (issue 9): their mma k is 32 (m16n8k32 on sm_89+, wgmma k32 on sm_90a)
/// and they pack four to a register. No kernel selects them yet; the planner rejects fp8 specs before any emitter runs.
/// </remarks>
public sealed class ElementTraits
{
    public static readonly ElementTraits F16 = new("f16", bytes: 2, mmaK: 16);
    public static readonly ElementTraits BF16 = new("bf16", bytes: 2, mmaK: 16);
    public static readonly ElementTraits E4M3 = new("e4m3", bytes: 1, mmaK: 32);
    public static readonly ElementTraits E5M2 = new("e5m2", bytes: 1, mmaK: 32);

    /// <summary>fp32: the accumulators, and an fp32 output.</summary>
    public static readonly ElementTraits F32 = new("f32", bytes: 4, mmaK: 0);

    private ElementTraits(string ptx, int bytes, int mmaK)
    {
        Ptx = ptx;
        Bytes = bytes;
        MmaK = mmaK;
    }

    /// <summary>PTX type suffix in mma, wgmma and cvt (f16, bf16, e4m3, e5m2, f32).</summary>
    public string Ptx { get; }

    public int Bytes { get; }

    /// <summary>k of one tensor-core step for this operand type (16 for 16-bit types, 32 for fp8).</summary>
    public int MmaK { get; }

    /// <summary>log2(Bytes): element index to byte offset by a shift.</summary>
    public int ByteShift => Bytes == 4 ? 2 : Bytes == 2 ? 1 : 0;

    /// <summary>Elements per 16-byte copy (cp.async.cg, ldmatrix row).</summary>
    public int PerCopy => CopyBytes / Bytes;

    /// <summary>Elements packed in one 32-bit register (the A/B fragments' unit).</summary>
    public int PerRegister => 4 / Bytes;

    /// <summary>Bytes of one cp.async copy: the widest (cg) form.</summary>
    public const int CopyBytes = 16;

    /// <summary>The element type of a spec's tensors.</summary>
    public static ElementTraits Of(ElementType type) => type switch
    {
        ElementType.BF16 => BF16,
        ElementType.FP16 => F16,
        _ => F32,
    };

    public override string ToString() => Ptx;
}

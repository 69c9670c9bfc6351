using System;
using System.Globalization;
using System.Linq;
using KernelDsl.Compiler.Model;
using static KernelDsl.Compiler.Emit.Ptx.Construction.PtxType;

namespace KernelDsl.Compiler.Emit.Ptx.Construction;

/// <summary>
/// Rotary embeddings in a kernel (issue 12): cos and sin of p·θᵢ computed in the kernel, and the pair rotation.
/// <para>Why computed, not read from a table: a cos/sin table in global memory needs a length bound on positions and an
/// allocation the caller keeps in step with the spec, and its reads would share the K/V stream's bandwidth; the kernel
/// needs only (new tokens + 16 query rows) × RotaryDim/2 angles per CTA, a few instructions each, off the K/V stream's
/// critical path. Not yet measured against a table on the GPU (samples/Bench/NOTES.md has the prediction).</para>
/// <para>Precision: θᵢ / 2π is a compile-time constant, stored as a 64-bit fixed-point fraction of a turn in a small
/// <c>.const</c> table; p · that (mul.lo.u64, exact modulo 2⁶⁴, i.e. modulo whole turns) is the angle's fraction of a
/// turn, read as a signed value so it lies in [−π, π), which is where <c>sin.approx</c>/<c>cos.approx</c> are accurate
/// (absolute error about 2⁻²¹). The angle keeps full float precision at any position, unlike fp32 p·θ (its error grows
/// with p: 4·10⁻³ rad at p = 10⁵).</para>
/// </summary>
internal sealed class RotaryAngles
{
    /// <summary>The module's table of fixed-point turns per position, one u64 per pair.</summary>
    public const string TableSymbol = "kdsl_rope_turns";

    /// <summary>2π / 2⁶⁴: a signed fixed-point turn to radians.</summary>
    private const double TurnToRadians = 2 * Math.PI / 18446744073709551616.0;

    private readonly ulong[] _turns;

    public RotaryAngles(PrologueSpec prologue, int headDim)
    {
        RotaryDim = prologue.EffectiveRotaryDim(headDim);
        HalfSplit = prologue.Rotary == RotaryConvention.HalfSplit;
        _turns = new ulong[RotaryDim / 2];
        for (int i = 0; i < _turns.Length; i++)
        {
            // θᵢ as the runtime's RotaryEmbedding.Frequency computes it; θᵢ / 2π < 1/(2π), so the fraction fits 62 bits.
            double theta = Math.Pow(prologue.EffectiveRotaryBase, -2.0 * i / RotaryDim);
            _turns[i] = (ulong)Math.Round(theta / (2 * Math.PI) * 18446744073709551616.0);
        }
    }

    public int RotaryDim { get; }

    /// <summary>Rotated pairs per head: RotaryDim / 2.</summary>
    public int Pairs => RotaryDim / 2;

    public bool HalfSplit { get; }

    /// <summary>The module-scope declaration of the table (a comment and the directive).</summary>
    public (string Comment, string Declaration) ModuleDeclaration =>
        ("Rotary frequencies, one per pair i: theta_i / (2 pi) as a 64-bit fixed-point fraction of a turn (p * this mod 2^64 = the angle of position p)",
         ".const .align 8 .u64 " + TableSymbol + "[" + _turns.Length.ToString(CultureInfo.InvariantCulture) + "] = {"
         + string.Join(", ", _turns.Select(t => t.ToString(CultureInfo.InvariantCulture))) + "};");

    /// <summary>cos and sin (f32) of position·θ_pair; <paramref name="position"/> and <paramref name="pair"/> are b32 (pair &lt; Pairs).</summary>
    public void CosSin(PtxWriter w, Reg cos, Reg sin, Reg position, Reg pair)
    {
        using (w.Scope())
        {
            var b64 = w.Declare(RegKind.B64, "ro_at", "ro_turns", "ro_p");
            var (at, turns, phase) = (b64[0], b64[1], b64[2]);
            var angle = w.Declare1(RegKind.F32, "ro_angle");
            w.Ins("mov.u64 " + at + ", " + TableSymbol);
            w.Ins("mad.wide.u32 " + at + ", " + pair + ", 8, " + at);
            w.Ins("ld.const.u64 " + turns + ", [" + at + "]");
            w.Cvt(U64, U32, phase, position);
            w.MulLo(U64, phase, phase, turns);
            w.Comment("the fraction of a turn as a signed value: the angle in [-pi, pi)");
            w.Ins("cvt.rn.f32.s64 " + angle + ", " + phase);
            w.Mul(F32, angle, angle, Operand.F32(TurnToRadians));
            w.Ins("sin.approx.f32 " + sin + ", " + angle);
            w.Ins("cos.approx.f32 " + cos + ", " + angle);
        }
    }

    /// <summary>The features (a, b) of rotated pair <paramref name="pair"/> within a head, in elements: (2i, 2i+1) or (i, i + RotaryDim/2).</summary>
    public void PairFeatures(PtxWriter w, Reg a, Reg b, Reg pair)
    {
        if (HalfSplit)
        {
            w.Mov(U32, a, pair);
            w.Add(U32, b, pair, Pairs);
        }
        else
        {
            w.Shl(B32, a, pair, 1);
            w.Add(U32, b, a, 1);
        }
    }

    /// <summary>(x0, x1) ← (x0·cos − x1·sin, x0·sin + x1·cos), in f32.</summary>
    public static void Rotate(PtxWriter w, Reg x0, Reg x1, Reg cos, Reg sin)
    {
        using (w.Scope())
        {
            var t = w.Declare(RegKind.F32, "ro_y0", "ro_y1");
            w.Mul(F32, t[0], x1, sin);
            w.Neg(F32, t[0], t[0]);
            w.Fma(F32, t[0], x0, cos, t[0]);
            w.Mul(F32, t[1], x1, cos);
            w.Fma(F32, x1, x0, sin, t[1]);
            w.Mov(F32, x0, t[0]);
        }
    }
}

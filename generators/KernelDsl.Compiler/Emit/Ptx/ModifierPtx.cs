using KernelDsl.Compiler.Emit.Ptx.Construction;
using KernelDsl.Compiler.Model.Expressions;
using static KernelDsl.Compiler.Emit.Ptx.Construction.PtxType;

namespace KernelDsl.Compiler.Emit.Ptx;

/// <summary>
/// A modifier alone as a small PTX module, lowered exactly as the attention kernel inlines it: one thread per
/// (score, b, h, q, kv) tuple read from arrays, result written to <c>out</c> (f32 for a score modifier, u32 0/1
/// for a mask modifier). For tests and tools: ptxas can check every IR lowering in isolation, and a device test
/// can compare each element with C#'s own evaluation of the modifier.
/// </summary>
/// <remarks>
/// Entry <c>kdsl_modifier(u64 out, u64 score f32[n], u64 b s32[n], u64 h s32[n], u64 q s32[n], u64 kv s32[n], u32 n)</c>,
/// any block/grid shape covering n threads.
/// </remarks>
public static class ModifierPtx
{
    public const string EntryName = "kdsl_modifier";

    public static string Standalone(ModifierSpec modifier)
    {
        var w = new PtxWriter();
        var entry = new KernelEntry(EntryName, Parameters, prefixed: false);
        entry.WriteHeader(w, new[] { "KernelDsl modifier " + modifier.MethodName + " (" + modifier.Kind + "), standalone" },
            framed: false, version: "7.8", target: "sm_80", System.Array.Empty<(string, string)>(), System.Array.Empty<string>());
        var scalars = w.Declare(RegKind.B32, "i", "n", "batch", "head", "row", "kv");
        var (i, n, batch, head, row, kv) = (scalars[0], scalars[1], scalars[2], scalars[3], scalars[4], scalars[5]);
        var score = w.Declare1(RegKind.F32, "score");
        var pointers = w.Declare(RegKind.B64, "off", "ptr");
        var (off, ptr) = (pointers[0], pointers[1]);
        var past = w.Declare1(RegKind.Pred, "past");
        w.Mov(U32, i, Sreg.CtaidX);
        w.Mov(U32, n, Sreg.NtidX);
        w.Mov(U32, batch, Sreg.TidX);
        w.MadLo(U32, i, i, n, batch);
        entry.Load(w, n, "n");
        w.Setp(Cmp.Ge, U32, past, i, n);
        using (w.When(past))
        {
            w.Ret();
        }

        w.MulWide(U32, off, i, 4);
        Load(w, entry, "score", PtxType.F32, score, off, ptr);
        Load(w, entry, "b", S32, batch, off, ptr);
        Load(w, entry, "h", S32, head, off, ptr);
        Load(w, entry, "q", S32, row, off, ptr);
        Load(w, entry, "kv", S32, kv, off, ptr);
        var writer = new ExprPtxWriter(w, new ModifierInputs(score, batch, head, row, kv).Map);
        w.Comment("the modifier body");
        var result = writer.Lower(modifier.Body);
        entry.LoadGlobalPointer(w, ptr, "out");
        w.Add(U64, ptr, ptr, off);
        if (modifier.Body.Result.Type == ExprType.Bool)
        {
            var keep = w.Declare1(RegKind.B32, "keep");
            w.Selp(U32, keep, 1, 0, result);
            w.StGlobal(U32, ptr, keep);
        }
        else if (modifier.Body.Result.Type == ExprType.Double)
        {
            // 4-byte slots: a double result is stored rounded to float, as a score modifier's return would be
            var single = w.Declare1(RegKind.F32, "single");
            w.CvtRn(PtxType.F32, F64, single, result);
            w.StGlobal(PtxType.F32, ptr, single);
        }
        else
        {
            w.StGlobal(modifier.Body.Result.Type == ExprType.Int ? U32 : PtxType.F32, ptr, result);
        }

        w.Ret();
        KernelEntry.WriteEnd(w);
        return KernelEntry.AsciiOnly(w.ToString());
    }

    /// <summary>The parameters, in order.</summary>
    private static readonly (string Name, string Type)[] Parameters =
    {
        ("out", "u64"), ("score", "u64"), ("b", "u64"), ("h", "u64"), ("q", "u64"), ("kv", "u64"), ("n", "u32"),
    };

    /// <summary>reg = array[i] (element type <paramref name="type"/>), the array's pointer parameter read through <paramref name="ptr"/>.</summary>
    private static void Load(PtxWriter w, KernelEntry entry, string param, PtxType type, Reg reg, Reg off, Reg ptr)
    {
        entry.LoadGlobalPointer(w, ptr, param);
        w.Add(U64, ptr, ptr, off);
        w.LdGlobal(type, reg, ptr);
    }
}

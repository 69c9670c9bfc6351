using KernelDsl.Compiler.Model.Expressions;

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
        w.Raw("// KernelDsl modifier " + modifier.MethodName + " (" + modifier.Kind + "), standalone");
        w.Raw(".version 7.8");
        w.Raw(".target sm_80");
        w.Raw(".address_size 64");
        w.Blank();
        w.Raw(".visible .entry " + EntryName + "(");
        w.Raw("    .param .u64 out, .param .u64 score, .param .u64 b, .param .u64 h, .param .u64 q, .param .u64 kv, .param .u32 n)");
        w.Raw("{");
        w.Ins(".reg .b32 %i, %n, %batch, %head, %row, %kv");
        w.Ins(".reg .f32 %score");
        w.Ins(".reg .b64 %off, %ptr");
        w.Ins(".reg .pred %past");
        w.Ins("mov.u32 %i, %ctaid.x");
        w.Ins("mov.u32 %n, %ntid.x");
        w.Ins("mov.u32 %batch, %tid.x");
        w.Ins("mad.lo.u32 %i, %i, %n, %batch");
        w.Ins("ld.param.u32 %n, [n]");
        w.Ins("setp.ge.u32 %past, %i, %n");
        w.Ins("@%past ret");
        w.Ins("mul.wide.u32 %off, %i, 4");
        Load(w, "score", "f32", "%score");
        Load(w, "b", "s32", "%batch");
        Load(w, "h", "s32", "%head");
        Load(w, "q", "s32", "%row");
        Load(w, "kv", "s32", "%kv");
        var writer = new ExprPtxWriter(w, input => input switch
        {
            ModifierInput.Score => "%score",
            ModifierInput.Batch => "%batch",
            ModifierInput.Head => "%head",
            ModifierInput.QueryIndex => "%row",
            _ => "%kv",
        });
        w.Comment("the modifier body");
        string result = writer.Lower(modifier.Body);
        w.Ins("ld.param.u64 %ptr, [out]");
        w.Ins("cvta.to.global.u64 %ptr, %ptr");
        w.Ins("add.u64 %ptr, %ptr, %off");
        if (modifier.Body.Result.Type == ExprType.Bool)
        {
            w.Ins(".reg .b32 %keep");
            w.Ins("selp.u32 %keep, 1, 0, " + result);
            w.Ins("st.global.u32 [%ptr], %keep");
        }
        else if (modifier.Body.Result.Type == ExprType.Double)
        {
            // 4-byte slots: a double result is stored rounded to float, as a score modifier's return would be
            w.Ins(".reg .f32 %single");
            w.Ins("cvt.rn.f32.f64 %single, " + result);
            w.Ins("st.global.f32 [%ptr], %single");
        }
        else
        {
            w.Ins("st.global." + (modifier.Body.Result.Type == ExprType.Int ? "u32" : "f32") + " [%ptr], " + result);
        }

        w.Ins("ret");
        w.Raw("}");
        return w.ToString();
    }

    private static void Load(PtxWriter w, string param, string type, string reg)
    {
        w.Ins("ld.param.u64 %ptr, [" + param + "]");
        w.Ins("cvta.to.global.u64 %ptr, %ptr");
        w.Ins("add.u64 %ptr, %ptr, %off");
        w.Ins("ld.global." + type + " " + reg + ", [%ptr]");
    }
}

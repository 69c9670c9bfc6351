using static KernelDsl.Compiler.Emit.Ptx.Construction.PtxType;
using static KernelDsl.Compiler.Emit.Ptx.PtxLiteral;

namespace KernelDsl.Compiler.Emit.Ptx.Construction;

/// <summary>
/// A block-wide "any" and "all" over one 0/1 vote per thread: a warp vote each, one shared-memory slot pair per warp,
/// then thread 0 combines the slots (the other threads leave). The slots are a module-scope array of 2·warps words:
/// the "any" votes at [4·warp], the "all" votes at [4·warps + 4·warp].
/// </summary>
internal static class BlockVotes
{
    /// <summary>The slots' module-scope declaration (for <see cref="KernelEntry.WriteHeader"/>), after <paramref name="comment"/>.</summary>
    public static (string Comment, string Declaration) Slots(string symbol, int warps, string comment) =>
        (comment, ".shared .align 4 .b8 " + symbol + "[" + I(8 * warps) + "];");

    /// <summary>
    /// any |= every thread's any, all &amp;= every thread's all, both 0/1, valid in thread 0; every other thread branches to
    /// <paramref name="othersLeave"/>. <paramref name="p"/>, <paramref name="lead"/> (predicates) and <paramref name="scratch"/> are overwritten.
    /// </summary>
    public static void ReduceToThreadZero(PtxWriter w, Reg any, Reg all, Reg thread, string slotsSymbol, int warps, Reg p, Reg lead, Reg scratch, PtxLabel othersLeave)
    {
        w.Setp(Cmp.Ne, U32, p, any, 0);
        w.VoteAny(p, p);
        w.Selp(U32, any, 1, 0, p);
        w.Setp(Cmp.Ne, U32, p, all, 0);
        w.VoteAll(p, p);
        w.Selp(U32, all, 1, 0, p);
        using (w.Scope())
        {
            var r = w.Declare(RegKind.B32, "slot", "votes");
            var (slot, votes) = (r[0], r[1]);
            w.And(B32, scratch, thread, 31);
            w.Setp(Cmp.Eq, U32, lead, scratch, 0);
            w.Shr(U32, slot, thread, 5);
            w.Shl(B32, slot, slot, 2);
            w.Mov(U32, votes, Operand.Literal(slotsSymbol));
            w.Add(U32, slot, slot, votes);
            using (w.When(lead))
            {
                w.StShared(U32, slot, any);
                w.StShared(U32, slot, 4 * warps, all);
            }

            Copies.Barrier(w);
            w.Setp(Cmp.Ne, U32, p, thread, 0);
            w.BranchIf(p, othersLeave);
            for (int warp = 0; warp < warps; warp++)
            {
                w.LdShared(U32, scratch, votes, 4 * warp);
                w.Or(B32, any, any, scratch);
                w.LdShared(U32, scratch, votes, (4 * warps) + (4 * warp));
                w.And(B32, all, all, scratch);
            }
        }
    }
}

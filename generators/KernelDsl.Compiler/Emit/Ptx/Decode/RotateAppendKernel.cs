using KernelDsl.Compiler.Emit.Ptx.Construction;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Planning;
using static KernelDsl.Compiler.Emit.Ptx.Construction.PtxType;

namespace KernelDsl.Compiler.Emit.Ptx.Decode;

/// <summary>
/// The unfused prologue of a decode step (issue 12) as a kernel of its own: q rotated into a separate tensor, the new k
/// (rotated) and v written into their page slots — what DecodeAppend fuses into the decode kernel, as one more launch before
/// a plain Decode. It exists to measure the fusion against (GpuBench --decode-append) and for callers that append without
/// attending. Grid (MaxQueriesPerSequence, sequences), one CTA per new token: token i of sequence s (skipped past its q) at
/// position L − q + i of the batch after the step. Each thread takes pairs of features (a rotary pair, or two neighbouring
/// features past the rotary dim, copied) of every head.
/// </summary>
internal static class RotateAppendKernel
{
    public static string Build(KernelPlan plan, GpuKernelPlan gpu)
    {
        var spec = plan.Spec;
        var element = ElementTraits.Of(spec.InputType);
        int d = spec.HeadDim, dv = spec.ValueHeadDim;
        var rotary = spec.Prologue?.Rotary is null ? null : new RotaryAngles(spec.Prologue, d);
        int pairs = rotary?.Pairs ?? 0;
        var w = new PtxWriter();
        var entry = new KernelEntry(gpu.EntryName, PtxAbi.For(gpu));
        entry.WriteHeader(w,
            new[] { "KernelDsl decode prologue, unfused: rotary of q and k, k and v into their pages, " + spec.Target.FullName, "one block per new token, a pair of features per thread and step" },
            framed: true, gpu.PtxVersion, gpu.PtxTarget, rotary is null ? System.Array.Empty<(string, string)>() : new[] { rotary.ModuleDeclaration },
            new[] { KernelEntry.MaxThreads(gpu.ThreadsPerBlock) });
        var b = w.Declare(RegKind.B32, "thread", "i", "s", "q_first", "q_count", "pos", "heads_q", "heads_kv", "page_size", "u", "units", "head", "pair", "fa", "fb", "token");
        var (thread, i, s, qFirst, qCount, pos, headsQ, headsKv, pageSize, u, units, head, pair, fa, fb, token) =
            (b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
        var a = w.Declare(RegKind.B64, "at", "src", "dst", "pt_row", "k_pool", "v_pool", "page_stride", "slot_stride", "head_stride", "wide");
        var (at, src, dst, ptRow, kPool, vPool, pageStride, slotStride, headStride, wide) = (a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9]);
        var f = w.Declare(RegKind.F32, "x0", "x1", "c", "sn");
        var h = w.Declare(RegKind.B16, "h0", "h1");
        var word = w.Declare1(RegKind.B32, "word");
        var p = w.Declare(RegKind.Pred, "leave", "done", "rot");
        var (leave, done, rot) = (p[0], p[1], p[2]);
        var exit = w.NewLabel("EXIT");

        w.Stage("Token i of sequence s; its position L - q + i (the batch's lengths include the new tokens)");
        w.Mov(U32, thread, Sreg.TidX);
        w.Mov(U32, i, Sreg.CtaidX);
        w.Mov(U32, s, Sreg.CtaidZ);
        entry.Load(w, headsQ, "heads_q");
        entry.Load(w, headsKv, "heads_kv");
        entry.Load(w, pageSize, "page_size");
        entry.LoadGlobalPointer(w, at, "query_offsets");
        w.MulWide(U32, wide, s, 4);
        w.Add(U64, at, at, wide);
        w.LdGlobalNc(U32, qFirst, at);
        w.LdGlobalNc(U32, qCount, at, 4);
        w.Sub(U32, qCount, qCount, qFirst);
        w.Setp(Cmp.Ge, U32, leave, i, qCount);
        w.BranchIf(leave, exit);
        w.Add(U32, token, qFirst, i);
        entry.LoadGlobalPointer(w, at, "kv_lengths");
        w.Add(U64, at, at, wide);
        w.LdGlobalNc(U32, pos, at);
        w.Sub(U32, pos, pos, qCount);
        w.Add(U32, pos, pos, i);
        using (w.Scope())
        {
            var maxPages = w.Declare1(RegKind.B32, "max_pages");
            entry.Load(w, maxPages, "max_pages");
            entry.LoadGlobalPointer(w, ptRow, "page_table");
            w.MulWide(U32, wide, s, maxPages);
            w.Shl(B64, wide, wide, 2);
            w.Add(U64, ptRow, ptRow, wide);
        }

        entry.LoadGlobalPointer(w, kPool, "k_pool");
        entry.LoadGlobalPointer(w, vPool, "v_pool");

        // One loop per tensor: (head, pair) units; pair j < pairs is rotated, j ≥ pairs copies features (2j, 2j+1).
        foreach (var (what, input, inputHeads, dim, rotated) in new[] { ("Q", "q", headsQ, d, true), ("K", "k_new", headsKv, d, true), ("V", "v_new", headsKv, dv, false) })
        {
            w.Stage(what + ": (head, pair) units over the block's threads" + (rotated && rotary is not null ? "; pairs below " + pairs + " rotated at the token's position" : "; copied"));
            var loop = w.NewLabel(what + "_LOOP");
            var end = w.NewLabel(what + "_END");
            w.MulLo(U32, units, inputHeads, dim / 2);
            if (what != "Q")
            {
                string prefix = what == "K" ? "k" : "v";
                entry.Load(w, pageStride, prefix + "_page_stride");
                w.Shl(B64, pageStride, pageStride, element.ByteShift);
                entry.Load(w, slotStride, prefix + "_slot_stride");
                w.Shl(B64, slotStride, slotStride, element.ByteShift);
                entry.Load(w, headStride, prefix + "_head_stride");
                w.Shl(B64, headStride, headStride, element.ByteShift);
            }

            w.Mov(U32, u, thread);
            w.Place(loop);
            w.Setp(Cmp.Ge, U32, done, u, units);
            w.BranchIf(done, end);
            w.Div(U32, head, u, dim / 2);
            w.MulLo(U32, pair, head, dim / 2);
            w.Sub(U32, pair, u, pair);
            using (w.Scope())
            {
                var rowIndex = w.Declare1(RegKind.B32, "row_index");
                w.Comment("the input row: token-major [tokens, heads, dim]");
                w.MadLo(U32, rowIndex, token, inputHeads, head);
                entry.LoadGlobalPointer(w, src, input);
                w.MulWide(U32, wide, rowIndex, dim * element.Bytes);
                w.Add(U64, src, src, wide);
                if (what == "Q")
                {
                    entry.LoadGlobalPointer(w, dst, "q_rot");
                    w.Add(U64, dst, dst, wide);
                }
                else
                {
                    w.Comment("the page slot of the token's position, at this head");
                    w.Cvt(U64, U32, wide, head);
                    w.MadLo(U64, at, wide, headStride, what == "K" ? kPool : vPool);
                    new PagedKvTile(at, ptRow, pageSize, pageStride, slotStride, element).RowAddress(w, dst, pos);
                }
            }

            if (rotated && rotary is not null)
            {
                var copy = w.NewLabel(what + "_COPY");
                var next = w.NewLabel(what + "_NEXT");
                w.Setp(Cmp.Ge, U32, rot, pair, pairs);
                w.BranchIf(rot, copy);
                rotary.PairFeatures(w, fa, fb, pair);
                using (w.Scope())
                {
                    var ea = w.Declare(RegKind.B64, "ea", "eb");
                    w.MulWide(U32, ea[0], fa, element.Bytes);
                    w.MulWide(U32, ea[1], fb, element.Bytes);
                    w.Add(U64, at, src, ea[0]);
                    w.LdGlobalNc(B16, h[0], at);
                    w.Add(U64, at, src, ea[1]);
                    w.LdGlobalNc(B16, h[1], at);
                    w.ToF32(element, f[0], h[0]);
                    w.ToF32(element, f[1], h[1]);
                    rotary.CosSin(w, f[2], f[3], pos, pair);
                    RotaryAngles.Rotate(w, f[0], f[1], f[2], f[3]);
                    w.FromF32(element, h[0], f[0]);
                    w.FromF32(element, h[1], f[1]);
                    w.Add(U64, at, dst, ea[0]);
                    w.StGlobal(B16, at, h[0]);
                    w.Add(U64, at, dst, ea[1]);
                    w.StGlobal(B16, at, h[1]);
                }

                w.Branch(next);
                w.Place(copy);
                CopyPair(w, src, dst, at, wide, pair, word, element);
                w.Place(next);
            }
            else
            {
                CopyPair(w, src, dst, at, wide, pair, word, element);
            }

            w.Add(U32, u, u, gpu.ThreadsPerBlock);
            w.Branch(loop);
            w.Place(end);
        }

        w.Place(exit);
        w.Ret();
        KernelEntry.WriteEnd(w);
        return KernelEntry.AsciiOnly(w.ToString());
    }

    /// <summary>Features (2j, 2j+1) copied as one 4-byte word.</summary>
    private static void CopyPair(PtxWriter w, Reg src, Reg dst, Reg at, Reg wide, Reg pair, Reg word, ElementTraits element)
    {
        w.MulWide(U32, wide, pair, 2 * element.Bytes);
        w.Add(U64, at, src, wide);
        w.LdGlobalNc(B32, word, at);
        w.Add(U64, at, dst, wide);
        w.StGlobal(B32, at, word);
    }
}

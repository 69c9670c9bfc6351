using KernelDsl.Compiler.Model;
using static KernelDsl.Compiler.Emit.Ptx.PtxLiteral;

namespace KernelDsl.Compiler.Emit.Ptx;

internal sealed partial class FlashForwardPtx
{
    /// <summary>
    /// Finishes each row: the quad's partial sums are added, O is divided by l (0 for an empty row), and O is
    /// written in the output type (rows ≥ Sq are not stored). LSE = ln Σ exp(s) = (m·c + log2 l)·ln 2, −inf
    /// for an empty row, written by the quad's first lane when the lse pointer is not 0.
    /// </summary>
    private void EmitEpilogue()
    {
        var w = _w;
        w.Label("EPILOGUE");
        w.Stage("Epilogue: O / l, store O (" + _output + ") and LSE");
        int esz = _output == ElementType.FP32 ? 4 : 2;
        for (int rr = 0; rr < RowsPerThread; rr++)
        {
            int ms = rr / 2;
            int r = rr % 2;
            string row = "%row" + I(rr);
            string skip = "STORE_SKIP_" + I(rr);
            using (w.Scope())
            {
                w.Comment("slab " + I(ms) + ", row " + (r == 0 ? "g" : "g+8"));
                w.Ins(".reg .f32 %other, %inv, %lse");
                w.Ins(".reg .pred %has, %out, %lead");
                w.Ins(".reg .b64 %ptr, %x");
                w.Ins(".reg .b32 %h, %idx");
                w.Ins("shfl.sync.bfly.b32 %other, %l" + I(rr) + ", 1, 31, 0xffffffff");
                w.Ins("add.f32 %l" + I(rr) + ", %l" + I(rr) + ", %other");
                w.Ins("shfl.sync.bfly.b32 %other, %l" + I(rr) + ", 2, 31, 0xffffffff");
                w.Ins("add.f32 %l" + I(rr) + ", %l" + I(rr) + ", %other");
                w.Ins("setp.gt.f32 %has, %l" + I(rr) + ", " + Zero);
                w.Ins("rcp.rn.f32 %inv, %l" + I(rr));
                w.Ins("selp.f32 %inv, %inv, " + Zero + ", %has");
                w.Ins("setp.ge.s32 %out, " + row + ", %seq_q");
                w.Ins("@%out bra " + skip);
                w.Ins("cvt.u64.u32 %x, " + row);
                w.Ins("mad.lo.u64 %ptr, %x, %o_ss, %o_base");
                w.Ins("mul.wide.u32 %x, %t4, " + I(2 * esz));
                w.Ins("add.u64 %ptr, %ptr, %x");
                var outs = RowRegisters(Slab("%o", ms), Dv, r);
                for (int nt = 0; nt < Dv / 8; nt++)
                {
                    string o0 = outs[2 * nt];
                    string o1 = outs[(2 * nt) + 1];
                    w.Ins("mul.f32 " + o0 + ", " + o0 + ", %inv");
                    w.Ins("mul.f32 " + o1 + ", " + o1 + ", %inv");
                    if (esz == 4)
                    {
                        w.Ins("st.global.v2.f32 [%ptr+" + I(nt * 32) + "], {" + o0 + ", " + o1 + "}");
                    }
                    else
                    {
                        w.Ins("cvt.rn." + (_output == ElementType.BF16 ? "bf16" : "f16") + "x2.f32 %h, " + o1 + ", " + o0);
                        w.Ins("st.global.b32 [%ptr+" + I(nt * 16) + "], %h");
                    }
                }

                w.Comment("LSE (natural log), by the quad's first lane");
                w.Ins("setp.eq.and.u32 %lead, %t4, 0, %p_lse");
                w.Ins("@!%lead bra " + skip);
                w.Ins("lg2.approx.f32 %lse, %l" + I(rr));
                w.Ins("fma.rn.f32 %lse, %m" + I(rr) + ", %scale_log2, %lse");
                w.Ins("mul.f32 %lse, %lse, " + F32(Constants.Ln2));
                w.Ins("selp.f32 %lse, %lse, " + NegInf + ", %has");
                w.Ins("mad.lo.u32 %idx, %batch, %heads_q, %head");
                w.Ins("mad.lo.u32 %idx, %idx, %seq_q, " + row);
                w.Ins("mul.wide.u32 %x, %idx, 4");
                w.Ins("add.u64 %ptr, %lse_ptr, %x");
                w.Ins("st.global.f32 [%ptr], %lse");
                w.Label(skip);
            }
        }

        w.Ins("ret");
    }
}

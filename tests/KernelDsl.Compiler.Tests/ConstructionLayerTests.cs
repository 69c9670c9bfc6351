using System;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using KernelDsl.Compiler.Emit.Ptx;
using KernelDsl.Compiler.Emit.Ptx.Construction;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Planning;
using Shouldly;
using Xunit;

namespace KernelDsl.Compiler.Tests;

/// <summary>
/// The kernel construction layer's pieces on their own (Emit/Ptx/Construction): fragment layout arithmetic, register
/// declarations, the entry's parameter symbols and load types, element traits, tile layouts, and the rule that the
/// forward kernel compositions issue no instruction text themselves. The kernels built from the layer are covered by
/// the PTX snapshots and the ptxas gate.
/// </summary>
public sealed class ConstructionLayerTests
{
    private static AccumulatorFragment Fragment(PtxWriter w, int width) => new(w.DeclareArray(RegKind.F32, "s", width / 2));

    [Fact]
    public void Fragment_element_nt_r_e_is_register_4nt_plus_2r_plus_e()
    {
        var s = Fragment(new PtxWriter(), 32);
        s.Tiles.ShouldBe(4);
        s[0, 0, 0].Name.ShouldBe("%s0");
        s[0, 1, 1].Name.ShouldBe("%s3");
        s[3, 1, 0].Name.ShouldBe("%s14");
        s.Tile(2).ShouldBe("{%s8, %s9, %s10, %s11}");
        s.Row(1).Select(r => r.Name).ShouldBe(new[] { "%s2", "%s3", "%s6", "%s7", "%s10", "%s11", "%s14", "%s15" });
    }

    [Fact]
    public void Fragment_elements_cover_every_register_once_with_its_row_and_column()
    {
        var s = Fragment(new PtxWriter(), 64);
        var elements = s.Elements().ToList();
        elements.Select(e => e.Register.Name).Distinct().Count().ShouldBe(32);
        foreach (var (row, register, column) in elements)
        {
            int index = int.Parse(register.Name.Substring(2), System.Globalization.CultureInfo.InvariantCulture);
            column.ShouldBe((8 * (index / 4)) + (index % 2), register.Name);
            row.ShouldBe(index % 4 / 2, register.Name);
        }
    }

    [Fact]
    public void Accumulator_to_A_fragments_packs_tiles_2k_and_2k_plus_1_high_element_first()
    {
        var w = new PtxWriter();
        var s = Fragment(w, 16);
        var a = w.DeclareArray(RegKind.B32, "pa", 4);
        s.ConvertToA(w, ElementTraits.BF16, a);
        var lines = w.ToString().Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("cvt", StringComparison.Ordinal)).ToList();
        lines.ShouldBe(new[]
        {
            "cvt.rn.bf16x2.f32 %pa0, %s1, %s0;",
            "cvt.rn.bf16x2.f32 %pa1, %s3, %s2;",
            "cvt.rn.bf16x2.f32 %pa2, %s5, %s4;",
            "cvt.rn.bf16x2.f32 %pa3, %s7, %s6;",
        });
    }

    [Fact]
    public void Registers_are_declared_where_they_are_made_and_arrays_check_their_bounds()
    {
        var w = new PtxWriter();
        var regs = w.Declare(RegKind.B32, "thr", "warp");
        var rows = w.DeclareArrays(RegKind.F32, 4, "m", "l");
        w.ToString().ShouldContain(".reg .b32 %thr, %warp;");
        w.ToString().ShouldContain(".reg .f32 %m<4>, %l<4>;");
        regs[1].Name.ShouldBe("%warp");
        rows[1][3].Name.ShouldBe("%l3");
        Should.Throw<ArgumentOutOfRangeException>(() => rows[0][4]);
        Should.Throw<ArgumentOutOfRangeException>(() => rows[0].Vector(2, 3));
    }

    [Fact]
    public void Labels_are_objects_unique_per_kernel()
    {
        var w = new PtxWriter();
        var p = w.Declare1(RegKind.Pred, "p");
        var done = w.NewLabel("DONE");
        w.BranchUnless(p, done);
        w.Place(done);
        w.ToString().ShouldContain("@!%p bra DONE;");
        w.ToString().ShouldContain("DONE:");
        Should.Throw<InvalidOperationException>(() => w.NewLabel("DONE"));
    }

    [Fact]
    public void Entry_loads_each_parameter_with_its_own_type_and_rejects_unknown_names()
    {
        var w = new PtxWriter();
        var entry = new KernelEntry("k", new[] { ("seq", "u32"), ("offset", "s32"), ("out", "u64") });
        var r = w.Declare(RegKind.B32, "a", "b");
        var p = w.Declare1(RegKind.B64, "p");
        entry.Load(w, r[0], "seq");
        entry.Load(w, r[1], "offset");
        entry.LoadGlobalPointer(w, p, "out");
        string text = w.ToString();
        text.ShouldContain("ld.param.u32 %a, [k_param_seq];");
        text.ShouldContain("ld.param.s32 %b, [k_param_offset];");
        text.ShouldContain("ld.param.u64 %p, [k_param_out];");
        text.ShouldContain("cvta.to.global.u64 %p, %p;");
        Should.Throw<ArgumentException>(() => entry.Symbol("missing"));
        new KernelEntry("k", new[] { ("n", "u32") }, prefixed: false).Symbol("n").ShouldBe("n");
    }

    [Fact]
    public void Every_kernel_kind_writes_its_parameters_through_the_entry_in_abi_order()
    {
        var plan = Planner.Plan(Modifiers.With(Specs.Make(64), mask: Modifiers.PrefixLm)).Plan!;
        string attention = PtxEmitter.PtxFor(plan)!;
        var declared = Regex.Matches(attention, @"\.param \.(\w+) (\w+)").Select(m => (m.Groups[2].Value, m.Groups[1].Value)).ToList();
        declared.ShouldBe(PtxAbi.For(plan.PortableGpuKernel()!).Select(p => (plan.PortableGpuKernel()!.EntryName + "_param_" + p.Name, p.Type)).ToList());
        string builder = BlockMaskPtx.PtxFor(plan)!;
        Regex.Matches(builder, @"\.param \.(\w+) (\w+)").Select(m => m.Groups[1].Value).ShouldBe(BlockMaskPtx.FixedParameters.Select(p => p.Type));
        builder.ShouldContain("ld.param.s32 %left, [" + BlockMaskPtx.EntryName(plan.PortableGpuKernel()!) + "_param_band_left]");
    }

    [Fact]
    public void Element_traits_give_sizes_mma_k_and_packing()
    {
        ElementTraits.Of(ElementType.FP16).ShouldBeSameAs(ElementTraits.F16);
        ElementTraits.Of(ElementType.BF16).ShouldBeSameAs(ElementTraits.BF16);
        ElementTraits.Of(ElementType.FP32).ShouldBeSameAs(ElementTraits.F32);
        (ElementTraits.BF16.Bytes, ElementTraits.BF16.MmaK, ElementTraits.BF16.PerCopy, ElementTraits.BF16.PerRegister, ElementTraits.BF16.ByteShift).ShouldBe((2, 16, 8, 2, 1));
        (ElementTraits.E4M3.Bytes, ElementTraits.E4M3.MmaK, ElementTraits.E4M3.PerCopy, ElementTraits.E4M3.PerRegister, ElementTraits.E4M3.ByteShift).ShouldBe((1, 32, 16, 4, 0));
        (ElementTraits.E5M2.Ptx, ElementTraits.F32.Bytes, ElementTraits.F32.ByteShift).ShouldBe(("e5m2", 4, 2));
    }

    [Fact]
    public void Planner_layouts_scale_with_the_element_size()
    {
        var f16 = GpuPlanner.Layout(128, 64, 128, 32, 2, ElementTraits.F16);
        var fp8 = GpuPlanner.Layout(128, 64, 128, 32, 2, ElementTraits.E4M3);
        (f16.QPitchBytes, f16.VPitchBytes).ShouldBe((128 * 2 + GpuSharedMemoryLayout.RowPaddingBytes, 64 * 2 + GpuSharedMemoryLayout.RowPaddingBytes));
        (fp8.QPitchBytes, fp8.VPitchBytes).ShouldBe((128 + GpuSharedMemoryLayout.RowPaddingBytes, 64 + GpuSharedMemoryLayout.RowPaddingBytes));
        GpuPlanner.Sm90aLayout(128, 128, 128, 128, 3, ElementTraits.E4M3).KStageBytes.ShouldBe(GpuPlanner.Sm90aLayout(128, 128, 128, 128, 3, ElementTraits.BF16).KStageBytes / 2);
        GpuPlanner.EstimateRegisters(64, 64, 64, 1, ElementTraits.E4M3).ShouldBe(GpuPlanner.EstimateRegisters(64, 64, 64, 1, ElementTraits.F16) - 8);
    }

    [Fact]
    public void Padded_tiles_address_rows_by_pitch_and_swizzled_tiles_xor_the_chunk_with_the_row()
    {
        var w = new PtxWriter();
        var r = w.Declare(RegKind.B32, "sa", "r", "lc", "tile");
        new PaddedTile(144).ChunkAddress(w, r[0], r[1], r[2], r[3]);
        w.ToString().ShouldContain("mad.lo.u32 %sa, %r, 144, %tile;");
        var sw = new PtxWriter();
        new Swizzled128Tile(64).ChunkAddress(sw, r[0], r[1], r[2], r[3]);
        string text = sw.ToString();
        text.ShouldContain("xor.b32 %chunk, %chunk, %r8;");
        text.ShouldContain("mul.lo.u32 %sa, %blk, 8192;");   // 64 rows x 128 bytes per column block
        text.ShouldContain("add.u32 %sa, %sa, %tile;");
    }

    /// <summary>
    /// The paged row hook: token t's address is base + pageTable[t / pageSize]·pageStride + (t % pageSize)·slotStride, also when
    /// the caller passes the address register as the widening scratch (CpAsyncTile does): the slot is widened into a register of
    /// its own, so the page's term is not overwritten before the last multiply-add reads it.
    /// </summary>
    [Fact]
    public void A_paged_tile_looks_the_page_up_and_keeps_the_page_term_when_the_address_is_the_scratch()
    {
        var w = new PtxWriter();
        var b64 = w.Declare(RegKind.B64, "base", "table", "page_stride", "slot_stride", "ga");
        var b32 = w.Declare(RegKind.B32, "page_size", "row");
        var tile = new PagedKvTile(b64[0], b64[1], b32[0], b64[2], b64[3], ElementTraits.BF16);
        tile.RowAddress(w, b64[4], b32[1]);
        string text = w.ToString();
        text.ShouldContain("div.u32 %pg_i, %row, %page_size;");
        text.ShouldContain("ld.global.nc.u32 %pg, [%pg_at];");
        text.ShouldContain("cvt.u64.u32 %ga, %pg;\n        mad.lo.u64 %ga, %ga, %page_stride, %base;");
        text.ShouldContain("cvt.u64.u32 %pg_slot64, %pg_slot;\n        mad.lo.u64 %ga, %pg_slot64, %slot_stride, %ga;");
    }

    [Fact]
    public void Typed_instructions_spell_their_opcode_type_and_operands_and_guards_apply_to_what_is_inside_them()
    {
        var w = new PtxWriter();
        var b = w.Declare(RegKind.B32, "a", "b");
        var f = w.Declare(RegKind.F32, "x", "y");
        var p = w.Declare1(RegKind.Pred, "p");
        var wide = w.Declare1(RegKind.B64, "w");
        w.MulLo(PtxType.U32, b[0], b[1], 8);
        w.MulWide(PtxType.U32, wide, b[0], b[1]);
        w.MadLo(PtxType.U32, b[0], b[0], b[1], 3);
        w.Fma(PtxType.F32, f[0], f[0], f[1], Operand.Literal(PtxLiteral.Zero));
        w.Ex2(f[1], f[0]);
        w.Setp(Cmp.Neu, PtxType.F32, p, f[0], Operand.Literal(PtxLiteral.NegInf));
        w.SetpOr(Cmp.Lt, PtxType.S32, p, b[0], b[1], p);
        w.Selp(PtxType.F32, f[0], Operand.Literal(PtxLiteral.Zero), f[1], p);
        w.Cvt(PtxType.U64, PtxType.U32, wide, b[0]);
        w.Mov(PtxType.U32, b[1], Sreg.CtaidY);
        using (w.Unless(p))
        {
            w.StShared(PtxType.U32, b[0], 16, b[1]);
        }

        var h = w.Declare1(RegKind.B16, "h");
        w.LdGlobal(PtxType.B16, h, wide, 6);
        w.ToF32(ElementTraits.BF16, f[0], h);
        w.Ret();
        string text = w.ToString();
        text.ShouldContain("    mul.lo.u32 %a, %b, 8;\n    mul.wide.u32 %w, %a, %b;\n    mad.lo.u32 %a, %a, %b, 3;\n");
        text.ShouldContain("    fma.rn.f32 %x, %x, %y, 0f00000000;\n    ex2.approx.ftz.f32 %y, %x;\n");
        text.ShouldContain("    setp.neu.f32 %p, %x, 0fFF800000;\n    setp.lt.or.s32 %p, %a, %b, %p;\n    selp.f32 %x, 0f00000000, %y, %p;\n");
        text.ShouldContain("    cvt.u64.u32 %w, %a;\n    mov.u32 %b, %ctaid.y;\n    @!%p st.shared.u32 [%a+16], %b;\n");
        text.ShouldContain("    ld.global.b16 %h, [%w+6];\n    cvt.f32.bf16 %x, %h;\n    ret;\n");
        Should.Throw<InvalidOperationException>(() =>
        {
            using (w.When(p))
            {
                w.When(p);
            }
        });
    }

    [Fact]
    public void The_runtime_band_keeps_a_key_inside_both_bounds_or_past_an_unbounded_one()
    {
        var w = new PtxWriter();
        var r = w.Declare(RegKind.B32, "off", "left", "right", "q", "kv", "d", "lo", "hi");
        var preds = w.Declare(RegKind.Pred, "lopen", "ropen", "keep", "t");
        var band = new RuntimeBand(r[0], r[1], r[2], preds[0], preds[1]);
        band.DecodeUnbounded(w);
        band.Keeps(w, preds[2], r[3], r[4], r[5], r[6], r[7], preds[3]);
        string text = w.ToString();
        text.ShouldContain("setp.lt.s32 %lopen, %left, 0;\n    setp.lt.s32 %ropen, %right, 0;");
        text.ShouldContain("add.s32 %d, %q, %off;\n    sub.s32 %lo, %d, %left;\n    setp.ge.s32 %keep, %kv, %lo;\n    or.pred %keep, %keep, %lopen;\n");
        text.ShouldContain("add.s32 %hi, %d, %right;\n    setp.le.s32 %t, %kv, %hi;\n    or.pred %t, %t, %ropen;\n    and.pred %keep, %keep, %t;\n");
    }

    /// <summary>
    /// The kernels are compositions: every instruction comes from the layer's vocabulary and pieces. Checked for every
    /// file of the forward kernel (its two family compositions, its shared stages, its registers), of the backward's kernels,
    /// the block-mask builder, the standalone modifier kernel, and the modifier lowering every one of them inlines (ExprPtxWriter, ModifierBodies).
    /// </summary>
    [Theory]
    [MemberData(nameof(KernelFiles))]
    public void Kernel_files_contain_no_instruction_text(string file)
    {
        string source = File.ReadAllText(Path.Combine(PtxEmitterFolder(), file));
        source.ShouldNotContain(".Ins(");
        source.ShouldNotContain(".Raw(");
        Regex.IsMatch(source, "\"[a-z]+\\.[a-z0-9]+[. ]").ShouldBeFalse("no PTX opcode spelled in " + file);
    }

    public static TheoryData<string> KernelFiles()
    {
        var files = Directory.GetFiles(Path.Combine(PtxEmitterFolder(), "Forward"), "*.cs")
            .Select(f => Path.Combine("Forward", Path.GetFileName(f)))
            .Concat(Directory.GetFiles(Path.Combine(PtxEmitterFolder(), "Backward"), "*.cs").Select(f => Path.Combine("Backward", Path.GetFileName(f))))
            .OrderBy(f => f, StringComparer.Ordinal)
            .Concat(Directory.GetFiles(Path.Combine(PtxEmitterFolder(), "Decode"), "*.cs").Select(f => Path.Combine("Decode", Path.GetFileName(f))).OrderBy(f => f, StringComparer.Ordinal))
            .Append("BlockMaskPtx.cs")
            .Append("ModifierPtx.cs")
            .Append("ExprPtxWriter.cs")
            .Append("ModifierBodies.cs")
            .ToList();
        foreach (var expected in new[] { "Forward/FlashForwardSm80.cs", "Forward/FlashForwardSm90a.cs", "Forward/ForwardKernel.Softmax.cs", "Forward/ForwardKernel.Band.cs",
                     "Backward/BackwardPreprocessPtx.cs", "Backward/BackwardKeyValueSm80.cs", "Backward/BackwardQuerySm80.cs", "Backward/BackwardKernel.Elementwise.cs",
                     "Decode/DecodeKernel.Loop.cs", "Decode/DecodeMergeKernel.cs" })
        {
            if (!files.Contains(expected.Replace('/', Path.DirectorySeparatorChar)))
            {
                throw new InvalidOperationException("the kernel file " + expected + " was not found: the instruction-text check would miss it");
            }
        }

        var data = new TheoryData<string>();
        foreach (var file in files)
        {
            data.Add(file);
        }

        return data;
    }

    private static string PtxEmitterFolder() => Path.Combine(RepositoryRoot(), "generators", "KernelDsl.Compiler", "Emit", "Ptx");

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "KernelDsl.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("KernelDsl.sln not found above " + AppContext.BaseDirectory);
    }
}

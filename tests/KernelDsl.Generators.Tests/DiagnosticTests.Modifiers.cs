using System.Linq;
using System.Threading.Tasks;
using KernelDsl.Generators.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace KernelDsl.Generators.Tests;

/// <summary>
/// The modifier diagnostics (KDSL0022–KDSL0026, KDSL0028–KDSL0030, KDSL0032; KDSL0027 is retired), each at its exact
/// span, in Microsoft.CodeAnalysis.Testing's markup: <c>{|KDSL0023:int|}</c> (see <see cref="GeneratorDiagnosticTest"/>).
/// </summary>
public sealed partial class DiagnosticTests
{
    private const string ModifierSpec = "using System;\nusing KernelDsl;\n[Attention(HeadDim = 64)]\npublic static partial class S\n{\n";

    private static string Score(string body, string parameters = "float score, int b, int h, int q, int kv") =>
        ModifierSpec + "    [ScoreMod] static float M(" + parameters + ")\n    " + body + "\n}\n";

    private static string Mask(string body) =>
        ModifierSpec + "    [MaskMod] static bool K(int b, int h, int q, int kv)\n    " + body + "\n}\n";

    [Fact]
    public async Task KDSL0022_second_score_modifier_is_reported_at_its_name()
    {
        var diagnostic = (await GeneratorDiagnosticTest.Run(
            ModifierSpec + "    [ScoreMod] static float A(float score) => score;\n    [ScoreMod] static float {|KDSL0022:B|}(float score) => score;\n}\n")).Single();
        diagnostic.GetMessage().ShouldContain("more than one [ScoreMod] method ('A' and 'B')");
    }

    [Fact]
    public async Task KDSL0022_second_mask_modifier_is_reported_at_its_name() =>
        await GeneratorDiagnosticTest.Run(ModifierSpec + "    [MaskMod] static bool A(int q) => q > 0;\n    [MaskMod] static bool {|KDSL0022:B|}(int kv) => kv > 0;\n}\n");

    [Fact]
    public async Task KDSL0023_instance_modifier_is_reported_at_its_name()
    {
        var diagnostic = (await GeneratorDiagnosticTest.Run(
            "using KernelDsl;\n[Attention(HeadDim = 64)]\npublic partial class S\n{\n    [ScoreMod] float {|KDSL0023:M|}(float score) => score;\n}\n")).Single();
        diagnostic.GetMessage().ShouldContain("must be static");
    }

    [Fact]
    public async Task KDSL0023_wrong_return_type_is_reported_at_the_return_type()
    {
        var diagnostic = (await GeneratorDiagnosticTest.Run(ModifierSpec + "    [MaskMod] static {|KDSL0023:int|} K(int q) => q;\n}\n")).Single();
        diagnostic.GetMessage().ShouldContain("must return bool");
        diagnostic.GetMessage().ShouldContain("static bool K(int b, int h, int q, int kv)");
    }

    [Fact]
    public async Task KDSL0023_unknown_parameter_is_reported_at_the_parameter() =>
        await GeneratorDiagnosticTest.Run(Score("=> score;", "float score, {|KDSL0023:int row|}"));

    [Fact]
    public async Task KDSL0023_score_parameter_on_a_mask_modifier_is_reported_at_the_parameter() =>
        await GeneratorDiagnosticTest.Run(ModifierSpec + "    [MaskMod] static bool K({|KDSL0023:float score|}) => score > 0;\n}\n");

    [Fact]
    public async Task KDSL0023_parameter_of_the_wrong_type_is_reported_at_the_parameter()
    {
        var diagnostic = (await GeneratorDiagnosticTest.Run(Score("=> score;", "float score, {|KDSL0023:double q|}"))).Single();
        diagnostic.GetMessage().ShouldContain("not as a plain int");
    }

    [Fact]
    public async Task KDSL0023_ref_parameter_is_reported_at_the_parameter() =>
        await GeneratorDiagnosticTest.Run(Score("=> score;", "{|KDSL0023:in float score|}"));

    [Theory]
    [InlineData("{ float s = score; {|KDSL0024:for (int i = 0; i < 3; i++) { s = s * 0.5f; }|} return s; }", "A loop")]
    [InlineData("{ float s = score; {|KDSL0024:while (s > 1f) { s = s * 0.5f; }|} return s; }", "A loop")]
    [InlineData("=> {|KDSL0024:Helper(score)|};\n    static float Helper(float x) => x", "The call to 'Helper'")]
    [InlineData("=> score + {|KDSL0024:Math.Round(score)|};", "'Math.Round' with 1 argument(s)")]
    [InlineData("=> score + {|KDSL0024:MathF.Log(score, 2f)|};", "'MathF.Log' with 2 argument(s)")]
    [InlineData("{ var values = {|KDSL0024:new float[4]|}; return score; }", "Allocation")]
    [InlineData("=> score * {|KDSL0024:Factor|};\n    static float Factor = 2f", "The non-const field 'Factor'")]
    [InlineData("=> score * {|KDSL0024:Bias|};\n    static readonly float Bias = 2f", "The non-const field 'Bias'")]
    [InlineData("=> score * {|KDSL0024:Environment.ProcessorCount|};", "The property 'ProcessorCount'")]
    [InlineData("{ float s = score; {|KDSL0024:s = s * 2f|}; return s; }", "Assignment")]
    [InlineData("{ float s = score; {|KDSL0024:s *= 2f|}; return s; }", "Assignment")]
    [InlineData("{ int t = q; {|KDSL0024:t++|}; return score + t; }", "'++' and '--'")]
    [InlineData("=> q < 0 ? {|KDSL0024:throw new InvalidOperationException()|} : score;", "Throwing an exception")]
    [InlineData("{ {|KDSL0024:if (q > kv) return float.NegativeInfinity;|} return score; }", "An 'if' statement")]
    [InlineData("{ {|KDSL0024:dynamic d = score;|} return (float)d; }", "A ref, using or dynamic local")]
    [InlineData("=> score + ({|KDSL0024:q & 1|});", "The operator '&'")]
    [InlineData("=> score + ({|KDSL0024:q << 1|});", "The operator '<<'")]
    [InlineData("=> score + {|KDSL0024:~q|};", "The operator '~'")]
    [InlineData("=> checked({|KDSL0024:q * kv|}) + score;", "Checked arithmetic")]
    [InlineData("=> {|KDSL0024:q is > 3 and < 9|} ? score : 0f;", "Pattern matching")]
    [InlineData("=> {|KDSL0024:q switch { 0 => 1f, _ => score }|};", "A 'switch'")]
    public async Task KDSL0024_unsupported_construct_is_reported_at_its_syntax(string body, string construct)
    {
        var diagnostic = (await GeneratorDiagnosticTest.Run(Score(body))).Single();
        diagnostic.GetMessage().ShouldStartWith(construct + " is not supported in the modifier 'M'");
    }

    [Fact]
    public async Task KDSL0024_every_unsupported_construct_in_one_body_is_reported()
    {
        // Translation goes on after an error, so one build shows them all.
        await GeneratorDiagnosticTest.Run(Mask("=> {|KDSL0024:Other(q)|} && kv < {|KDSL0024:Limit|};\n    static bool Other(int x) => x > 0;\n    static int Limit = 3;"));
    }

    [Fact]
    public async Task KDSL0024_local_without_initializer_and_its_assignment_are_both_reported()
    {
        var diagnostics = await GeneratorDiagnosticTest.Run(Score("{ float {|KDSL0024:s|}; {|KDSL0024:s = score|}; return s; }"));
        diagnostics.Select(d => d.GetMessage()).ShouldContain(message => message.StartsWith("A local without an initializer"));
    }

    [Fact]
    public async Task KDSL0025_long_arithmetic_is_reported_at_the_expression()
    {
        var diagnostic = (await GeneratorDiagnosticTest.Run(Score("=> score + {|KDSL0025:(long)q * kv|};"))).Single();
        diagnostic.GetMessage().ShouldContain("The type 'long' is not supported in the modifier 'M'");
    }

    [Fact]
    public async Task KDSL0025_string_local_is_reported_at_its_value() =>
        await GeneratorDiagnosticTest.Run(Score("{ var name = {|KDSL0025:\"x\"|}; return score; }"));

    [Fact]
    public async Task KDSL0026_pow_with_a_variable_exponent_and_base_is_reported_at_the_call()
    {
        var diagnostic = (await GeneratorDiagnosticTest.Run(Score("=> {|KDSL0026:MathF.Pow(score, q)|};"))).Single();
        diagnostic.GetMessage().ShouldStartWith("MathF.Pow(score, q) in the modifier 'M' needs a constant exponent");
    }

    [Fact]
    public async Task KDSL0026_pow_with_a_constant_base_or_exponent_is_accepted() =>
        await GeneratorDiagnosticTest.Run(Score("=> MathF.Pow(2f, -q) * MathF.Pow(score, 2f) + (float)Math.Pow(score, 0.5);"));

    [Fact]
    public void Modifier_errors_keep_the_spec_from_emitting() =>
        GeneratorHarness.Run(Score("{ float s = score; s = 1f; return s; }")).GeneratedTrees.ShouldBeEmpty();

    /// <summary>KDSL0027 is retired: the PTX emitter evaluates modifiers, so a 16-bit spec with modifiers gets its GPU kernel and no warning.</summary>
    [Fact]
    public async Task KDSL0027_retired_a_16_bit_spec_with_modifiers_gets_a_gpu_kernel_and_no_warning()
    {
        const string source = "using System;\nusing KernelDsl;\n[Attention(HeadDim = 64)]\n[Precision(DType.BF16)]\npublic static partial class S\n{\n    [ScoreMod] static float Softcap(float score) => 30f * MathF.Tanh(score / 30f);\n    [MaskMod] static bool Keep(int q, int kv) => kv < 64 || q >= kv;\n}\n";
        await GeneratorDiagnosticTest.Run(source);
        var gpu = GeneratorHarness.Run(source).GeneratedTrees.Single(tree => tree.FilePath.EndsWith("S.Gpu.g.cs", System.StringComparison.Ordinal)).ToString();
        gpu.ShouldContain("tanh.approx.f32");
        gpu.ShouldContain("Score modifier Softcap");
    }

    [Fact]
    public async Task KDSL0028_span_parameter_without_captured_is_reported_at_the_parameter()
    {
        var diagnostic = (await GeneratorDiagnosticTest.Run(Score("=> score;", "float score, {|KDSL0028:ReadOnlySpan<float> slopes|}"))).Single();
        diagnostic.GetMessage().ShouldContain("has no [Captured(");
    }

    [Fact]
    public async Task KDSL0028_captured_of_an_unsupported_type_is_reported_at_the_type()
    {
        var diagnostic = (await GeneratorDiagnosticTest.Run(Score("=> score;", "float score, [Captured(\"Hq\")] {|KDSL0028:ReadOnlySpan<double>|} slopes"))).Single();
        diagnostic.GetMessage().ShouldContain("not as ReadOnlySpan<float> or ReadOnlySpan<int>");
    }

    [Fact]
    public async Task KDSL0028_unknown_dim_is_reported_at_the_attribute_argument()
    {
        var diagnostic = (await GeneratorDiagnosticTest.Run(Score("=> score;", "float score, [Captured(\"Hq\", {|KDSL0028:\"Heads\"|})] ReadOnlySpan<float> table"))).Single();
        diagnostic.GetMessage().ShouldContain("'Heads', which is neither B, Hq, Hkv, Sq, Skv nor a positive integer literal");
    }

    [Fact]
    public async Task KDSL0028_non_positive_literal_dim_is_reported_at_the_attribute_argument() =>
        await GeneratorDiagnosticTest.Run(Score("=> score;", "float score, [Captured({|KDSL0028:\"0\"|})] ReadOnlySpan<float> table"));

    /// <summary>"score + 0f + 1f ...": the body is the identifier plus two nodes (binary, literal) per term.</summary>
    private static string SumOf(int terms) =>
        "=> score" + string.Concat(System.Linq.Enumerable.Range(0, terms).Select(i => " + " + (i % 9) + "f")) + ";";

    [Fact]
    public async Task KDSL0032_a_body_one_node_over_the_limit_is_reported_at_the_name()
    {
        int terms = (KernelDsl.Generators.Modifiers.ModifierSize.MaxSyntaxNodes / 2) + 1; // 1 + 2 * 129 = 259 nodes
        var diagnostic = (await GeneratorDiagnosticTest.Run(
            ModifierSpec + "    [ScoreMod] static float {|KDSL0032:M|}(float score)\n    " + SumOf(terms) + "\n}\n")).Single();
        diagnostic.GetMessage().ShouldContain($"has {1 + (2 * terms)} syntax nodes in its body; at most 256 compile");
    }

    [Fact]
    public void A_body_at_the_limit_compiles()
    {
        int terms = (KernelDsl.Generators.Modifiers.ModifierSize.MaxSyntaxNodes - 1) / 2; // 255 nodes
        var result = GeneratorHarness.Run(ModifierSpec + "    [ScoreMod] static float M(float score)\n    " + SumOf(terms) + "\n}\n");
        result.Diagnostics.ShouldBeEmpty();
        result.GeneratedTrees.ShouldNotBeEmpty();
    }

    [Theory]
    [InlineData(5000, false)] // overflowed the stack of a real dotnet build before the limit
    [InlineData(2000, true)]  // a right-nested ?: chain, 2000 deep
    public async Task KDSL0032_huge_bodies_are_reported_without_translating_them(int size, bool nested)
    {
        string body = nested
            ? "=> " + string.Concat(System.Linq.Enumerable.Range(0, size).Select(i => $"q > {i} ? score * {i}f : ")) + "score;"
            : SumOf(size);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await GeneratorDiagnosticTest.Run(ModifierSpec + "    [ScoreMod] static float {|KDSL0032:M|}(float score, int q)\n    " + body + "\n}\n");
        clock.Elapsed.ShouldBeLessThan(System.TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task KDSL0028_null_dims_array_is_reported_at_the_attribute_argument()
    {
        // [Captured(null)] passes a null params array; the generator once threw a NullReferenceException on it.
        var diagnostic = (await GeneratorDiagnosticTest.Run(Score("=> score;", "float score, [Captured({|KDSL0028:null|})] ReadOnlySpan<float> table"))).Single();
        diagnostic.GetMessage().ShouldContain("the dim 'null'");
    }

    [Fact]
    public async Task KDSL0028_literal_dims_whose_product_overflows_are_reported_at_the_attribute()
    {
        // 4·5·5581·8681·49477·384773 wraps to 4 in a 64-bit product: a 4-element span would have passed the length check.
        var diagnostic = (await GeneratorDiagnosticTest.Run(
            Score("=> score + table[0];", "float score, [{|KDSL0028:Captured(\"4\", \"5\", \"5581\", \"8681\", \"49477\", \"384773\")|}] ReadOnlySpan<float> table"))).Single();
        diagnostic.GetMessage().ShouldContain("product exceeds 2147483647 elements");
    }

    [Fact]
    public async Task KDSL0028_literal_dims_just_past_int_max_are_reported_and_named_dims_do_not_count() =>
        await GeneratorDiagnosticTest.Run(
            Score("=> score + table[0];", "float score, [{|KDSL0028:Captured(\"Sq\", \"65536\", \"32768\")|}] ReadOnlySpan<float> table"));

    [Fact]
    public async Task Literal_dims_up_to_int_max_are_accepted() =>
        await GeneratorDiagnosticTest.Run(Score("=> score + table[0];", "float score, [Captured(\"Skv\", \"65535\", \"32768\")] ReadOnlySpan<float> table"));

    [Fact]
    public async Task KDSL0028_reserved_name_is_reported_at_the_name()
    {
        var diagnostic = (await GeneratorDiagnosticTest.Run(Score("=> score;", "float score, [Captured(\"Hq\")] ReadOnlySpan<float> {|KDSL0028:output|}"))).Single();
        diagnostic.GetMessage().ShouldContain("rename it");
    }

    [Fact]
    public async Task KDSL0029_one_buffer_name_with_two_shapes_is_reported_at_the_mask_modifiers_parameter()
    {
        var diagnostic = (await GeneratorDiagnosticTest.Run(
            ModifierSpec
            + "    [ScoreMod] static float M(float score, int q, [Captured(\"Skv\")] ReadOnlySpan<int> docs) => score + docs[q];\n"
            + "    [MaskMod] static bool K(int q, {|KDSL0029:[Captured(\"Sq\")] ReadOnlySpan<int> docs|}) => docs[q] > 0;\n}\n")).Single();
        diagnostic.GetMessage().ShouldContain("(int[Skv] and int[Sq])");
    }

    [Fact]
    public async Task KDSL0030_buffer_length_is_reported_at_the_use()
    {
        var diagnostic = (await GeneratorDiagnosticTest.Run(Score("=> score + {|KDSL0030:slopes.Length|};", "float score, [Captured(\"Hq\")] ReadOnlySpan<float> slopes"))).Single();
        diagnostic.GetMessage().ShouldContain("can only be indexed with an int");
    }

    [Fact]
    public async Task KDSL0030_index_from_end_is_reported_at_the_use() =>
        await GeneratorDiagnosticTest.Run(Score("=> score + {|KDSL0030:slopes[^1]|};", "float score, [Captured(\"Hq\")] ReadOnlySpan<float> slopes"));

    [Fact]
    public async Task KDSL0030_buffer_stored_in_a_local_is_reported_at_the_use() =>
        await GeneratorDiagnosticTest.Run(Score("{ var s = {|KDSL0030:slopes|}; return score; }", "float score, [Captured(\"Hq\")] ReadOnlySpan<float> slopes"));
}

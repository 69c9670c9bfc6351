using KernelDsl.Compiler.Compilation;
using KernelDsl.Compiler.Emit.Cpu;
using KernelDsl.Compiler.Model.Expressions;
using KernelDsl.Compiler.Planning;

namespace KernelDsl.Compiler.Emit.Host;

/// <summary>
/// For specs with modifiers: public float64 versions of them on the spec class, <c>ScoreModifierReference</c> and
/// <c>MaskModifierReference</c>, written from the same IR as the kernels with every float widened to double. Tests
/// (and users) pass them to <c>KernelDsl.Reference.AttentionReference.Compute</c>, so the reference evaluates exactly
/// the modifier the kernels were compiled from. No file for specs without modifiers.
/// </summary>
public sealed class ModifierReferenceEmitter : IEmitter
{
    public GeneratedFile? Emit(KernelPlan plan)
    {
        var spec = plan.Spec;
        if (spec.ScoreModifier is null && spec.MaskModifier is null)
        {
            return null;
        }

        var w = new CodeWriter();
        w.Lines(TypeScope.FileHeader.TrimEnd('\n'));
        w.Line("// KernelDsl attention spec " + spec.Target.FullName + ": its modifiers in float64, for the reference.");
        w.Line();
        using (TypeScope.Open(w, spec.Target))
        {
            Method(w, spec.ScoreModifier, "double ScoreModifierReference", "the score modifier");
            if (spec.ScoreModifier is not null && spec.MaskModifier is not null)
            {
                w.Line();
            }

            Method(w, spec.MaskModifier, "bool MaskModifierReference", "the mask modifier");
        }

        return new GeneratedFile(spec.Target.FullName + ".Modifiers.g.cs", w.ToString());
    }

    private static void Method(CodeWriter w, ModifierSpec? modifier, string signature, string what)
    {
        if (modifier is null)
        {
            return;
        }

        var writer = ExprCSharpWriter.Reference;
        w.Line("/// <summary>" + modifier.MethodName + ", " + what + ", evaluated in double precision (int arithmetic as in C#).</summary>");
        w.Line("[global::System.CodeDom.Compiler.GeneratedCode(\"KernelDsl.Generators\", \"1.0\")]");
        using (w.Block("public static " + signature + "(" + writer.Parameters(modifier) + ")"))
        {
            writer.Body(w, modifier.Body);
        }
    }
}

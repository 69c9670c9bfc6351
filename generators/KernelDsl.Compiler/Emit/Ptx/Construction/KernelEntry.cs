using System.Collections.Generic;

namespace KernelDsl.Compiler.Emit.Ptx.Construction;

/// <summary>
/// One PTX kernel's outside: the module header (banner, ISA version, target), module-scope declarations (shared
/// memory), the <c>.entry</c> line with its parameters, the launch directives, and the loads of its parameters.
/// Every kernel kind writes these through this class, so parameter symbols and their load types come from the one
/// parameter list (for the attention kernel <see cref="PtxAbi.For"/>) and are never spelled again by a stage.
/// </summary>
internal sealed class KernelEntry
{
    private readonly Dictionary<string, string> _types = new();
    private readonly bool _prefixed;

    /// <param name="name">The entry name.</param>
    /// <param name="parameters">The <c>.param</c> list in order (name, PTX type).</param>
    /// <param name="prefixed">True (kernels of a generated module): parameter symbols are <c>{entry}_param_{name}</c>,
    /// unique within a module holding several kernels; false: the bare names (standalone test kernels).</param>
    public KernelEntry(string name, IReadOnlyList<(string Name, string Type)> parameters, bool prefixed = true)
    {
        Name = name;
        Parameters = parameters;
        _prefixed = prefixed;
        foreach (var (param, type) in parameters)
        {
            _types[param] = type;
        }
    }

    public string Name { get; }

    public IReadOnlyList<(string Name, string Type)> Parameters { get; }

    /// <summary>The parameter's PTX symbol.</summary>
    public string Symbol(string parameter) => _types.ContainsKey(parameter)
        ? (_prefixed ? Name + "_param_" + parameter : parameter)
        : throw new System.ArgumentException("kernel " + Name + " has no parameter '" + parameter + "'", nameof(parameter));

    /// <summary>
    /// The module header and the entry up to its opening brace: banner comment lines (framed by empty <c>//</c>
    /// lines when <paramref name="framed"/>), <c>.version</c>/<c>.target</c>/<c>.address_size 64</c>, module-scope
    /// declarations each after its comment, the <c>.entry</c> with one parameter per line, and the directives
    /// (<c>.maxntid</c>, ... ; a line starting with <c>//</c> is written as a comment).
    /// </summary>
    public void WriteHeader(PtxWriter w, IEnumerable<string> banner, bool framed, string version, string target,
        IEnumerable<(string Comment, string Declaration)> moduleDeclarations, IEnumerable<string> directives)
    {
        if (framed)
        {
            w.Raw("//");
        }

        foreach (var line in banner)
        {
            w.Raw("// " + line);
        }

        if (framed)
        {
            w.Raw("//");
        }

        w.Raw(".version " + version);
        w.Raw(".target " + target);
        w.Raw(".address_size 64");
        w.Blank();
        foreach (var (comment, declaration) in moduleDeclarations)
        {
            w.Raw("// " + comment);
            w.Raw(declaration);
            w.Blank();
        }

        w.Raw(".visible .entry " + Name + "(");
        for (int i = 0; i < Parameters.Count; i++)
        {
            w.Raw("    .param ." + Parameters[i].Type + " " + Symbol(Parameters[i].Name) + (i + 1 < Parameters.Count ? "," : string.Empty));
        }

        w.Raw(")");
        foreach (var directive in directives)
        {
            w.Raw(directive);
        }

        w.Raw("{");
    }

    /// <summary>The launch-bounds directive of a one-dimensional block of at most <paramref name="threads"/> threads.</summary>
    public static string MaxThreads(int threads) => ".maxntid " + PtxLiteral.I(threads) + ", 1, 1";

    /// <summary>Closes the entry.</summary>
    public static void WriteEnd(PtxWriter w) => w.Raw("}");

    /// <summary><c>ld.param</c> of a scalar parameter into a register, with the parameter's own type.</summary>
    public void Load(PtxWriter w, Reg destination, string parameter) =>
        w.Ins("ld.param." + _types[parameter] + " " + destination + ", [" + Symbol(parameter) + "]");

    /// <summary>A pointer parameter converted to a global address (<c>ld.param.u64</c> then <c>cvta.to.global</c>).</summary>
    public void LoadGlobalPointer(PtxWriter w, Reg destination, string parameter)
    {
        Load(w, destination, parameter);
        w.Ins("cvta.to.global.u64 " + destination + ", " + destination);
    }

    /// <summary>The driver's PTX JIT rejects any non-ASCII byte (even in comments); C# names may be any Unicode letter, so every kernel's text is escaped (<see cref="PtxAscii"/>).</summary>
    public static string AsciiOnly(string ptx) => PtxAscii.Escape(ptx);
}

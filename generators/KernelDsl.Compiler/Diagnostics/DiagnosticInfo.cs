namespace KernelDsl.Compiler.Diagnostics;

/// <summary>Severity of a KernelDsl diagnostic; mapped one to one onto Roslyn's.</summary>
public enum Severity
{
    Error,
    Warning,
}

/// <summary>One entry of the diagnostic catalog: a stable ID, a title and a message format ({0}, {1}, ...).</summary>
public sealed record DiagnosticDescriptorInfo(string Id, string Title, string MessageFormat, Severity Severity);

/// <summary>
/// A diagnostic about a spec. <see cref="SpecPath"/> names the offending piece of the spec
/// ("Attention.HeadDim", "Mask.Left", "Class", ...); the Roslyn adapter maps it to the syntax that wrote it.
/// Arguments are strings so the model stays equatable and never holds a compilation alive.
/// </summary>
public sealed record SpecDiagnostic(DiagnosticDescriptorInfo Descriptor, string SpecPath, Model.EquatableArray<string> Arguments)
{
    public static SpecDiagnostic Create(DiagnosticDescriptorInfo descriptor, string specPath, params object[] arguments)
    {
        var strings = new string[arguments.Length];
        for (int i = 0; i < arguments.Length; i++)
        {
            strings[i] = System.Convert.ToString(arguments[i], System.Globalization.CultureInfo.InvariantCulture) ?? string.Empty;
        }

        return new SpecDiagnostic(descriptor, specPath, new Model.EquatableArray<string>(strings));
    }

    public string Message => string.Format(System.Globalization.CultureInfo.InvariantCulture, Descriptor.MessageFormat, System.Linq.Enumerable.ToArray<object>(Arguments));
}

namespace KernelDsl.Generators;

/// <summary>Names of the pipeline's steps, so tests can check what re-ran after an edit.</summary>
public static class TrackingNames
{
    /// <summary>[Attention] class → SpecModel (spec, locations, parser diagnostics).</summary>
    public const string Parse = "KernelDsl.Parse";

    /// <summary>SpecModel → the spec alone (no locations).</summary>
    public const string CompileInput = "KernelDsl.CompileInput";

    /// <summary>Spec → compiler output (files, diagnostics with spec paths).</summary>
    public const string Compile = "KernelDsl.Compile";

    /// <summary>Compiler output → the files to add.</summary>
    public const string Files = "KernelDsl.Files";

    /// <summary>All specs' diagnostics, placed on their syntax.</summary>
    public const string Diagnostics = "KernelDsl.Diagnostics";

    /// <summary>KDSL0017 for one spec attribute used without [Attention].</summary>
    public const string Misplaced = "KernelDsl.Misplaced";
}

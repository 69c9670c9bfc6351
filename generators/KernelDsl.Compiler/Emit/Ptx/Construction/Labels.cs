namespace KernelDsl.Compiler.Emit.Ptx.Construction;

/// <summary>A branch target, made by <see cref="PtxWriterLabels.NewLabel"/>: a stage that branches holds the object, never a spelled name.</summary>
internal sealed class PtxLabel
{
    internal PtxLabel(string name) => Name = name;

    public string Name { get; }

    public override string ToString() => Name;
}

/// <summary>Labels and branches. A kernel's labels are unique (a second label of the same name is an emitter bug and throws).</summary>
internal static class PtxWriterLabels
{
    public static PtxLabel NewLabel(this PtxWriter w, string name)
    {
        w.ClaimLabel(name);
        return new PtxLabel(name);
    }

    /// <summary>Places the label here.</summary>
    public static void Place(this PtxWriter w, PtxLabel label) => w.Label(label.Name);

    public static void Branch(this PtxWriter w, PtxLabel target) => w.Ins("bra " + target);

    /// <summary>Branches when the predicate is true.</summary>
    public static void BranchIf(this PtxWriter w, Reg predicate, PtxLabel target) => w.Ins("@" + predicate + " bra " + target);

    /// <summary>Branches when the predicate is false.</summary>
    public static void BranchUnless(this PtxWriter w, Reg predicate, PtxLabel target) => w.Ins("@" + predicate.Not + " bra " + target);
}

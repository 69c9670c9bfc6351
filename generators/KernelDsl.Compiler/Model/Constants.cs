namespace KernelDsl.Compiler.Model;

/// <summary>Mathematical constants the emitters fold into generated code, defined once.</summary>
public static class Constants
{
    /// <summary>log2(e): softmax uses exp2(x·log2 e) = exp(x).</summary>
    public const double Log2E = 1.4426950408889634;

    /// <summary>ln(2): converts a base-2 log-sum-exp back to natural log.</summary>
    public const double Ln2 = 0.6931471805599453;
}

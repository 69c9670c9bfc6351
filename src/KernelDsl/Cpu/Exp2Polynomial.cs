namespace KernelDsl.Cpu;

/// <summary>
/// Taylor coefficients of 2^f = e^(f·ln 2) around 0: ln(2)^k / k!. On f in [-1/2, 1/2] the first omitted
/// term is below 1.2e-7 relative, under float's half-ulp, which is why degree 6 is enough.
/// </summary>
internal static class Exp2Polynomial
{
    public const float C1 = 0.6931471805599453f;
    public const float C2 = 0.2402265069591007f;
    public const float C3 = 0.05550410866482158f;
    public const float C4 = 0.009618129107628477f;
    public const float C5 = 0.0013333558146428443f;
    public const float C6 = 0.00015403530393381608f;
}

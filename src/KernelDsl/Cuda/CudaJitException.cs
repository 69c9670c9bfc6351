using KernelDsl.Cuda.Native;

namespace KernelDsl.Cuda;

/// <summary>
/// cuModuleLoadDataEx rejected a PTX image. The message includes the JIT's error log (what ptxas would have
/// printed: line numbers and the offending instruction); the info log is kept for diagnostics.
/// </summary>
public sealed class CudaJitException : CudaException
{
    public CudaJitException(CudaResult result, string errorLog, string infoLog)
        : base(result, "cuModuleLoadDataEx", "PTX JIT error log:\n" + (errorLog.Length == 0 ? "(empty)" : errorLog))
    {
        ErrorLog = errorLog;
        InfoLog = infoLog;
    }

    public string ErrorLog { get; }

    public string InfoLog { get; }
}

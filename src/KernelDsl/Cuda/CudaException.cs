using System;
using System.Runtime.InteropServices;
using KernelDsl.Cuda.Native;

namespace KernelDsl.Cuda;

/// <summary>
/// A CUDA driver call failed. Carries the raw result, the driver's own name for it
/// (<c>CUDA_ERROR_OUT_OF_MEMORY</c>), its message, and the call that failed, so a log line says everything.
/// </summary>
public class CudaException : Exception
{
    public CudaException(CudaResult result, string call, string? detail = null)
        : this(result, call, detail, DescribeName(result), DescribeMessage(result))
    {
    }

    private CudaException(CudaResult result, string call, string? detail, string errorName, string errorMessage)
        : base(Format(call, result, errorName, errorMessage, detail))
    {
        Result = result;
        Call = call;
        ErrorName = errorName;
        ErrorMessage = errorMessage;
    }

    /// <summary>The driver's CUresult.</summary>
    public CudaResult Result { get; }

    /// <summary>The driver entry point that failed, e.g. <c>cuMemAlloc_v2</c>.</summary>
    public string Call { get; }

    /// <summary>The driver's name for the result, e.g. <c>CUDA_ERROR_INVALID_PTX</c>.</summary>
    public string ErrorName { get; }

    /// <summary>The driver's description of the result.</summary>
    public string ErrorMessage { get; }

    /// <summary>Throws a <see cref="CudaException"/> unless <paramref name="result"/> is success.</summary>
    internal static void Check(CudaResult result, string call, string? detail = null)
    {
        if (result != CudaResult.Success)
        {
            throw new CudaException(result, call, detail);
        }
    }

    private static string Format(string call, CudaResult result, string name, string message, string? detail) =>
        $"{call} failed: {name} ({(int)result}): {message}" + (string.IsNullOrEmpty(detail) ? string.Empty : $". {detail}");

    // The driver's strings are static; if the driver itself cannot answer (it is the thing failing), fall back
    // to the enum name so the exception is still informative.
    private static unsafe string DescribeName(CudaResult result)
    {
        try
        {
            if (CudaDriver.cuGetErrorName(result, out byte* text) == CudaResult.Success && text != null)
            {
                return Marshal.PtrToStringUTF8((nint)text) ?? result.ToString();
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
        }

        return Enum.IsDefined(result) ? "CUDA " + result : "CUDA error";
    }

    private static unsafe string DescribeMessage(CudaResult result)
    {
        try
        {
            if (CudaDriver.cuGetErrorString(result, out byte* text) == CudaResult.Success && text != null)
            {
                return Marshal.PtrToStringUTF8((nint)text) ?? "unknown error";
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
        }

        return "unrecognized error code";
    }
}

using System;

namespace KernelDsl.Cuda;

/// <summary>
/// A GPU operation was requested where CUDA cannot run (no driver library, cuInit failed, no device, or
/// disabled). The message states <see cref="Cuda.UnavailableReason"/>; callers that can fall back to the CPU
/// should test <see cref="Cuda.IsAvailable"/> first.
/// </summary>
public sealed class CudaUnavailableException : InvalidOperationException
{
    public CudaUnavailableException(string reason)
        : base($"CUDA is not available: {reason}.")
    {
        Reason = reason;
    }

    public string Reason { get; }
}

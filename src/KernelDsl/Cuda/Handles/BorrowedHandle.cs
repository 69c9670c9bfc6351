using KernelDsl.Cuda.Native;

namespace KernelDsl.Cuda.Handles;

/// <summary>
/// A driver resource that another library owns (memory, a stream): disposing it frees nothing. It still holds its
/// context (see <see cref="ContextBoundHandle"/>), so the primary context outlives every view of its memory.
/// </summary>
internal sealed class BorrowedHandle(PrimaryContextHandle context) : ContextBoundHandle(context)
{
    protected override CudaResult Free(nint value) => CudaResult.Success;
}

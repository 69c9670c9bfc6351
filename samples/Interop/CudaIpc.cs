using System;
using System.Runtime.InteropServices;

namespace Interop;

/// <summary>
/// Opens another process's device allocations (CUDA IPC) with the driver API, the same libcuda.so.1 the KernelDsl
/// runtime binds. The runtime itself has no IPC call: an opened handle is just a device pointer, which
/// DeviceTensor.Wrap then treats like any other library's memory.
/// </summary>
internal static partial class CudaIpc
{
    /// <summary>CU_IPC_MEM_LAZY_ENABLE_PEER_ACCESS, the only flag cuIpcOpenMemHandle takes.</summary>
    private const uint LazyEnablePeerAccess = 1;

    /// <summary>
    /// Maps the allocation behind <paramref name="handle"/> into the current context (make the KernelDsl context
    /// current first) and returns its base address; <see cref="Close"/> unmaps it.
    /// </summary>
    public static ulong Open(byte[] handle)
    {
        if (handle.Length != IpcHandoff.HandleBytes)
        {
            throw new ArgumentException($"A CUipcMemHandle has {IpcHandoff.HandleBytes} bytes, not {handle.Length}.", nameof(handle));
        }

        var native = new IpcMemHandle();
        handle.CopyTo(native.AsSpan());
        int result = cuIpcOpenMemHandle_v2(out ulong pointer, native, LazyEnablePeerAccess);
        return result == 0
            ? pointer
            : throw new InvalidOperationException($"cuIpcOpenMemHandle failed with CUDA error {result} (201: no current context; 400: invalid handle, e.g. from this same process or an expandable-segments allocation).");
    }

    public static void Close(ulong pointer)
    {
        int result = cuIpcCloseMemHandle(pointer);
        if (result != 0)
        {
            throw new InvalidOperationException($"cuIpcCloseMemHandle failed with CUDA error {result}.");
        }
    }

    [LibraryImport("libcuda.so.1")]
    private static partial int cuIpcOpenMemHandle_v2(out ulong pointer, IpcMemHandle handle, uint flags);

    [LibraryImport("libcuda.so.1")]
    private static partial int cuIpcCloseMemHandle(ulong pointer);

    /// <summary>CUipcMemHandle: 64 opaque bytes, passed by value.</summary>
    [System.Runtime.CompilerServices.InlineArray(IpcHandoff.HandleBytes)]
    private struct IpcMemHandle
    {
        private byte _element;

        public Span<byte> AsSpan() => System.Runtime.InteropServices.MemoryMarshal.CreateSpan(ref _element, IpcHandoff.HandleBytes);
    }
}

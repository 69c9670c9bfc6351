namespace KernelDsl.Cpu;

/// <summary>Loads a KV tile of the serving kernels run by run through an <see cref="IKvRows{T}"/> (widening to fp32 as it goes).</summary>
public static unsafe class KvTileLoad
{
    /// <summary>K rows [start, start + count) of (sequence, head) → destination [count][ldd], padded with zeros to <paramref name="paddedCols"/>.</summary>
    public static void Keys<TOps, TV, T, TKv>(in TKv source, int sequence, int head, int start, int count, int cols, float* destination, nint ldd, int paddedCols)
        where TOps : struct, ISimdOps<TV>
        where TV : struct
        where T : unmanaged
        where TKv : struct, IKvRows<T>
    {
        for (int done = 0; done < count;)
        {
            int run = source.KeyRun(sequence, head, start + done, count - done, out T* rows, out nint stride);
            TileLoad.Widen<TOps, TV, T>(rows, stride, run, cols, destination + (done * ldd), ldd, paddedCols);
            done += run;
        }
    }

    /// <summary>As <see cref="Keys{TOps, TV, T, TKv}"/>, for V.</summary>
    public static void Values<TOps, TV, T, TKv>(in TKv source, int sequence, int head, int start, int count, int cols, float* destination, nint ldd, int paddedCols)
        where TOps : struct, ISimdOps<TV>
        where TV : struct
        where T : unmanaged
        where TKv : struct, IKvRows<T>
    {
        for (int done = 0; done < count;)
        {
            int run = source.ValueRun(sequence, head, start + done, count - done, out T* rows, out nint stride);
            TileLoad.Widen<TOps, TV, T>(rows, stride, run, cols, destination + (done * ldd), ldd, paddedCols);
            done += run;
        }
    }
}

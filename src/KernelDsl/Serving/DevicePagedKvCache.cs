using System;

namespace KernelDsl;

/// <summary>
/// A paged KV cache in GPU memory: the K and V pools of <see cref="Geometry"/> as two <see cref="DeviceBuffer{T}"/>s, in the
/// same layout as <see cref="PagedKvCache{T}"/> (the kernels read them through the geometry's strides). Dispose frees both
/// pools.
/// </summary>
public sealed class DevicePagedKvCache<T> : IDisposable
    where T : unmanaged
{
    private DevicePagedKvCache(PagedKvGeometry geometry, DeviceBuffer<T> keys, DeviceBuffer<T> values)
    {
        Geometry = geometry;
        Keys = keys;
        Values = values;
    }

    public PagedKvGeometry Geometry { get; }

    /// <summary>The K pool: <see cref="PagedKvGeometry.PoolElements"/>(HeadDim) elements.</summary>
    public DeviceBuffer<T> Keys { get; }

    /// <summary>The V pool: <see cref="PagedKvGeometry.PoolElements"/>(ValueHeadDim) elements.</summary>
    public DeviceBuffer<T> Values { get; }

    /// <summary>Allocates both pools (uninitialized).</summary>
    public static DevicePagedKvCache<T> Create(PagedKvGeometry geometry, Cuda.CudaContext? context = null)
    {
        geometry.Validate();
        var keys = new DeviceBuffer<T>(geometry.PoolElements(geometry.HeadDim), context);
        try
        {
            return new DevicePagedKvCache<T>(geometry, keys, new DeviceBuffer<T>(geometry.PoolElements(geometry.ValueHeadDim), context));
        }
        catch
        {
            keys.Dispose();
            throw;
        }
    }

    /// <summary>A device copy of a host cache.</summary>
    public static DevicePagedKvCache<T> From(PagedKvCache<T> cache, Cuda.CudaContext? context = null)
    {
        ArgumentNullException.ThrowIfNull(cache);
        var device = Create(cache.Geometry, context);
        device.Upload(cache);
        return device;
    }

    /// <summary>Copies a host cache of the same geometry into both pools.</summary>
    public void Upload(PagedKvCache<T> cache)
    {
        ArgumentNullException.ThrowIfNull(cache);
        if (cache.Geometry != Geometry)
        {
            throw new ArgumentException($"The host cache is {cache.Geometry}, but this one is {Geometry}.", nameof(cache));
        }

        Keys.Upload(cache.Keys.Span);
        Values.Upload(cache.Values.Span);
    }

    public void Dispose()
    {
        Keys.Dispose();
        Values.Dispose();
    }
}

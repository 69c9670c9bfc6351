namespace KernelDsl;

/// <summary>
/// Measured ceilings of a device, for roofline estimates in plans. Numbers are measurements, not datasheet
/// values: H100 80GB HBM3, 2026-11-22 (shared/bench/anchors-h100-2026-11-22.json: dense bf16 matmul
/// 772 TFLOP/s; device-to-device copy ≈ 3.0 TB/s).
/// </summary>
public sealed record DeviceCeilings(string Name, double TensorFlops, double BytesPerSecond)
{
    public static DeviceCeilings H100 { get; } = new("NVIDIA H100 80GB HBM3", 772e12, 3.0e12);
}

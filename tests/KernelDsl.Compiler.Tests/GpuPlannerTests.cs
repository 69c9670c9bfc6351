using System.Collections.Generic;
using KernelDsl.Compiler.Diagnostics;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Planning;
using Shouldly;
using Xunit;

namespace KernelDsl.Compiler.Tests;

public sealed class GpuPlannerTests
{
    [Theory]
    [InlineData(32)]
    [InlineData(64)]
    [InlineData(96)]
    [InlineData(128)]
    [InlineData(256)]
    public void Shared_memory_breakdown_sums_to_the_total_and_fits_sm80(int headDim)
    {
        var gpu = PlanOf(Specs.Make(headDim));
        var s = gpu.Smem;
        s.QBytes.ShouldBe(gpu.BlockQ * ((headDim * 2) + GpuSharedMemoryLayout.RowPaddingBytes));
        s.KStageBytes.ShouldBe(gpu.BlockKV * s.KPitchBytes);
        s.VStageBytes.ShouldBe(gpu.BlockKV * s.VPitchBytes);
        s.TotalBytes.ShouldBe(s.QBytes + (gpu.Stages * (s.KStageBytes + s.VStageBytes)));
        s.VOffset.ShouldBe(s.KOffset + (gpu.Stages * s.KStageBytes));
        s.PaddingBytes.ShouldBe(GpuSharedMemoryLayout.RowPaddingBytes * (gpu.BlockQ + (2 * gpu.Stages * gpu.BlockKV)));
        s.TotalBytes.ShouldBeLessThanOrEqualTo(GpuPlanner.Sm80.SmemPerBlock);
        gpu.BlockQ.ShouldBe(16 * gpu.Warps * gpu.Slabs);
        gpu.Sm80.BlocksPerSm.ShouldBeGreaterThanOrEqualTo(1);
        gpu.Sm90.BlocksPerSm.ShouldBeGreaterThanOrEqualTo(gpu.Sm80.BlocksPerSm);
    }

    [Fact]
    public void Row_pitch_makes_eight_ldmatrix_rows_hit_distinct_bank_groups()
    {
        foreach (int d in new[] { 32, 64, 96, 128, 256 })
        {
            int pitchWords = PlanOf(Specs.Make(d)).Smem.KPitchBytes / 4;
            var groups = new HashSet<int>();
            for (int row = 0; row < 8; row++)
            {
                groups.Add((row * pitchWords) % 32 / 4);
            }

            groups.Count.ShouldBe(8, $"D = {d}");
        }
    }

    [Fact]
    public void Occupancy_counts_shared_memory_and_registers()
    {
        // 104448 + 1024 reserved bytes: one block on sm_80 (164 KiB), two on sm_90 (228 KiB) by shared memory;
        // 184 registers x 256 threads: one block by registers.
        var occupancy = GpuPlanner.Occupancy(GpuPlanner.Sm90, 104448, 184, 256);
        occupancy.BlocksPerSm.ShouldBe(1);
        occupancy.Limiter.ShouldBe("registers");
        GpuPlanner.Occupancy(GpuPlanner.Sm90, 104448, 120, 256).BlocksPerSm.ShouldBe(2);
        GpuPlanner.Occupancy(GpuPlanner.Sm80, 104448, 120, 256).Limiter.ShouldBe("shared memory");
    }

    [Fact]
    public void Folded_scale_is_scale_times_log2e()
    {
        PlanOf(Specs.Make(128)).ScaleLog2.ShouldBe(Constants.Log2E / System.Math.Sqrt(128), 1e-12);
    }

    [Fact]
    public void Fp32_inputs_get_no_gpu_kernel_and_no_diagnostic()
    {
        var diagnostics = new List<SpecDiagnostic>();
        GpuPlanner.Plan(Specs.Make(128, dtype: ElementType.FP32), diagnostics).ShouldBeNull();
        diagnostics.ShouldBeEmpty();
    }

    [Fact]
    public void Head_dims_not_multiple_of_16_warn_and_keep_the_cpu_plan()
    {
        var result = Planner.Plan(Specs.Make(40));
        result.Plan.ShouldNotBeNull();
        result.Plan!.PortableGpuKernel().ShouldBeNull();
        result.Diagnostics.ShouldHaveSingleItem().Descriptor.ShouldBe(DiagnosticCatalog.GpuHeadDimUnsupported);
    }

    [Fact]
    public void Tiles_over_shared_memory_give_KDSL0020()
    {
        // HeadDim 512 is outside what the validator accepts; the planner still must say why it cannot fit.
        var diagnostics = new List<SpecDiagnostic>();
        GpuPlanner.Plan(Specs.Make(512), diagnostics).ShouldBeNull();
        diagnostics.ShouldHaveSingleItem().Descriptor.Id.ShouldBe("KDSL0020");
    }

    [Fact]
    public void Accumulators_over_the_register_file_give_KDSL0021()
    {
        var diagnostics = new List<SpecDiagnostic>();
        GpuPlanner.Plan(Specs.Make(16, 512), diagnostics).ShouldBeNull();
        diagnostics.ShouldHaveSingleItem().Descriptor.Id.ShouldBe("KDSL0021");
    }

    [Fact]
    public void Gpu_diagnostics_are_in_the_catalog_with_unique_ids()
    {
        var ids = new HashSet<string>();
        foreach (var d in DiagnosticCatalog.All)
        {
            ids.Add(d.Id).ShouldBeTrue(d.Id);
        }

        DiagnosticCatalog.All.ShouldContain(DiagnosticCatalog.GpuSharedMemoryExceeded);
        DiagnosticCatalog.All.ShouldContain(DiagnosticCatalog.GpuRegistersExceeded);
        DiagnosticCatalog.All.ShouldContain(DiagnosticCatalog.GpuHeadDimUnsupported);
    }

    [Fact]
    public void Entry_names_are_ptx_identifiers()
    {
        GpuPlanner.EntryNameFor(Specs.Make(name: "Causal")).ShouldBe("kdsl_Tests_Causal_fwd");
    }

    internal static GpuKernelPlan PlanOf(AttentionSpec spec)
    {
        var result = Planner.Plan(spec);
        result.Plan.ShouldNotBeNull(string.Join("; ", result.Diagnostics));
        return result.Plan!.PortableGpuKernel().ShouldNotBeNull();
    }
}

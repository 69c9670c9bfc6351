using System.Collections.Generic;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Planning;

namespace KernelDsl.Compiler.Emit.Ptx.Construction;

/// <summary>
/// One tensor-core instruction family: how the two products of attention are issued, how shared memory must be laid
/// out for them, and the registers they need. Kernels hold a family object and never ask which family it is; adding a
/// family is adding a class (and the kernels that schedule it: <see cref="Forward.ForwardKernel.Build"/> maps a plan's
/// family to its forward kernel).
/// </summary>
/// <remarks>
/// A backward pass needs the transposed products too (dP = dO·Vᵀ has the shape of S = Q·Kᵀ; dV = Pᵀ·dO and
/// dK = dSᵀ·Q read the register operand transposed, which on sm_80 is an ldmatrix.trans of a shared copy and on
/// sm_90a an MN-major descriptor): they belong here, next to these two, as methods of the same shape.
/// </remarks>
internal interface IMatmulFamily
{
    /// <summary>Appended to the kernel's banner ("" for the baseline family).</summary>
    string BannerTag { get; }

    /// <summary>Alignment of the dynamic shared memory (bytes) and why, for the declaration's comment.</summary>
    int SharedAlignment { get; }

    string SharedAlignmentNote { get; }

    /// <summary>The Q, K and V tile layouts this family's products read.</summary>
    SharedTile QLayout { get; }

    SharedTile KLayout { get; }

    SharedTile VLayout { get; }

    /// <summary>The stage banner of the shared-memory setup.</summary>
    string SharedSetupTitle { get; }

    /// <summary>Comment and names of the family's shared-memory address registers, declared on the kernel's tile-address line.</summary>
    string OperandAddressComment { get; }

    IReadOnlyList<string> OperandAddressNames { get; }

    /// <summary>Receives the registers declared for <see cref="OperandAddressNames"/>, in order.</summary>
    void BindOperandAddresses(IReadOnlyList<Reg> registers);

    /// <summary>Kernel-scope registers of the family beyond the tile addresses (descriptors), declared last.</summary>
    void DeclareRegisters(PtxWriter w);

    /// <summary>Once per thread, after the tile addresses: what the products need to address their operands.</summary>
    void SetupOperands(PtxWriter w, ForwardTiles tiles);

    /// <summary>Points the next products at ring stage <paramref name="stage"/> where the family addresses stages ahead of issuing.</summary>
    void SelectStage(PtxWriter w, Reg stage);

    /// <summary>S = Q·Kᵀ into the score accumulators (one per m16 slab), K from ring stage <paramref name="stage"/>.</summary>
    void Scores(PtxWriter w, IReadOnlyList<AccumulatorFragment> s, Reg stage);

    /// <summary>O += P·V, P's A fragments from registers, V from ring stage <paramref name="stage"/>.</summary>
    void AccumulatePv(PtxWriter w, IReadOnlyList<AccumulatorFragment> o, IReadOnlyList<RegArray> p, Reg stage);
}

/// <summary>The shared-memory tiles of a forward kernel and the registers holding their addresses, as the families see them.</summary>
internal sealed record ForwardTiles(
    GpuKernelPlan Plan,
    ElementTraits Element,
    int HeadDim,
    int ValueHeadDim,
    Reg Warp,
    Reg Lane,
    Reg Thread,
    Reg QTile,
    Reg KRing,
    Reg VRing);

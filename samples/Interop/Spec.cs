using KernelDsl;

namespace Interop;

// The spec both sides agree on: fp16, D = 64, causal (bottom-right), BHSD — the layout of torch's SDPA inputs, so the
// tensors are read exactly as PyTorch laid them out. torch_ipc.py checks the output against SDPA with is_causal=True.
[Attention(HeadDim = 64)]
[Precision(DType.FP16)]
[Layout(TensorLayout.BHSD)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
internal static partial class CausalFp16;

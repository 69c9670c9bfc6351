// The program .ci/package-smoke.sh builds in a fresh console project that references only the KernelDsl package
// (the README's "Use it in your project" shows the same code). It compiles one spec at build time, runs it on the
// CPU on random inputs and compares the output with the float64 reference: PASS, or FAIL and exit code 1.
using System;
using KernelDsl;
using KernelDsl.Reference;

var shape = new AttentionShape(Batch: 1, SeqQ: 256, SeqKv: 256, HeadsQ: 4, HeadsKv: 4, HeadDim: 64, ValueHeadDim: 64);
var random = new Random(Environment.TickCount);
var q = RandomTensors.Uniform<Half>(random, shape.Batch * shape.SeqQ * shape.HeadsQ * shape.HeadDim);
var k = RandomTensors.Uniform<Half>(random, shape.Batch * shape.SeqKv * shape.HeadsKv * shape.HeadDim);
var v = RandomTensors.Uniform<Half>(random, shape.Batch * shape.SeqKv * shape.HeadsKv * shape.ValueHeadDim);
var output = new Half[shape.Batch * shape.SeqQ * shape.HeadsQ * shape.ValueHeadDim];
Array.Fill(output, Half.NaN); // an element the kernel does not write makes the error NaN, which fails

CausalAttention.Forward(q, k, v, output, shape);

var reference = AttentionReference.Compute<Half>(q, k, v, shape, TensorLayout.BSHD, 1 / Math.Sqrt(shape.HeadDim),
    CausalAttention.Plan.Parameters.BandFor(shape));
double error = ErrorMetrics.RelativeError<Half>(output, reference.Output);
const double tolerance = 4e-4; // fp16 output rounding; the same bound as the repository's CPU tests
bool pass = error < tolerance;
Console.WriteLine($"CausalAttention {shape}: relative error vs float64 reference {error:E2} (tolerance {tolerance:E0}): {(pass ? "PASS" : "FAIL")}");
return pass ? 0 : 1;

[Attention(HeadDim = 64)]
[Precision(DType.FP16)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
static partial class CausalAttention;

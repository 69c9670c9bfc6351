using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using Training;

// Issue 10's training sample: a one-layer attention model learns associative recall, trained in C# with the generated
// CPU Forward and Backward of a [Backward] spec (learnable ALiBi slopes included) and a hand-written Adam. It checks
// its gradients against finite differences first, prints the loss falling and writes the loss curve as an SVG.
// Options: --steps N (default 300), --out FILE (default training-loss.svg), --seed N.
int steps = Option("--steps", 300);
int seed = Option("--seed", Environment.TickCount);
string output = OptionText("--out", "training-loss.svg");
const int Batch = 64;
const float LearningRate = 3e-3f;

var task = new RecallTask(keys: 16, values: 16, pairs: 8);
var random = new Random(seed);
var model = new RecallModel(task, random);
Console.WriteLine($"Associative recall: {task.Pairs} (key, value) pairs of {task.Keys} keys and {task.Values} values, then a query key; "
                  + $"predict its value. Model: embeddings -> attention ({RecallModel.Heads} heads x {RecallModel.HeadDim}, learnable ALiBi slopes) -> linear head. "
                  + $"{model.Parameters.Sum(p => p.Value.Length)} parameters, batch {Batch}, Adam lr {LearningRate}, seed {seed}. Attention: KernelDsl CPU kernels.");

// 1. Gradient check: the analytic gradients (Backward) against central finite differences of the loss, on one batch.
var checkBatch = task.Batch(random, Batch);
model.Step(checkBatch, train: true);
Console.WriteLine();
Console.WriteLine("Gradient check (central differences of the fp32 loss, step 1e-2):");
Console.WriteLine("  parameter            index   analytic      numeric       rel. diff");
double worst = 0;
foreach (var (parameter, index) in new (Parameter, int)[]
         {
             (model.Slopes, 0), (model.Slopes, 1), (model.Wq, 5), (model.Wk, 130), (model.Wv, 77), (model.Wo, 3), (model.Bias, 2),
             (model.QueryMarker, 9), (model.KeyEmbedding, (checkBatch.Query[0] * RecallModel.Width) + 4), (model.ValueEmbedding, (checkBatch.Values[0] * RecallModel.Width) + 11),
         })
{
    const float H = 1e-2f;
    float saved = parameter.Value[index];
    parameter.Value[index] = saved + H;
    double plus = model.Step(checkBatch, train: false).Loss;
    parameter.Value[index] = saved - H;
    double minus = model.Step(checkBatch, train: false).Loss;
    parameter.Value[index] = saved;
    double numeric = (plus - minus) / (2 * H), analytic = parameter.Gradient[index];
    double difference = Math.Abs(analytic - numeric) / Math.Max(Math.Abs(numeric), 1e-3);
    worst = Math.Max(worst, difference);
    Console.WriteLine($"  {parameter.Name,-18} {index,6}   {analytic,11:E3}   {numeric,11:E3}   {difference:E1}");
}

Console.WriteLine($"  worst relative difference {worst:E1} (fp32 loss: finite differences carry ~1e-3 of rounding noise)");
foreach (var parameter in model.Parameters)
{
    Array.Clear(parameter.Gradient);
}

// 2. Training.
Console.WriteLine();
Console.WriteLine("  step   train loss   eval loss   eval accuracy");
var losses = new List<double>();
var clock = Stopwatch.StartNew();
var evalBatch = task.Batch(new Random(seed + 1), 512);
for (int step = 1; step <= steps; step++)
{
    losses.Add(model.Step(task.Batch(random, Batch), train: true).Loss);
    foreach (var parameter in model.Parameters)
    {
        parameter.AdamStep(step, LearningRate);
    }

    if (step == 1 || step % 50 == 0)
    {
        var (evalLoss, accuracy) = model.Step(evalBatch, train: false);
        Console.WriteLine($"  {step,4}   {losses.Skip(Math.Max(0, losses.Count - 50)).Average(),10:F4}   {evalLoss,9:F4}   {accuracy,12:P1}");
    }
}

Console.WriteLine($"{steps} steps in {clock.Elapsed.TotalSeconds:F1} s; learned ALiBi slopes: {string.Join(", ", model.Slopes.Value.Select(s => s.ToString("F4")))}");
LossPlot.Write(output, losses, Math.Log(task.Values));
Console.WriteLine($"Loss curve: {System.IO.Path.GetFullPath(output)}");
return 0;

int Option(string name, int fallback) => Array.IndexOf(args, name) is int at and >= 0 && at + 1 < args.Length && int.TryParse(args[at + 1], out int value) ? value : fallback;

string OptionText(string name, string fallback) => Array.IndexOf(args, name) is int at and >= 0 && at + 1 < args.Length ? args[at + 1] : fallback;

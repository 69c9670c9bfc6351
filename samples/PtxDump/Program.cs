using System;
using System.Globalization;
using System.IO;
using System.Text;
using KernelDsl.Compiler.Emit.Ptx;
using KernelDsl.Compiler.Planning;
using System.Linq;
using KernelDsl.PtxDump;

// Usage: dotnet run --project samples/PtxDump -- <output folder>
// Writes <entry>.ptx for every spec of SpecMatrix and manifest.json (one object per kernel: entry, file,
// head dim, dtypes, mask band, LSE, launch geometry) that samples/Bench/gpu/run_ptx.py reads.
// --all: every kernel of the compiler tests' matrices, for compare-ptx.sh (see AllKernels).
string dir = args.Length > 0 ? args[0] : ".device-carry/ptx";
Directory.CreateDirectory(dir);
var manifest = new StringBuilder("[\n");
bool first = true;
if (args.Contains("--all"))
{
    AllKernels.Write(dir);
    return;
}

if (args.Contains("--mods"))
{
    ModifierDump.Write(dir);
    return;
}

var jobs = new System.Collections.Generic.List<(KernelDsl.Compiler.Model.AttentionSpec Spec, GpuTuning? Tuning)>();
foreach (var spec in SpecMatrix.All())
{
    jobs.Add((spec, null));
}

if (args.Contains("--variants"))
{
    foreach (var variant in SpecMatrix.Variants())
    {
        jobs.Add(variant);
    }
}

if (args.Contains("--hopper"))
{
    jobs.AddRange(SpecMatrix.HopperVariants());
}

foreach (var (spec, tuning) in jobs)
{
    var planning = Planner.Plan(spec);
    var plan = planning.Plan;
    if (tuning is not null && plan is not null)
    {
        var tuned = GpuPlanner.Plan(spec, new System.Collections.Generic.List<KernelDsl.Compiler.Diagnostics.SpecDiagnostic>(), tuning);
        plan = plan with { GpuKernels = new KernelDsl.Compiler.Model.EquatableArray<GpuKernelPlan>(tuned is null ? [] : [tuned]) };
    }

    if (plan?.PortableGpuKernel() is null)
    {
        Console.WriteLine($"{spec.Target.Name}: no GPU kernel ({string.Join("; ", planning.Diagnostics)})");
        continue;
    }

    var gpu = plan.PortableGpuKernel()!;
    string ptx = PtxEmitter.PtxFor(plan)!;
    string file = gpu.EntryName + ".ptx";
    File.WriteAllText(Path.Combine(dir, file), ptx);
    manifest.Append(first ? string.Empty : ",\n");
    first = false;
    manifest.Append(string.Format(CultureInfo.InvariantCulture,
        "  {{\"name\": \"{0}\", \"entry\": \"{1}\", \"file\": \"{2}\", \"head_dim\": {3}, \"value_head_dim\": {4}, \"dtype\": \"{5}\", \"out_dtype\": \"{6}\", " +
        "\"mask\": \"{7}\", \"alignment\": \"{8}\", \"left\": {9}, \"right\": {10}, \"lse\": {11}, \"scale\": {12}, " +
        "\"threads\": {13}, \"block_q\": {14}, \"block_kv\": {15}, \"smem\": {16}, \"est_regs\": {17}, \"variant\": \"{18}\"}}",
        spec.Target.Name + (tuning?.NameSuffix ?? string.Empty), gpu.EntryName, file, spec.HeadDim, spec.ValueHeadDim, spec.InputType, plan.OutputType,
        spec.Mask.Kind, spec.Mask.Alignment, spec.Mask.BandLeft, spec.Mask.BandRight, spec.Epilogue.WriteLse ? "true" : "false",
        spec.EffectiveScale.ToString("R", CultureInfo.InvariantCulture), gpu.ThreadsPerBlock, gpu.BlockQ, gpu.BlockKV,
        gpu.Smem.TotalBytes, gpu.EstimatedRegisters, tuning?.NameSuffix ?? string.Empty));
    Console.WriteLine($"{spec.Target.Name}: {file} ({ptx.Length} chars, smem {gpu.Smem.TotalBytes}, ~{gpu.EstimatedRegisters} regs)");
}

manifest.Append("\n]\n");
File.WriteAllText(Path.Combine(dir, "manifest.json"), manifest.ToString());

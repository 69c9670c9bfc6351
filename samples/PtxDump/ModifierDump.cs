using System;
using System.Globalization;
using System.IO;
using System.Text;
using KernelDsl.Compiler.Emit.Ptx;
using KernelDsl.Compiler.Planning;

namespace KernelDsl.PtxDump;

/// <summary>
/// --mods: writes the modifier kernels (softcap, ALiBi, prefix-LM, window + global tokens, combinations) and
/// mods.json for samples/Bench/gpu/run_mods.py, which checks them on the device against a float64 torch
/// reference of the same modifiers.
/// </summary>
public static class ModifierDump
{
    public static void Write(string dir)
    {
        Directory.CreateDirectory(dir);
        var manifest = new StringBuilder("[\n");
        bool first = true;
        foreach (var (spec, set) in KernelDsl.Compiler.Tests.Modifiers.PtxMatrixNamed())
        {
            var plan = Planner.Plan(spec).Plan!;
            var gpu = plan.PortableGpuKernel()!;
            string file = gpu.EntryName + ".ptx";
            File.WriteAllText(Path.Combine(dir, file), PtxEmitter.PtxFor(plan)!);
            manifest.Append(first ? string.Empty : ",\n");
            first = false;
            manifest.Append(string.Format(CultureInfo.InvariantCulture,
                "  {{\"name\": \"{0}\", \"set\": \"{1}\", \"entry\": \"{2}\", \"file\": \"{3}\", \"head_dim\": {4}, \"value_head_dim\": {5}, \"dtype\": \"{6}\", \"out_dtype\": \"{7}\", " +
                "\"mask\": \"{8}\", \"alignment\": \"{9}\", \"left\": {10}, \"right\": {11}, \"lse\": {12}, \"scale\": {13}, \"threads\": {14}, \"block_q\": {15}, \"smem\": {16}}}",
                spec.Target.Name, set, gpu.EntryName, file, spec.HeadDim, spec.ValueHeadDim, spec.InputType, plan.OutputType,
                spec.Mask.Kind, spec.Mask.Alignment, spec.Mask.BandLeft, spec.Mask.BandRight, spec.Epilogue.WriteLse ? "true" : "false",
                spec.EffectiveScale.ToString("R", CultureInfo.InvariantCulture), gpu.ThreadsPerBlock, gpu.BlockQ, gpu.Smem.TotalBytes));
            Console.WriteLine($"{spec.Target.Name}: {file}");
        }

        File.WriteAllText(Path.Combine(dir, "mods.json"), manifest.Append("\n]\n").ToString());
    }
}

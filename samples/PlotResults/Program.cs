using System;
using System.CommandLine;
using System.IO;
using PlotResults;

// Draws a results folder of samples/GpuBench (kerneldsl-gpu.json, torch-anchors.json) or samples/FlexBench
// (kerneldsl-variants.json, flex-variants.json): TFLOP/s against sequence length, one line per system.
var folder = new Argument<DirectoryInfo>("folder") { Description = "A results folder written by run-on-device.sh (or the folder of any of the JSON files above)." };
var format = new Option<string>("--format") { Description = "Plot file type: svg or png.", DefaultValueFactory = _ => "svg" };
format.AcceptOnlyFromAmong("svg", "png");
var root = new RootCommand("Plots GPU benchmark results next to their JSON: one file per configuration, TFLOP/s against sequence length, one line per system (KernelDsl, and the PyTorch anchors when their JSON is there).")
{
    folder, format,
};
root.SetAction(parsed => ResultsFolder.Plot(parsed.GetValue(folder)!, parsed.GetValue(format)!));
return root.Parse(args).Invoke();

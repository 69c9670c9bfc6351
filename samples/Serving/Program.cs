using System;
using System.CommandLine;
using KernelDsl;
using Serving;

// Issue 11's serving sample: a toy one-layer decoder (random weights) serves several sequences of different lengths at once
// over a paged KV cache. Each step appends one token per sequence (allocating a page when the last one is full) and runs the
// generated Decode over all of them; finished sequences give their pages back and new ones join (continuous batching), all
// sharing the pages of a common system prompt. Prints per-step latency and the KV bandwidth the attention achieved, against
// the machine's copy bandwidth measured in the same run. Issue 12: each step is one fused DecodeAppend (rotary on the new q and k,
// K/V appended, attention), and every --compact-every steps a compaction keeps each sequence's --budget highest-scoring tokens,
// printing the pages freed and the attention error against the uncompacted cache.
var sequencesOption = new Option<int>("--sequences") { Description = "Sequences served at once.", DefaultValueFactory = _ => 8 };
var totalOption = new Option<int>("--total") { Description = "Sequences served in all (finished ones are replaced until then).", DefaultValueFactory = _ => 16 };
var stepsOption = new Option<int>("--steps") { Description = "Decode steps at most.", DefaultValueFactory = _ => 48 };
var pageSizeOption = new Option<int>("--page-size") { Description = "Tokens per page (1-256).", DefaultValueFactory = _ => 16 };
var promptOption = new Option<int>("--max-prompt") { Description = "Longest prompt (prompts are uniform in [max/8, max] tokens, after the shared prefix).", DefaultValueFactory = _ => 2048 };
var prefixOption = new Option<int>("--shared-prefix") { Description = "Tokens of the system prompt every sequence shares (whole pages of it are shared).", DefaultValueFactory = _ => 256 };
var generateOption = new Option<int>("--max-generate") { Description = "Most tokens a sequence generates (uniform in [max/4, max]).", DefaultValueFactory = _ => 32 };
var headsQOption = new Option<int>("--heads-q") { Description = "Query heads (head dim 64).", DefaultValueFactory = _ => 8 };
var headsKvOption = new Option<int>("--heads-kv") { Description = "Key/value heads (GQA group = heads-q / heads-kv).", DefaultValueFactory = _ => 2 };
var layoutOption = new Option<PagedKvLayout>("--layout") { Description = "Page pool layout.", DefaultValueFactory = _ => PagedKvLayout.PageHeadSlot };
var budgetOption = new Option<int>("--budget") { Description = "Compaction: tokens of its own (past the shared prefix) each sequence keeps, the highest-scoring ones; 0 = no compaction.", DefaultValueFactory = _ => 512 };
var compactEveryOption = new Option<int>("--compact-every") { Description = "Compaction: every this many steps.", DefaultValueFactory = _ => 16 };
var copyOption = new Option<int>("--copy-mib") { Description = "MiB copied to measure the machine's copy bandwidth.", DefaultValueFactory = _ => 256 };
var seedOption = new Option<int>("--seed") { Description = "Random seed (default: the clock).", DefaultValueFactory = _ => Environment.TickCount };
var root = new RootCommand("A toy decoder serving several sequences over a paged KV cache with KernelDsl's generated Decode (CPU).")
{
    sequencesOption, totalOption, stepsOption, pageSizeOption, promptOption, prefixOption, generateOption, headsQOption, headsKvOption, layoutOption, seedOption, budgetOption, compactEveryOption, copyOption,
};
root.SetAction(parsed => ServingLoop.Run(new ServingOptions(
    parsed.GetValue(sequencesOption), parsed.GetValue(totalOption), parsed.GetValue(stepsOption), parsed.GetValue(pageSizeOption), parsed.GetValue(promptOption),
    parsed.GetValue(prefixOption), parsed.GetValue(generateOption), parsed.GetValue(headsQOption), parsed.GetValue(headsKvOption), parsed.GetValue(layoutOption),
    parsed.GetValue(seedOption), parsed.GetValue(budgetOption), parsed.GetValue(compactEveryOption), parsed.GetValue(copyOption)), Console.Out));
return root.Parse(args).Invoke();

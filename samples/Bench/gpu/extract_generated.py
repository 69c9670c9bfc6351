#!/usr/bin/env python3
"""Collects the GPU kernels the source generator emitted for the modifier library specs of tests/KernelDsl.Tests
(the Roslyn translator's IR, not hand-built IR) into a run_mods.py folder: <name>.ptx and gen.json.
Usage: python3 extract_generated.py <generated *.g.cs folder> <out dir>
Build first with -p:EmitCompilerGeneratedFiles=true or read obj/.../generated/KernelDsl.Generators/...
"""
import json, os, re, sys

SRC, OUT = sys.argv[1], sys.argv[2]
os.makedirs(OUT, exist_ok=True)
# set name (the reference run_mods.py evaluates) and built-in band of each library spec
SPECS = {
    "SoftcapBf16": ("Gen_Softcap30", "None", "Unspecified", -1, -1),
    "AlibiCausalBf16": ("Gen_AlibiHeads4", "Causal", "BottomRight", -1, 0),
    "PrefixLmBf16": ("PrefixLm", "None", "Unspecified", -1, -1),
    "SlidingGlobalBf16": ("WindowGlobal", "None", "Unspecified", -1, -1),
    "DilatedBf16": ("Gen_Dilated", "None", "Unspecified", -1, -1),
    "EmptyRowsSoftcapBf16": ("Gen_EmptyRowsSoftcap20", "Causal", "TopLeft", -1, 0),
}
metas = []
for cls, (set_name, mask, align, left, right) in SPECS.items():
    text = open(os.path.join(SRC, f"KernelDsl.Tests.Numerics.{cls}.Gpu.g.cs")).read()
    ptx = re.search(r'public const string Ptx = """\n(.*?)\n\s*""";', text, re.S).group(1)
    lines = ptx.split("\n")
    indent = min(len(l) - len(l.lstrip()) for l in lines if l.strip())
    ptx = "\n".join(l[indent:] for l in lines) + "\n"
    const = lambda name: re.search(rf"public const \w+ {name} = \"?([^\";]+)\"?;", text).group(1)
    entry = const("EntryName")
    open(os.path.join(OUT, entry + ".ptx"), "w").write(ptx)
    metas.append({"name": "Gen_" + cls, "set": set_name, "entry": entry, "file": entry + ".ptx", "head_dim": 64, "value_head_dim": 64,
                  "dtype": "BF16", "out_dtype": "BF16", "mask": mask, "alignment": align, "left": left, "right": right, "lse": True,
                  "scale": 0.125, "threads": int(const("ThreadsPerBlock")), "block_q": int(const("BlockQ")), "smem": int(const("SharedMemoryBytes"))})
json.dump(metas, open(os.path.join(OUT, "gen.json"), "w"), indent=1)
print(f"{len(metas)} generated kernels -> {OUT}")

using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using Interop;
using Shouldly;
using Xunit;

namespace KernelDsl.Samples.Tests;

/// <summary>The file torch_ipc.py hands to samples/Interop: parsed as written, every mistake named.</summary>
public sealed class IpcHandoffTests
{
    private static readonly Random Random = new(Environment.TickCount);

    /// <summary>A handoff as torch_ipc.py writes it (json.dump of the same keys), with random handles and offsets.</summary>
    private static (string Json, byte[][] Handles, long[] Offsets) Write(int b = 2, int h = 8, int s = 1000, Action<JsonDocumentShape>? edit = null)
    {
        var handles = IpcHandoff.Names.Select(_ => { var bytes = new byte[64]; Random.NextBytes(bytes); return bytes; }).ToArray();
        var offsets = IpcHandoff.Names.Select(_ => (long)Random.Next(0, 1 << 20) * 2).ToArray();
        var document = new JsonDocumentShape
        {
            ["device"] = 0,
            ["dtype"] = "float16",
            ["tensors"] = IpcHandoff.Names.Select((name, i) => (name, i)).ToDictionary(x => x.name, x => (object)new JsonDocumentShape
            {
                ["handle"] = Convert.ToHexString(handles[x.i]).ToLowerInvariant(), // Python's bytes.hex()
                ["offset_bytes"] = offsets[x.i],
                ["shape"] = new[] { b, h, s, 64 },
                ["strides"] = new long[] { h * s * 64, s * 64, 64, 1 },
            }),
        };
        edit?.Invoke(document);
        return (JsonSerializer.Serialize(document), handles, offsets);
    }

    [Fact]
    public void A_handoff_is_read_as_torch_ipc_py_writes_it()
    {
        var (json, handles, offsets) = Write(b: 3, h: 4, s: 77);
        var handoff = IpcHandoff.Parse(json);

        handoff.Device.ShouldBe(0);
        handoff.DType.ShouldBe("float16");
        for (int i = 0; i < IpcHandoff.Names.Length; i++)
        {
            var tensor = handoff.Tensors[IpcHandoff.Names[i]];
            tensor.Handle.ShouldBe(handles[i]);
            tensor.OffsetBytes.ShouldBe(offsets[i]);
            tensor.Shape.ShouldBe([3, 4, 77, 64]);
            tensor.Strides.ShouldBe([4L * 77 * 64, 77L * 64, 64, 1]);
        }
    }

    [Theory]
    [InlineData("dtype", "bfloat16", "dtype is 'bfloat16'")]
    [InlineData("handle", "abc", "tensors.k.handle is not hexadecimal")]
    [InlineData("handle", "00ff", "tensors.k.handle has 2 bytes; a CUipcMemHandle has 64")]
    [InlineData("offset_bytes", -2L, "tensors.k.offset_bytes is -2")]
    [InlineData("shape", new[] { 2, 8, 1000 }, "tensors.k has 3 lengths and 4 strides")]
    [InlineData("missing", null, "tensors.k is missing")]
    [InlineData("other shape", null, "tensors.k has shape [2, 8, 999, 64], q has [2, 8, 1000, 64]")]
    public void A_wrong_handoff_names_the_field(string field, object? value, string message)
    {
        var (json, _, _) = Write(edit: document =>
        {
            var k = (JsonDocumentShape)((System.Collections.Generic.Dictionary<string, object>)document["tensors"])["k"];
            switch (field)
            {
                case "dtype": document["dtype"] = value!; break;
                case "missing": ((System.Collections.Generic.Dictionary<string, object>)document["tensors"]).Remove("k"); break;
                case "other shape": k["shape"] = new[] { 2, 8, 999, 64 }; break;
                default: k[field] = value!; break;
            }
        });

        Should.Throw<InvalidDataException>(() => IpcHandoff.Parse(json)).Message.ShouldContain(message);
    }

    [Fact]
    public void Opening_a_handle_of_the_wrong_size_is_refused_before_the_driver_is_called() =>
        Should.Throw<ArgumentException>(() => CudaIpc.Open(new byte[63])).Message.ShouldContain("A CUipcMemHandle has 64 bytes, not 63");

    /// <summary>A JSON object under construction.</summary>
    private sealed class JsonDocumentShape : System.Collections.Generic.Dictionary<string, object>;
}

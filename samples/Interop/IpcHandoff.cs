using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;

namespace Interop;

/// <summary>One tensor another process exported: its allocation's CUDA IPC handle, where it starts, its shape and strides.</summary>
/// <param name="Handle">The 64-byte CUipcMemHandle of the allocation (cuIpcGetMemHandle on its base).</param>
/// <param name="OffsetBytes">Where the tensor starts in the allocation (PyTorch's caching allocator hands out parts of larger blocks).</param>
/// <param name="Shape">[batch, heads, seq, dim] (BHSD), in elements.</param>
/// <param name="Strides">In elements, as PyTorch's <c>tensor.stride()</c>.</param>
internal sealed record ExportedTensor(byte[] Handle, long OffsetBytes, int[] Shape, long[] Strides);

/// <summary>
/// The file torch_ipc.py writes for this app: the device, the element type, and q, k, v and the output as exported
/// tensors. JSON, so either side can be replaced by any other library that can call cuIpcGetMemHandle.
/// </summary>
internal sealed record IpcHandoff(int Device, string DType, IReadOnlyDictionary<string, ExportedTensor> Tensors)
{
    public const int HandleBytes = 64;

    public static readonly string[] Names = ["q", "k", "v", "o"];

    public static IpcHandoff Read(string path) => Parse(File.ReadAllText(path));

    /// <summary>Parses and checks the handoff; every mistake is an <see cref="InvalidDataException"/> naming the field.</summary>
    public static IpcHandoff Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        int device = Required(root, "device").GetInt32();
        string dtype = Required(root, "dtype").GetString() ?? string.Empty;
        if (dtype != "float16")
        {
            throw new InvalidDataException($"dtype is '{dtype}'; this sample's spec (CausalFp16) takes float16.");
        }

        var tensorsElement = Required(root, "tensors");
        var tensors = new Dictionary<string, ExportedTensor>();
        foreach (string name in Names)
        {
            if (!tensorsElement.TryGetProperty(name, out var tensor))
            {
                throw new InvalidDataException($"tensors.{name} is missing (q, k, v and o are needed).");
            }

            tensors[name] = ParseTensor(name, tensor);
        }

        var shape = tensors["q"].Shape;
        foreach (string name in Names.Where(name => !tensors[name].Shape.SequenceEqual(shape)))
        {
            throw new InvalidDataException($"tensors.{name} has shape [{string.Join(", ", tensors[name].Shape)}], q has [{string.Join(", ", shape)}]: this sample takes equal shapes.");
        }

        return new IpcHandoff(device, dtype, tensors);
    }

    private static ExportedTensor ParseTensor(string name, JsonElement tensor)
    {
        string hex = Required(tensor, "handle", name).GetString() ?? string.Empty;
        byte[] handle;
        try
        {
            handle = Convert.FromHexString(hex);
        }
        catch (FormatException)
        {
            throw new InvalidDataException($"tensors.{name}.handle is not hexadecimal.");
        }

        if (handle.Length != HandleBytes)
        {
            throw new InvalidDataException($"tensors.{name}.handle has {handle.Length} bytes; a CUipcMemHandle has {HandleBytes}.");
        }

        long offset = Required(tensor, "offset_bytes", name).GetInt64();
        int[] shape = Required(tensor, "shape", name).EnumerateArray().Select(x => x.GetInt32()).ToArray();
        long[] strides = Required(tensor, "strides", name).EnumerateArray().Select(x => x.GetInt64()).ToArray();
        if (shape.Length != 4 || strides.Length != 4)
        {
            throw new InvalidDataException($"tensors.{name} has {shape.Length} lengths and {strides.Length} strides; BHSD needs 4 of each.");
        }

        if (offset < 0)
        {
            throw new InvalidDataException($"tensors.{name}.offset_bytes is {offset}.");
        }

        return new ExportedTensor(handle, offset, shape, strides);
    }

    private static JsonElement Required(JsonElement element, string property, string? tensor = null) =>
        element.TryGetProperty(property, out var value)
            ? value
            : throw new InvalidDataException($"{(tensor is null ? string.Empty : $"tensors.{tensor}.")}{property} is missing.");
}

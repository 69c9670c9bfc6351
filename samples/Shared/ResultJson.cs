using System.IO;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace KernelDsl.Samples;

/// <summary>Writes a sample's results as indented JSON (camelCase names, enums as strings).</summary>
internal static class ResultJson
{
    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals, // NaN errors stay NaN, not a crash
        Converters = { new JsonStringEnumConverter() },
    };

    public static void Write<T>(string path, T results)
    {
        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null)
        {
            Directory.CreateDirectory(folder);
        }

        File.WriteAllText(path, JsonSerializer.Serialize(results, Options));
    }
}

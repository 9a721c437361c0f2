using static TorchSharp.torch;

namespace R1Sharp.Model;

/// <summary>Names of the floating-point types a model can run in, as config.json and the CLI spell them.</summary>
public static class Precision
{
    public static ScalarType Parse(string name) => name.ToLowerInvariant() switch
    {
        "float32" or "fp32" or "f32" => ScalarType.Float32,
        "bfloat16" or "bf16" => ScalarType.BFloat16,
        "float16" or "fp16" or "f16" or "half" => ScalarType.Float16,
        _ => throw new ArgumentException($"unknown dtype '{name}' (float32, bfloat16, float16)"),
    };

    public static string Name(ScalarType type) => type switch
    {
        ScalarType.Float32 => "float32",
        ScalarType.BFloat16 => "bfloat16",
        ScalarType.Float16 => "float16",
        _ => throw new ArgumentException($"{type} is not a model dtype"),
    };

    public static bool IsFloatingPoint(ScalarType type) =>
        type is ScalarType.Float32 or ScalarType.BFloat16 or ScalarType.Float16 or ScalarType.Float64;
}

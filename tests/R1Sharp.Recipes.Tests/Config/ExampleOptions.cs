using System.ComponentModel.DataAnnotations;
using R1Sharp.Recipes.Config;
using R1Sharp.Rewards.Rules;

namespace R1Sharp.Recipes.Tests.Config;

// A small options hierarchy in the shape recipes use: a record with defaults in code, a nested record, a list of
// positional records (the real RewardSpec), enums, nullables, a dictionary, and validation.

public enum LossKind { Grpo, Bnpo, Dapo, DrGrpo }

public sealed record SamplingExample
{
    [Range(0.0, double.MaxValue)]
    public double Temperature { get; init; } = 1.0;

    [Range(0.0, 1.0, MinimumIsExclusive = true)]
    public double TopP { get; init; } = 1.0;

    public int MaxNewTokens { get; init; } = 256;

    public IReadOnlyList<string> Stop { get; init; } = ["</answer>"];

    public long? Seed { get; init; }
}

public sealed record GrpoExample : IValidatableConfig
{
    public double LearningRate { get; init; } = 3e-6;

    public LossKind LossType { get; init; } = LossKind.Grpo;

    public double EpsilonLow { get; init; } = 0.2;

    public double EpsilonHigh { get; init; } = 0.28;

    [Range(1, int.MaxValue)]
    public int GroupSize { get; init; } = 16;

    public bool MaskTruncated { get; init; }

    public string? Model { get; init; }

    public string OutputDir { get; init; } = "runs/grpo";

    [AllowedValues("float32", "bfloat16", "float16")]
    public string Dtype { get; init; } = "float32";

    public TimeSpan SaveEvery { get; init; } = TimeSpan.FromMinutes(10);

    public SamplingExample Sampling { get; init; } = new();

    public IReadOnlyList<RewardSpec> Rewards { get; init; } = [new("accuracy"), new("format", 0.5)];

    public long[] EvalSteps { get; init; } = [100, 200];

    public IReadOnlyDictionary<string, double> LossScale { get; init; } = new Dictionary<string, double> { ["kl"] = 0.001 };

    public IEnumerable<(string Field, string Problem)> Validate()
    {
        if (EpsilonHigh < EpsilonLow) yield return ("epsilon_high", $"must be at least epsilon_low ({EpsilonLow})");
    }

    /// <summary>Computed, not configurable (no setter): the binder ignores it.</summary>
    public bool UsesClipHigher => EpsilonHigh > EpsilonLow;
}

namespace R1Sharp.Recipes.Pipeline;

/// <summary>The stages of the pipeline, in order (<see cref="PipelineStages.Name"/>: how commands and folders spell them).</summary>
public enum PipelineStage { Base, R1Zero, ColdStart, ReasoningRl, RejectionSampling, Sft, FinalRl, Distill, Eval }

public static class PipelineStages
{
    /// <summary>Every stage, in order.</summary>
    public static IReadOnlyList<PipelineStage> All { get; } = Enum.GetValues<PipelineStage>();

    /// <summary>The stage's name in commands, folders and summary.json: <c>r1-zero</c>, <c>cold-start</c>, …</summary>
    public static string Name(this PipelineStage stage) => stage switch
    {
        PipelineStage.Base => "base",
        PipelineStage.R1Zero => "r1-zero",
        PipelineStage.ColdStart => "cold-start",
        PipelineStage.ReasoningRl => "reasoning-rl",
        PipelineStage.RejectionSampling => "rejection-sampling",
        PipelineStage.Sft => "sft",
        PipelineStage.FinalRl => "final-rl",
        PipelineStage.Distill => "distill",
        PipelineStage.Eval => "eval",
        _ => throw new ArgumentOutOfRangeException(nameof(stage), stage, null),
    };

    /// <summary>The stage named <paramref name="name"/> (as <see cref="Name"/> spells it).</summary>
    /// <exception cref="ArgumentException">No such stage; the message lists them.</exception>
    public static PipelineStage Parse(string name) =>
        All.FirstOrDefault(s => s.Name() == name.Trim(), (PipelineStage)(-1)) is var stage && stage >= 0 ? stage
        : throw new ArgumentException($"unknown stage '{name}' (one of {string.Join(", ", All.Select(Name))})");
}

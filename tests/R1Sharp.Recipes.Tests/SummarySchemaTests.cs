using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using R1Sharp.Recipes.Grpo;
using R1Sharp.Recipes.Pretrain;
using R1Sharp.Recipes.RewardModel;
using R1Sharp.Recipes.Sampling;
using R1Sharp.Recipes.Sft;
using R1Sharp.Tasks.Arithmetic;
using R1Sharp.Training.Optim;
using R1Sharp.Training.Runs;

namespace R1Sharp.Recipes.Tests;

/// <summary>Every recipe's summary.json follows the schema of docs/architecture.md ("summary.json").</summary>
public partial class SummarySchemaTests
{
    static readonly string[] Common = ["recipe", "steps", "seconds", "model", "device", "dtype"];

    [GeneratedRegex("^[a-z0-9_@/]+$")]
    private static partial Regex SnakeCase();

    /// <summary>The keys of the object and of every object inside it, with their paths.</summary>
    static IEnumerable<string> Keys(JsonNode node, string path = "")
    {
        if (node is JsonObject o)
            foreach (var (key, value) in o)
            {
                yield return path + key;
                if (value is not null && key is not "dropped_by" and not "table") // dropped_by's keys are reasons; rows are checked below
                    foreach (var inner in Keys(value, path + key + ".")) yield return inner;
            }
        else if (node is JsonArray a)
            foreach (var item in a.OfType<JsonNode>())
                foreach (var inner in Keys(item, path)) yield return inner;
    }

    static JsonObject Check(string folder, string recipe, params string[] own)
    {
        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "summary.json")))!.AsObject();
        Assert.Equal(recipe, (string)summary["recipe"]!);
        var keys = summary.Select(kv => kv.Key).ToList();
        Assert.Equal(Common, keys.Take(Common.Length));                       // the common fields, first, in order
        Assert.Equal(own.Order(), keys.Skip(Common.Length).Order());           // then exactly the recipe's own
        Assert.All(Keys(summary), k => Assert.Matches(SnakeCase(), k.Split('.')[^1]));
        Assert.Equal("model", (string)summary["model"]!);
        Assert.True(Directory.Exists(Path.Combine(folder, "model")));
        Assert.Equal(("cpu", "float32"), ((string)summary["device"]!, (string)summary["dtype"]!));
        return summary;
    }

    [Fact]
    public void Pretrain_sft_and_reward_model_summaries()
    {
        using var tmp = new TempDir();
        PretrainRecipe.Run(new PretrainOptions
        {
            Preset = "1m", VocabSize = 300, CorpusDocuments = 200, SequenceLength = 32, BatchSize = 2, Steps = 2, CheckpointEvery = 10, Seed = 1,
        }, tmp.Sub("pretrain"), RunSettings.Quiet());
        Check(tmp.Sub("pretrain"), "pretrain", "train_loss", "eval_loss", "tokens_per_second");

        var sft = SftRecipe.Run(new SftOptions { MaxLength = 128, BatchSize = 2, MaxSteps = 2, EvalShare = 0.3, Seed = 1 }, TinyModels.Path, tmp.Sub("sft"),
            RunSettings.Quiet(), examples: SftRecord.FromExamples(EmbeddedTask.ColdStartExamples(6)));
        var s = Check(tmp.Sub("sft"), "sft", "train_loss", "eval_loss", "eval_token_accuracy", "tokens_per_second", "examples", "truncated", "dropped");
        Assert.Equal(2, (int)s["steps"]!);
        Assert.Equal(sft.EvalLoss, (double)s["eval_loss"]!, 6);

        RewardModelRecipe.Run(new RewardModelOptions { BatchSize = 2, MaxSteps = 2, EvalShare = 0, Seed = 1 }, TinyModels.Path, tmp.Sub("rm"), RunSettings.Quiet(),
            pairs: PreferenceRecord.FromPairs(EmbeddedTask.PreferencePairs(6)));
        var rm = Check(tmp.Sub("rm"), "reward-model", "train_loss", "train_accuracy", "eval_loss", "eval_accuracy", "eval_margin", "pairs", "dropped");
        Assert.Null(rm["eval_loss"]);   // no held-out pairs: NaN is written as null
    }

    [Fact]
    public void Grpo_and_rejection_sampling_summaries()
    {
        using var tmp = new TempDir();
        GrpoRecipe.Run(new GrpoOptions
        {
            TrainPrompts = 8, PromptsPerStep = 2, Generations = 2, Sampling = new() { MaxNewTokens = 6 }, Steps = 1, EvalPrompts = 2, EvalSamples = 1,
            EvalSampling = new() { MaxNewTokens = 6, Temperature = 0.6, TopP = 0.95 }, Optimizer = new() { LearningRate = 1e-3, Schedule = ScheduleKind.Constant },
        }, TinyModels.Path, tmp.Sub("grpo"), RunSettings.Quiet());
        var g = Check(tmp.Sub("grpo"), "grpo", "before", "after");
        foreach (var part in new[] { "before", "after" })
            Assert.Equal(["pass@1", "format_rate", "mean_length", "prompts", "samples"], g[part]!.AsObject().Select(kv => kv.Key));

        RejectionSampling.Run(new RejectionSamplingOptions
        {
            Prompts = 2, Samples = 2, Sampling = new() { MaxNewTokens = 6 }, RequireCorrect = false, RequireFormat = false, MinLanguageConsistency = 0,
            DropTruncated = false, GeneralExamples = 2,
        }, TinyModels.Path, tmp.Sub("sample"), RunSettings.Quiet());
        var s = JsonNode.Parse(File.ReadAllText(tmp.Sub("sample/summary.json")))!.AsObject();
        Assert.Equal("sample", (string)s["recipe"]!);
        Assert.Equal(["recipe", "data_path", "prompts", "generated", "kept", "general", "dropped_by", "seconds", "prompts_covered", "mean_kept_tokens", "generation", "filter"],
            s.Select(kv => kv.Key));
        Assert.All(Keys(s), k => Assert.Matches(SnakeCase(), k.Split('.')[^1]));
    }
}

using System.Text.Json.Nodes;
using R1Sharp.Recipes.Grpo;
using R1Sharp.Recipes.Pretrain;
using R1Sharp.Rewards;
using R1Sharp.Rewards.Rules;
using R1Sharp.Training.Runs;

namespace MyRewards.Tests;

/// <summary>GRPO from code through the packages, with the sample's rewards named by assembly and name.</summary>
public sealed class GrpoTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("myrewards-grpo-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Grpo_trains_with_the_custom_rewards_and_logs_their_scores()
    {
        // A tiny base model from scratch on R1Sharp's embedded arithmetic corpus (a few steps: its answers mean nothing).
        var pretrained = PretrainRecipe.Run(new PretrainOptions
        {
            VocabSize = 300, CorpusDocuments = 200, SequenceLength = 64, BatchSize = 4, Steps = 2, CheckpointEvery = 2, Seed = 1,
        }, Path.Combine(_dir, "base"), RunSettings.Quiet());

        string dll = typeof(ExactAnswer).Assembly.Location;
        var options = new GrpoOptions
        {
            Rewards = [new RewardSpec("exact_answer", Assembly: dll), new RewardSpec("brevity", 0.2, new Dictionary<string, string> { ["max_words"] = "5" }, Assembly: dll)],
            TrainPrompts = 8, PromptsPerStep = 2, Generations = 2, Steps = 2, MicroBatchSize = 4, EvalPrompts = 0, Seed = 1,
            Sampling = new() { MaxNewTokens = 16, Temperature = 1.0, TopP = 1.0 },
        };
        var result = GrpoRecipe.Run(options, pretrained.ModelDirectory, Path.Combine(_dir, "grpo"), RunSettings.Quiet());
        Assert.Equal(2, result.Steps);

        // Every rollout was scored by both rewards; brevity's logged value is the one the reward gives that completion.
        var brevity = new BrevityBonus(new RewardOptions("brevity", new Dictionary<string, string> { ["max_words"] = "5" }));
        var lines = File.ReadAllLines(Path.Combine(_dir, "grpo", "completions.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(2 * 2 * 2, lines.Count);
        foreach (var line in lines)
        {
            var rewards = line["rewards"]!.AsObject();
            Assert.Contains(rewards["exact_answer"]!.GetValue<double>(), new[] { 0.0, 1.0 });
            var expected = brevity.Score([new RewardInput("", line["completion"]!.GetValue<string>(), new Dictionary<string, string>())])[0];
            Assert.Equal(expected!.Value, rewards["brevity"]!.GetValue<double>(), 12);
        }
    }
}

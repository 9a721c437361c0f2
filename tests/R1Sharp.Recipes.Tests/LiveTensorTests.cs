using System.Text.Json.Nodes;
using R1Sharp.Recipes.Distill;
using R1Sharp.Recipes.Pretrain;
using R1Sharp.Recipes.RewardModel;
using R1Sharp.Recipes.Sft;
using R1Sharp.Tasks.Arithmetic;
using R1Sharp.Training.Runs;
using TorchSharp;

namespace R1Sharp.Recipes.Tests;

/// <summary>
/// No training step leaves native tensors behind for the GC's finalizer: the count of this thread's live tensors is
/// the same at every logged step (evaluations and checkpoints between them included). A tensor left to the finalizer
/// keeps its native memory until a GC that managed allocations alone decide on (GRPO's reference forward once grew a
/// process to 8.5 GB); SftRecipeTests and GrpoRecipeTests check their recipes the same way.
/// </summary>
public class LiveTensorTests
{
    /// <summary>Six logged steps, the same count of live tensors at each.</summary>
    static void AssertFlat(List<long> live)
    {
        Assert.Equal(6, live.Count);
        Assert.All(live, count => Assert.Equal(live[0], count));
    }

    static RunSettings Counting(List<long> live) =>
        RunSettings.Quiet(line => { if (line.StartsWith("step ", StringComparison.Ordinal)) live.Add(DisposeScopeManager.Statistics.ThreadTotalLiveCount); });

    [Fact]
    public void Reward_model_steps_leave_no_tensors()
    {
        using var tmp = new TempDir();
        var live = new List<long>();
        var pairs = EmbeddedTask.PreferencePairs(40, seed: 9).Select(p => new PreferenceRecord(p.Prompt, p.Chosen, p.Rejected, null, p.Id)).ToList();
        RewardModelRecipe.Run(new RewardModelOptions
        {
            BatchSize = 2, MaxSteps = 6, Optimizer = new() { LearningRate = 1e-3 }, LogEvery = 1, CheckpointEvery = 2, EvalEvery = 3, Seed = 3,
        }, TinyModels.Path, tmp.Path, Counting(live), pairs: pairs.Skip(8).ToList(), evalPairs: pairs.Take(8).ToList());
        AssertFlat(live);
    }

    [Fact]
    public void Distillation_steps_with_the_teachers_logits_leave_no_tensors()
    {
        using var tmp = new TempDir();
        var live = new List<long>();
        string data = tmp.Sub("data.jsonl");
        File.WriteAllLines(data, EmbeddedTask.ColdStartExamples(12, 3).Select(e =>
            new JsonObject { ["prompt"] = e.Prompt, ["completion"] = e.Completion }.ToJsonString()));
        DistillRecipe.Run(new DistillOptions
        {
            Teacher = TinyModels.Path, KlWeight = 0.5,
            Sft = new SftOptions { MaxLength = 256, BatchSize = 2, MaxSteps = 6, LogEvery = 1, CheckpointEvery = 2, EvalEvery = 3, Seed = 7 },
        }, TinyModels.Path, data, tmp.Sub("out"), Counting(live));
        AssertFlat(live);
    }

    [Fact]
    public void Pretraining_steps_leave_no_tensors()
    {
        using var tmp = new TempDir();
        var live = new List<long>();
        PretrainRecipe.Run(new PretrainOptions
        {
            Preset = "300k", VocabSize = 300, CorpusDocuments = 200, SequenceLength = 32, BatchSize = 2, Steps = 6, LogEvery = 1, CheckpointEvery = 2, Seed = 3,
        }, tmp.Path, Counting(live));
        AssertFlat(live);
    }
}

using System.Text.Json.Nodes;
using R1Sharp.Model;
using R1Sharp.Recipes.Common;
using R1Sharp.Recipes.Pretrain;
using R1Sharp.Text.Tokenization;
using R1Sharp.Training.Runs;

namespace R1Sharp.Recipes.Tests;

/// <summary>Pretraining from scratch on a slice of the embedded corpus, a few steps.</summary>
public class PretrainRecipeTests
{
    static PretrainOptions Small => new()
    {
        Preset = "1m", VocabSize = 300, CorpusDocuments = 300, SequenceLength = 64, BatchSize = 4, Steps = 6,
        Optimizer = new PretrainOptions().Optimizer with { WarmupSteps = 2 }, LogEvery = 1, CheckpointEvery = 2, Seed = 3,
    };

    [Fact]
    public void Trains_a_tokenizer_and_a_model_loss_falls_and_saves_a_hugging_face_folder()
    {
        using var tmp = new TempDir();
        var result = PretrainRecipe.Run(Small with { Steps = 12 }, tmp.Path, RunSettings.Quiet());
        var metrics = File.ReadAllLines(tmp.Sub("metrics.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
        var losses = metrics.Where(m => m["loss"] is not null).Select(m => m["loss"]!.GetValue<double>()).ToList();
        Assert.True(losses[^1] < losses[0] - 1, $"loss {losses[0]:F2} → {losses[^1]:F2}");
        Assert.True(double.IsFinite(result.EvalLoss));
        Assert.NotEmpty(Directory.GetFiles(tmp.Path, "events.out.tfevents.*"));
        using var model = Checkpoint.Load(result.ModelDirectory);
        var tokenizer = HfTokenizer.Load(result.ModelDirectory);
        Assert.Equal(tokenizer.VocabSize, model.Config.VocabSize);
        Assert.Equal(tokenizer.EosTokenId, model.Config.EosTokenIds[0]);
    }

    [Fact]
    public void Phrase_tokenizer_splits_a_prompt_as_inside_a_document()
    {
        // A prompt ending in "Assistant:" must tokenize as the same prefix of "… Assistant: <think> …".
        using var tmp = new TempDir();
        PretrainRecipe.Run(Small with { Steps = 1 }, tmp.Path, RunSettings.Quiet());
        var tokenizer = HfTokenizer.Load(Path.Combine(tmp.Path, "tokenizer"));
        var prompt = R1Sharp.Tasks.PromptTemplates.RenderR1Zero("Compute 12 + 7");
        var full = tokenizer.Encode(prompt + " <think> First, 12 + 7 = 19. </think> <answer> 19 </answer>");
        var alone = tokenizer.Encode(prompt);
        Assert.Equal(alone, full.Take(alone.Count));
    }

    [Fact]
    public void Interrupted_and_resumed_run_ends_with_the_same_weights()
    {
        using var tmp = new TempDir();
        PretrainRecipe.Run(Small, tmp.Sub("straight"), RunSettings.Quiet());
        using var cts = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() => PretrainRecipe.Run(Small, tmp.Sub("interrupted"),
            RunSettings.Quiet(line => { if (line.StartsWith("step 3/")) cts.Cancel(); }, cancel: cts.Token)));
        PretrainRecipe.Run(Small, tmp.Sub("interrupted"), RunSettings.Quiet(resume: true));
        using var a = Checkpoint.Load(tmp.Sub("straight/model"));
        using var b = Checkpoint.Load(tmp.Sub("interrupted/model"));
        var sb = b.state_dict();
        foreach (var (name, t) in a.state_dict()) Assert.True(t.bytes.SequenceEqual(sb[name].bytes), name);
        // metrics.jsonl was cut back to the checkpoint (step 2) and continued: steps 1…6 once each, plus the final eval_loss line.
        var steps = File.ReadAllLines(tmp.Sub("interrupted/metrics.jsonl")).Select(l => JsonNode.Parse(l)!["step"]!.GetValue<int>()).ToList();
        Assert.Equal([1, 2, 3, 4, 5, 6, 6], steps);
    }
}

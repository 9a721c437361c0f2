using System.Text.Json.Nodes;
using R1Sharp.Model;
using R1Sharp.Recipes.Common;
using R1Sharp.Recipes.Grpo;
using R1Sharp.Recipes.RewardModel;
using R1Sharp.Rewards;
using R1Sharp.Rewards.Rules;
using R1Sharp.Tasks.Arithmetic;
using R1Sharp.Tests;
using R1Sharp.Text.Tokenization;
using R1Sharp.Training.Losses;
using R1Sharp.Training.Losses.Grpo;
using R1Sharp.Training.Optim;
using R1Sharp.Training.Runs;
using static TorchSharp.torch;

namespace R1Sharp.Recipes.Tests;

/// <summary>A reward model trained once on separable pairs (the chosen reply ends politely, the rejected one does not).</summary>
public sealed class TrainedRewardModel : IDisposable
{
    readonly TempDir tmp = new();

    public TrainedRewardModel()
    {
        var pairs = EmbeddedTask.PreferencePairs(80, seed: 4)
            .Select(p => new PreferenceRecord(p.Prompt, p.Chosen + " Thank you.", p.Chosen + " Go away.", null, p.Id)).ToList();
        Eval = pairs.Take(16).ToList();
        Result = RewardModelRecipe.Run(new RewardModelOptions
        {
            BatchSize = 4, MaxSteps = 30, Optimizer = new() { LearningRate = 3e-3, WarmupRatio = 0.1 }, LogEvery = 1, EvalEvery = 0, CheckpointEvery = 10, Seed = 1,
        }, TinyModels.Path, tmp.Path, RunSettings.Quiet(_ => { }), pairs: pairs.Skip(16).ToList(), evalPairs: Eval);
        Metrics = File.ReadAllLines(tmp.Sub("metrics.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
    }

    public RewardModelResult Result { get; }
    public IReadOnlyList<PreferenceRecord> Eval { get; }
    public IReadOnlyList<JsonNode> Metrics { get; }
    public string Output => tmp.Path;

    public void Dispose() => tmp.Dispose();
}

public class RewardModelTests(TrainedRewardModel trained) : IClassFixture<TrainedRewardModel>
{
    [Fact]
    public void Bradley_terry_loss_and_gradient_match_hand_computed_values()
    {
        using var scope = NewDisposeScope();
        var chosen = tensor(new[] { 1.0f, 0.5f, -0.2f }).requires_grad_();
        var rejected = tensor(new[] { 0.0f, 1.0f, -0.2f }).requires_grad_();
        var margin = tensor(new[] { 0.0f, 0.5f, 0.0f });
        // d = r_c − r_r − m = (1, −1, 0): −log σ(d) = log(1 + e^−1), log(1 + e), log 2; centering 0.1·(r_c + r_r)² = 0.1, 0.225, 0.016.
        var loss = BradleyTerryLoss.PerPair(chosen, rejected, margin, centerCoefficient: 0.1);
        Assert.Equal([0.41326168751822286, 1.5382616875182228, 0.7091471805599453], loss.data<float>().ToArray().Select(x => (double)x), new Tolerance(1e-6));
        loss.sum().backward();
        // ∂/∂r_c = −σ(−d) + 0.2·(r_c + r_r); ∂/∂r_r = σ(−d) + 0.2·(r_c + r_r).
        Assert.Equal([-0.0689414213699951, -0.4310585786300049, -0.58], chosen.grad!.data<float>().ToArray().Select(x => (double)x), new Tolerance(1e-6));
        Assert.Equal([0.4689414213699951, 1.0310585786300049, 0.42], rejected.grad!.data<float>().ToArray().Select(x => (double)x), new Tolerance(1e-6));
        Assert.Equal([1f, 0f, 0f], BradleyTerryLoss.Correct(chosen, rejected).data<float>().ToArray()); // a tie is not a win

        var plain = BradleyTerryLoss.PerPair(chosen, rejected); // no margin, no centering: d = (1, −0.5, 0)
        Assert.Equal([0.31326168751822286, 0.9740769841801067, 0.6931471805599453], plain.data<float>().ToArray().Select(x => (double)x), new Tolerance(1e-6));
    }

    sealed class Tolerance(double eps) : IEqualityComparer<double>
    {
        public bool Equals(double a, double b) => Math.Abs(a - b) <= eps;
        public int GetHashCode(double x) => 0;
    }

    [Fact]
    public void Pairwise_accuracy_rises_on_separable_pairs()
    {
        var first = trained.Metrics[0];
        Assert.True(Math.Abs(first["loss"]!.GetValue<double>() - Math.Log(2)) < 0.15, $"a new head starts near log 2: {first["loss"]}");
        foreach (var key in new[] { "loss", "accuracy", "margin", "rewards/chosen", "rewards/rejected", "learning_rate", "grad_norm", "tokens_per_second" })
            Assert.True(first[key] is not null, key);
        var final = trained.Metrics[^1];
        Assert.True(final["eval_accuracy"]!.GetValue<double>() >= 0.9, $"eval accuracy {final["eval_accuracy"]}");
        Assert.True(trained.Result.EvalLoss < 0.4 && trained.Result.EvalMargin > 0, $"eval loss {trained.Result.EvalLoss}, margin {trained.Result.EvalMargin}");
    }

    [Fact]
    public void Saved_reward_model_uses_the_transformers_sequence_classification_layout()
    {
        var dir = trained.Result.ModelDirectory;
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!;
        Assert.Equal("Qwen2ForSequenceClassification", config["architectures"]![0]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"0": "LABEL_0"}"""), config["id2label"]));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"LABEL_0": 0}"""), config["label2id"]));
        Assert.NotNull(config["pad_token_id"]);
        var names = SafeTensors.ReadHeader(Path.Combine(dir, "model.safetensors")).Entries.ToDictionary(e => e.Name, e => e.Shape);
        Assert.Equal([1L, 32], names["score.weight"]);
        Assert.DoesNotContain("lm_head.weight", names.Keys);
        Assert.DoesNotContain("score.bias", names.Keys);
        Assert.All(names.Keys.Where(k => k != "score.weight"), k => Assert.StartsWith("model.", k));

        // Round trip: load, save again, the tensors are byte-identical; a causal-LM loader refuses it clearly.
        using var tmp = new TempDir();
        using (var scorer = Checkpoint.LoadScorer(dir))
            Checkpoint.Save(scorer, tmp.Sub("again"), companionsFrom: dir);
        using var a = Checkpoint.LoadScorer(dir);
        using var b = Checkpoint.LoadScorer(tmp.Sub("again"));
        var sb = b.state_dict();
        foreach (var (name, t) in a.state_dict()) Assert.True(t.bytes.SequenceEqual(sb[name].bytes), name);
        Assert.Contains("LoadScorer", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(dir)).Message);

        File.WriteAllText(tmp.Sub("again/config.json"), File.ReadAllText(tmp.Sub("again/config.json")).Replace("\"LABEL_0\": 0", "\"LABEL_0\": 0, \"LABEL_1\": 1")
            .Replace("\"0\": \"LABEL_0\"", "\"0\": \"LABEL_0\", \"1\": \"LABEL_1\""));
        Assert.Contains("field 'id2label'", Assert.Throws<InvalidDataException>(() => Checkpoint.LoadScorer(tmp.Sub("again"))).Message);
    }

    [Theory]
    [InlineData("qwen3-moe-tiny", "Qwen3MoeForSequenceClassification")]
    [InlineData("deepseek-v3-tiny", "DeepseekV3ForSequenceClassification")]
    public void A_reward_model_on_an_moe_base_is_saved_under_transformers_class_name_and_loads_back(string fixture, string architecture)
    {
        using var scope = NewDisposeScope();
        using var tmp = new TempDir();
        int[][] rows = [[5, 17, 42, 7, 99, 3], [11, 12, 13]];
        var (ids, lengths) = RewardModelRecipe.PadRight(rows, CPU);
        float[] before;
        using (var scorer = Checkpoint.LoadScorer(RepoPaths.Fixture("hf-tiny", fixture), headSeed: 3))
        {
            before = scorer.Forward(ids, lengths).data<float>().ToArray();
            Checkpoint.Save(scorer, tmp.Sub("rm"));
        }
        var config = JsonNode.Parse(File.ReadAllText(tmp.Sub("rm/config.json")))!;
        Assert.Equal(architecture, config["architectures"]![0]!.GetValue<string>());
        using var loaded = Checkpoint.LoadScorer(tmp.Sub("rm"));
        Assert.Equal(before, loaded.Forward(ids, lengths).data<float>().ToArray());
        Assert.Contains("LoadScorer", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(tmp.Sub("rm"))).Message);
    }

    [Fact]
    public void Score_is_the_head_on_the_last_real_token_of_each_right_padded_row()
    {
        // Reference: the causal LM's hidden states (checked against transformers' logits in R1Sharp.Model.Tests), row by row.
        using var scope = NewDisposeScope();
        var dir = RepoPaths.Fixture("hf-tiny", "qwen2-tiny");
        using var lm = Checkpoint.Load(dir);
        using var scorer = Checkpoint.LoadScorer(dir, headSeed: 5);
        Assert.Equal(ModelHead.SequenceClassification, scorer.Config.Head);
        int[][] rows = [[5, 17, 42, 7, 99, 3], [11, 12, 13], [250, 8]];
        var (ids, lengths) = RewardModelRecipe.PadRight(rows, CPU);
        var scores = scorer.Forward(ids, lengths).data<float>().ToArray();
        for (int r = 0; r < rows.Length; r++)
        {
            var hidden = lm.Hidden(tensor(rows[r].Select(x => (long)x).ToArray(), [1, rows[r].Length]));   // (1, T, C)
            var expected = (hidden.select(0, 0).select(0, rows[r].Length - 1) * scorer.score.weight.select(0, 0)).sum().item<float>();
            Assert.Equal(expected, scores[r], 1e-5);
        }
        Assert.NotEqual(0f, scorer.score.weight.abs().sum().item<float>()); // the new head is initialised, not zero
    }

    [Fact]
    public void Reward_model_reward_scores_a_batch_in_order()
    {
        using var reward = RewardModelReward.Load(trained.Result.ModelDirectory, "politeness", batchSize: 2);
        var inputs = trained.Eval.Take(3).SelectMany(p => new[]
        {
            new RewardInput(p.Prompt, p.Chosen, new Dictionary<string, string>()),
            new RewardInput(p.Prompt, p.Rejected, new Dictionary<string, string>()),
        }).Append(new RewardInput("", "", new Dictionary<string, string>())).ToList();
        var scores = reward.Score(inputs);
        Assert.Equal(7, scores.Count);
        Assert.Null(scores[6]); // nothing to read
        for (int i = 0; i < 3; i++) Assert.True(scores[2 * i] > scores[2 * i + 1], $"pair {i}: {scores[2 * i]} vs {scores[2 * i + 1]}");

        // The same numbers as the model on the training encoding, one at a time.
        using var scope = NewDisposeScope();
        var tokenizer = HfTokenizer.Load(trained.Result.ModelDirectory);
        using var model = Checkpoint.LoadScorer(trained.Result.ModelDirectory);
        using (no_grad())
            for (int i = 0; i < 6; i++)
            {
                var ids = RewardEncoding.Encode(tokenizer, inputs[i].Prompt, inputs[i].Completion, model.Config.PadTokenId);
                var (t, l) = RewardModelRecipe.PadRight([ids], CPU);
                Assert.Equal(model.Forward(t, l).item<float>(), scores[i]!.Value, 1e-5);
            }

        // Summary scope reads only what follows </think>.
        using var summary = RewardModelReward.Load(trained.Result.ModelDirectory, "politeness_summary", RewardScope.Summary);
        var p0 = trained.Eval[0];
        var withThinking = summary.Score([new RewardInput(p0.Prompt, "<think>\nsome reasoning\n</think>\n" + p0.Chosen, new Dictionary<string, string>())]);
        Assert.Equal(scores[0]!.Value, withThinking[0]!.Value, 1e-5);
        Assert.Equal("answer", RewardModelReward.Summary("<think>a</think>\n answer"));
        Assert.Equal("no think block", RewardModelReward.Summary("no think block"));
    }

    [Fact]
    public void Interrupted_and_resumed_run_ends_with_the_same_weights()
    {
        using var tmp = new TempDir();
        var pairs = EmbeddedTask.PreferencePairs(24, seed: 9).Select(p => new PreferenceRecord(p.Prompt, p.Chosen, p.Rejected, 0.25, p.Id)).ToList();
        var o = new RewardModelOptions
        {
            BatchSize = 2, GradientAccumulationSteps = 2, MaxSteps = 5, Optimizer = new() { LearningRate = 1e-3, WarmupRatio = 0.03 }, LogEvery = 1, CheckpointEvery = 1, EvalEvery = 2,
            CenterRewardsCoefficient = 0.01, Seed = 3,
        };
        RewardModelRecipe.Run(o, TinyModels.Path, tmp.Sub("straight"), RunSettings.Quiet(_ => { }), pairs: pairs);
        using var cts = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() => RewardModelRecipe.Run(o, TinyModels.Path, tmp.Sub("interrupted"),
            RunSettings.Quiet(line => { if (line.StartsWith("step 2/")) cts.Cancel(); }, cancel: cts.Token), pairs: pairs));
        RewardModelRecipe.Run(o, TinyModels.Path, tmp.Sub("interrupted"), RunSettings.Quiet(resume: true), pairs: pairs);
        using var a = Checkpoint.LoadScorer(tmp.Sub("straight/model"));
        using var b = Checkpoint.LoadScorer(tmp.Sub("interrupted/model"));
        var sb = b.state_dict();
        foreach (var (name, t) in a.state_dict()) Assert.True(t.bytes.SequenceEqual(sb[name].bytes), name);
    }

    [Fact]
    public void Grpo_trains_with_the_reward_model_as_a_reward_function()
    {
        using var tmp = new TempDir();
        using var helpfulness = RewardModelReward.Load(trained.Result.ModelDirectory, "helpfulness", RewardScope.Summary);
        var rewards = new WeightedRewards([new WeightedReward(helpfulness), new WeightedReward(new FormatReward(FormatPattern.R1ZeroLoose), 0.5)]);
        var result = GrpoRecipe.Run(new GrpoOptions
        {
            TrainPrompts = 8, PromptsPerStep = 2, Generations = 2, Sampling = new() { MaxNewTokens = 8 }, Steps = 1, EvalPrompts = 2, EvalSamples = 1,
            EvalSampling = new() { MaxNewTokens = 8, Temperature = 0.6, TopP = 0.95 }, MicroBatchSize = 4,
            Optimizer = new() { LearningRate = 1e-3, Schedule = ScheduleKind.Constant }, Seed = 2,
        }, TinyModels.Path, tmp.Path, RunSettings.Quiet(), customRewards: rewards);
        Assert.Equal(1, result.Steps);
        var metrics = JsonNode.Parse(File.ReadAllLines(tmp.Sub("metrics.jsonl"))[0])!;
        Assert.NotNull(metrics["rewards/helpfulness"]);
        Assert.True(double.IsFinite(metrics["reward"]!.GetValue<double>()));
    }
}

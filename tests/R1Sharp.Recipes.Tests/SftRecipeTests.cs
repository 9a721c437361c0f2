using System.Text.Json.Nodes;
using R1Sharp.Model;
using R1Sharp.Recipes.Common;
using R1Sharp.Recipes.Sft;
using R1Sharp.Tasks.Arithmetic;
using R1Sharp.Training.Batching;
using R1Sharp.Training.Losses;
using R1Sharp.Training.Optim;
using R1Sharp.Training.Runs;
using TorchSharp;
using static TorchSharp.torch;

namespace R1Sharp.Recipes.Tests;

/// <summary>The SFT recipe on a 2-layer model: packing exactness, the loss, resumption, precision, failure handling.</summary>
public class SftRecipeTests
{
    static IReadOnlyList<SftRecord> ColdStart(int n, int seed = 0) => SftRecord.FromExamples(EmbeddedTask.ColdStartExamples(n, seed));

    static SftOptions Small => new()
    {
        MaxLength = 256, BatchSize = 2, MaxSteps = 6, Optimizer = new() { LearningRate = 3e-3, WarmupRatio = 0.2 }, LogEvery = 1, CheckpointEvery = 2, EvalEvery = 3, Seed = 7,
    };

    static List<JsonNode> Metrics(string output) => File.ReadAllLines(Path.Combine(output, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();

    static List<TokenSequence> RandomSequences(int seed, params int[] lengths)
    {
        var rng = new Random(seed);
        return lengths.Select(n =>
        {
            var ids = Enumerable.Range(0, n).Select(_ => rng.Next(400)).ToArray();
            var targets = Enumerable.Range(0, n).Select(i => i >= n / 3 || rng.Next(4) == 0).ToArray();
            return new TokenSequence(ids, targets);
        }).ToList();
    }

    static (double Nll, long Targets, Tensor[] Grads) LossAndGrads(CausalLM model, TokenBatch batch)
    {
        foreach (var p in model.parameters()) p.grad = null;
        var nll = -TokenLosses.TargetLogProbs(batch.TargetLogits(model), batch.TargetIds).sum();
        nll.backward();
        return (nll.item<float>(), batch.TargetTokens, model.parameters().Select(p => p.grad!.clone()).ToArray());
    }

    [Fact]
    public void Packed_batch_gives_the_loss_and_gradient_of_the_examples_run_one_by_one()
    {
        using var scope = NewDisposeScope();
        using var model = Checkpoint.Load(TinyModels.Path);
        var sequences = RandomSequences(1, 7, 12, 3, 20, 9, 15, 5, 30);
        var rows = SequencePacking.BestFitDecreasing(sequences.Select(s => s.Length).ToList(), 32);
        Assert.True(rows.Count < sequences.Count);
        var packed = TokenBatch.Packed(rows.Select(r => (IReadOnlyList<TokenSequence>)r.Select(i => sequences[i]).ToList()).ToList(), 32, CPU);
        var (packedNll, n, packedGrads) = LossAndGrads(model, packed);

        double aloneNll = 0;
        Tensor[]? aloneGrads = null;
        foreach (var s in sequences)
        {
            var (nll, _, grads) = LossAndGrads(model, TokenBatch.Padded([s], CPU));
            aloneNll += nll;
            aloneGrads = aloneGrads is null ? grads : aloneGrads.Zip(grads, (a, g) => a + g).ToArray();
        }
        Assert.Equal(sequences.Sum(s => s.TargetCount), n);
        Assert.Equal(aloneNll / n, packedNll / n, 1e-5);
        for (int i = 0; i < packedGrads.Length; i++)
            Assert.True((packedGrads[i] - aloneGrads![i]).abs().max().item<float>() <= 1e-4 * Math.Max(1, aloneGrads[i].abs().max().item<float>()), $"gradient {i}");

        // One example per row, right-padded, gives the same numbers too.
        var (paddedNll, _, _) = LossAndGrads(model, TokenBatch.Padded(sequences, CPU));
        Assert.Equal(aloneNll / n, paddedNll / n, 1e-5);

        // Without the block-diagonal mask and restarting positions, examples would see each other: the test has teeth.
        var leaky = new TokenBatch
        {
            Ids = packed.Ids, Targets = packed.Targets, LossMask = packed.LossMask, TargetIndex = packed.TargetIndex, TargetIds = packed.TargetIds,
            Positions = arange(32, dtype: ScalarType.Int64).expand(packed.Rows, 32), TargetTokens = packed.TargetTokens, Tokens = packed.Tokens,
        };
        Assert.True(Math.Abs(LossAndGrads(model, leaky).Nll / n - aloneNll / n) > 1e-3);
    }

    [Fact]
    public void Gradient_accumulation_normalises_by_the_target_tokens_of_the_whole_step()
    {
        // Same 4 rows (different numbers of target tokens): one batch of 4, or 2 micro-batches of 2. With a per-micro-batch
        // mean the two would differ; with Σ m·nll / N over the step they agree.
        using var tmp = new TempDir();
        var data = ColdStart(8, 3);
        var o = Small with { Packing = false, MaxSteps = 1, EvalShare = 0, Optimizer = new() { LearningRate = 1e-2 } };
        SftRecipe.Run(o with { BatchSize = 4 }, TinyModels.Path, tmp.Sub("one"), RunSettings.Quiet(_ => { }), examples: data);
        SftRecipe.Run(o with { BatchSize = 2, GradientAccumulationSteps = 2 }, TinyModels.Path, tmp.Sub("two"), RunSettings.Quiet(_ => { }), examples: data);
        var a = Metrics(tmp.Sub("one"))[0];
        var b = Metrics(tmp.Sub("two"))[0];
        Assert.Equal(a["loss"]!.GetValue<double>(), b["loss"]!.GetValue<double>(), 1e-5);
        double norm = a["grad_norm"]!.GetValue<double>();
        Assert.True(Math.Abs(norm - b["grad_norm"]!.GetValue<double>()) <= 1e-4 * norm, $"{norm} vs {b["grad_norm"]}");
    }

    [Fact]
    public void Overfits_a_handful_of_examples_and_logs_every_metric()
    {
        using var tmp = new TempDir();
        var data = ColdStart(6);
        var result = SftRecipe.Run(Small with { MaxSteps = 40, Optimizer = Small.Optimizer with { LearningRate = 1e-2 }, EvalEvery = 20, LogEvery = 5 }, TinyModels.Path, tmp.Path,
            RunSettings.Quiet(_ => { }), examples: data, evalExamples: data.Take(2).ToList());
        var metrics = Metrics(tmp.Path);
        var train = metrics.Where(m => m["loss"] is not null).ToList();
        foreach (var key in new[] { "loss", "token_accuracy", "learning_rate", "grad_norm", "tokens_per_second", "epoch" })
            Assert.True(train[0][key] is not null, key);
        Assert.Contains(metrics, m => m["step"]!.GetValue<int>() == 20 && m["eval_loss"] is not null);
        double first = train[0]["loss"]!.GetValue<double>(), last = train[^1]["loss"]!.GetValue<double>();
        Assert.True(last < first / 3, $"loss {first:F3} → {last:F3}");
        Assert.True(result.EvalLoss < first / 3 && result.EvalTokenAccuracy > 0.5, $"eval loss {result.EvalLoss:F3}, accuracy {result.EvalTokenAccuracy:P0}");
        Assert.True(train[^1]["token_accuracy"]!.GetValue<double>() > train[0]["token_accuracy"]!.GetValue<double>());
        Assert.Equal(40, result.Steps);
        using var model = Checkpoint.Load(result.ModelDirectory);
        Assert.True(File.Exists(Path.Combine(result.ModelDirectory, "tokenizer.json")));
        Assert.True(File.Exists(tmp.Sub("summary.json")));
    }

    [Fact]
    public void Interrupted_and_resumed_run_ends_with_the_same_weights()
    {
        using var tmp = new TempDir();
        var data = ColdStart(10);
        var o = Small with { GradientAccumulationSteps = 2, BatchSize = 1, MaxLength = 192, CheckpointEvery = 1 };
        SftRecipe.Run(o, TinyModels.Path, tmp.Sub("straight"), RunSettings.Quiet(_ => { }), examples: data);

        using var cts = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() => SftRecipe.Run(o, TinyModels.Path, tmp.Sub("interrupted"),
            RunSettings.Quiet(line => { if (line.StartsWith("step 3/")) cts.Cancel(); }, cancel: cts.Token), examples: data));
        var resumedLog = new List<string>();
        SftRecipe.Run(o, TinyModels.Path, tmp.Sub("interrupted"), RunSettings.Quiet(resumedLog.Add, resume: true), examples: data);
        Assert.Contains(resumedLog, l => l.StartsWith("resumed from") && l.EndsWith("at step 3"));

        using var a = Checkpoint.Load(tmp.Sub("straight/model"));
        using var b = Checkpoint.Load(tmp.Sub("interrupted/model"));
        var sb = b.state_dict();
        foreach (var (name, t) in a.state_dict()) Assert.True(t.bytes.SequenceEqual(sb[name].bytes), name);
        // metrics.jsonl reads as one run: every step once, the same losses.
        double?[] Losses(string dir) => Metrics(dir).Select(m => m["loss"]?.GetValue<double>()).ToArray();
        Assert.Equal(Metrics(tmp.Sub("straight")).Select(m => m["step"]!.GetValue<int>()), Metrics(tmp.Sub("interrupted")).Select(m => m["step"]!.GetValue<int>()));
        Assert.Equal(Losses(tmp.Sub("straight")), Losses(tmp.Sub("interrupted")));
    }

    [Fact]
    public void Bfloat16_trains_with_float32_master_weights()
    {
        using var tmp = new TempDir();
        var data = ColdStart(6);
        var result = SftRecipe.Run(Small with { MaxSteps = 12, Optimizer = Small.Optimizer with { LearningRate = 1e-2 }, EvalShare = 0 }, TinyModels.Path, tmp.Path,
            RunSettings.Quiet(_ => { }) with { Dtype = ScalarType.BFloat16 }, examples: data);
        var train = Metrics(tmp.Path);
        Assert.True(train[^1]["loss"]!.GetValue<double>() < train[0]["loss"]!.GetValue<double>() * 0.8);
        Assert.Contains("\"bfloat16\"", File.ReadAllText(Path.Combine(result.ModelDirectory, "config.json")));
        Assert.Contains("\"float32\"", File.ReadAllText(tmp.Sub("checkpoint/config.json"))); // the master
        Assert.True(File.Exists(tmp.Sub("checkpoint/optimizer.bin")));
    }

    [Fact]
    public void Master_weights_keep_updates_that_bfloat16_would_round_away()
    {
        // A weight of 1.0 in bf16 moves only in steps of 2⁻⁷; 100 updates of 1e-4 vanish in bf16 but add up in the master.
        using var scope = NewDisposeScope();
        var working = nn.Linear(1, 1, hasBias: false, dtype: ScalarType.BFloat16);
        var master = nn.Linear(1, 1, hasBias: false);
        using (no_grad()) master.weight.fill_(1.0);
        var weights = new MasterWeights(working, master);
        var optimizer = optim.SGD(master.parameters(), 1e-4);
        for (int i = 0; i < 100; i++)
        {
            working.forward(ones(1, 1, dtype: ScalarType.BFloat16)).sum().backward(); // d/dw = 1
            weights.AccumulateGradients();
            optimizer.step();
            optimizer.zero_grad();
            weights.CopyWeights();
        }
        Assert.Equal(0.99, master.weight.item<float>(), 1e-5);
        Assert.Equal(0.98828125f, working.weight.to(ScalarType.Float32).item<float>()); // bf16(0.99): the master's value, rounded
    }

    [Fact]
    public void Native_tensors_stay_flat_across_steps()
    {
        using var tmp = new TempDir();
        var live = new List<long>();
        SftRecipe.Run(Small with { MaxSteps = 12, EvalEvery = 4, CheckpointEvery = 5 }, TinyModels.Path, tmp.Path,
            RunSettings.Quiet(line => { if (line.StartsWith("step ")) live.Add(DisposeScopeManager.Statistics.ThreadTotalLiveCount); }), examples: ColdStart(8));
        Assert.Equal(12, live.Count);
        Assert.All(live, count => Assert.Equal(live[0], count)); // no step, evaluation or checkpoint leaves tensors behind
    }

    [Fact]
    public void Repeated_non_finite_steps_stop_the_run_and_keep_the_last_checkpoint()
    {
        using var tmp = new TempDir();
        var lines = new List<string>();
        // A loss term that is NaN at every token makes every step's loss non-finite: each update is skipped, the fifth in a row stops the run.
        Assert.Throws<TrainingDivergedException>(() => SftRecipe.Run(Small with { MaxSteps = 20, CheckpointEvery = 1 },
            TinyModels.Path, tmp.Path, RunSettings.Quiet(lines.Add), examples: ColdStart(6), lossTerm: new NanTerm()));
        Assert.Equal(5, lines.Count(l => l.Contains("update skipped")));
        Assert.True(File.Exists(tmp.Sub("checkpoint/trainer_state.json")));
        using var last = Checkpoint.Load(tmp.Sub("checkpoint"));
    }

    /// <summary>A loss term that is NaN at every target token.</summary>
    sealed class NanTerm : ISftLossTerm
    {
        public string Name => "nan";
        public string Description => "NaN everywhere";
        public double Weight => 0.5;
        public Tensor PerToken(TokenBatch batch, Tensor logits) => logits.sum(-1) * double.NaN;
    }
}

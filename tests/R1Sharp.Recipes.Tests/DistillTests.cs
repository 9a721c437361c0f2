using System.Text.Json.Nodes;
using R1Sharp.Model;
using R1Sharp.Recipes.Common;
using R1Sharp.Recipes.Config;
using R1Sharp.Recipes.Distill;
using R1Sharp.Recipes.Sft;
using R1Sharp.Tasks.Arithmetic;
using R1Sharp.Text.Tokenization;
using R1Sharp.Training.Batching;
using R1Sharp.Training.Losses;
using R1Sharp.Training.Runs;
using static TorchSharp.torch;

namespace R1Sharp.Recipes.Tests;

/// <summary>Distillation: the τ²·KL term against hand-computed values, its gradient, the tokenizer check, a short run.</summary>
public class DistillTests
{
    [Fact]
    public void Scaled_forward_kl_matches_hand_computed_values()
    {
        using var scope = NewDisposeScope();
        // Teacher logits (ln 3, 0) → p_T = (3/4, 1/4); student (0, 0) → p_S = (1/2, 1/2).
        var student = tensor(new float[] { 0, 0 }, [1, 2]);
        var teacher = tensor(new float[] { (float)Math.Log(3), 0 }, [1, 2]);
        double kl1 = 0.75 * Math.Log(1.5) + 0.25 * Math.Log(0.5);                      // 0.130812…
        Assert.Equal(kl1, DistillationLoss.ScaledForwardKl(student, teacher, 1.0).item<float>(), 5);
        // τ = 2: p_T^τ = softmax(ln 3 / 2, 0) = (√3, 1) / (√3 + 1); the term is τ²·KL.
        double a = Math.Sqrt(3) / (Math.Sqrt(3) + 1), b = 1 / (Math.Sqrt(3) + 1);
        double kl2 = a * Math.Log(2 * a) + b * Math.Log(2 * b);                          // 0.036348…
        Assert.Equal(4 * kl2, DistillationLoss.ScaledForwardKl(student, teacher, 2.0).item<float>(), 5);
        Assert.Equal(0.1454, 4 * kl2, 4);

        // A token the teacher rules out (logit −∞) contributes 0, not NaN: KL((1, 0) ‖ (½, ½)) = ln 2.
        var certain = tensor(new float[] { 0, float.NegativeInfinity }, [1, 2]);
        Assert.Equal(Math.Log(2), DistillationLoss.ScaledForwardKl(student, certain, 1.0).item<float>(), 5);
    }

    [Fact]
    public void Kl_gradient_is_tau_times_the_difference_of_the_softened_distributions()
    {
        using var scope = NewDisposeScope();
        var student = tensor(new float[] { 0.5f, -1, 2, 0, 1, 1 }, [2, 3]).requires_grad_(true);
        var teacher = tensor(new float[] { 1, 0, -1, 3, 0, 0 }, [2, 3]);
        const double tau = 2.0;
        DistillationLoss.ScaledForwardKl(student, teacher, tau).sum().backward();
        // d/dz_S [τ² Σ p_T (log p_T − log softmax(z_S/τ))] = τ²·(p_S^τ − p_T^τ)/τ = τ·(p_S^τ − p_T^τ)
        var expected = tau * ((student.detach() / tau).softmax(-1) - (teacher / tau).softmax(-1));
        Assert.True((student.grad! - expected).abs().max().item<float>() < 1e-6);
    }

    static TokenBatch ColdStartBatch(string modelDir, int examples)
    {
        var encoder = SftEncoder.Create(HfTokenizer.Load(modelDir), SftEncoder.Plain, modelDir);
        var sequences = SftRecord.FromExamples(EmbeddedTask.ColdStartExamples(examples, 3)).Select(encoder.Encode).ToList();
        return TokenBatch.Padded(sequences, CPU);
    }

    [Fact]
    public void Teacher_equal_to_the_student_adds_no_loss_and_no_gradient()
    {
        using var scope = NewDisposeScope();
        using var student = Checkpoint.Load(TinyModels.Path);
        using var teacher = Checkpoint.Load(TinyModels.Path);
        teacher.eval();
        var batch = ColdStartBatch(TinyModels.Path, 3);
        int vocabulary = DistillRecipe.SharedVocabulary(TinyModels.Path, TinyModels.Path);
        Assert.Equal(HfTokenizer.Load(TinyModels.Path).VocabSize, vocabulary);
        var term = new TeacherKlTerm(teacher, weight: 0.4, temperature: 2.0, vocabulary);

        Tensor[] Gradients(bool withTerm)
        {
            foreach (var p in student.parameters()) p.grad = null;
            var logits = batch.TargetLogits(student);
            var ce = -TokenLosses.TargetLogProbs(logits, batch.TargetIds).sum();
            var loss = withTerm ? (1 - term.Weight) * ce + term.Weight * term.PerToken(batch, logits).sum() : (1 - term.Weight) * ce;
            loss.backward();
            return student.parameters().Select(p => p.grad!.clone()).ToArray();
        }

        using (no_grad()) Assert.True(term.PerToken(batch, batch.TargetLogits(student)).abs().max().item<float>() < 1e-5);
        var with = Gradients(true);
        var without = Gradients(false);
        for (int i = 0; i < with.Length; i++)
            Assert.True((with[i] - without[i]).abs().max().item<float>() <= 1e-6 * Math.Max(1, without[i].abs().max().item<float>()), $"gradient {i}");
    }

    /// <summary>A checkpoint of another shape; with <paramref name="tokenizerFrom"/> it shares that folder's tokenizer, otherwise it gets one of its own.</summary>
    static string OtherModel(TempDir dir, string name, string? tokenizerFrom)
    {
        string path = dir.Sub(name);
        Directory.CreateDirectory(path);
        HfTokenizer tokenizer;
        if (tokenizerFrom is not null) tokenizer = HfTokenizer.Load(tokenizerFrom);
        else
        {
            tokenizer = new BpeTrainer(new BpeTrainerOptions
            {
                VocabSize = 300, SpecialTokens = ["<|endoftext|>"], EosToken = "<|endoftext|>", PadToken = "<|endoftext|>",
            }).Train(EmbeddedTask.PretrainingCorpus(new PretrainingCorpusOptions(Documents: 200, Seed: 2)));
        }
        tokenizer.Save(path);
        var config = ModelConfig.Load(Path.Combine(TinyModels.Path, "config.json")) with
        {
            VocabSize = tokenizerFrom is null ? tokenizer.VocabSize : ModelConfig.Load(Path.Combine(TinyModels.Path, "config.json")).VocabSize + 8,
            HiddenSize = 16, NumHeads = 2, NumKvHeads = 1, HeadDim = 8, IntermediateSize = 32,
        };
        using var model = new CausalLM(config);
        model.InitializeWeights(seed: 11);
        Checkpoint.Save(model, path, companionsFrom: path);
        return path;
    }

    [Fact]
    public void Logit_distillation_refuses_tokenizers_that_differ()
    {
        using var dir = new TempDir();
        string student = OtherModel(dir, "student", tokenizerFrom: null);
        string data = dir.Sub("data.jsonl");
        File.WriteAllLines(data, [new JsonObject { ["prompt"] = "User: Compute 1 + 2\nAssistant:", ["completion"] = "3" }.ToJsonString()]);
        var options = new DistillOptions { Teacher = TinyModels.Path, KlWeight = 0.5, Sft = new SftOptions { MaxSteps = 1, EvalShare = 0 } };
        var error = Assert.Throws<InvalidDataException>(() => DistillRecipe.Run(options, student, data, dir.Sub("out"), RunSettings.Quiet()));
        Assert.Contains("tokenizers to match", error.Message);
        Assert.Contains("kl_weight=0", error.Message);
        Assert.False(Directory.Exists(dir.Sub("out")) && Directory.EnumerateFileSystemEntries(dir.Sub("out")).Any()); // refused before training

        Assert.Contains("teacher", Assert.Throws<ConfigException>(() => DistillRecipe.Run(new DistillOptions { KlWeight = 0.5 }, student, data, dir.Sub("out2"))).Message);
        Assert.Contains("kl_weight", Assert.Throws<ConfigException>(() => DistillRecipe.Run(new DistillOptions { KlWeight = 1.5, Teacher = "t" }, student, data, dir.Sub("out2"))).Message);
        Assert.False(Directory.Exists(dir.Sub("out2")));
    }

    [Fact]
    public void Student_learns_from_the_teachers_samples_and_logits()
    {
        using var dir = new TempDir();
        // Same tokenizer, a smaller student whose embedding has 8 padding rows more than the teacher's (as Qwen2.5 sizes differ).
        string student = OtherModel(dir, "student", tokenizerFrom: TinyModels.Path);
        string data = dir.Sub("data.jsonl");
        File.WriteAllLines(data, EmbeddedTask.ColdStartExamples(12, 1).Select(e =>
            new JsonObject { ["prompt"] = e.Prompt, ["completion"] = e.Completion }.ToJsonString()));
        // The teacher: the 2-layer model fine-tuned on the same samples, so its next-token distribution is far from the student's.
        var sft = new SftOptions { MaxLength = 256, BatchSize = 2, MaxSteps = 20, Optimizer = new() { LearningRate = 1e-2 }, LogEvery = 1, EvalShare = 0, CheckpointEvery = 100, Seed = 3 };
        string teacher = SftRecipe.Run(sft with { Data = data }, TinyModels.Path, dir.Sub("teacher"), RunSettings.Quiet()).ModelDirectory;
        var options = new DistillOptions { Teacher = teacher, KlWeight = 0.5, KlTemperature = 2.0, Sft = sft };
        string output = dir.Sub("out");
        var result = DistillRecipe.Run(options, student, data, output, RunSettings.Quiet());
        Assert.Equal(20, result.Steps);
        Assert.True(File.Exists(Path.Combine(result.ModelDirectory, "config.json")));
        var steps = File.ReadAllLines(Path.Combine(output, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!).Where(m => m["kl"] is not null).ToList();
        Assert.Equal(20, steps.Count);
        double Loss(JsonNode m) => m["loss"]!.GetValue<double>();
        foreach (var m in steps)   // loss = (1 − α)·CE + α·τ²·KL
            Assert.Equal(0.5 * m["ce_loss"]!.GetValue<double>() + 0.5 * m["kl"]!.GetValue<double>(), Loss(m), 4);
        Assert.True(Loss(steps[^1]) < 0.8 * Loss(steps[0]), $"loss {Loss(steps[0]):F3} → {Loss(steps[^1]):F3}");
        Assert.True(steps[^1]["kl"]!.GetValue<double>() < steps[0]["kl"]!.GetValue<double>(),
            string.Join(" ", steps.Select(m => $"{m["ce_loss"]!.GetValue<double>():F3}/{m["kl"]!.GetValue<double>():F4}")));
    }
}

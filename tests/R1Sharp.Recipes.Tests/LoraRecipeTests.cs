using System.Text.Json.Nodes;
using R1Sharp.Model;
using R1Sharp.Recipes.Config;
using R1Sharp.Recipes.Grpo;
using R1Sharp.Recipes.Sft;
using R1Sharp.Rewards.Rules;
using R1Sharp.Tasks.Arithmetic;
using R1Sharp.Training.Optim;
using R1Sharp.Training.Runs;
using static TorchSharp.torch;

namespace R1Sharp.Recipes.Tests;

/// <summary>SFT and GRPO with LoRA adapters: only the adapters train and are checkpointed; the run ends with adapter/ and a merged model/.</summary>
public class LoraRecipeTests
{
    static readonly LoraOptions QV = new() { R = 4, Alpha = 8, TargetModules = ["q_proj", "v_proj"] };

    static SftOptions Sft => new()
    {
        MaxLength = 192, BatchSize = 2, MaxSteps = 8, Optimizer = new() { LearningRate = 2e-2, WarmupRatio = 0 }, LogEvery = 1, CheckpointEvery = 2,
        EvalShare = 0, Seed = 7, Lora = QV,
    };

    static GrpoOptions Grpo => new()
    {
        TrainPrompts = 64, PromptsPerStep = 2, Generations = 4, Sampling = new() { MaxNewTokens = 10 }, Steps = 3, EvalPrompts = 2, EvalSamples = 1,
        EvalSampling = new() { MaxNewTokens = 10, Temperature = 0.6, TopP = 0.95 }, MicroBatchSize = 4, CheckpointEvery = 1, Beta = 0.01,
        Optimizer = new() { LearningRate = 1e-2, Schedule = ScheduleKind.Constant }, Seed = 5, Lora = QV with { UseRslora = true }, // no dropout: it draws from torch's global generator, which tests running alongside share
    };

    static IReadOnlyList<SftRecord> Data(int n) => SftRecord.FromExamples(EmbeddedTask.ColdStartExamples(n, 0));

    static Dictionary<string, Tensor> Tensors(string file)
    {
        var header = SafeTensors.ReadHeader(file);
        using var stream = File.OpenRead(file);
        return header.Entries.ToDictionary(e => e.Name, e => SafeTensors.Read(header, e, stream));
    }

    static Dictionary<string, byte[]> Bytes(string file)
    {
        var header = SafeTensors.ReadHeader(file);
        var bytes = File.ReadAllBytes(file);
        return header.Entries.ToDictionary(e => e.Name, e => bytes.AsSpan((int)(header.DataStart + e.Begin), (int)e.Length).ToArray());
    }

    /// <summary>
    /// model/ is the base with W + s·B·A in the adapted layers (B, A from adapter/), every other tensor the base's bit for bit —
    /// the base never moved — and the checkpoint holds the adapter and its optimiser state, no model weights.
    /// </summary>
    static void CheckLoraRunFolder(string output, double scaling, int adaptedLayers)
    {
        Assert.False(File.Exists(Path.Combine(output, "checkpoint", Checkpoint.WeightsFile)));
        Assert.True(File.Exists(Path.Combine(output, "checkpoint", Lora.WeightsFile)));
        Assert.True(File.Exists(Path.Combine(output, "checkpoint", "optimizer.bin")));
        var adapter = Tensors(Path.Combine(output, "adapter", Lora.WeightsFile));
        Assert.Equal(2 * adaptedLayers, adapter.Count);
        Assert.All(adapter.Keys, k => Assert.StartsWith("base_model.model.model.layers.", k));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "adapter", Lora.ConfigFile)))!;
        Assert.Equal("LORA", (string)config["peft_type"]!);
        Assert.Equal(TinyModels.Path, (string)config["base_model_name_or_path"]!);

        var baseBytes = Bytes(Path.Combine(TinyModels.Path, Checkpoint.WeightsFile));
        var mergedBytes = Bytes(Path.Combine(output, "model", Checkpoint.WeightsFile));
        var merged = Tensors(Path.Combine(output, "model", Checkpoint.WeightsFile));
        var baseTensors = Tensors(Path.Combine(TinyModels.Path, Checkpoint.WeightsFile));
        Assert.Equal(baseBytes.Keys.Order(), mergedBytes.Keys.Order());
        int changed = 0;
        foreach (var (name, bytes) in baseBytes)
        {
            var module = "base_model.model." + name[..^".weight".Length];
            if (adapter.TryGetValue(module + ".lora_A.weight", out var a))
            {
                var expected = baseTensors[name] + scaling * matmul(adapter[module + ".lora_B.weight"], a);
                Assert.True((merged[name] - expected).abs().max().item<float>() < 1e-6, name);
                if (!bytes.SequenceEqual(mergedBytes[name])) changed++;
            }
            else Assert.True(bytes.SequenceEqual(mergedBytes[name]), $"{name} moved");
        }
        Assert.True(changed > 0, "the adapters learned nothing");
    }

    [Fact]
    public void Lora_sft_trains_only_the_adapter_and_writes_adapter_and_merged_model()
    {
        using var tmp = new TempDir();
        var log = new List<string>();
        var result = SftRecipe.Run(Sft, TinyModels.Path, tmp.Path, RunSettings.Quiet(log.Add), examples: Data(8));
        var metrics = File.ReadAllLines(tmp.Sub("metrics.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.True(metrics[^1]["loss"]!.GetValue<double>() < metrics[0]["loss"]!.GetValue<double>() - 0.05, string.Join(", ", metrics.Select(m => m["loss"]!.ToJsonString())));
        Assert.Contains(log, l => l.StartsWith("LoRA: 4 adapted layers, r 4, scaling 2"));
        CheckLoraRunFolder(tmp.Path, 2.0, adaptedLayers: 4);
        Assert.Equal(tmp.Sub("model"), result.ModelDirectory);
        // AdamW holds two moments per adapter weight only: 4 layers × (4·32 + 32·4 or 16·4) floats, a few KB, not the model's.
        long adapterFloats = Tensors(tmp.Sub("adapter/" + Lora.WeightsFile)).Values.Sum(t => t.numel());
        long modelFloats = Tensors(tmp.Sub("model/" + Checkpoint.WeightsFile)).Values.Sum(t => t.numel());
        long optimizerBytes = new FileInfo(tmp.Sub("checkpoint/optimizer.bin")).Length;
        Assert.InRange(optimizerBytes, 2 * 4 * adapterFloats, 2 * 4 * adapterFloats + 4096);
        Assert.True(optimizerBytes < 2 * 4 * modelFloats / 10);
    }

    [Fact]
    public void Lora_sft_resumed_after_an_interruption_ends_with_the_same_adapter()
    {
        using var tmp = new TempDir();
        var data = Data(8);
        SftRecipe.Run(Sft, TinyModels.Path, tmp.Sub("straight"), RunSettings.Quiet(_ => { }), examples: data);
        using var cts = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() => SftRecipe.Run(Sft, TinyModels.Path, tmp.Sub("interrupted"),
            RunSettings.Quiet(line => { if (line.StartsWith("step 5/")) cts.Cancel(); }, cancel: cts.Token), examples: data));
        var log = new List<string>();
        SftRecipe.Run(Sft, TinyModels.Path, tmp.Sub("interrupted"), RunSettings.Quiet(log.Add, resume: true), examples: data);
        Assert.Contains(log, l => l.StartsWith("resumed from") && l.EndsWith("at step 4"));
        var a = Bytes(tmp.Sub("straight/adapter/" + Lora.WeightsFile));
        var b = Bytes(tmp.Sub("interrupted/adapter/" + Lora.WeightsFile));
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        foreach (var (k, v) in a) Assert.True(v.SequenceEqual(b[k]), k);
    }

    [Fact]
    public void Lora_sft_in_bfloat16_keeps_a_bfloat16_base_and_float32_adapters()
    {
        using var tmp = new TempDir();
        SftRecipe.Run(Sft with { MaxSteps = 6 }, TinyModels.Path, tmp.Path, RunSettings.Quiet(_ => { }) with { Dtype = ScalarType.BFloat16 }, examples: Data(6));
        var metrics = File.ReadAllLines(tmp.Sub("metrics.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.True(metrics[^1]["loss"]!.GetValue<double>() < metrics[0]["loss"]!.GetValue<double>());
        Assert.All(SafeTensors.ReadHeader(tmp.Sub("adapter/" + Lora.WeightsFile)).Entries, e => Assert.Equal(ScalarType.Float32, e.DType));
        Assert.All(SafeTensors.ReadHeader(tmp.Sub("model/" + Checkpoint.WeightsFile)).Entries, e => Assert.Equal(ScalarType.BFloat16, e.DType));
        Assert.False(File.Exists(tmp.Sub("checkpoint/" + Checkpoint.WeightsFile))); // no float32 master of the base
    }

    [Fact]
    public void Lora_grpo_checkpoints_only_the_adapter_and_resumes_to_the_same_adapter()
    {
        using var tmp = new TempDir();
        var rewards = new WeightedRewards([new WeightedReward(new GrpoRecipeTests.DigitShare()), new WeightedReward(new FormatReward(FormatPattern.R1ZeroLoose))]);
        GrpoRecipe.Run(Grpo, TinyModels.Path, tmp.Sub("straight"), RunSettings.Quiet(), customRewards: rewards);
        CheckLoraRunFolder(tmp.Sub("straight"), 8 / Math.Sqrt(4), adaptedLayers: 4);

        using var cts = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() => GrpoRecipe.Run(Grpo, TinyModels.Path, tmp.Sub("interrupted"),
            RunSettings.Quiet(line => { if (line.StartsWith("step 2/")) cts.Cancel(); }, cancel: cts.Token), customRewards: rewards));
        GrpoRecipe.Run(Grpo, TinyModels.Path, tmp.Sub("interrupted"), RunSettings.Quiet(resume: true), customRewards: rewards);
        var a = Bytes(tmp.Sub("straight/adapter/" + Lora.WeightsFile));
        var b = Bytes(tmp.Sub("interrupted/adapter/" + Lora.WeightsFile));
        foreach (var (k, v) in a) Assert.True(v.SequenceEqual(b[k]), k);
    }

    [Fact]
    public void Lora_section_is_validated_with_file_line_and_field()
    {
        using var tmp = new TempDir();
        var path = tmp.Sub("sft.yaml");
        File.WriteAllText(path, "learning_rate: 1e-4\nlora:\n  r: 0\n  alpha: 16\n  dropout: 1.5\n  target_modules: []\n");
        var e = Assert.Throws<ConfigException>(() => ConfigBinder.Load(new SftOptions(), path));
        Assert.Contains("lora.r", e.Message);
        Assert.Contains("lora.dropout", e.Message);
        Assert.Contains("lora.target_modules", e.Message);
        Assert.Contains("sft.yaml: line 3", e.Message);

        File.WriteAllText(path, "lora:\n  rank: 8\n");
        Assert.Contains("rank", Assert.Throws<ConfigException>(() => ConfigBinder.Load(new GrpoOptions(), path)).Message);

        File.WriteAllText(path, "lora:\n  r: 8\n  alpha: 16\n  target_modules: [q_proj, v_proj]\n  use_rslora: true\n");
        var o = ConfigBinder.Load(new GrpoOptions(), path);
        Assert.Equal((8, 16.0, true), (o.Lora!.R, o.Lora.Alpha, o.Lora.UseRslora));
        Assert.Equal(["q_proj", "v_proj"], o.Lora.TargetModules);
        Assert.Equal(16 / Math.Sqrt(8), o.Lora.Scaling, 12);
    }

    [Fact]
    public void Pipeline_stages_take_a_lora_section()
    {
        using var tmp = new TempDir();
        var path = tmp.Sub("pipeline.yaml");
        File.WriteAllText(path, "r1_zero:\n  lora:\n    r: 8\nsft:\n  lora:\n    target_modules: [q_proj]\nfinal_rl:\n  grpo:\n    lora:\n      r: 0\n");
        var e = Assert.Throws<ConfigException>(() => ConfigBinder.Load(new Pipeline.PipelineOptions(), path));
        Assert.Contains("final_rl.grpo.lora.r", e.Message);
        File.WriteAllText(path, File.ReadAllText(path).Replace("r: 0", "r: 4"));
        var o = ConfigBinder.Load(new Pipeline.PipelineOptions(), path);
        Assert.Equal((8, 4), (o.R1Zero.Lora!.R, o.FinalRl.Grpo.Lora!.R));
        Assert.Equal(["q_proj"], o.Sft.Lora!.TargetModules);
        Assert.Null(o.ReasoningRl.Lora);
    }

    [Fact]
    public void Unknown_target_module_stops_the_run_before_training_naming_the_field()
    {
        using var tmp = new TempDir();
        var e = Assert.Throws<InvalidDataException>(() => SftRecipe.Run(Sft with { Lora = QV with { TargetModules = ["qkv"] } }, TinyModels.Path, tmp.Path,
            RunSettings.Quiet(_ => { }), examples: Data(4)));
        Assert.Contains("lora.target_modules: 'qkv' is not a linear layer", e.Message);
    }
}

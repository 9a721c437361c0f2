using System.Text.Json.Nodes;
using R1Sharp.Model;
using R1Sharp.Tests;
using TorchSharp;

namespace R1Sharp.Cli.Tests;

/// <summary>
/// LoRA under MPICH's <c>mpiexec</c> (docs/lora.md, docs/distributed.md): a <c>lora:</c> GRPO run (β &gt; 0: the reference is
/// the base without adapters) and a <c>lora:</c> SFT run on 2 ranks end with the adapter of the same run in one process — every
/// tensor of <c>adapter/adapter_model.safetensors</c> together within 1e-5 relative (‖Δ‖/‖w‖), each element within 1e-4 of the
/// adapter's largest weight — and the same per-step loss and gradient norm (1e-4 relative).
/// </summary>
public class LoraDistributedTests
{
    static readonly Dictionary<string, string> OneThread = new() { ["OMP_NUM_THREADS"] = "1" };

    static CliResult Single(string[] args)
    {
        using var child = CliRunner.Start(OneThread, args);
        return child.Finish();
    }

    static CliResult Mpi(string[] args)
    {
        using var child = CliRunner.StartMpi(2, OneThread, args);
        if (!child.Process.WaitForExit(TimeSpan.FromSeconds(240)))
            throw new TimeoutException($"mpiexec -n 2 r1sharp {string.Join(' ', args)} did not finish in 240 s");
        return child.Finish();
    }

    static Dictionary<string, torch.Tensor> Adapter(string run)
    {
        string path = Path.Combine(run, "adapter", Lora.WeightsFile);
        var header = SafeTensors.ReadHeader(path);
        using var file = File.OpenRead(path);
        return header.Entries.ToDictionary(e => e.Name, e => SafeTensors.Read(header, e, file));
    }

    /// <summary>
    /// Both adapters hold the same tensors: as one vector within <paramref name="relative"/> of the one-process run's
    /// (‖a − b‖₂ ≤ relative · ‖b‖₂), and every element within <paramref name="elementwise"/> × the adapter's largest |w| (B starts
    /// at zero, so a tensor's own scale would be too strict). The elements get more room than in DistributedTests' whole-model
    /// comparison: AdamW moves a weight whose gradient is near its ε (1e-8) by lr · g / (|g| + ε), so the order in which the
    /// ranks' gradients are summed shows in such weights of a freshly trained adapter (measured: ‖Δ‖/‖w‖ 5e-7, the largest
    /// element 2e-5 × max |w|, in one lora_B of the GRPO run).
    /// </summary>
    static void AssertSameAdapter(string expected, string actual, double relative, double elementwise = 1e-4)
    {
        var (a, b) = (Adapter(expected), Adapter(actual));
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        Assert.Contains(a.Keys, k => k.EndsWith(".lora_B.weight", StringComparison.Ordinal));
        double norm = 0, diffNorm = 0, largest = a.Values.Max(x => (double)x.abs().max().item<float>()), worst = 0;
        string worstName = "";
        foreach (var (name, x) in a)
        {
            var d = (x.to(torch.ScalarType.Float64) - b[name].to(torch.ScalarType.Float64));
            if (name.EndsWith(".lora_B.weight", StringComparison.Ordinal))
                Assert.True(x.abs().max().item<float>() > 0, $"{name} is still zero: the adapter did not train");
            norm += x.to(torch.ScalarType.Float64).square().sum().item<double>();
            diffNorm += d.square().sum().item<double>();
            double diff = d.abs().max().item<double>();
            if (diff > worst) (worst, worstName) = (diff, name);
        }
        string report = $"‖Δ‖ / ‖w‖ = {Math.Sqrt(diffNorm / norm):E3}; max |Δ| {worst:E3} ({worstName}) = {worst / largest:E3} × the adapter's max |w| {largest:E3}";
        Assert.True(Math.Sqrt(diffNorm) <= relative * Math.Sqrt(norm) && worst <= elementwise * largest, report);
    }

    static void AssertSameSteps(string expected, string actual, string key, int steps)
    {
        static List<JsonNode> Lines(string run, string key) =>
            File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!).Where(j => j[key] is not null && j["grad_norm"] is not null).ToList();
        var (a, b) = (Lines(expected, key), Lines(actual, key));
        Assert.Equal(steps, a.Count);
        Assert.Equal(steps, b.Count);
        for (int i = 0; i < steps; i++)
            foreach (var k in new[] { "loss", "grad_norm" })
            {
                double x = (double)a[i][k]!, y = (double)b[i][k]!;
                Assert.True(Math.Abs(x - y) <= 1e-4 * Math.Max(1e-3, Math.Abs(x)), $"step {i + 1} {k}: {x} in one process, {y} on two ranks");
            }
    }

    [Fact]
    public void Lora_grpo_and_sft_on_two_ranks_end_with_the_adapter_of_one_process()
    {
        using var temp = new TempDir();
        var pretrain = CliRunner.Run(TimeSpan.FromSeconds(120), "pretrain", "--output", temp.File("base"), "--threads", "1", "--set", "steps=1",
            "--set", "corpus_documents=100", "--set", "vocab_size=300", "--set", "seed=1");
        Assert.True(pretrain.ExitCode == 0, pretrain.ToString());
        string model = Path.Combine(temp.File("base"), "model");
        string[] lora = ["--set", "lora.r=4", "--set", "lora.alpha=8", "--set", "lora.target_modules=[q_proj, v_proj, gate_proj, down_proj]"];

        string[] grpo =
        [
            "grpo", "--model", model, "--threads", "1", "--set", "steps=3", "--set", "checkpoint_every=2",
            "--set", "prompts_per_step=5", "--set", "generations=4", "--set", "sampling.max_new_tokens=24", "--set", "eval_prompts=0",
            "--set", "learning_rate=0.002", "--set", "micro_batch_size=3", "--set", "seed=5", "--set", "train_prompts=50",
            "--set", "rewards=[repetition, cosine]", "--set", "beta=0.05", .. lora,
        ];
        var one = Single([.. grpo, "--output", temp.File("grpo-one")]);
        Assert.True(one.ExitCode == 0, one.ToString());
        var two = Mpi([.. grpo, "--output", temp.File("grpo-two")]);
        Assert.True(two.ExitCode == 0, two.ToString());
        Assert.Contains("step 3: weights identical on all 2 ranks", two.Stdout);
        Assert.Equal(File.ReadAllLines(Path.Combine(temp.File("grpo-one"), "completions.jsonl")), File.ReadAllLines(Path.Combine(temp.File("grpo-two"), "completions.jsonl")));
        AssertSameSteps(temp.File("grpo-one"), temp.File("grpo-two"), "reward", 3);
        AssertSameAdapter(temp.File("grpo-one"), temp.File("grpo-two"), 1e-5);

        string[] sft =
        [
            "sft", "--model", model, "--threads", "1", "--data", "cold-start", "--data-examples", "40", "--max-length", "128",
            "--batch-size", "2", "--gradient-accumulation-steps", "2", "--set", "max_steps=4", "--set", "checkpoint_every=2",
            "--set", "log_every=1", "--set", "seed=3", "--set", "learning_rate=0.002", .. lora,
        ];
        one = Single([.. sft, "--output", temp.File("sft-one")]);
        Assert.True(one.ExitCode == 0, one.ToString());
        two = Mpi([.. sft, "--output", temp.File("sft-two")]);
        Assert.True(two.ExitCode == 0, two.ToString());
        Assert.Contains("step 4: weights identical on all 2 ranks", two.Stdout);
        AssertSameSteps(temp.File("sft-one"), temp.File("sft-two"), "loss", 4);
        AssertSameAdapter(temp.File("sft-one"), temp.File("sft-two"), 1e-5);
    }
}

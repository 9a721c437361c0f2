using System.Diagnostics;
using System.Text.Json.Nodes;
using R1Sharp.Model;
using R1Sharp.Training.State;
using R1Sharp.Tests;
using TorchSharp;

namespace R1Sharp.Cli.Tests;

/// <summary>
/// Data-parallel runs under MPICH's <c>mpiexec</c> (docs/distributed.md), with the real built <c>r1sharp</c> on every
/// rank, each rank on one thread: the collectives against values each rank can compute from its rank, an SFT and a
/// pretraining run on 2 ranks against the same run in one process (same global batch), and a rank killed with
/// <c>kill -9</c> ending the whole job while the last complete checkpoint stays loadable.
/// </summary>
public class DistributedTests
{
    static readonly Dictionary<string, string> OneThread = new() { ["OMP_NUM_THREADS"] = "1" };

    static CliResult Mpi(int ranks, params string[] args) => Mpi(ranks, OneThread, args);

    static CliResult Mpi(int ranks, Dictionary<string, string> environment, params string[] args) => Mpi(ranks, environment, 180, args);

    static CliResult Mpi(int ranks, Dictionary<string, string> environment, int seconds, params string[] args)
    {
        using var child = CliRunner.StartMpi(ranks, environment, args);
        if (!child.Process.WaitForExit(TimeSpan.FromSeconds(seconds)))
            throw new TimeoutException($"mpiexec -n {ranks} r1sharp {string.Join(' ', args)} did not finish in {seconds} s");
        return child.Finish();
    }

    [Theory]
    [InlineData(2, 1000, 1000)]   // 4 buckets of 250 floats: the tensor spans several buckets
    [InlineData(3, 3001, 4000)]   // a bucket shared by the end of one tensor and the bfloat16 one
    public void Collectives_on_n_ranks_give_every_rank_the_reduced_broadcast_and_gathered_values(int ranks, int elements, int bucketBytes)
    {
        using var temp = new TempDir();
        var r = Mpi(ranks, "collectives", "--output", temp.Path, "--elements", elements.ToString(), "--bucket-bytes", bucketBytes.ToString());
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains($"collectives: {ranks} rank(s), backend mpi", r.Stdout);
        double s = ranks * (ranks + 1) / 2.0; // Σ_r (r + 1)
        for (int rank = 0; rank < ranks; rank++)
        {
            var json = JsonNode.Parse(File.ReadAllText(temp.File($"rank-{rank}.json")))!;
            Assert.Equal(rank, (int)json["rank"]!);
            Assert.Equal(ranks, (int)json["size"]!);
            Assert.Equal(rank, (int)json["local_rank"]!); // one host: Hydra numbers the local ranks as the global ones
            Assert.Equal("mpi", (string)json["backend"]!);
            var sum = json["sum"]!.AsArray().Select(v => (double)v!).ToArray();
            Assert.Equal(elements, sum.Length);
            for (int i = 0; i < elements; i++) Assert.Equal(s * i, sum[i]); // integers: exact in float32
            var average = json["average"]!.AsArray().Select(v => (double)v!).ToArray();
            for (int i = 0; i < elements; i++) Assert.True(Math.Abs(average[i] - s * i / ranks) <= 1e-6 * Math.Max(1, s * i / ranks), $"average[{i}] = {average[i]}");
            Assert.All(json["bfloat16_sum"]!.AsArray(), v => Assert.Equal(ranks * ranks / 2.0, (double)v!)); // Σ_r (r + ½)
            Assert.Equal([ranks, 0.0], json["max"]!.AsArray().Select(v => (double)v!));
            Assert.Equal(Enumerable.Range(0, 7).Select(i => 1000.0 * (ranks - 1) + i), json["broadcast"]!.AsArray().Select(v => (double)v!));
            Assert.Equal("rank 0", (string)json["broadcast_object"]!);
            Assert.Equal(Enumerable.Range(0, ranks).Select(k => $"rank {k} of {ranks}"), json["gathered"]!.AsArray().Select(v => (string)v!));
        }
    }

    [Fact]
    public void Without_a_launcher_the_backend_is_a_single_process_and_a_stray_world_size_is_refused()
    {
        using var temp = new TempDir();
        var r = CliRunner.Ok("collectives", "--output", temp.Path);
        Assert.Contains("collectives: 1 rank(s), backend single", r.Stdout);
        var json = JsonNode.Parse(File.ReadAllText(temp.File("rank-0.json")))!;
        Assert.Equal(999.0, (double)json["sum"]![999]!); // rank 0 alone: a[i] = i

        using var child = CliRunner.Start(new Dictionary<string, string> { ["WORLD_SIZE"] = "4" }, "collectives", "--output", temp.Path);
        var refused = child.Finish();
        Assert.Equal(1, refused.ExitCode);
        Assert.StartsWith("error: WORLD_SIZE=4 is set but this process was not started by an MPI launcher", refused.Stderr);
    }

    [Fact]
    public void A_missing_MPI_library_is_named_and_ends_every_rank()
    {
        using var temp = new TempDir();
        var r = Mpi(2, new Dictionary<string, string>(OneThread) { ["R1SHARP_MPI_LIBRARY"] = "libmpi-not-here.so.7" }, "collectives", "--output", temp.Path);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("error: MPI backend: cannot load libmpi-not-here.so.7", r.Stderr);
    }

    static string BaseModel(string dir, string preset = "1m")
    {
        var r = CliRunner.Run(TimeSpan.FromSeconds(120), "pretrain", "--output", dir, "--threads", "1", "--set", "steps=1", "--set", "corpus_documents=100",
            "--set", "vocab_size=300", "--set", "seed=1", "--set", $"preset={preset}");
        Assert.True(r.ExitCode == 0, r.ToString());
        return Path.Combine(dir, "model");
    }

    static string[] SftArgs(string model, int steps, int checkpointEvery) =>
    [
        "sft", "--model", model, "--threads", "1", "--data", "cold-start", "--data-examples", "40", "--max-length", "128",
        "--batch-size", "2", "--gradient-accumulation-steps", "2", "--set", $"max_steps={steps}", "--set", $"checkpoint_every={checkpointEvery}",
        "--set", "log_every=1", "--set", "seed=3", "--set", "learning_rate=0.003",
    ];

    /// <summary>
    /// The weights of <paramref name="actual"/> equal <paramref name="expected"/>'s within <paramref name="relative"/>: as one
    /// vector (‖a − b‖₂ ≤ relative · ‖b‖₂), and every element (|a − b| ≤ relative · the model's largest |w|; a tensor's own
    /// scale would be too strict for biases that start at zero).
    /// </summary>
    static void AssertSameWeights(string expected, string actual, double relative)
    {
        bool scorer = File.ReadAllText(Path.Combine(expected, Checkpoint.ConfigFile)).Contains("ForSequenceClassification", StringComparison.Ordinal);
        using torch.nn.Module a = scorer ? Checkpoint.LoadScorer(expected) : Checkpoint.Load(expected);
        using torch.nn.Module b = scorer ? Checkpoint.LoadScorer(actual) : Checkpoint.Load(actual);
        var pa = a.named_parameters().ToList();
        var pb = b.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Assert.Equal(pa.Count, pb.Count);
        double norm = 0, diffNorm = 0, largest = pa.Max(p => (double)p.parameter.abs().max().item<float>());
        foreach (var (name, p) in pa)
        {
            var d = (p.to(torch.ScalarType.Float64) - pb[name].to(torch.ScalarType.Float64));
            norm += p.to(torch.ScalarType.Float64).square().sum().item<double>();
            diffNorm += d.square().sum().item<double>();
            double diff = d.abs().max().item<double>();
            Assert.True(diff <= relative * largest, $"{name}: max |Δ| {diff:E3} > {relative:E0} × max |w| {largest:E3}");
        }
        Assert.True(Math.Sqrt(diffNorm) <= relative * Math.Sqrt(norm), $"‖Δ‖ {Math.Sqrt(diffNorm):E3} > {relative:E0} × ‖w‖ {Math.Sqrt(norm):E3}");
    }

    /// <summary>
    /// Each step's loss and gradient norm (before clipping) in both runs' metrics.jsonl agree: the norm shows a wrongly
    /// scaled reduction (e.g. an average where a sum is due), which AdamW's scale invariance would hide in the weights.
    /// </summary>
    static void AssertSameSteps(string expected, string actual, int steps)
    {
        static List<JsonNode> StepLines(string run) =>
            File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!).Where(j => j["grad_norm"] is not null).ToList();
        var (a, b) = (StepLines(expected), StepLines(actual));
        Assert.Equal(steps, a.Count);
        Assert.Equal(steps, b.Count);
        for (int i = 0; i < steps; i++)
            foreach (var key in new[] { "loss", "grad_norm" })
            {
                double x = (double)a[i][key]!, y = (double)b[i][key]!;
                Assert.True(Math.Abs(x - y) <= 1e-4 * Math.Abs(x), $"step {i + 1} {key}: {x} in one process, {y} on two ranks");
            }
    }

    [Fact]
    public void Sft_on_two_ranks_ends_with_the_weights_of_one_process_on_the_same_global_batch()
    {
        using var temp = new TempDir();
        string model = BaseModel(temp.File("base"));
        string one = temp.File("one"), two = temp.File("two");
        using (var single = CliRunner.Start(OneThread, [.. SftArgs(model, 4, 2), "--output", one]))
        {
            var r = single.Finish();
            Assert.True(r.ExitCode == 0, r.ToString());
        }
        var mpi = Mpi(2, [.. SftArgs(model, 4, 2), "--output", two]);
        Assert.True(mpi.ExitCode == 0, mpi.ToString());

        AssertSameWeights(Path.Combine(one, "model"), Path.Combine(two, "model"), 1e-5);
        AssertSameSteps(one, two, 4);
        Assert.Throws<Xunit.Sdk.TrueException>(() => AssertSameWeights(model, Path.Combine(two, "model"), 1e-5)); // it trained
        // Both ranks held bit-identical weights at each checkpoint (every rank hashes its own; the run fails otherwise).
        Assert.Contains("step 2: weights identical on all 2 ranks", mpi.Stdout);
        Assert.Contains("step 4: weights identical on all 2 ranks", mpi.Stdout);
        // Rank 0 alone reported and wrote: one line per step in metrics.jsonl, one final line on the console.
        Assert.Equal(4, File.ReadAllLines(Path.Combine(two, "metrics.jsonl")).Count(l => JsonNode.Parse(l)?["loss"] is not null));
        Assert.Single(mpi.Stdout.Split('\n'), l => l.StartsWith($"model: {Path.Combine(two, "model")}", StringComparison.Ordinal));
        var summaries = (JsonNode.Parse(File.ReadAllText(Path.Combine(one, "summary.json")))!, JsonNode.Parse(File.ReadAllText(Path.Combine(two, "summary.json")))!);
        Assert.Equal((double)summaries.Item1["train_loss"]!, (double)summaries.Item2["train_loss"]!, 1e-4);
        Assert.Equal(4, (int)summaries.Item2["steps"]!);

        // Distillation runs through SFT with a per-token KL term: also summed over ranks (the teacher: the model just trained).
        string data = temp.Write("distill.jsonl", [.. Enumerable.Range(0, 24).Select(i =>
            $"{{\"prompt\": \"What is {i} + {2 * i}? \", \"completion\": \"{i} + {2 * i} = {3 * i}. The answer is {3 * i}.\"}}")]);
        string[] distill = ["distill", "--student", model, "--teacher", Path.Combine(one, "model"), "--data", data, "--kl-weight", "0.5",
            "--threads", "1", "--set", "sft.batch_size=2", "--set", "sft.gradient_accumulation_steps=2", "--set", "sft.max_steps=3",
            "--set", "sft.log_every=1", "--set", "sft.max_length=64"];
        using (var single = CliRunner.Start(OneThread, [.. distill, "--output", temp.File("distill-one")]))
        {
            var r = single.Finish();
            Assert.True(r.ExitCode == 0, r.ToString());
        }
        var distilled = Mpi(2, [.. distill, "--output", temp.File("distill-two")]);
        Assert.True(distilled.ExitCode == 0, distilled.ToString());
        AssertSameWeights(Path.Combine(temp.File("distill-one"), "model"), Path.Combine(temp.File("distill-two"), "model"), 1e-5);
        AssertSameSteps(temp.File("distill-one"), temp.File("distill-two"), 3);
    }

    [Fact]
    public void Reward_model_training_and_rejection_sampling_on_several_ranks_give_the_one_process_results()
    {
        using var temp = new TempDir();
        string model = BaseModel(temp.File("base"));

        // Reward model: 6 pairs a step (2 micro-batches of 3 in one process; 3 + 3 pairs on two ranks), center_rewards on.
        string[] rm = ["rm", "--model", model, "--threads", "1", "--set", "data=arithmetic", "--set", "data_pairs=60", "--set", "batch_size=3",
            "--set", "gradient_accumulation_steps=2", "--set", "max_steps=3", "--set", "log_every=1", "--set", "learning_rate=0.001",
            "--set", "center_rewards_coefficient=0.01", "--set", "max_length=128", "--set", "seed=4"];
        using (var single = CliRunner.Start(OneThread, [.. rm, "--output", temp.File("rm-one")]))
        {
            var r = single.Finish();
            Assert.True(r.ExitCode == 0, r.ToString());
        }
        var rmTwo = Mpi(2, [.. rm, "--output", temp.File("rm-two")]);
        Assert.True(rmTwo.ExitCode == 0, rmTwo.ToString());
        AssertSameWeights(Path.Combine(temp.File("rm-one"), "model"), Path.Combine(temp.File("rm-two"), "model"), 1e-5);
        AssertSameSteps(temp.File("rm-one"), temp.File("rm-two"), 3);
        Assert.Contains("step 3: weights identical on all 2 ranks", rmTwo.Stdout);

        // Rejection sampling: 7 prompts split 3 + 2 + 2 over three ranks, decoded 6 rows at a time in one process; rank 0
        // writes the one data file and candidates file, in prompt order, byte for byte the one-process run's.
        string[] sample = ["sample", "--model", model, "--threads", "1", "--set", "prompts=7", "--set", "samples=3", "--set", "sampling.max_new_tokens=16",
            "--set", "require_correct=false", "--set", "require_format=false", "--set", "general_examples=2", "--set", "drop_truncated=false",
            "--set", "min_language_consistency=0", "--set", "min_repetition_penalty=-1", "--set", "max_per_prompt=3", "--set", "max_batch_rows=6",
            "--set", "drop_code_blocks=false", "--set", "seed=2"];
        using (var single = CliRunner.Start(OneThread, [.. sample, "--output", temp.File("rs-one")]))
        {
            var r = single.Finish();
            Assert.True(r.ExitCode == 0, r.ToString());
        }
        var rsThree = Mpi(3, [.. sample, "--output", temp.File("rs-three")]);
        Assert.True(rsThree.ExitCode == 0, rsThree.ToString());
        foreach (var file in new[] { "data.jsonl", "candidates.jsonl" })
            Assert.Equal(File.ReadAllLines(Path.Combine(temp.File("rs-one"), file)), File.ReadAllLines(Path.Combine(temp.File("rs-three"), file)));
        Assert.Equal(23, File.ReadAllLines(Path.Combine(temp.File("rs-three"), "data.jsonl")).Length); // 7 × 3 sampled + 2 general rows
        var completions = File.ReadAllLines(Path.Combine(temp.File("rs-one"), "candidates.jsonl"))
            .SelectMany(l => JsonNode.Parse(l)!["samples"]!.AsArray().Select(x => (string)x!["completion"]!)).ToList();
        Assert.True(completions.Distinct().Count() > 15, "the samples are not varied"); // sampled, not one repeated string
        Assert.Empty(Directory.GetFiles(temp.File("rs-three"), "candidates.rank-*")); // merged into candidates.jsonl
    }

    [Fact]
    public void A_three_rank_sft_run_killed_after_a_checkpoint_resumes_on_two_ranks_to_the_weights_of_an_uninterrupted_run()
    {
        using var temp = new TempDir();
        string model = BaseModel(temp.File("base"));
        string one = temp.File("one"), run = temp.File("run");
        using (var single = CliRunner.Start(OneThread, [.. SftArgs(model, 6, 2), "--output", one]))
        {
            var r = single.Finish();
            Assert.True(r.ExitCode == 0, r.ToString());
        }

        // 3 ranks (4 rows a step: 2 + 1 + 1) until the first checkpoint exists, then kill -9 of the launcher's job.
        string tag = Guid.NewGuid().ToString("N");
        using (var job = CliRunner.StartMpi(3, new Dictionary<string, string>(OneThread) { ["R1SHARP_TEST_TAG"] = tag }, [.. SftArgs(model, 6, 2), "--output", run]))
        {
            var wait = Stopwatch.StartNew();
            while (TrainingCheckpoint.Find(Path.Combine(run, "checkpoint")) is null)
            {
                Assert.False(job.Process.HasExited, "the 3-rank job ended before its first checkpoint");
                Assert.True(wait.Elapsed < TimeSpan.FromSeconds(120), "no checkpoint after 120 s");
                Thread.Sleep(10);
            }
            Process.GetProcessById(RankProcess(tag, 2)).Kill();
            Assert.True(job.Process.WaitForExit(TimeSpan.FromSeconds(30)));
        }
        Assert.False(File.Exists(Path.Combine(run, "summary.json")), "the 3-rank job finished before it was killed");
        int resumedAt = StepOf(TrainingCheckpoint.Find(Path.Combine(run, "checkpoint")));

        var resumed = Mpi(2, [.. SftArgs(model, 6, 2), "--output", run, "--resume"]);
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Contains($"at step {resumedAt}", resumed.Stdout);
        AssertSameWeights(Path.Combine(one, "model"), Path.Combine(run, "model"), 1e-5);
        Assert.Contains("step 6: weights identical on all 2 ranks", resumed.Stdout);
    }

    [Theory]
    [InlineData("1m")]
    [InlineData("dsv3-1m")] // DeepSeek-V3: the routing biases move by the global batch's expert load on every rank
    public void Pretraining_on_two_ranks_ends_with_the_weights_of_one_process_on_the_same_global_batch(string preset)
    {
        using var temp = new TempDir();
        string[] args = ["pretrain", "--threads", "1", "--set", "steps=3", "--set", "corpus_documents=100", "--set", "vocab_size=300",
            "--set", "seed=2", "--set", "batch_size=5", "--set", "checkpoint_every=2", "--set", "log_every=1", "--set", $"preset={preset}"];
        string one = temp.File("one"), two = temp.File("two");
        using (var single = CliRunner.Start(OneThread, [.. args, "--output", one]))
        {
            var r = single.Finish();
            Assert.True(r.ExitCode == 0, r.ToString());
        }
        var mpi = Mpi(2, [.. args, "--output", two]); // 5 rows: 3 on rank 0, 2 on rank 1
        Assert.True(mpi.ExitCode == 0, mpi.ToString());
        AssertSameWeights(Path.Combine(one, "model"), Path.Combine(two, "model"), 1e-5);
        AssertSameSteps(one, two, 3);
        Assert.Contains("step 3: weights identical on all 2 ranks", mpi.Stdout);
        Assert.Equal(File.ReadAllText(Path.Combine(one, "tokenizer", "tokenizer.json")), File.ReadAllText(Path.Combine(two, "tokenizer", "tokenizer.json")));
    }

    [Fact]
    public void A_rank_killed_with_kill_9_ends_the_job_within_30_s_and_the_last_complete_checkpoint_loads()
    {
        using var temp = new TempDir();
        string model = BaseModel(temp.File("base"));
        string run = temp.File("run"), checkpoint = Path.Combine(run, "checkpoint");
        string tag = Guid.NewGuid().ToString("N");
        using var job = CliRunner.StartMpi(2, new Dictionary<string, string>(OneThread) { ["R1SHARP_TEST_TAG"] = tag },
            [.. SftArgs(model, 400, 1), "--output", run]);

        // Wait for a checkpoint after step 2, then SIGKILL rank 1 (found by its environment).
        var wait = Stopwatch.StartNew();
        while (StepOf(TrainingCheckpoint.Find(checkpoint)) < 2)
        {
            Assert.False(job.Process.HasExited, $"the job ended before its second checkpoint\n{(job.Process.HasExited ? job.Finish().ToString() : "")}");
            Assert.True(wait.Elapsed < TimeSpan.FromSeconds(120), "no checkpoint after 120 s");
            Thread.Sleep(20);
        }
        int rank1 = RankProcess(tag, 1), rank0 = RankProcess(tag, 0);
        var killedAt = Stopwatch.StartNew();
        Process.GetProcessById(rank1).Kill();
        Assert.True(job.Process.WaitForExit(TimeSpan.FromSeconds(30)), "mpiexec still runs 30 s after rank 1 was killed");
        var elapsed = killedAt.Elapsed;
        var r = job.Finish();
        Assert.NotEqual(0, r.ExitCode);
        Assert.True(ProcessGone(rank0), "rank 0 outlived the job");
        Assert.True(elapsed < TimeSpan.FromSeconds(30), $"the job took {elapsed.TotalSeconds:F1} s to end");

        var found = TrainingCheckpoint.Find(checkpoint);
        Assert.NotNull(found);
        Assert.DoesNotContain(".tmp-", found);
        Assert.True(StepOf(found) >= 2);
        using (var loaded = Checkpoint.Load(found!)) Assert.True(loaded.Config.NumLayers > 0);
        Assert.False(File.Exists(Path.Combine(run, "summary.json")));
    }

    /// <summary>
    /// A GRPO run on a random base model: cosine's length-scaled reward gives the groups different rewards (so the steps have
    /// gradients); 5 prompts a step split 3 + 2 (or 2 + 2 + 1) between ranks; dynamic sampling drops the groups whose
    /// rewards are all equal and samples more; REINFORCE++-baseline whitens over the tokens of the whole step, bnpo
    /// normalises per micro-batch of 3 completions (micro-batches that straddle the ranks), and β &gt; 0 adds the KL term.
    /// </summary>
    static string[] GrpoArgs(string model, int steps, int checkpointEvery) =>
    [
        "grpo", "--model", model, "--threads", "1", "--set", $"steps={steps}", "--set", $"checkpoint_every={checkpointEvery}",
        "--set", "prompts_per_step=5", "--set", "generations=4", "--set", "sampling.max_new_tokens=24", "--set", "eval_prompts=0",
        "--set", "learning_rate=0.001", "--set", "micro_batch_size=3", "--set", "seed=5", "--set", "train_prompts=50",
        "--set", "rewards=[repetition, cosine]", "--set", "dynamic_sampling=true", "--set", "advantage=reinforce_plus_plus_baseline",
        "--set", "loss_type=bnpo", "--set", "beta=0.05",
    ];

    static void AssertSameGrpoSteps(string expected, string actual, int steps)
    {
        static List<JsonNode> Lines(string run) => File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!).Where(j => j["reward"] is not null).ToList();
        var (a, b) = (Lines(expected), Lines(actual));
        Assert.Equal(steps, a.Count);
        Assert.Equal(steps, b.Count);
        Assert.Contains(a, j => (double)j["grad_norm"]! > 0); // some step trained
        for (int i = 0; i < steps; i++)
            foreach (var key in new[] { "reward", "reward_std", "completion_length", "frac_reward_zero_std", "groups", "loss", "grad_norm", "kl", "entropy", "clip_ratio/region" })
            {
                double x = (double)a[i][key]!, y = (double)b[i][key]!;
                Assert.True(Math.Abs(x - y) <= 1e-4 * Math.Max(1e-3, Math.Abs(x)), $"step {i + 1} {key}: {x} in one process, {y} on several ranks");
            }
    }

    [Theory]
    [InlineData("1m")]
    [InlineData("dsv3-1m")] // the balancing term's shares over 3 + 2 prompts, and the routing biases, as in one process
    public void Grpo_on_two_ranks_samples_the_same_completions_and_ends_with_the_weights_of_one_process(string preset)
    {
        using var temp = new TempDir();
        string model = BaseModel(temp.File("base"), preset);
        string one = temp.File("one"), two = temp.File("two");
        using (var single = CliRunner.Start(OneThread, [.. GrpoArgs(model, 3, 2), "--output", one]))
        {
            var r = single.Finish();
            Assert.True(r.ExitCode == 0, r.ToString());
        }
        var mpi = Mpi(2, [.. GrpoArgs(model, 3, 2), "--output", two]);
        Assert.True(mpi.ExitCode == 0, mpi.ToString());

        // Each completion is drawn from (seed, its prompt's place in the stream, its sample index) alone: rank 0 writes every
        // rank's completions, in the one-process order, with the same rewards and advantages.
        Assert.Equal(File.ReadAllLines(Path.Combine(one, "completions.jsonl")), File.ReadAllLines(Path.Combine(two, "completions.jsonl")));
        AssertSameWeights(Path.Combine(one, "model"), Path.Combine(two, "model"), 1e-5);
        AssertSameGrpoSteps(one, two, 3);
        Assert.Throws<Xunit.Sdk.TrueException>(() => AssertSameWeights(model, Path.Combine(two, "model"), 1e-5)); // it trained
        Assert.Contains("step 2: weights identical on all 2 ranks", mpi.Stdout);
        Assert.Contains("step 3: weights identical on all 2 ranks", mpi.Stdout);
        Assert.Equal(3, File.ReadAllLines(Path.Combine(two, "metrics.jsonl")).Count(l => JsonNode.Parse(l)?["reward"] is not null));
    }

    [Fact]
    public void A_three_rank_grpo_run_killed_after_a_checkpoint_resumes_on_two_ranks_to_the_weights_of_one_process()
    {
        using var temp = new TempDir();
        string model = BaseModel(temp.File("base"));
        string one = temp.File("one"), run = temp.File("run");
        using (var single = CliRunner.Start(OneThread, [.. GrpoArgs(model, 6, 2), "--output", one]))
        {
            var r = single.Finish();
            Assert.True(r.ExitCode == 0, r.ToString());
        }

        string tag = Guid.NewGuid().ToString("N");
        using (var job = CliRunner.StartMpi(3, new Dictionary<string, string>(OneThread) { ["R1SHARP_TEST_TAG"] = tag }, [.. GrpoArgs(model, 6, 2), "--output", run]))
        {
            var wait = Stopwatch.StartNew();
            while (TrainingCheckpoint.Find(Path.Combine(run, "checkpoint")) is null)
            {
                Assert.False(job.Process.HasExited, "the 3-rank job ended before its first checkpoint");
                Assert.True(wait.Elapsed < TimeSpan.FromSeconds(120), "no checkpoint after 120 s");
                Thread.Sleep(10);
            }
            Process.GetProcessById(RankProcess(tag, 1)).Kill();
            Assert.True(job.Process.WaitForExit(TimeSpan.FromSeconds(30)));
        }
        Assert.False(File.Exists(Path.Combine(run, "summary.json")), "the 3-rank job finished before it was killed");
        int resumedAt = StepOf(TrainingCheckpoint.Find(Path.Combine(run, "checkpoint")));
        Assert.True(resumedAt < 6);

        var resumed = Mpi(2, [.. GrpoArgs(model, 6, 2), "--output", run, "--resume"]);
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Contains($"at step {resumedAt}", resumed.Stdout);
        AssertSameWeights(Path.Combine(one, "model"), Path.Combine(run, "model"), 1e-5);
        Assert.Contains("step 6: weights identical on all 2 ranks", resumed.Stdout);
        // The completions log holds each step once: those of the killed job up to the checkpoint, then the resumed run's.
        Assert.Equal(File.ReadAllLines(Path.Combine(one, "completions.jsonl")), File.ReadAllLines(Path.Combine(run, "completions.jsonl")));
    }

    /// <summary>R1SHARP_MPI_PIPELINE_TEST=1: the whole <c>--quick</c> pipeline on 2 ranks (about 2.5 minutes on 2 loaded cores); otherwise its first two stages.</summary>
    static readonly bool WholePipeline = Environment.GetEnvironmentVariable("R1SHARP_MPI_PIPELINE_TEST") == "1";

    [Fact]
    public void The_pipeline_under_mpiexec_runs_its_stages_on_every_rank_and_rank_0_writes_one_summary()
    {
        using var temp = new TempDir();
        string config = Path.Combine(RepoPaths.Root, "configs", "pipeline-embedded.yaml");
        string run = temp.File("run");
        string[] args = ["pipeline", "run", config, "--output", run, "--quick", "--threads", "1", "--verbose"]; // a failure shows its trace
        if (!WholePipeline) args = [.. args, "--until", "r1-zero", "--set", "base.steps=8"];
        var r = Mpi(2, new Dictionary<string, string>(OneThread), WholePipeline ? 900 : 180, args);
        Assert.True(r.ExitCode == 0, r.ToString());

        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "summary.json")))!;
        var status = summary["stages"]!.AsArray().ToDictionary(s => (string)s!["stage"]!, s => (string)s!["status"]!);
        var expectDone = WholePipeline ? status.Keys.ToList() : ["base", "r1-zero"];
        foreach (var (stage, state) in status) Assert.Equal(expectDone.Contains(stage) ? "done" : "pending", state);
        // Data-parallel stages: the ranks checked that they hold the same weights; one line per stage from rank 0 alone.
        Assert.Contains("weights identical on all 2 ranks", r.Stdout);
        Assert.Single(r.Stdout.Split('\n'), l => l.StartsWith("[2/9] r1-zero: done", StringComparison.Ordinal));
        Assert.True(File.Exists(Path.Combine(run, "r1-zero", "model", "model.safetensors")));
        Assert.Contains(File.ReadAllLines(Path.Combine(run, "r1-zero", "metrics.jsonl")), l => JsonNode.Parse(l)?["reward"] is not null);
        if (WholePipeline)
        {
            Assert.Equal(7, summary["table"]!.AsArray().Count); // every model evaluated (on rank 0)
            Assert.True(File.Exists(Path.Combine(run, "report.html")));
            Assert.True(File.Exists(Path.Combine(run, "rejection-sampling", "data.jsonl")));
            Assert.Empty(Directory.GetFiles(Path.Combine(run, "rejection-sampling"), "candidates.rank-*"));
        }

        // A rerun on another number of ranks skips what is done.
        var again = Mpi(3, new Dictionary<string, string>(OneThread), args);
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Contains("[2/9] r1-zero: done earlier, skipped", again.Stdout);
    }

    static int StepOf(string? checkpoint) => checkpoint is null
        ? -1
        : JsonNode.Parse(File.ReadAllText(Path.Combine(checkpoint, "trainer_state.json")))!["step"]!.GetValue<int>();

    /// <summary>The pid of the r1sharp process of rank <paramref name="rank"/> among those started with R1SHARP_TEST_TAG=<paramref name="tag"/>.</summary>
    static int RankProcess(string tag, int rank)
    {
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            try
            {
                var environ = File.ReadAllText(Path.Combine(dir, "environ")).Split('\0');
                if (environ.Contains($"R1SHARP_TEST_TAG={tag}") && environ.Contains($"PMI_RANK={rank}") &&
                    File.ReadAllText(Path.Combine(dir, "cmdline")).Contains("r1sharp.dll", StringComparison.Ordinal))
                    return pid;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
        throw new InvalidOperationException($"no process of rank {rank} found");
    }

    static bool ProcessGone(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return p.WaitForExit(TimeSpan.FromSeconds(5));
        }
        catch (ArgumentException) { return true; }
    }
}

using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using R1Sharp.Model;
using R1Sharp.Training.State;

namespace R1Sharp.Cli.Tests;

/// <summary>
/// <c>kill -9</c> at any moment, then <c>--resume</c> (the trainers issue, section 6): the real <c>r1sharp grpo</c> runs as a
/// child process on a tiny model with a fixed seed and a checkpoint after every step, and is SIGKILLed several times —
/// once while a checkpoint is being written (its staging folder exists), then at random moments. After each kill the
/// last complete checkpoint must be found (never a staging folder), the next <c>--resume</c> must continue from exactly
/// that one, and the finished run must end with the same weights (bit for bit, CPU) and the same completions log as an
/// uninterrupted run with the same seed. The children run libtorch on one thread (OMP_NUM_THREADS=1): on a busy machine two
/// threads per process are several times slower, and one thread keeps every reduction in a fixed order.
/// </summary>
public class KillResumeTests
{
    static readonly string[] GrpoArgs =
    [
        "--set", "steps=16", "--set", "checkpoint_every=1", "--set", "prompts_per_step=2", "--set", "generations=4",
        "--set", "sampling.max_new_tokens=16", "--set", "eval_sampling.max_new_tokens=16", "--set", "train_prompts=64", "--set", "eval_prompts=2", "--set", "eval_samples=1",
        "--set", "learning_rate=0.001", "--set", "micro_batch_size=4", "--set", "seed=5",
        // A reward that varies on a barely trained model (completion length: DAPO's soft overlong punishment), so that
        // advantages, gradients and the optimiser state are not all zero.
        "--set", "rewards=[{name: overlong, options: {max_completion_len: 16, soft_punish_cache: 8}}]",
    ];

    static readonly Dictionary<string, string> OneThread = new() { ["OMP_NUM_THREADS"] = "1" };

    [Fact]
    public void Grpo_killed_at_random_moments_resumes_from_the_last_complete_checkpoint_to_the_same_weights()
    {
        using var temp = new TempDir();
        string baseModel = BaseModel(temp.File("base"));

        // The uninterrupted run.
        string reference = temp.File("reference");
        using (var uninterrupted = CliRunner.Start(OneThread, ["grpo", "--model", baseModel, "--output", reference, .. GrpoArgs]))
        {
            var r = uninterrupted.Finish();
            Assert.True(r.ExitCode == 0, r.ToString());
        }

        // Killed three times, resumed after each, then run to the end.
        string run = temp.File("run"), checkpoint = Path.Combine(run, "checkpoint");
        var rng = new Random(Environment.TickCount);
        int kills = 0, resumedAt = -1;
        for (int attempt = 0; attempt < 4; attempt++)
        {
            using var child = CliRunner.Start(OneThread, ["grpo", "--model", baseModel, "--output", run, .. GrpoArgs, .. attempt > 0 ? new[] { "--resume" } : []]);
            int startStep = Math.Max(0, resumedAt);
            bool killed = attempt < 3 && KillWhen(child.Process, () =>
            {
                // Only once this run has saved a checkpoint of its own, so every attempt makes progress.
                if (StepOf(TrainingCheckpoint.Find(checkpoint)) <= startStep) return false;
                return attempt == 0
                    ? Directory.GetDirectories(run, ".checkpoint.tmp-*").Length > 0      // a checkpoint is being written
                    : true;
            }, attempt == 0 ? 0 : rng.Next(0, 300));
            var (exit, stdout, stderr) = child.Finish();
            if (attempt > 0)
            {
                // It continued from the checkpoint that was the last complete one when the previous attempt died.
                var m = Regex.Match(stdout, @"resumed from (\S+) at step (\d+)");
                Assert.True(m.Success, $"attempt {attempt} did not resume\n{stdout}\n{stderr}");
                Assert.Equal(resumedAt, int.Parse(m.Groups[2].Value));
            }
            if (!killed)
            {
                Assert.True(exit == 0, $"attempt {attempt}: exit {exit}\n{stdout}\n{stderr}");
                break;
            }
            kills++;

            // What --resume will take: a complete checkpoint (never a staging folder), at most one step behind the last
            // step the run reported (a checkpoint follows each step's log line; the kill may land during its save).
            var found = TrainingCheckpoint.Find(checkpoint);
            Assert.NotNull(found);
            Assert.DoesNotContain(".tmp-", found);
            int step = StepOf(found);
            var logged = Regex.Matches(stdout, @"^step (\d+)/", RegexOptions.Multiline).Select(x => int.Parse(x.Groups[1].Value)).DefaultIfEmpty(0).Max();
            Assert.InRange(step, Math.Max(startStep + 1, logged - 1), Math.Max(startStep + 1, logged));
            foreach (var file in new[] { "config.json", "model.safetensors", "trainer_state.json", "optimizer.bin", "rng.bin" })
                Assert.True(File.Exists(Path.Combine(found!, file)), $"{found} lacks {file}");
            using (var model = Checkpoint.Load(found!)) Assert.True(model.Config.NumLayers > 0);
            resumedAt = step;
        }
        Assert.Equal(3, kills);

        // Same final weights as the uninterrupted run, bit for bit, and the same samples at every step.
        var expected = File.ReadAllBytes(Path.Combine(reference, "model", "model.safetensors"));
        Assert.NotEqual(File.ReadAllBytes(Path.Combine(baseModel, "model.safetensors")), expected); // training changed the weights
        Assert.True(expected.AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(run, "model", "model.safetensors"))),
            "the resumed run's final weights differ from the uninterrupted run's");
        Assert.Equal(File.ReadAllLines(Path.Combine(reference, "completions.jsonl")), File.ReadAllLines(Path.Combine(run, "completions.jsonl")));
        // The staging folders the kills left behind were cleaned up by later saves.
        Assert.Equal(["checkpoint"], Directory.GetDirectories(run, "*checkpoint*").Select(Path.GetFileName));
        Assert.Equal(16, File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Count(l => JsonNode.Parse(l)?["reward"] is not null));
    }

    /// <summary>Polls <paramref name="ready"/> every millisecond or so; once it holds, waits <paramref name="delayMs"/> and SIGKILLs the process. False if it exited first.</summary>
    static bool KillWhen(Process process, Func<bool> ready, int delayMs)
    {
        var deadline = Stopwatch.StartNew();
        while (!process.HasExited)
        {
            if (deadline.Elapsed > TimeSpan.FromSeconds(60)) throw new TimeoutException("the run neither finished nor reached the kill point");
            if (ready())
            {
                if (delayMs > 0) Thread.Sleep(delayMs);
                if (process.HasExited) return false;
                process.Kill(); // SIGKILL on Unix
                process.WaitForExit();
                return true;
            }
            Thread.Sleep(1);
        }
        return false;
    }

    static int StepOf(string? checkpoint) => checkpoint is null
        ? -1
        : JsonNode.Parse(File.ReadAllText(Path.Combine(checkpoint, "trainer_state.json")))!["step"]!.GetValue<int>();

    /// <summary>A 1m-preset base: `r1sharp pretrain` for a few steps (enough to emit EOS often, so completion lengths vary).</summary>
    static string BaseModel(string dir)
    {
        using var pretrain = CliRunner.Start(OneThread, "pretrain", "--output", dir, "--set", "steps=3", "--set", "corpus_documents=200",
            "--set", "vocab_size=400", "--set", "seed=1");
        var r = pretrain.Finish();
        Assert.True(r.ExitCode == 0, r.ToString());
        return Path.Combine(dir, "model");
    }
}

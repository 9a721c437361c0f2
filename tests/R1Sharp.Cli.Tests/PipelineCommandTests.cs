using System.Text.Json.Nodes;
using R1Sharp.Tests;

namespace R1Sharp.Cli.Tests;

public class PipelineCommandTests
{
    static readonly string Config = Path.Combine(RepoPaths.Root, "configs", "pipeline-embedded.yaml");

    /// <summary>The quick pipeline, smaller still, so that the suite stays fast; every stage runs for real.</summary>
    static readonly string[] Tiny =
    [
        "--quick", "--threads", "2",
        "--set", "base.steps=30", "--set", "distill.student_base.steps=10", "--set", "eval.prompts=8",
    ];

    [Fact]
    public void Quick_pipeline_runs_every_stage_then_skips_them_on_a_rerun()
    {
        string dir = Directory.CreateTempSubdirectory("r1sharp-pipeline-").FullName;
        try
        {
            var first = CliRunner.Run(TimeSpan.FromMinutes(8), ["pipeline", "run", Config, "--output", dir, .. Tiny]);
            Assert.True(first.ExitCode == 0, first.ToString());
            var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "summary.json")))!;
            Assert.All(summary["stages"]!.AsArray(), s => Assert.Equal("done", s!["status"]!.GetValue<string>()));
            var rows = summary["table"]!.AsArray().Select(r => r!["row"]!.GetValue<string>()).ToList();
            Assert.Equal(["base", "r1-zero", "cold-start", "reasoning-rl", "sft", "r1", "distilled-student", "rl-only-student"], rows);
            foreach (var row in summary["table"]!.AsArray())
            {
                Assert.Equal(2, row!["k"]!.GetValue<int>());
                Assert.Equal(8, row["prompts"]!.GetValue<int>());
                Assert.InRange(row["pass@1"]!.GetValue<double>(), 0, 1);
                Assert.True(File.Exists(Path.Combine(dir, row["model"]!.GetValue<string>(), "model.safetensors")), row.ToJsonString());
                Assert.True(File.Exists(Path.Combine(dir, "eval", row["row"]!.GetValue<string>(), "samples.jsonl")));
                // the hard split (quick: 8 prompts) and the held-out judges' scores, in every row
                Assert.Equal(8, row["hard_prompts"]!.GetValue<int>());
                Assert.InRange(row["hard_pass@1"]!.GetValue<double>(), 0, 1);
                Assert.True(File.Exists(Path.Combine(dir, "eval", row["row"]!.GetValue<string>(), "hard", "samples.jsonl")));
                Assert.InRange(row["helpfulness"]!.GetValue<double>(), 0, 1);
                Assert.InRange(row["harmlessness"]!.GetValue<double>(), 0, 1);
                // turns 1–4 of held-out conversations for the rows asked in the plain layout, none for the R1-Zero-template ones
                bool r1ZeroTemplate = row["row"]!.GetValue<string>() is "base" or "r1-zero" or "rl-only-student";
                if (r1ZeroTemplate) Assert.Null(row["turn_accuracy"]);
                else Assert.Equal(4, row["turn_accuracy"]!.AsArray().Count);
            }
            var sft = File.ReadAllLines(Path.Combine(dir, "sft", "data.jsonl")).Select(l => JsonNode.Parse(l)!["prompt"]!.GetValue<string>()).ToList();
            Assert.Contains(sft, prompt => prompt.Split("\nAssistant:").Length > 2);   // multi-turn examples
            Assert.Contains(sft, prompt => prompt.Split("\nAssistant:").Length == 2);  // and single-turn ones
            Assert.True(File.Exists(Path.Combine(dir, "eval", "judge-helpfulness", "model", "model.safetensors")));
            Assert.True(File.Exists(Path.Combine(dir, "eval", "judge-harmlessness", "model", "model.safetensors")));
            Assert.NotEmpty(File.ReadAllLines(Path.Combine(dir, "reasoning-rl", "difficulty.jsonl")));
            Assert.Contains("hard p@1", first.Stdout);
            // the student is smaller than the teacher, and shares its tokenizer
            long Params(string row) => summary["table"]!.AsArray().Single(r => r!["row"]!.GetValue<string>() == row)!["params"]!.GetValue<long>();
            Assert.True(Params("distilled-student") < Params("r1"));
            Assert.Equal(File.ReadAllText(Path.Combine(dir, "base", "model", "tokenizer.json")), File.ReadAllText(Path.Combine(dir, "distill", "model", "tokenizer.json")));
            // the stage data: cold-start rows, rejection-sampled rows with provenance, reward models, the report
            Assert.NotEmpty(File.ReadAllLines(Path.Combine(dir, "cold-start", "data.jsonl")));
            var sampled = File.ReadAllLines(Path.Combine(dir, "rejection-sampling", "data.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
            Assert.Contains(sampled, r => r["kind"]!.GetValue<string>() == "general");
            Assert.All(sampled, r => Assert.NotNull(r["source_stage"]));
            Assert.True(File.Exists(Path.Combine(dir, "rm-helpfulness", "model", "model.safetensors")));
            Assert.True(File.Exists(Path.Combine(dir, "rm-harmlessness", "model", "model.safetensors")));
            Assert.Contains("Distilled student", first.Stdout);
            Assert.Contains("report: ", first.Stdout);
            Assert.True(new FileInfo(Path.Combine(dir, "report.html")).Length > 10_000);

            var weights = File.ReadAllBytes(Path.Combine(dir, "final-rl", "model", "model.safetensors"));
            var again = CliRunner.Run(TimeSpan.FromMinutes(2), ["pipeline", "run", Config, "--output", dir, .. Tiny]);
            Assert.True(again.ExitCode == 0, again.ToString());
            Assert.Equal(9, again.Stdout.Split('\n').Count(l => l.Contains("done earlier, skipped", StringComparison.Ordinal)));
            Assert.Equal(weights, File.ReadAllBytes(Path.Combine(dir, "final-rl", "model", "model.safetensors")));

            var evalAgain = CliRunner.Run(TimeSpan.FromMinutes(2), ["pipeline", "run", Config, "--output", dir, "--from", "eval", .. Tiny]);
            Assert.True(evalAgain.ExitCode == 0, evalAgain.ToString());
            Assert.Equal(8, evalAgain.Stdout.Split('\n').Count(l => l.Contains("done earlier, skipped", StringComparison.Ordinal)));
            Assert.Contains("[9/9] eval: done", evalAgain.Stdout);

            // A stage's config changed: refused, naming the stage, and nothing in the folder changes (config.yaml,
            // summary.json, report.html and every stage folder included).
            var before = Snapshot(dir);
            var changed = CliRunner.Run(TimeSpan.FromMinutes(2), ["pipeline", "run", Config, "--output", dir, .. Tiny, "--set", "sft.epochs=7"]);
            Assert.Equal(1, changed.ExitCode);
            Assert.Contains("stage 'sft' was done with another config", changed.Stderr);
            Assert.Contains("--from sft", changed.Stderr);
            Assert.Equal(before, Snapshot(dir));

            // --from with an input that is not sound (the reasoning-RL model, which rejection sampling reads, is gone):
            // refused before any later stage's folder is deleted.
            Directory.Move(Path.Combine(dir, "reasoning-rl", "model"), Path.Combine(dir, "reasoning-rl", "model.moved"));
            before = Snapshot(dir);
            var broken = CliRunner.Run(TimeSpan.FromMinutes(2), ["pipeline", "run", Config, "--output", dir, "--from", "rejection-sampling", .. Tiny]);
            Assert.Equal(1, broken.ExitCode);
            Assert.Contains("'reasoning-rl' is marked done but its model", broken.Stderr);
            Assert.Equal(before, Snapshot(dir));
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>Every file under <paramref name="dir"/> with its size and hash.</summary>
    static Dictionary<string, string> Snapshot(string dir) =>
        Directory.GetFiles(dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToDictionary(
            f => Path.GetRelativePath(dir, f), f => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f))));

    [Fact]
    public void A_bad_config_is_refused_before_anything_runs_with_every_error()
    {
        string dir = Directory.CreateTempSubdirectory("r1sharp-pipeline-").FullName;
        try
        {
            string config = Path.Combine(dir, "bad.yaml");
            File.WriteAllText(config, "r1_zero:\n  steps: -3\n  loss_type: ppo\nsft:\n  epochs: two\nunknown_stage: {}\n");
            var r = CliRunner.Run("pipeline", "run", config, "--output", Path.Combine(dir, "run"));
            Assert.Equal(1, r.ExitCode);
            Assert.Contains("r1_zero.steps", r.Stderr);
            Assert.Contains("r1_zero.loss_type", r.Stderr);
            Assert.Contains("sft.epochs", r.Stderr);
            Assert.Contains("unknown_stage", r.Stderr);
            Assert.False(Directory.Exists(Path.Combine(dir, "run")));
            Assert.Contains("unknown stage 'nowhere'", CliRunner.Fails("pipeline", "run", Config, "--output", Path.Combine(dir, "run2"), "--from", "nowhere"));
        }
        finally { Directory.Delete(dir, true); }
    }
}

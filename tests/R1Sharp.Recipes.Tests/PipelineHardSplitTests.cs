using System.Text.Json.Nodes;
using R1Sharp.Recipes.Pipeline;
using R1Sharp.Rewards;
using R1Sharp.Tasks;
using R1Sharp.Tasks.Arithmetic;

namespace R1Sharp.Recipes.Tests;

/// <summary>The hard split's columns, the per-step curves by chain length, and the held-out judges' win rates.</summary>
public class PipelineHardSplitTests
{
    [Fact]
    public void The_hard_split_is_evaluated_on_four_operation_held_out_chains_in_the_rows_template()
    {
        var o = new PipelineEvalOptions { HardPrompts = 12 };
        var hard = PipelineEvaluation.HardTask(o, PromptStyle.Plain)!;
        Assert.Equal(12, hard.Examples.Count);
        Assert.All(hard.Examples, e =>
        {
            Assert.Equal(4, PipelineCurves.Operations(e.Field("expression")!));
            Assert.StartsWith("arith-heldout-", e.Id);
            Assert.Equal("User: " + e.Question + "\nAssistant:", e.Prompt);
        });
        var standard = PipelineEvaluation.Task(o, PromptStyle.Plain);
        Assert.Empty(standard.Examples.Select(e => e.Field("expression")).Intersect(hard.Examples.Select(e => e.Field("expression"))));
        Assert.Null(PipelineEvaluation.HardTask(o with { HardPrompts = 0 }, PromptStyle.Plain));
        Assert.Null(PipelineEvaluation.HardTask(o with { Task = "gsm8k" }, PromptStyle.Plain)); // benchmarks have no hard split
    }

    [Theory]
    [InlineData("7 + 8 - 6", 2)]
    [InlineData("(5 + 8) × 2 - 3", 3)]
    [InlineData("(9 - 4 + 2) × 3 - 1", 4)]
    public void Operations_counts_the_signs_of_an_expression(string expression, int operations) =>
        Assert.Equal(operations, PipelineCurves.Operations(expression));

    [Fact]
    public void Difficulty_curves_average_the_accuracy_of_each_steps_samples_by_chain_length()
    {
        string dir = Directory.CreateTempSubdirectory("r1sharp-curves-").FullName;
        try
        {
            static TaskExample Ex(string id, string expression) =>
                new(id, "q", "p", new Dictionary<string, string> { ["answer"] = "1", ["expression"] = expression });
            var task = new TaskDefinition("t", [Ex("a", "1 + 2 - 3"), Ex("b", "1 + 2 + 3 + 4 - 5"), Ex("c", "(1 + 2) × 3 - 4 + 5")], [], new EvaluationMetric("accuracy"));
            string Row(int step, string id, double accuracy) =>
                new JsonObject { ["step"] = step, ["prompt_id"] = id, ["rewards"] = new JsonObject { ["accuracy"] = accuracy } }.ToJsonString();
            File.WriteAllLines(Path.Combine(dir, "completions.jsonl"),
            [
                Row(1, "a", 1), Row(1, "a", 0), Row(1, "b", 1), Row(1, "c", 0), Row(1, "c", 0), Row(1, "general-7", 1),
                Row(2, "b", 1), Row(2, "c", 1), "{\"step\": 3, \"prompt_id\": \"a\", \"rew",  // cut off by a kill
            ]);
            Assert.Equal(2, PipelineCurves.Write(dir, task));
            var lines = File.ReadAllLines(Path.Combine(dir, PipelineCurves.FileName)).Select(l => JsonNode.Parse(l)!).ToList();
            Assert.Equal(0.5, lines[0]["accuracy/ops=2"]!.GetValue<double>());
            Assert.Equal(2, lines[0]["samples/ops=2"]!.GetValue<int>());
            Assert.Equal(1.0 / 3, lines[0]["accuracy/ops=4"]!.GetValue<double>(), 12); // b: 1, c: 0, 0
            Assert.Equal(3, lines[0]["samples/ops=4"]!.GetValue<int>());
            Assert.Null(lines[1]["accuracy/ops=2"]);
            Assert.Equal(1.0, lines[1]["accuracy/ops=4"]!.GetValue<double>());
            Assert.Equal(0, PipelineCurves.Write(Path.Combine(dir, "nowhere"), task));
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>A judge that prefers longer replies: its scores are the reply lengths.</summary>
    sealed class LengthJudge : IReward
    {
        public string Name => "length";
        public IReadOnlyList<double?> Score(IReadOnlyList<RewardInput> batch, CancellationToken cancellationToken = default) =>
            [.. batch.Select(i => (double?)i.Completion.Length)];
    }

    [Fact]
    public void A_reply_wins_when_the_judge_scores_it_above_the_rejected_reply_ties_count_half()
    {
        static TaskExample Ex(string id, string category, string rejected) =>
            new(id, "q", "p", new Dictionary<string, string> { ["category"] = category, ["rejected"] = rejected, ["language"] = "en" });
        var task = new TaskDefinition("g", [Ex("h1", "helpful", "abc"), Ex("h2", "helpful", "abcdef"), Ex("r1", "harmless", "xy")], [], new EvaluationMetric("language"));
        var replies = new Dictionary<string, List<string>>
        {
            ["h1"] = ["abcd", "ab"],        // win, loss
            ["h2"] = ["123456", "1234567"], // tie, win
            ["r1"] = ["z"],                 // loss
        };
        var judges = new PipelineEvaluation.Judges(new LengthJudge(), new LengthJudge());
        var (helpful, harmless) = judges.Score(task, replies);
        Assert.Equal(2.5 / 4, helpful);
        Assert.Equal(0.0, harmless);
        Assert.Null(PipelineEvaluation.Judges.WinRate(new LengthJudge(), task, replies, "other"));
    }

    [Fact]
    public void The_console_table_shows_hard_and_judged_columns_only_when_measured()
    {
        var row = new TableRow { Row = "r1", Title = "R1 (final)", Params = 920_000, PassAt1 = 0.5, K = 8, Prompts = 64 };
        string plain = PipelineTable.Format([row]);
        Assert.DoesNotContain("hard p@1", plain);
        Assert.DoesNotContain("helpful", plain);
        string full = PipelineTable.Format([row with { HardPassAt1 = 0.375, HardConsAtK = 0.5, HardPrompts = 64, Helpfulness = 0.8 }]);
        Assert.Contains("hard p@1", full);
        Assert.Contains("37.5 %", full);
        Assert.Contains("80.0 %", full);
        Assert.Contains("—", full.Split('\n')[1]);  // harmlessness not measured
        Assert.Contains("hard: 64 held-out prompts", full);
    }
}

/// <summary>Multi-turn SFT and final-RL data.</summary>
public class MultiTurnDataTests
{
    [Theory]
    [InlineData("User: Compute 7 + 8\nAssistant:", "Compute 7 + 8")]
    [InlineData("User: a\nAssistant: b\nUser: c\nAssistant:", null)]
    [InlineData("A conversation between User and Assistant. User: q. Assistant:", null)]
    public void Question_reads_only_plain_single_turn_prompts(string prompt, string? question) =>
        Assert.Equal(question, MultiTurnData.Question(prompt));

    static readonly (string Prompt, string Completion)[] Pairs =
    [
        ("User: Compute 1 + 2\nAssistant:", "<think>\n1 + 2 = 3.\n</think>\nThe answer is \\boxed{3}."),
        ("User: Calcule 2 × 3\nAssistant:", "<think>\n2 × 3 = 6.\n</think>\nLa réponse est \\boxed{6}."),
        ("User: Say hello to Tom.\nAssistant:", "Hello, Tom!"),
        ("User: Compute 9 - 4\nAssistant:", "<think>\n9 - 4 = 5.\n</think>\nThe answer is \\boxed{5}."),
    ];

    [Fact]
    public void Sft_examples_keep_their_question_and_completion_after_earlier_turns_of_other_examples()
    {
        var all = MultiTurnData.Sft(Pairs, new MultiTurnOptions { Share = 1, MaxTurns = 4 }, 1);
        Assert.Equal(Pairs.Length, all.Count);
        string[] replies = ["The answer is \\boxed{3}.", "La réponse est \\boxed{6}.", "Hello, Tom!", "The answer is \\boxed{5}."];
        for (int i = 0; i < Pairs.Length; i++)
        {
            Assert.Equal(Pairs[i].Completion, all[i].Completion);
            Assert.EndsWith(Pairs[i].Prompt, all[i].Prompt);
            var turns = all[i].Prompt.Split("User: ")[1..^1];    // the earlier turns
            Assert.InRange(turns.Length, 1, 3);
            foreach (var turn in turns)
            {
                var (q, reply) = (turn[..turn.IndexOf('\n')], turn[(turn.IndexOf("\nAssistant: ") + 12)..].TrimEnd('\n'));
                int j = Array.FindIndex(Pairs, p => p.Prompt == "User: " + q + "\nAssistant:");
                Assert.NotEqual(i, j);                               // another example
                Assert.Equal(replies[j], reply);                     // its reply as chat keeps it: no thinking
            }
        }
        Assert.Equal(Pairs, MultiTurnData.Sft(Pairs, new MultiTurnOptions { Share = 0 }, 1));
        Assert.Equal(Pairs, MultiTurnData.Sft(Pairs, new MultiTurnOptions { Share = 1, MaxTurns = 1 }, 1));
        int multi = MultiTurnData.Sft([.. Enumerable.Repeat(Pairs, 100).SelectMany(p => p)], new MultiTurnOptions(), 2).Count(p => MultiTurnData.Question(p.Prompt) is null);
        Assert.InRange(multi, 160, 240);                              // half of 400
    }

    [Fact]
    public void Rl_prompts_get_earlier_problems_answered_with_their_gold_summary()
    {
        var task = EmbeddedTask.RlTask(50, 3, style: PromptStyle.Plain);
        var mixed = MultiTurnData.Rl(task.Examples, new MultiTurnOptions { Share = 1 }, 4);
        var byQuestion = task.Examples.GroupBy(e => e.Question).ToDictionary(g => g.Key, g => g.First());
        Assert.All(mixed.Zip(task.Examples), x =>
        {
            Assert.Equal(x.Second.Id, x.First.Id);
            Assert.Equal(x.Second.Reference, x.First.Reference);
            Assert.EndsWith(x.Second.Prompt, x.First.Prompt);
            foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(x.First.Prompt, @"User: ([^\n]+)\nAssistant: [^\n]*\\boxed\{(\d+)\}"))
                Assert.Equal(byQuestion[m.Groups[1].Value].Field("answer"), m.Groups[2].Value);
        });
        Assert.All(mixed, e => Assert.Null(MultiTurnData.Question(e.Prompt)));
    }
}

using R1Sharp.Rewards.Rules;
using R1Sharp.Tasks;

namespace R1Sharp.Tasks.Tests;

public class BenchmarkTests
{
    // DeepSeek-R1 paper, Table 1, with {prompt} = "What is 2 + 3?".
    private const string PaperPrompt =
        "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. The assistant first thinks about the reasoning process in the mind and then provides the user with the answer. The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags, respectively, i.e., <think> reasoning process here </think> <answer> answer here </answer>. User: What is 2 + 3?. Assistant:";

    [Fact]
    public void R1_zero_template_is_verbatim() => Assert.Equal(PaperPrompt, PromptTemplates.RenderR1Zero("What is 2 + 3?"));

    [Fact]
    public void Math_instruction_is_appended() =>
        Assert.Equal("Q\nPlease reason step by step, and put your final answer within \\boxed{}.", PromptTemplates.Render("Q", PromptStyle.MathInstruction));

    [Fact]
    public void Files_are_embedded() =>
        Assert.Equal(["README.md", "aime24_test.jsonl", "countdown_cd3_test.jsonl", "gsm8k_test.jsonl", "math500_test.jsonl"], EmbeddedData.Files);

    [Fact]
    public void Gsm8k_gold_is_after_the_marker_without_commas()
    {
        var task = Benchmarks.Get("gsm8k");
        Assert.Equal(1319, task.Examples.Count);
        Assert.Equal("18", task.Examples[0].Field("answer"));           // Janet's ducks
        Assert.Equal("2125", task.Examples[146].Field("answer"));       // "#### 2,125" in the file
        Assert.DoesNotContain(task.Examples, e => e.Field("answer")!.Contains(','));
        Assert.EndsWith("#### 18", task.Examples[0].Field("solution"));
        Assert.EndsWith(PromptTemplates.MathInstruction, task.Examples[0].Prompt);
        Assert.Equal("accuracy", task.Metric.RewardName);
    }

    [Fact]
    public void Math500_keeps_latex_gold_and_ids()
    {
        var task = Benchmarks.Math500();
        Assert.Equal(500, task.Examples.Count);
        Assert.Equal("test/precalculus/807.json", task.Examples[0].Id);
        Assert.Equal(@"\left( 3, \frac{\pi}{2} \right)", task.Examples[0].Field("answer"));
        Assert.Equal(500, task.Examples.Select(e => e.Id).Distinct().Count());
    }

    [Fact]
    public void Aime_answers_are_integers_without_leading_zeros()
    {
        var task = Benchmarks.Get("AIME-2024", PromptStyle.R1Zero);
        Assert.Equal(30, task.Examples.Count);
        Assert.Equal("204", task.Examples[0].Field("answer"));
        Assert.Equal("25", task.Examples.Single(e => e.Id == "aime24-67").Field("answer")); // "025" in the file
        Assert.Contains(task.Rewards, r => r.Name == "r1_zero_format");
        Assert.StartsWith("A conversation between User and Assistant.", task.Examples[0].Prompt);
    }

    [Fact]
    public void Countdown_test_set()
    {
        var task = Benchmarks.Get("countdown");
        Assert.Equal(256, task.Examples.Count);
        Assert.Equal("30,100,93", task.Examples[0].Field("numbers"));
        Assert.Equal("23", task.Examples[0].Field("target"));
        var reward = new CountdownReward();
        Assert.Equal(0.1, reward.Score([task.Examples[0].ToRewardInput("<answer> 100 - 93 + 30 - 14 </answer>")])[0]); // 14 is not given
        Assert.Equal(0.1, reward.Score([task.Examples[0].ToRewardInput("<answer> 100 - 93 + 30 </answer>")])[0]);      // 37
        Assert.Equal(1.0, reward.Score([task.Examples[0].ToRewardInput("<answer> 30 - (100 - 93) </answer>")])[0]); // 30 − 7 = 23
    }

    [Fact]
    public void Unknown_benchmark_names_the_known_ones() =>
        Assert.Contains("gsm8k", Assert.Throws<ArgumentException>(() => Benchmarks.Get("mmlu")).Message);
}

public class CountdownTaskTests
{
    [Fact]
    public void Generated_problems_are_deterministic_and_solvable()
    {
        var a = CountdownTask.Generate(200, seed: 5);
        var b = CountdownTask.Generate(200, seed: 5);
        Assert.Equal(a.Examples.Select(e => e.Prompt), b.Examples.Select(e => e.Prompt));
        Assert.NotEqual(a.Examples.Select(e => e.Prompt), CountdownTask.Generate(200, seed: 6).Examples.Select(e => e.Prompt));

        var reward = new CountdownReward();
        foreach (var e in a.Examples)
        {
            Assert.True(CountdownReward.TryParseNumbers(e.Field("numbers"), out var numbers));
            Assert.Equal(3, numbers.Count);
            Assert.All(numbers, n => Assert.InRange((int)n, 1, 100));
            Assert.InRange(int.Parse(e.Field("target")!), 1, 100);
            Assert.Equal(1.0, reward.Score([e.ToRewardInput($"<think> … </think> <answer> {e.Field("solution")} </answer>")])[0]);
        }
    }

    [Fact]
    public void Difficulty_settings_are_honoured_and_test_set_is_excluded()
    {
        var task = CountdownTask.Generate(100, seed: 1, new CountdownDifficulty(Numbers: 4, MinNumber: 1, MaxNumber: 20, MinTarget: 10, MaxTarget: 50));
        var test = Benchmarks.Get("countdown").Examples.Select(e => e.Field("numbers") + "=" + e.Field("target")).ToHashSet();
        foreach (var e in task.Examples)
        {
            Assert.Equal(4, e.Field("numbers")!.Split(',').Length);
            Assert.InRange(int.Parse(e.Field("target")!), 10, 50);
            Assert.DoesNotContain(e.Field("numbers") + "=" + e.Field("target"), test);
        }
    }
}

using R1Sharp.Engine;
using R1Sharp.Engine.Generation;
using R1Sharp.Recipes.Eval;
using R1Sharp.Tasks;
using R1Sharp.Tasks.Arithmetic;

namespace R1Sharp.Recipes.Tests.Eval;

/// <summary>pass@k, majority vote and per-problem scoring against hand-computed values.</summary>
public class MetricTests
{
    [Theory]
    [InlineData(5, 2, 2, 0.7)]                 // 1 − C(3,2)/C(5,2) = 1 − 3/10
    [InlineData(10, 3, 5, 1 - 21.0 / 252)]     // 1 − C(7,5)/C(10,5)
    [InlineData(16, 1, 16, 1.0)]               // n − c < k
    [InlineData(16, 0, 4, 0.0)]
    [InlineData(4, 4, 1, 1.0)]
    [InlineData(8, 3, 1, 3.0 / 8)]             // pass@1 = c / n
    public void PassAtK_IsTheUnbiasedEstimator(int n, int c, int k, double expected) =>
        Assert.Equal(expected, PassAtK.Estimate(n, c, k), 12);

    [Fact]
    public void Pass_at_k_equals_one_minus_the_binomial_ratio_exactly_computed()
    {
        for (int n = 1; n <= 64; n += 7)
            for (int c = 0; c <= n; c++)
                for (int k = 1; k <= n; k++)
                {
                    double exact = n - c < k ? 1.0 : 1.0 - (double)Binomial(n - c, k) / (double)Binomial(n, k);
                    Assert.Equal(exact, PassAtK.Estimate(n, c, k), 9);
                }
    }

    private static System.Numerics.BigInteger Binomial(int n, int k)
    {
        System.Numerics.BigInteger r = 1;
        for (int i = 1; i <= k; i++) r = r * (n - k + i) / i;
        return r;
    }

    [Fact]
    public void Pass_at_k_curve_is_powers_of_two_and_n()
    {
        Assert.Equal([1, 2, 4, 8, 16], PassAtK.Curve(16));
        Assert.Equal([1, 2, 4, 8, 10], PassAtK.Curve(10));
        Assert.Equal([1], PassAtK.Curve(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => PassAtK.Estimate(4, 5, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => PassAtK.Estimate(4, 1, 5));
    }

    [Fact]
    public void Majority_vote_most_votes_win_ties_go_to_the_earliest_no_answer_does_not_vote()
    {
        static string Key(string a) => a.Trim();
        Assert.Equal(new MajorityVote.Winner("7", 1, 3), MajorityVote.Vote([null, "7", "5", " 7", "5", "7 "], Key));
        Assert.Equal(new MajorityVote.Winner("5", 0, 2), MajorityVote.Vote(["5", "7", "7", "5"], Key)); // tie: 5 voted first
        Assert.Equal(new MajorityVote.Winner("7", 1, 2), MajorityVote.Vote([null, "7", "5", "5", "7"], Key));
        Assert.Null(MajorityVote.Vote([null, null], Key));
    }

    [Fact]
    public void Majority_vote_groups_equivalent_math_answers()
    {
        var scorer = new ProblemScorer(Benchmarks.Math500());
        var example = Benchmarks.Math500().Examples.First(e => e.Field("answer") == "\\frac{14}{3}");
        string[] texts = ["So \\boxed{\\frac{14}{3}}.", "\\boxed{4.6}", "\\boxed{\\dfrac{14}{3}}", "\\boxed{4.6}", "\\boxed{14/3}"];
        var result = scorer.Score(example, Result(texts));
        Assert.Equal([true, false, true, false, true], result.Samples.Select(s => s.Correct));
        Assert.Equal("\\frac{14}{3}", result.ConsAnswer); // three votes (\frac, \dfrac, 14/3) against two
        Assert.True(result.ConsCorrect);
        Assert.Equal(3, result.Correct);
        Assert.Equal(0.6, result.PassAt1, 12);
    }

    [Fact]
    public void Gsm8k_correctness_format_answer()
    {
        var task = Benchmarks.Gsm8k();
        var example = task.Examples[0]; // Janet's ducks: 18
        Assert.Equal("18", example.Field("answer"));
        string[] texts = ["She makes 9 * 2 = \\boxed{18} dollars.", "The answer is 17.", "16 - 3 - 4 = 9\n#### 18", "I think 18 or so", "No idea."];
        var result = new ProblemScorer(task).Score(example, Result(texts, tokens: [10, 20, 30, 40, 50]));
        Assert.Equal([true, false, true, true, false], result.Samples.Select(s => s.Correct));   // "I think 18" counts (last number)
        Assert.Equal([true, true, true, false, false], result.Samples.Select(s => s.Format));    // …but is not in a requested form
        Assert.Equal(["18", "17", "18", "18", null], result.Samples.Select(s => s.Answer));
        Assert.Equal([10, 20, 30, 40, 50], result.Samples.Select(s => s.Tokens));
        Assert.Equal("18", result.ConsAnswer);
        Assert.True(result.ConsCorrect);
        Assert.Null(result.Samples[0].Language);
    }

    [Fact]
    public void Countdown_correct_well_formed_and_votes_on_the_equation()
    {
        var task = CountdownTask.Generate(1, seed: 3);
        var example = task.Examples[0];
        string solution = example.Field("solution")!;
        string[] texts = [$"<think>try</think> <answer>{solution}</answer>", "<answer> 1 + 1 </answer>", "no tags", $"<answer>{solution.Replace(" ", "")}</answer>"];
        var result = new ProblemScorer(task).Score(example, Result(texts));
        Assert.Equal([true, false, false, true], result.Samples.Select(s => s.Correct));
        Assert.Equal([true, true, false, true], result.Samples.Select(s => s.Format)); // well-formed (reward > 0)
        Assert.Equal(solution, result.ConsAnswer);                                    // two votes once spaces are ignored
        Assert.True(result.ConsCorrect);
    }

    [Fact]
    public void Embedded_arithmetic_uses_its_grader_format_reward_and_language()
    {
        var task = EmbeddedTask.EvalTask(4, seed: 1);
        var example = task.Examples.First(e => e.Field("language") == "fr");
        string gold = example.Field("answer")!;
        string[] texts =
        [
            $"<think> je calcule la somme et puis la différence </think> <answer> {gold} </answer>",
            $"<think> I add then I subtract the numbers </think> <answer> {gold} </answer>",
            $"the answer is {gold}",
        ];
        var result = new ProblemScorer(task).Score(example, Result(texts));
        Assert.Equal([true, true, false], result.Samples.Select(s => s.Correct)); // its grader wants <answer> or \boxed
        Assert.Equal([true, true, false], result.Samples.Select(s => s.Format));  // r1_zero_format
        Assert.Equal(1.0, result.Samples[0].Language);
        Assert.Equal(0.0, result.Samples[1].Language);
    }

    internal static GenerationResult Result(string[] texts, int[]? tokens = null) =>
        new(7, [.. texts.Select((t, i) => new GenerationSample(t, null, null, FinishReason.Stop, tokens?[i] ?? t.Length))]);
}

using R1Sharp.Rewards.Code;
using R1Sharp.Rewards.Rules;
using static R1Sharp.Rewards.Tests.Rules.RewardTestHelpers;

namespace R1Sharp.Rewards.Tests.Rules;

public class StandardRegistryTests
{
    private static readonly RewardRegistry Standard = RewardRegistry.CreateStandard();

    [Fact]
    public void Has_every_reward_including_the_graded_ones_and_code()
    {
        foreach (string name in new[] { "accuracy", "length", "cosine", "code", "format", "tag_count", "countdown", "language", "overlong" })
            Assert.True(Standard.Contains(name), name);
    }

    [Fact]
    public void Math_grader_is_null_only_when_the_gold_cannot_be_judged()
    {
        Assert.True(RewardRegistry.MathGrader("\\frac{1}{2}", "so \\boxed{0.5}"));
        Assert.False(RewardRegistry.MathGrader("\\frac{1}{2}", "so \\boxed{0.25}"));
        Assert.False(RewardRegistry.MathGrader("3", "I cannot tell."));        // no answer: the model's fault
        Assert.Null(RewardRegistry.MathGrader("", "\\boxed{1}"));              // no gold
        Assert.Null(RewardRegistry.MathGrader("@@@", "\\boxed{1}"));           // gold does not parse
        Assert.True(RewardRegistry.MathGrader("@@@", "\\boxed{@@@}"));         // ... but matches literally
    }

    [Fact]
    public void Cosine_uses_the_grader_and_open_r1s_formula()
    {
        // Correct, 10 words of max_len 100: 0.5 + 0.5·(1 − 0.5)·(1 + cos(π·10/100)).
        var cosine = Standard.Create("cosine", new Dictionary<string, string> { ["max_len"] = "100" });
        var input = In("<think>\n1 plus 1 is 2\n</think>\n<answer>\n2\n</answer>", reference: ("answer", "2"));
        Assert.Equal(0.5 + 0.25 * (1 + Math.Cos(Math.PI * 0.1)), One(cosine, input)!.Value, 12);
    }

    [Fact]
    public void Code_runs_the_program_in_the_sandbox_with_the_given_options()
    {
        var code = Assert.IsType<CodeReward>(Standard.Create("code", new Dictionary<string, string> { ["time_limit"] = "3", ["tolerance"] = "1e-3" }));
        Assert.Equal(TimeSpan.FromSeconds(3), code.Sandbox.Options.TimeLimit);
        const string tests = """[{"input": "1 2\n", "output": "3.0001\n"}, {"input": "5 5\n", "output": "10\n"}]""";
        var scores = code.Score(
        [
            In("```python\na, b = map(int, input().split())\nprint(a + b)\n```", reference: ("tests", tests)),
            In("```python\nprint(3)\n```", reference: ("tests", tests)),
        ]);
        Assert.Equal(new double?[] { 1.0, 0.5 }, scores);
        // The same limits share one sandbox.
        Assert.Same(code.Sandbox, ((CodeReward)Standard.Create("code", new Dictionary<string, string> { ["time_limit"] = "3" })).Sandbox);
    }

    [Fact]
    public void Code_options_are_checked()
    {
        Assert.Contains("'language'", Assert.Throws<RewardConfigException>(() => Standard.Create("code", new Dictionary<string, string> { ["language"] = "cobol" })).Message);
        Assert.Contains("TimeLimit", Assert.Throws<RewardConfigException>(() => Standard.Create("code", new Dictionary<string, string> { ["time_limit"] = "0" })).Message);
        Assert.Contains("'timeout'", Assert.Throws<RewardConfigException>(() => Standard.Create("code", new Dictionary<string, string> { ["timeout"] = "3" })).Message);
    }
}

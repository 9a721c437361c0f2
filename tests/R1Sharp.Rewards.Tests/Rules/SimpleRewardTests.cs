using R1Sharp.Rewards.Rules;
using static R1Sharp.Rewards.Tests.Rules.RewardTestHelpers;

namespace R1Sharp.Rewards.Tests.Rules;

public class TagCountRewardTests
{
    [Theory]
    [InlineData("<think>\nA\n</think>\n<answer>\nB\n</answer>", 1.0)]
    [InlineData("<think>A</think><answer>B</answer>", 0.0)]
    [InlineData("<think>\nA\n</think>\n", 0.5)]
    [InlineData("<think>\n<think>\nA\n</think>\n<answer>\nB\n</answer>", 0.75)] // "<think>\n" twice
    [InlineData("\n<answer>\n", 0.25)]
    [InlineData("<think>\nA\n</think>\n<answer>\nB\n</answer>\n</answer>", 0.75)] // "\n</answer>" twice
    [InlineData("", 0.0)]
    public void Quarter_per_tag_seen_exactly_once(string completion, double expected) =>
        Assert.Equal(expected, One(new TagCountReward(), In(completion)));
}

public class ReasoningStepsRewardTests
{
    [Theory]
    [InlineData("Step 1: First step\nStep 2: Second step\nStep 3: Third step", 1.0)]
    [InlineData("First, we do this.\nSecond, we do that.\nFinally, we conclude.", 1.0)]
    [InlineData("Step 1: Only step", 1.0 / 3)]
    [InlineData("First, we do this.\nFinally, we conclude.", 2.0 / 3)]
    [InlineData("1. a\n2. b", 1.0 / 3)] // ^ is the start of the text only
    [InlineData("List:\n- a\n- b\n* c\n", 1.0)]
    [InlineData("Step 12: x, Next, y, Next, z, Finally, w", 1.0)] // 5 markers, capped
    [InlineData("first, second, next, finally,", 0.0)] // case-sensitive
    [InlineData("Just plain text without any clear steps", 0.0)]
    [InlineData("", 0.0)]
    public void Counts_markers_over_three(string completion, double expected) =>
        Assert.Equal(expected, One(new ReasoningStepsReward(), In(completion))!.Value, 12);
}

public class AccuracyRewardTests
{
    private readonly AccuracyReward _reward = new(ExactMatch);

    [Fact]
    public void Correct_wrong_and_cannot_judge()
    {
        var scores = _reward.Score(
        [
            In("<answer> 66 </answer>", reference: ("answer", "66")),
            In("<answer> 65 </answer>", reference: ("answer", "66")),
            In("no answer at all", reference: ("answer", "66")),
            In("<answer> 66 </answer>"),                          // no gold
            In("<answer> 66 </answer>", reference: ("answer", " ")), // blank gold
            In("<answer> 66 </answer>", reference: ("answer", "??")), // grader cannot parse gold
        ]);
        Assert.Equal([1.0, 0.0, 0.0, null, null, null], scores);
    }

    [Fact]
    public void Grader_exception_is_cannot_judge()
    {
        var reward = new AccuracyReward((_, _) => throw new InvalidOperationException("bug"));
        Assert.Null(One(reward, In("x", reference: ("answer", "1"))));
    }

    [Fact]
    public void Gold_field_is_configurable()
    {
        var reward = new AccuracyReward(ExactMatch, goldField: "solution");
        Assert.Equal(1.0, One(reward, In("<answer>7</answer>", reference: ("solution", "7"))));
    }
}

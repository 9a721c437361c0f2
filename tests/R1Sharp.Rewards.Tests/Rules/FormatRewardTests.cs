using R1Sharp.Rewards.Rules;
using static R1Sharp.Rewards.Tests.Rules.RewardTestHelpers;

namespace R1Sharp.Rewards.Tests.Rules;

public class FormatRewardTests
{
    [Theory]
    [InlineData("<think>\nSome reasoning\n</think>\n<answer>\nThe answer\n</answer>", 1.0)]
    [InlineData("<think>\nline 1\n\nline 2\n</think>\n<answer>\n9\n</answer>", 1.0)]
    [InlineData("<think>\n\n</think>\n<answer>\n\n</answer>", 1.0)] // .*? may be empty
    [InlineData("<think>\nA\n</think>\n<answer>\nB\n</answer>\ntrailing", 1.0)] // MULTILINE: $ matches before \n (open-r1 quirk)
    [InlineData("<think>\nA\n</think>\n<answer>\nB\n</answer>trailing", 0.0)]
    [InlineData(" <think>\nA\n</think>\n<answer>\nB\n</answer>", 0.0)]
    [InlineData("<think>Only thinking</think>", 0.0)]
    [InlineData("<answer>Only answer</answer>", 0.0)]
    [InlineData("No tags at all", 0.0)]
    [InlineData("<think>Missing closing</think><answer>Missing closing", 0.0)]
    [InlineData("<think>Wrong order</answer><answer>Wrong order</think>", 0.0)]
    [InlineData("<think> A </think> <answer> B </answer>", 0.0)]
    [InlineData("", 0.0)]
    public void R1Zero_is_open_r1_regex(string completion, double expected) =>
        Assert.Equal(expected, One(new FormatReward(FormatPattern.R1Zero), In(completion)));

    [Theory]
    [InlineData("<think> 37 + 48 = 85 </think> <answer> 85 </answer>", 1.0)]
    [InlineData(" <think> x </think>\n<answer>85</answer>\n", 1.0)]
    [InlineData("<think> </think> <answer> 66 </answer>", 1.0)]
    [InlineData("<think>\nA\n</think>\n<answer>\nB\n</answer>", 1.0)]
    [InlineData("<think> a </think> <answer>  </answer>", 0.0)]
    [InlineData("<think> a </think> b <answer> 1 </answer>", 0.0)]
    [InlineData("<think> a </think> <answer> 1 </answer> extra", 0.0)]
    [InlineData("<answer> 1 </answer> <think> a </think>", 0.0)]
    [InlineData("<think> a <think> b </think> <answer> 1 </answer>", 0.0)]
    [InlineData("<think> a </think> <answer> 1 </answer> <answer> 2 </answer>", 0.0)]
    [InlineData("<think> a </think>", 0.0)]
    public void R1_zero_loose_follows_template_spacing(string completion, double expected) =>
        Assert.Equal(expected, One(new FormatReward(FormatPattern.R1ZeroLoose), In(completion)));

    [Theory]
    [InlineData("<think>\n37 + 48 = 85\n</think>\nThe answer is 85.", 1.0)]
    [InlineData("<think>\nstep 1\nstep 2\n</think>\nSummary.\nMore summary.", 1.0)]
    [InlineData("<think>\nr\n</think>\n", 0.0)]
    [InlineData("<think>\nr\n</think>\n   \n", 0.0)]
    [InlineData("<think>\n\n</think>\nS", 0.0)]
    [InlineData("<think>\n</think>\nS", 0.0)]
    [InlineData("<think>\nr</think>\nS", 0.0)]
    [InlineData("<think>\nr\n</think>\n<think>\nS", 0.0)]
    [InlineData("x<think>\nr\n</think>\nS", 0.0)]
    [InlineData("<think> r </think> S", 0.0)]
    public void Cold_start_is_reasoning_then_summary(string completion, double expected) =>
        Assert.Equal(expected, One(new FormatReward(FormatPattern.ColdStart), In(completion)));

    [Fact]
    public void Default_names_follow_the_pattern()
    {
        Assert.Equal("format", new FormatReward().Name);
        Assert.Equal("r1_zero_format", new FormatReward(FormatPattern.R1ZeroLoose).Name);
        Assert.Equal("cold_start_format", new FormatReward(FormatPattern.ColdStart).Name);
    }
}

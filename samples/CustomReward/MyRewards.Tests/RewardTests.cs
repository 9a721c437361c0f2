using R1Sharp.Rewards;
using R1Sharp.Rewards.Rules;

namespace MyRewards.Tests;

/// <summary>The rewards on their own: one score per input of the batch, reference fields, null for "cannot judge".</summary>
public class RewardTests
{
    static RewardInput Input(string completion, string? answer = null) =>
        new("What is 2+3?", completion, answer is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["answer"] = answer });

    [Fact]
    public void Exact_answer_scores_each_completion_of_the_batch_and_cannot_judge_a_row_without_an_answer()
    {
        var scores = new ExactAnswer().Score([
            Input("<think>2+3 is 5</think> <answer> 5 </answer>", "5"),
            Input("<think>hmm</think> <answer>6</answer>", "5"),
            Input("the answer is 5", "5"),
            Input("<answer>1</answer> then <answer>5</answer>", "5"),
            Input("<answer>5</answer>"),
        ]);
        Assert.Equal(new double?[] { 1.0, 0.0, 0.0, 1.0, null }, scores);
    }

    [Fact]
    public void Brevity_reads_its_option_and_a_bad_value_fails_in_the_constructor()
    {
        var words = string.Join(' ', Enumerable.Repeat("word", 8));
        var reward = new BrevityBonus(new RewardOptions("brevity", new Dictionary<string, string> { ["max_words"] = "4" }));
        Assert.Equal(new double?[] { 1.0, 0.5 }, reward.Score([Input("one two"), Input(words)]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BrevityBonus(new RewardOptions("brevity", new Dictionary<string, string> { ["max_words"] = "0" })));
    }
}

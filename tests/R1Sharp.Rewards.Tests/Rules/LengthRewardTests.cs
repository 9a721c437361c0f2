using R1Sharp.Rewards.Rules;
using static R1Sharp.Rewards.Tests.Rules.RewardTestHelpers;

namespace R1Sharp.Rewards.Tests.Rules;

public class KimiLengthRewardTests
{
    private static RewardInput Done(bool correct, int tokens, string prompt = "p", string gold = "1") =>
        In(correct ? "<answer>1</answer>" : "<answer>2</answer>", prompt, tokens, ("answer", gold));

    [Fact]
    public void Hand_computed_group()
    {
        // min 10, max 50: λ = 0.5 − (len − 10)/40
        var scores = new KimiLengthReward(ExactMatch).Score(
            [Done(true, 10), Done(true, 20), Done(false, 30), Done(false, 50), Done(false, 10)]);
        Assert.Equal([0.5, 0.25, 0.0, -0.5, 0.0], scores);
    }

    [Fact]
    public void Equal_lengths_give_zero()
    {
        var scores = new KimiLengthReward(ExactMatch).Score([Done(true, 7), Done(false, 7)]);
        Assert.Equal([0.0, 0.0], scores);
    }

    [Fact]
    public void Groups_by_prompt_unless_told_otherwise()
    {
        RewardInput[] batch = [Done(true, 10, "a"), Done(true, 20, "a"), Done(true, 20, "b"), Done(true, 40, "b")];
        Assert.Equal([0.5, -0.5, 0.5, -0.5], new KimiLengthReward(ExactMatch).Score(batch));
        // Whole batch: min 10, max 40.
        var flat = new KimiLengthReward(ExactMatch, groupByPrompt: false).Score(batch);
        Assert.Equal([0.5, 0.5 - 10.0 / 30, 0.5 - 10.0 / 30, -0.5], flat);
    }

    [Fact]
    public void Unknown_correctness_is_null_but_its_length_counts()
    {
        var scores = new KimiLengthReward(ExactMatch).Score([Done(true, 10, gold: "??"), Done(true, 30), Done(true, 50)]);
        Assert.Equal([null, 0.0, -0.5], scores);
    }

    [Fact]
    public void Falls_back_to_word_counts_for_the_whole_group()
    {
        RewardInput[] batch =
        [
            In("<answer>1</answer> b c", reference: ("answer", "1")),              // 3 words
            In("<answer>1</answer> b c d e", tokens: 2, reference: ("answer", "1")), // 5 words (tokens ignored: not all have them)
        ];
        Assert.Equal([0.5, -0.5], new KimiLengthReward(ExactMatch).Score(batch));
    }
}

public class CosineLengthRewardTests
{
    private static readonly CosineLengthReward Reward = new(ExactMatch, maxLen: 100);

    private static double? Score(bool correct, int tokens) =>
        One(Reward, In(correct ? "<answer>1</answer>" : "<answer>2</answer>", tokens: tokens, reference: ("answer", "1")));

    [Theory]
    [InlineData(true, 0, 1.0)]
    [InlineData(true, 50, 0.75)]
    [InlineData(true, 100, 0.5)]
    [InlineData(true, 22, 0.942628)]  // 0.5 + 0.25·(1 + cos(0.22π)); open-r1's test: 0.943 for 22 characters
    [InlineData(true, 80, 0.547746)]  // 0.5 + 0.25·(1 + cos(0.8π)); open-r1's test: 0.547
    [InlineData(true, 150, 0.75)]     // not clamped: cos(1.5π) = 0
    [InlineData(false, 0, -1.0)]
    [InlineData(false, 50, -0.75)]
    [InlineData(false, 100, -0.5)]
    [InlineData(false, 22, -0.942628)]
    public void Hand_computed(bool correct, int tokens, double expected) =>
        Assert.Equal(expected, Score(correct, tokens)!.Value, 6);

    [Fact]
    public void Cannot_judge_is_null() => Assert.Null(One(Reward, In("<answer>1</answer>", tokens: 5)));

    [Fact]
    public void Uses_word_count_without_tokens()
    {
        string text = "<answer>1</answer>" + string.Concat(Enumerable.Repeat(" w", 49)); // 50 words
        Assert.Equal(0.75, One(Reward, In(text, reference: ("answer", "1")))!.Value, 12);
    }
}

public class SoftOverlongRewardTests
{
    [Theory]
    [InlineData(0, 0.0)]
    [InlineData(80, 0.0)]
    [InlineData(81, -0.05)]
    [InlineData(90, -0.5)]
    [InlineData(100, -1.0)]
    [InlineData(101, -1.0)]
    public void Dapo_ramp(int tokens, double expected) =>
        Assert.Equal(expected, One(new SoftOverlongReward(100, 20), In("x", tokens: tokens))!.Value, 12);

    [Fact]
    public void Zero_cache_is_a_step()
    {
        var reward = new SoftOverlongReward(100, 0);
        Assert.Equal(0.0, One(reward, In("x", tokens: 100)));
        Assert.Equal(-1.0, One(reward, In("x", tokens: 101)));
    }

    [Fact]
    public void Words_when_no_tokens()
    {
        var reward = new SoftOverlongReward(2, 1);
        Assert.Equal(-1.0, One(reward, In("a b c")));
        Assert.Equal(0.0, One(reward, In("a b c", tokens: 1)));
    }

    [Fact]
    public void Rejects_bad_parameters()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new SoftOverlongReward(10, 11));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SoftOverlongReward(0, 0));
    }
}

public class RepetitionPenaltyRewardTests
{
    private static double Score(string text, int n = 2, double max = -1.0, string? language = null)
    {
        var input = language is null ? In(text) : In(text, reference: ("language", language));
        return One(new RepetitionPenaltyReward(n, max), input)!.Value;
    }

    [Theory]
    [InlineData("this is a test sentence", 2, -1.0, 0.0)]
    [InlineData("this this this this this", 2, -1.0, -0.75)]       // 1 unique of 4
    [InlineData("this is a this is a test", 2, -1.0, -1.0 / 3)]    // 4 unique of 6
    [InlineData("this is a this is a test", 3, -2.0, -0.4)]        // 4 unique of 5
    [InlineData("this is a test", 3, -0.5, 0.0)]
    [InlineData("test test test test", 3, -0.5, -0.25)]            // 1 unique of 2
    [InlineData("A B C A B C", 3, -1.0, -0.25)]                    // 3 unique of 4
    [InlineData("one two one two", 3, -1.0, 0.0)]
    [InlineData("", 2, -1.0, 0.0)]
    [InlineData("word", 3, -1.0, 0.0)]
    [InlineData("two words", 3, -1.0, 0.0)]
    [InlineData("Same, same. SAME, same.", 1, -1.0, -0.5)]         // lower-cased, punctuation kept: {same,} {same.}
    public void Hand_computed(string text, int n, double max, double expected) =>
        Assert.Equal(expected, Score(text, n, max), 12);

    [Fact]
    public void Case_insensitive() => Assert.Equal(Score("This is A Test"), Score("this IS a test"));

    [Fact]
    public void Chinese_is_split_per_character()
    {
        Assert.Equal(-2.0 / 3, Score("我我我我", language: "zh"), 12); // 3 bigrams, 1 unique
        Assert.Equal(0.0, Score("我我我我", language: "en"));            // one whitespace word
        Assert.Equal(["答", "案", "是", "66", "。"], RepetitionPenaltyReward.Split("答案是 66 。", "zh"));
    }

    [Fact]
    public void Positive_max_penalty_is_rejected()
    {
        var ex = Assert.Throws<ArgumentException>(() => new RepetitionPenaltyReward(2, 1.5));
        Assert.StartsWith("max_penalty 1.5 should not be positive", ex.Message);
    }
}

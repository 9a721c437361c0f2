using R1Sharp.Rewards;
using R1Sharp.Rewards.Rules;

namespace R1Sharp.Rewards.Tests.Rules;

public class RoutedRewardTests
{
    /// <summary>Records what it was asked to judge and scores each input by its completion's length.</summary>
    sealed class LengthJudge : IReward
    {
        public List<string> Seen { get; } = [];
        public string Name => "judge";

        public IReadOnlyList<double?> Score(IReadOnlyList<RewardInput> batch, CancellationToken cancellationToken = default)
        {
            Seen.AddRange(batch.Select(b => b.Completion));
            return [.. batch.Select(b => (double?)b.Completion.Length)];
        }
    }

    static RewardInput Input(string completion, string? answer) =>
        new("q", completion, answer is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["answer"] = answer });

    [Fact]
    public void Each_kind_of_prompt_is_judged_only_by_its_own_rewards()
    {
        RewardInput[] batch = [Input("a", "1"), Input("bb", null), Input("ccc", "3"), Input("dddd", " ")];
        var general = new LengthJudge();
        var reasoning = new LengthJudge();
        Assert.Equal([null, 2.0, null, 4.0], RoutedReward.GeneralOnly(general).Score(batch));
        Assert.Equal([1.0, null, 3.0, null], RoutedReward.ReasoningOnly(reasoning).Score(batch));
        Assert.Equal(["bb", "dddd"], general.Seen);   // the inner reward never sees the other kind
        Assert.Equal(["a", "ccc"], reasoning.Seen);
        Assert.Equal("judge", RoutedReward.GeneralOnly(general).Name);
    }

    [Fact]
    public void A_category_routes_each_general_prompt_to_its_own_reward_model()
    {
        static RewardInput General(string completion, string? category) =>
            new("q", completion, category is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["category"] = category });
        RewardInput[] batch = [Input("a", "1"), General("bb", "helpful"), General("ccc", "harmless"), General("dddd", null)];
        var helpfulness = new LengthJudge();
        var harmlessness = new LengthJudge();
        Assert.Equal([null, 2.0, null, 4.0], RoutedReward.GeneralOnly(helpfulness, "helpful").Score(batch));
        Assert.Equal([null, null, 3.0, 4.0], RoutedReward.GeneralOnly(harmlessness, "harmless").Score(batch));
        Assert.Equal(["bb", "dddd"], helpfulness.Seen);   // a prompt without a category (a user's file) goes to both
        Assert.Equal(["ccc", "dddd"], harmlessness.Seen);
    }

    [Fact]
    public void Combined_the_routed_rewards_sum_per_kind()
    {
        var rewards = new WeightedRewards([
            new WeightedReward(RoutedReward.ReasoningOnly(new LengthJudge()), 1.0),
            new WeightedReward(new RoutedReward(new ConstantReward(), _ => true), 0.5),
        ]);
        var scores = rewards.Score([Input("abc", "3"), Input("abcdef", null)]);
        Assert.Equal(3.0 + 0.5, scores[0].Total);
        Assert.Equal(0.5, scores[1].Total);   // the reasoning-only judge abstains on the general prompt
        Assert.Null(scores[1].Components["judge"]);
    }

    sealed class ConstantReward : IReward
    {
        public string Name => "constant";
        public IReadOnlyList<double?> Score(IReadOnlyList<RewardInput> batch, CancellationToken cancellationToken = default) =>
            [.. batch.Select(_ => (double?)1.0)];
    }

    [Fact]
    public void An_empty_selection_calls_nothing()
    {
        var judge = new LengthJudge();
        Assert.Equal([null, null], RoutedReward.GeneralOnly(judge).Score([Input("a", "1"), Input("b", "2")]));
        Assert.Empty(judge.Seen);
    }
}

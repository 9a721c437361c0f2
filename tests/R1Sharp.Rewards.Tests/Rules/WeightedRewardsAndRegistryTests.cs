using R1Sharp.Rewards.Rules;
using static R1Sharp.Rewards.Tests.Rules.RewardTestHelpers;

namespace R1Sharp.Rewards.Tests.Rules;

public class WeightedRewardsTests
{
    private sealed class Fixed(string name, params double?[] values) : IReward
    {
        public string Name => name;
        public IReadOnlyList<double?> Score(IReadOnlyList<RewardInput> batch, CancellationToken cancellationToken = default) => values;
    }

    [Fact]
    public void Weighted_sum_skips_null_components()
    {
        var combined = new WeightedRewards(
        [
            new WeightedReward(new Fixed("a", 1.0, null, null, 0.5), 2.0),
            new WeightedReward(new Fixed("b", 0.5, 0.25, null, double.NaN), 0.5),
        ]);
        var result = combined.Score([In("1"), In("2"), In("3"), In("4")]);
        Assert.Equal(2.25, result[0].Total);      // 2·1 + 0.5·0.5
        Assert.Equal(0.125, result[1].Total);     // a is null: 0.5·0.25 only
        Assert.Null(result[2].Total);             // nothing could judge
        Assert.Equal(1.0, result[3].Total);       // NaN treated like null
        Assert.Equal(1.0, result[0].Components["a"]);
        Assert.Null(result[1].Components["a"]);
        Assert.Equal(["a", "b"], combined.Names);
    }

    [Fact]
    public void Rejects_duplicate_names_and_wrong_counts()
    {
        Assert.Throws<ArgumentException>(() => new WeightedRewards([new(new Fixed("a")), new(new Fixed("a"))]));
        var combined = new WeightedRewards([new(new Fixed("a", 1.0))]);
        Assert.Throws<InvalidOperationException>(() => combined.Score([In("1"), In("2")]));
    }
}

public class RewardRegistryTests
{
    [Fact]
    public void Default_registry_has_every_rule_reward()
    {
        var registry = RewardRegistry.CreateDefault(ExactMatch);
        foreach (string name in new[] { "accuracy", "format", "r1_zero_format", "cold_start_format", "tag_count", "reasoning_steps",
                     "length", "cosine", "repetition", "repetition_penalty", "overlong", "soft_overlong_punishment", "language", "countdown" })
            Assert.True(registry.Contains(name), name);
        Assert.False(registry.Contains("code"));
    }

    [Fact]
    public void Grader_rewards_and_code_explain_how_to_register()
    {
        var registry = RewardRegistry.CreateDefault();
        Assert.Contains("grader", Assert.Throws<RewardConfigException>(() => registry.Create("accuracy")).Message);
        Assert.Contains("Register", Assert.Throws<RewardConfigException>(() => registry.Create("code")).Message);
        Assert.Contains("Unknown reward 'nope'", Assert.Throws<RewardConfigException>(() => registry.Create("nope")).Message);
    }

    [Fact]
    public void External_registration()
    {
        var registry = RewardRegistry.CreateDefault().Register("code", o => new TagCountReward());
        Assert.True(registry.Contains("code"));
        Assert.Throws<ArgumentException>(() => registry.Register("code", _ => new TagCountReward()));
        registry.Register("code", _ => new ReasoningStepsReward(), replace: true);
        Assert.IsType<ReasoningStepsReward>(registry.Create("code"));
    }

    [Fact]
    public void Options_are_parsed_and_checked()
    {
        var registry = RewardRegistry.CreateDefault(ExactMatch);
        var cosine = Assert.IsType<CosineLengthReward>(registry.Create("cosine", new Dictionary<string, string> { ["max_len"] = "100", ["min_value_wrong"] = "0" }));
        Assert.Equal(100, cosine.MaxLen);
        Assert.Equal(0.0, cosine.MinValueWrong);
        var repetition = Assert.IsType<RepetitionPenaltyReward>(registry.Create("repetition_penalty", new Dictionary<string, string> { ["ngram_size"] = "2" }));
        Assert.Equal(2, repetition.NgramSize);

        var unknown = Assert.Throws<RewardConfigException>(() => registry.Create("cosine", new Dictionary<string, string> { ["max_lenn"] = "1" }));
        Assert.Contains("'max_lenn'", unknown.Message);
        var bad = Assert.Throws<RewardConfigException>(() => registry.Create("overlong", new Dictionary<string, string> { ["max_completion_len"] = "lots" }));
        Assert.Contains("'max_completion_len' must be an integer", bad.Message);
        var positive = Assert.Throws<RewardConfigException>(() => registry.Create("repetition", new Dictionary<string, string> { ["max_penalty"] = "1" }));
        Assert.Contains("should not be positive", positive.Message);
        Assert.Throws<RewardConfigException>(() => registry.Create("format", new Dictionary<string, string> { ["pattern"] = "xml" }));
    }

    [Fact]
    public void Build_combines_specs_and_renames()
    {
        var registry = RewardRegistry.CreateDefault(ExactMatch);
        var combined = registry.Build(
        [
            new RewardSpec("accuracy", 1.0),
            new RewardSpec("format", 0.5, new Dictionary<string, string> { ["pattern"] = "cold_start" }),
            new RewardSpec("format", 0.5, new Dictionary<string, string> { ["name"] = "strict_format" }),
        ]);
        Assert.Equal(["accuracy", "format", "strict_format"], combined.Names);
        var result = combined.Score([In("<think>\nr\n</think>\nThe answer is <answer>5</answer>", reference: ("answer", "5"))]);
        Assert.Equal(1.5, result[0].Total); // accuracy 1 + 0.5·cold start 1 + 0.5·strict 0
    }
}

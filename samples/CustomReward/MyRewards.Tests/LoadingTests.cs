using R1Sharp.Rewards;
using R1Sharp.Rewards.Rules;

namespace MyRewards.Tests;

/// <summary>MyRewards.dll loaded by path and name, as `--reward-assembly` and `rewards: [{name: …, assembly: …}]` load it.</summary>
public class LoadingTests
{
    static readonly string Dll = typeof(ExactAnswer).Assembly.Location;

    [Fact]
    public void The_assembly_holds_its_rewards_under_their_registered_names()
    {
        var found = RewardAssemblies.Find(Dll);
        Assert.Equal(new[] { "brevity", "exact_answer" }, found.Select(r => r.Name));
        Assert.Equal("MyRewards.BrevityBonus", found[0].Type.FullName);
    }

    [Fact]
    public void A_spec_with_the_assembly_builds_beside_R1Sharp_rewards()
    {
        var rewards = RewardRegistry.CreateStandard().Build([
            new RewardSpec("exact_answer", Assembly: Dll),
            new RewardSpec("brevity", 0.5, new Dictionary<string, string> { ["max_words"] = "2" }, Assembly: Dll),
            new RewardSpec("accuracy"),
        ]);
        Assert.Equal(new[] { "exact_answer", "brevity", "accuracy" }, rewards.Names);
        var inputs = new[] { new RewardInput("2+3?", "<think>2+3=5 so</think> <answer>5</answer>", new Dictionary<string, string> { ["answer"] = "5" }) };
        var score = rewards.Score(inputs)[0];
        Assert.Equal(1.0, score.Components["exact_answer"]);
        Assert.Equal(2.0 / 3, score.Components["brevity"]); // 3 words, max_words 2
        Assert.Equal(1.0, score.Components["accuracy"]);
        // the reward came from its own load context, yet implements R1Sharp's IReward
        var loaded = rewards.Rewards[0].Reward;
        Assert.NotEqual(typeof(ExactAnswer), loaded.GetType());
        Assert.Equal(typeof(ExactAnswer).FullName, loaded.GetType().FullName);
    }

    [Fact]
    public void An_unknown_name_lists_the_rewards_of_the_assembly()
    {
        var e = Assert.Throws<RewardAssemblyException>(() => RewardAssemblies.Create(Dll, "exact", field: "rewards[0].assembly"));
        Assert.Equal("rewards[0].assembly", e.Field);
        Assert.Contains(Dll, e.Message);
        Assert.Contains("brevity (MyRewards.BrevityBonus), exact_answer (MyRewards.ExactAnswer)", e.Message);
    }
}

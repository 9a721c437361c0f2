using R1Sharp.Recipes.Common;
using R1Sharp.Recipes.Config;
using R1Sharp.Recipes.Grpo;
using R1Sharp.Recipes.Pipeline;
using R1Sharp.Recipes.Sampling;
using R1Sharp.Rewards;
using R1Sharp.Rewards.Rules;

namespace R1Sharp.Recipes.Tests.Config;

/// <summary>A reward of the tests' own, found in this assembly by its class name (<c>answer_echo</c>).</summary>
public sealed class AnswerEcho : IReward
{
    public string Name => "answer_echo";

    public IReadOnlyList<double?> Score(IReadOnlyList<RewardInput> batch, CancellationToken cancellationToken = default) =>
        [.. batch.Select(i => i.Field("answer") is { } a ? (double?)(i.Completion.Contains(a, StringComparison.Ordinal) ? 1 : 0) : null)];
}

/// <summary>Rewards from users' assemblies in configs: <c>rewards[i].assembly</c> checked with its file and line, and <c>--reward-assembly</c>.</summary>
public class CustomRewardConfigTests
{
    static readonly string ThisDll = typeof(AnswerEcho).Assembly.Location;

    [Fact]
    public void A_reward_the_assembly_lacks_is_an_error_at_its_line_naming_the_field_and_listing_what_it_has()
    {
        string yaml = $"steps: 2\nrewards:\n  - accuracy\n  - name: answer_eco\n    assembly: '{ThisDll}'\n";
        var e = Assert.Throws<ConfigException>(() => ConfigBinder.LoadYaml(new GrpoOptions(), yaml, "grpo.yaml", root: "grpo"));
        var error = Assert.Single(e.Errors);
        Assert.Equal(("grpo.yaml", 5, "grpo.rewards[1].assembly"), (error.Source, error.Line, error.Path));
        Assert.StartsWith($"{ThisDll}: no reward 'answer_eco' in it; rewards found: ", error.Problem);
        Assert.Contains("answer_echo (R1Sharp.Recipes.Tests.Config.AnswerEcho)", error.Problem);

        var fixedYaml = yaml.Replace("answer_eco", "answer_echo", StringComparison.Ordinal);
        var options = ConfigBinder.LoadYaml(new GrpoOptions(), fixedYaml, "grpo.yaml", root: "grpo");
        Assert.Equal(new RewardSpec("answer_echo", Assembly: ThisDll), options.Rewards[1]);
    }

    [Fact]
    public void A_missing_assembly_in_a_rejection_sampling_config_names_its_field()
    {
        string missing = Path.Combine(Path.GetTempPath(), $"r1sharp-no-such-{Guid.NewGuid():N}.dll");
        var e = Assert.Throws<ConfigException>(() =>
            ConfigBinder.LoadYaml(new RejectionSamplingOptions(), $"rewards: [{{name: mine, assembly: '{missing}'}}]\n", "sample.yaml", root: "sample"));
        var error = Assert.Single(e.Errors);
        Assert.Equal("sample.rewards[0].assembly", error.Path);
        Assert.StartsWith($"{missing}: file not found", error.Problem);
    }

    [Fact]
    public void Reward_assembly_points_every_stage_reward_R1Sharp_lacks_to_the_assembly_and_leaves_built_in_ones()
    {
        var pipeline = ConfigBinder.LoadYaml(new PipelineOptions(), "r1_zero:\n  rewards: [accuracy, answer_echo]\nreasoning_rl:\n  rewards: [answer_echo, format]\n", "p.yaml");
        var resolved = CustomRewards.WithAssemblies(pipeline, [ThisDll]);
        Assert.Equal(new[] { new RewardSpec("accuracy"), new RewardSpec("answer_echo", Assembly: ThisDll) }, resolved.R1Zero.Rewards);
        Assert.Equal(new[] { new RewardSpec("answer_echo", Assembly: ThisDll), new RewardSpec("format") }, resolved.ReasoningRl.Rewards);
        Assert.Equal(pipeline.FinalRl, resolved.FinalRl);
        Assert.True(CustomRewards.HasRewards(pipeline));

        var grpo = new GrpoOptions { Rewards = [new RewardSpec("accuracy"), new RewardSpec("answer_ech")] };
        var e = Assert.Throws<RewardAssemblyException>(() => CustomRewards.WithAssemblies(grpo, [ThisDll], "grpo"));
        Assert.Equal("--reward-assembly", e.Field);
        Assert.Contains($"grpo.rewards[1]: no reward 'answer_ech' in {ThisDll} (rewards found: ", e.Message);
        Assert.Contains("answer_echo", e.Message);
        Assert.Contains("and R1Sharp has none of that name (it has: accuracy, ", e.Message);
    }
}

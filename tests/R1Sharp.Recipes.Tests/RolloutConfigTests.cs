using R1Sharp.Engine.Fleet;
using R1Sharp.Recipes.Config;
using R1Sharp.Recipes.Grpo;
using R1Sharp.Recipes.Pipeline;
using R1Sharp.Rewards.Rules;
using R1Sharp.Training.Losses.Grpo;

namespace R1Sharp.Recipes.Tests;

/// <summary>
/// The <c>rollout</c> section of GRPO configs and the pipeline's <c>fleet</c> section: what they read, what they refuse
/// (with the field and the reason), and that the sections added for fleets leave the hashes of existing pipeline stages as
/// they were.
/// </summary>
public class RolloutConfigTests
{
    [Fact]
    public void The_rollout_section_reads_engines_endpoints_timeouts_and_corrections()
    {
        var o = ConfigBinder.LoadYaml(new GrpoOptions(), """
            rollout:
              endpoints: [http://gpu1:30000, http://gpu2:30000]
              engine: sglang
              weights_dir: /shared/weights
              sync_every: 2
              max_off_policy_steps: 1
              update_timeout: 120
              tis_cap: 2.0
              tis_level: sequence
              icepop_low: 0.5
              icepop_high: 5
            """, "grpo.yaml");
        Assert.Equal(FleetWeightSync.Merged, o.Rollout.WeightSync);
        var adapter = ConfigBinder.LoadYaml(new GrpoOptions(), "lora: {r: 4}\nrollout: {endpoints: [http://a:1], engine: vllm, weight_sync: adapter}", "grpo.yaml");
        Assert.Equal(FleetWeightSync.Adapter, adapter.Rollout.WeightSync);
        var r = o.Rollout;
        Assert.Equal(["http://gpu1:30000", "http://gpu2:30000"], r.Endpoints);
        Assert.Equal((FleetEngine.Sglang, "/shared/weights", 2, 1), (r.Engine, r.WeightsDir, r.SyncEvery, r.MaxOffPolicySteps));
        Assert.Equal(TimeSpan.FromSeconds(120), r.UpdateTimeout);
        Assert.Equal((2.0, CorrectionLevel.Sequence, 0.5, 5.0), (r.TisCap, r.TisLevel, r.IcepopLow, r.IcepopHigh));
        Assert.True(r.IsFleet);
        var off = OffPolicy.From(r);
        Assert.True(off.SamplerIsOld);
        var parts = Assert.IsType<CombinedCorrection>(off.Correction).Parts;
        Assert.Equal(2.0, Assert.IsType<TruncatedImportanceSampling>(parts[0]).Cap);
        Assert.IsType<IcePop>(parts[1]);

        // By default: the trainer's own sampler, synchronous, no correction.
        var defaults = new GrpoOptions().Rollout;
        Assert.False(defaults.IsFleet);
        var none = OffPolicy.From(defaults);
        Assert.False(none.SamplerIsOld);
        Assert.Null(none.Correction);
    }

    [Theory]
    [InlineData("rollout: {endpoints: [gpu1:30000]}", "rollout.endpoints[0]", "not an http(s) URL")]
    [InlineData("rollout: {max_off_policy_steps: 1}", "rollout.max_off_policy_steps", "need a fleet")]
    [InlineData("rollout: {endpoints: [http://a:1], max_off_policy_steps: 1}\ndynamic_sampling: true", "dynamic_sampling", "ahead of time")]
    [InlineData("rollout: {mis_low: 2, mis_high: 1}", "rollout.mis_high", "mis_low ≤ mis_high")]
    [InlineData("rollout: {icepop_high: 5}", "rollout.icepop_high", "0 < icepop_low")]
    [InlineData("rollout: {engine: triton}", "rollout.engine", "r1sharp, sglang, vllm")]
    [InlineData("rollout: {endpoints: [http://a:1, http://a:1]}", "rollout.endpoints", "listed twice")]
    [InlineData("rollout: {sync_every: 0}", "rollout.sync_every", "")]
    [InlineData("lora: {r: 4}\nrollout: {endpoints: [http://a:1], weight_sync: adapter}", "rollout.weight_sync", "needs engine: vllm (got r1sharp")]
    [InlineData("rollout: {endpoints: [http://a:1], engine: vllm, weight_sync: adapter}", "rollout.weight_sync", "needs a lora: section")]
    [InlineData("rollout: {weight_sync: lora}", "rollout.weight_sync", "merged, adapter")]
    public void Mistakes_are_refused_with_the_field(string yaml, string field, string says)
    {
        var e = Assert.Throws<ConfigException>(() => ConfigBinder.LoadYaml(new GrpoOptions(), yaml, "grpo.yaml"));
        Assert.Contains(e.Errors, x => x.Path == field && x.Problem.Contains(says));
    }

    [Fact]
    public void The_pipeline_fleet_gives_its_servers_to_the_stages_it_names_and_refuses_the_others()
    {
        var o = ConfigBinder.LoadYaml(new PipelineOptions(), """
            fleet:
              endpoints: [http://gpu1:8000]
              engine: vllm
              served_model: policy
              stages: [r1_zero, rejection_sampling, eval]
            reasoning_rl:
              rollout: {endpoints: [http://other:1]}
            """, "pipeline.yaml");
        Assert.True(o.Fleet.Uses(PipelineStage.R1Zero));
        Assert.False(o.Fleet.Uses(PipelineStage.FinalRl));
        var r1Zero = o.Fleet.Apply(o.R1Zero).Rollout;
        Assert.Equal(["http://gpu1:8000"], r1Zero.Endpoints);
        Assert.Equal((FleetEngine.Vllm, "policy"), (r1Zero.Engine, r1Zero.ServedModel));
        Assert.Equal(o.R1Zero.Rollout.SyncEvery, r1Zero.SyncEvery); // the stage's own knobs stay
        Assert.Equal(["http://other:1"], o.Fleet.Apply(o.ReasoningRl).Rollout.Endpoints); // a stage's own servers win

        var e = Assert.Throws<ConfigException>(() => ConfigBinder.LoadYaml(new PipelineOptions(), "fleet: {stages: [sft]}", "pipeline.yaml"));
        Assert.Contains(e.Errors, x => x.Path == "fleet.stages" && x.Problem.Contains("sft generates nothing"));
        Assert.Contains(e.Errors, x => x.Path == "fleet.endpoints" && x.Problem.Contains("need the fleet's endpoints"));
    }

    [Fact]
    public void Default_rollout_sections_do_not_change_a_stages_config_hash_and_others_do()
    {
        var o = new PipelineOptions();
        string yaml = ConfigBinder.ToYaml(o.FinalRl);
        Assert.Contains("rollout:", yaml);
        string stripped = PipelineFleetOptions.WithoutDefaultRollouts(yaml);
        Assert.DoesNotContain("rollout:", stripped);
        Assert.DoesNotContain("max_off_policy_steps", stripped);
        // Everything else of the section is still there, in order.
        var kept = yaml.Split('\n').Where(l => stripped.Split('\n').Contains(l)).ToList();
        Assert.Equal(stripped.TrimEnd('\n').Split('\n'), kept.Where(l => l.Length > 0));

        // A fleet (not a stage section) leaves every stage's hash alone; a stage's own rollout knobs change it.
        var withFleet = o with { Fleet = new() { Endpoints = ["http://gpu1:8000"], Stages = [PipelineStage.R1Zero] } };
        foreach (var stage in PipelineStages.All)
            Assert.Equal(PipelineRecipe.ConfigHash(stage, o), PipelineRecipe.ConfigHash(stage, withFleet));
        var asynchronous = o with { R1Zero = o.R1Zero with { Rollout = new() { Endpoints = ["http://a:1"], MaxOffPolicySteps = 1 } } };
        Assert.NotEqual(PipelineRecipe.ConfigHash(PipelineStage.R1Zero, o), PipelineRecipe.ConfigHash(PipelineStage.R1Zero, asynchronous));
        Assert.Contains("max_off_policy_steps: 1", PipelineFleetOptions.WithoutDefaultRollouts(ConfigBinder.ToYaml(asynchronous.R1Zero)));
    }

    [Fact]
    public void Rewards_without_an_assembly_and_stages_without_lora_leave_a_stages_config_hash_as_it_was_and_setting_them_changes_it()
    {
        var o = new PipelineOptions();
        string yaml = PipelineFleetOptions.WithoutDefaultRollouts(ConfigBinder.ToYaml(o.R1Zero));
        Assert.Contains("assembly: null", yaml);
        Assert.Contains("lora: null", yaml);
        // the hash of the section as it was written before rewards had the field and stages had lora
        string before = string.Join('\n', yaml.Split('\n').Where(l => !l.Contains("assembly:", StringComparison.Ordinal) && !l.Contains("lora:", StringComparison.Ordinal)));
        string expected = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"dtype: {o.Dtype}\n{before}")))[..16];
        Assert.Equal(expected, PipelineRecipe.ConfigHash(PipelineStage.R1Zero, o));

        var custom = o with { R1Zero = o.R1Zero with { Rewards = [.. o.R1Zero.Rewards, new RewardSpec("mine", Assembly: "My.dll")] } };
        Assert.NotEqual(PipelineRecipe.ConfigHash(PipelineStage.R1Zero, o), PipelineRecipe.ConfigHash(PipelineStage.R1Zero, custom));
        var adapted = o with { R1Zero = o.R1Zero with { Lora = new R1Sharp.Model.LoraOptions() } };
        Assert.NotEqual(PipelineRecipe.ConfigHash(PipelineStage.R1Zero, o), PipelineRecipe.ConfigHash(PipelineStage.R1Zero, adapted));
    }

    [Fact]
    public void The_cold_start_hash_follows_the_reasoning_rl_difficulty_its_worked_examples_are_drawn_from()
    {
        var o = new PipelineOptions();
        var longer = o with { ReasoningRl = o.ReasoningRl with { Difficulty = o.ReasoningRl.Difficulty with { MaxOperations = 4 } } };
        Assert.NotEqual(PipelineRecipe.ConfigHash(PipelineStage.ColdStart, o), PipelineRecipe.ConfigHash(PipelineStage.ColdStart, longer));
        // R1-Zero's own difficulty decides its samples (its own hash), not the worked examples
        var r1Zero = o with { R1Zero = o.R1Zero with { Difficulty = o.R1Zero.Difficulty with { MinOperations = 3 } } };
        Assert.Equal(PipelineRecipe.ConfigHash(PipelineStage.ColdStart, o), PipelineRecipe.ConfigHash(PipelineStage.ColdStart, r1Zero));
    }
}

using R1Sharp.Recipes.Config;
using R1Sharp.Rewards.Rules;

namespace R1Sharp.Recipes.Tests.Config;

public class ConfigBinderTests
{
    private static GrpoExample Load(string? yaml, params string[] overrides) =>
        ConfigBinder.LoadYaml(new GrpoExample(), yaml, "grpo.yaml", overrides, root: "grpo");

    private static string[] Errors(string? yaml, params string[] overrides) =>
        Assert.Throws<ConfigException>(() => Load(yaml, overrides)).Errors.Select(e => e.ToString()).ToArray();

    [Theory]
    [InlineData("LearningRate", "learning_rate")]
    [InlineData("MaxNewTokens", "max_new_tokens")]
    [InlineData("TopP", "top_p")]
    [InlineData("KLCoef", "kl_coef")]
    [InlineData("Gsm8kPath", "gsm8k_path")]
    [InlineData("DrGrpo", "dr_grpo")]
    [InlineData("Fp16", "fp16")]
    [InlineData("Top2Ratio", "top2_ratio")]
    [InlineData("IO", "io")]
    public void Snake_case_names(string pascal, string snake) => Assert.Equal(snake, ConfigNames.ToSnakeCase(pascal));

    [Fact]
    public void No_file_and_an_empty_file_give_the_defaults()
    {
        var defaults = ConfigBinder.ToYaml(new GrpoExample());
        Assert.Equal(defaults, ConfigBinder.ToYaml(Load(null)));
        Assert.Equal(defaults, ConfigBinder.ToYaml(Load("")));
        Assert.Equal(defaults, ConfigBinder.ToYaml(Load("# only a comment\n")));
    }

    [Fact]
    public void A_file_overrides_only_the_fields_it_names()
    {
        var o = Load("""
            learning_rate: 1e-5
            loss_type: dr_grpo
            mask_truncated: true
            model: Qwen/Qwen2.5-0.5B
            save_every: 90
            sampling:
              temperature: 0.7
              seed: 42
            rewards:
              - accuracy
              - name: format
                weight: 0.25
                options: {pattern: cold_start}
            eval_steps: [10, 20, 30]
            loss_scale: {kl: 0.04, entropy: -0.01}
            """);
        Assert.Equal(1e-5, o.LearningRate);
        Assert.Equal(LossKind.DrGrpo, o.LossType);
        Assert.True(o.MaskTruncated);
        Assert.Equal("Qwen/Qwen2.5-0.5B", o.Model);
        Assert.Equal(TimeSpan.FromSeconds(90), o.SaveEvery);
        Assert.Equal(new SamplingExample { Temperature = 0.7, Seed = 42, Stop = o.Sampling.Stop }, o.Sampling);
        Assert.Equal(["</answer>"], o.Sampling.Stop);   // nested record: untouched fields keep their values
        Assert.Equal(256, o.Sampling.MaxNewTokens);
        Assert.Equal(2, o.Rewards.Count);               // lists are replaced whole
        Assert.Equal(new RewardSpec("accuracy"), o.Rewards[0]);
        Assert.Equal(("format", 0.25, "cold_start"), (o.Rewards[1].Name, o.Rewards[1].Weight, o.Rewards[1].Options!["pattern"]));
        Assert.Equal([10L, 20, 30], o.EvalSteps);
        Assert.Equal(new Dictionary<string, double> { ["kl"] = 0.04, ["entropy"] = -0.01 }, o.LossScale);
        Assert.Equal("runs/grpo", o.OutputDir);
        Assert.Equal(16, o.GroupSize);
    }

    [Fact]
    public void The_defaults_are_never_mutated()
    {
        var defaults = new GrpoExample();
        var loaded = ConfigBinder.LoadYaml(defaults, "sampling: {temperature: 0.5}", "x.yaml", ["eval_steps[0]=5"]);
        Assert.Equal(1.0, defaults.Sampling.Temperature);
        Assert.Equal([100L, 200], defaults.EvalSteps);
        Assert.Equal(0.5, loaded.Sampling.Temperature);
        Assert.Equal([5L, 200], loaded.EvalSteps);
    }

    [Fact]
    public void Every_error_is_reported_at_once_with_file_line_and_path()
    {
        var errors = Errors("""
            learning_rate: fast
            loss_type: dapo2
            group_size: 3.5
            lerning_rate: 1e-5
            output_dir: null
            epsilon_low: 0.3
            sampling:
              top_p: 0
              temprature: 0.7
              stop: </answer>
            rewards:
              - name: format
                wieght: 2
              - weight: 1
            eval_steps: [1, two]
            """);
        Assert.Equal(
        [
            "grpo.yaml: line 1: grpo.learning_rate: 'fast' is not a number",
            "grpo.yaml: line 2: grpo.loss_type: 'dapo2' is not one of grpo, bnpo, dapo, dr_grpo",
            "grpo.yaml: line 3: grpo.group_size: '3.5' is not a whole number",
            "grpo.yaml: line 4: grpo.lerning_rate: unknown field 'lerning_rate' (did you mean learning_rate?)",
            "grpo.yaml: line 5: grpo.output_dir: null is not allowed here (expected a string)",
            "grpo.yaml: line 9: grpo.sampling.temprature: unknown field 'temprature' (did you mean temperature?)",
            "grpo.yaml: line 10: grpo.sampling.stop: expected a list, got '</answer>'",
            "grpo.yaml: line 13: grpo.rewards[0].wieght: unknown field 'wieght' (did you mean weight?)",
            "grpo.yaml: line 14: grpo.rewards[1].name: missing (required)",
            "grpo.yaml: line 15: grpo.eval_steps[1]: 'two' is not an integer",
            // Validation runs on what could be read: top_p 0 is out of range, and epsilon_high (a default, so no
            // line) is below the file's epsilon_low.
            "grpo.yaml: line 8: grpo.sampling.top_p: 0.0 is outside (0.0, 1.0]",
            "grpo.epsilon_high: must be at least epsilon_low (0.3)",
        ], errors);
    }

    [Fact]
    public void Syntax_errors_and_duplicate_keys_name_the_line()
    {
        var e = Errors("learning_rate: 1\nsampling: [unclosed\n");
        Assert.Single(e);
        Assert.StartsWith("grpo.yaml: line 3: not valid YAML", e[0]);
        var d = Errors("group_size: 4\nmodel: a\ngroup_size: 8\n");
        Assert.Single(d);
        Assert.StartsWith("grpo.yaml: line 3: not valid YAML", d[0]);
        Assert.Contains("Duplicate key", d[0], StringComparison.OrdinalIgnoreCase);
        Assert.Equal(["grpo.yaml: line 1: the file must be a mapping of fields (key: value lines), not a list"], Errors("- a\n- b\n"));
    }

    [Fact]
    public void Overrides_reach_any_field_and_apply_after_the_file()
    {
        var o = Load("learning_rate: 1e-5\nsampling: {temperature: 0.7}\n",
            "learning_rate=2e-5",
            "sampling.temperature=0.9",
            "sampling.stop=[</answer>, '<|im_end|>']",
            "sampling.seed=7",
            "loss_type=dapo",
            "rewards[1].weight=0.125",
            "rewards.0.options={gold_field: solution}",
            "eval_steps=[]",
            "loss_scale.entropy=0.5",
            "model=~");
        Assert.Equal(2e-5, o.LearningRate);
        Assert.Equal(0.9, o.Sampling.Temperature);
        Assert.Equal(["</answer>", "<|im_end|>"], o.Sampling.Stop);
        Assert.Equal(7, o.Sampling.Seed);
        Assert.Equal(LossKind.Dapo, o.LossType);
        Assert.Equal(0.125, o.Rewards[1].Weight);
        Assert.Equal("format", o.Rewards[1].Name);
        Assert.Equal("solution", o.Rewards[0].Options!["gold_field"]);
        Assert.Empty(o.EvalSteps);
        Assert.Equal(new Dictionary<string, double> { ["kl"] = 0.001, ["entropy"] = 0.5 }, o.LossScale);
        Assert.Null(o.Model);
    }

    [Fact]
    public void Override_errors_are_reported_with_the_file_errors()
    {
        var errors = Errors("group_size: many\n",
            "sampling.temprature=0.7", "rewards[5].weight=1", "learning_rate", "group_size.x=1", "top_p=0.5", "sampling.top_p=1.5", "eval_steps=[1, [2]]");
        Assert.Equal(
        [
            "grpo.yaml: line 1: grpo.group_size: 'many' is not an integer",
            "--set: grpo.sampling.temprature: unknown field 'temprature' (did you mean temperature?)",
            "--set: grpo.rewards[5]: index 5 is out of range (the list has 2 items)",
            "--set: 'learning_rate' is not path=value (e.g. learning_rate=1e-5)",
            "--set: grpo.group_size: is an integer: it has no field 'x'",
            "--set: grpo.top_p: unknown field 'top_p'; GrpoExample has learning_rate, loss_type, epsilon_low, epsilon_high, group_size, mask_truncated, model, output_dir, dtype, save_every, sampling, rewards, eval_steps, loss_scale",
            "--set: grpo.eval_steps[1]: expected an integer, got a list",
            "--set: grpo.sampling.top_p: 1.5 is outside (0.0, 1.0]",
        ], errors);
    }

    [Fact]
    public void Effective_config_is_every_field_as_yaml()
    {
        const string expected = """
            # effective config
            learning_rate: 3.0e-06
            loss_type: grpo
            epsilon_low: 0.2
            epsilon_high: 0.28
            group_size: 16
            mask_truncated: false
            model: null
            output_dir: runs/grpo
            dtype: float32
            save_every: 600.0
            sampling:
              temperature: 1.0
              top_p: 1.0
              max_new_tokens: 256
              stop: [</answer>]
              seed: null
            rewards:
            - name: accuracy
              weight: 1.0
              options: null
              assembly: null
            - name: format
              weight: 0.5
              options: null
              assembly: null
            eval_steps: [100, 200]
            loss_scale:
              kl: 0.001

            """;
        Assert.Equal(expected.ReplaceLineEndings("\n"), ConfigBinder.ToYaml(new GrpoExample(), "effective config").ReplaceLineEndings("\n"));
    }

    [Theory]
    [InlineData("learning_rate: .inf", ".inf")]
    [InlineData("learning_rate: -.inf", "-.inf")]
    [InlineData("learning_rate: .nan", ".nan")]
    [InlineData("learning_rate: .NaN", ".nan")]
    public void Non_finite_numbers_are_refused_with_file_line_and_field(string yaml, string shown)
    {
        var e = Assert.Throws<ConfigException>(() => ConfigBinder.LoadYaml(new GrpoExample(), "group_size: 3\n" + yaml + "\n", "grpo.yaml", root: "grpo"));
        var error = Assert.Single(e.Errors);
        Assert.Equal(("grpo.yaml", 2, "grpo.learning_rate"), (error.Source, error.Line, error.Path));
        Assert.Equal($"must be a finite number, got {shown}", error.Problem);
    }

    [Fact]
    public void Effective_config_reads_back_to_the_same_value()
    {
        var o = Load(null, "model=\"null\"", "output_dir='123'", "sampling.stop=['true', '', ' x', 'a: b', '#c', \"two\\nlines\", \"trailing \\n\"]",
            "learning_rate=1e-300", "epsilon_high=1e300", "rewards=[{name: code, options: {language: python, time_limit: '3'}}]", "save_every=00:01:30");
        string yaml = ConfigBinder.ToYaml(o);
        var back = ConfigBinder.LoadYaml(new GrpoExample { Model = "other", Rewards = [] }, yaml, "effective.yaml");
        Assert.Equal(yaml, ConfigBinder.ToYaml(back));
        Assert.Equal("null", back.Model);
        Assert.Equal("123", back.OutputDir);
        Assert.Equal(["true", "", " x", "a: b", "#c", "two\nlines", "trailing \n"], back.Sampling.Stop);
        Assert.Equal(1e-300, back.LearningRate);
        Assert.Equal(TimeSpan.FromSeconds(90), back.SaveEvery);
        Assert.Equal("3", back.Rewards.Single().Options!["time_limit"]);
    }

    [Fact]
    public void Load_reads_a_file_and_names_it_in_errors()
    {
        string path = Path.Combine(Path.GetTempPath(), $"r1sharp-config-{Guid.NewGuid():N}.yaml");
        try
        {
            File.WriteAllText(path, "group_size: 8\nloss_type: ppo\n");
            var e = Assert.Throws<ConfigException>(() => ConfigBinder.Load(new GrpoExample(), path, root: "grpo"));
            Assert.Equal($"{path}: line 2: grpo.loss_type: 'ppo' is not one of grpo, bnpo, dapo, dr_grpo", e.Message);
            File.WriteAllText(path, "group_size: 8\n");
            Assert.Equal(8, ConfigBinder.Load(new GrpoExample(), path).GroupSize);
            ConfigBinder.WriteYaml(new GrpoExample { GroupSize = 4 }, path);
            Assert.Equal(4, ConfigBinder.Load(new GrpoExample(), path).GroupSize);
            Assert.Equal([$"{path}.missing: config file not found"],
                Assert.Throws<ConfigException>(() => ConfigBinder.Load(new GrpoExample(), path + ".missing")).Errors.Select(x => x.ToString()));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Validate_checks_a_record_built_in_code()
    {
        var errors = ConfigBinder.Validate(new GrpoExample { GroupSize = 0, EpsilonHigh = 0.1, Dtype = "fp8" }, "grpo");
        Assert.Equal(
        [
            "grpo.group_size: 0 is outside [1, 2147483647]",
            "grpo.dtype: 'fp8' is not one of float32, bfloat16, float16",
            "grpo.epsilon_high: must be at least epsilon_low (0.2)",
        ], errors.Select(e => e.ToString()));
    }

    [Fact]
    public void Presets_are_named_starting_points()
    {
        var registry = new PresetRegistry()
            .Add("r1-zero", "R1-Zero on GSM8K (DeepSeek-R1 settings)", new GrpoExample { LearningRate = 3e-6, GroupSize = 16 })
            .Add("dapo", "DAPO: token-level loss, clip-higher", new GrpoExample { LossType = LossKind.Dapo, EpsilonHigh = 0.28 })
            .Add("r1-zero", "same name, other options type", new SamplingExample());
        Assert.Equal(LossKind.Dapo, registry.Get<GrpoExample>("dapo").LossType);
        var fromPreset = ConfigBinder.LoadYaml(registry.Get<GrpoExample>("dapo"), "group_size: 8", "x.yaml");
        Assert.Equal((LossKind.Dapo, 8), (fromPreset.LossType, fromPreset.GroupSize));
        Assert.Equal(["r1-zero", "dapo"], registry.For<GrpoExample>().Select(p => p.Name));
        Assert.Equal("--preset: unknown preset 'dapo2' (did you mean dapo?); presets: r1-zero, dapo",
            Assert.Throws<ConfigException>(() => registry.Get<GrpoExample>("dapo2")).Message);
        Assert.Throws<ArgumentException>(() => registry.Add("dapo", "again", new GrpoExample()));
        Assert.Equal(16, registry.GetOrDefault<GrpoExample>(null, new GrpoExample()).GroupSize);
    }
}

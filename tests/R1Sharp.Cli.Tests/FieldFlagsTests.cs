using System.CommandLine;
using R1Sharp.Recipes.Config;
using R1Sharp.Recipes.Distill;
using R1Sharp.Recipes.Grpo;
using R1Sharp.Recipes.Pretrain;
using R1Sharp.Recipes.RewardModel;
using R1Sharp.Recipes.Sampling;
using R1Sharp.Recipes.Sft;

namespace R1Sharp.Cli.Tests;

/// <summary>Every recipe command shows, and takes as a flag, every field of its options record (from the record, so they cannot drift).</summary>
public class FieldFlagsTests
{
    public static TheoryData<string> Recipes => ["grpo", "sft", "rm", "pretrain", "sample", "distill"];

    static IReadOnlyList<ConfigFieldInfo> Fields(string command) => command switch
    {
        "grpo" => ConfigFields.Of(new GrpoOptions()),
        "sft" => ConfigFields.Of(new SftOptions()),
        "rm" => ConfigFields.Of(new RewardModelOptions()),
        "pretrain" => ConfigFields.Of(new PretrainOptions()),
        "sample" => ConfigFields.Of(new RejectionSamplingOptions()),
        "distill" => ConfigFields.Of(new DistillOptions()),
        _ => throw new ArgumentException(command),
    };

    [Theory]
    [MemberData(nameof(Recipes))]
    public void Help_lists_every_field_with_its_type_default_and_description(string name)
    {
        var command = R1Sharp.Cli.CliApp.CreateRoot(new Option<bool>("--verbose")).Subcommands.Single(c => c.Name == name);
        var fields = Fields(name);
        Assert.True(fields.Count > 10, $"{fields.Count} fields");
        foreach (var field in fields)
        {
            string flag = "--" + field.Path.Replace('_', '-');
            var option = command.Options.FirstOrDefault(o => o.Name == flag || o.Aliases.Contains(flag));
            Assert.True(option is not null, $"r1sharp {name} has no {flag}");
            if (!option!.Description!.Contains($"({field.Type}; default {field.Default})", StringComparison.Ordinal))
            {
                // the command's own option of that name (distill's --teacher, the student's teacher checkpoint) describes itself
                Assert.Equal(("distill", "teacher"), (name, field.Path));
                continue;
            }
            Assert.True(field.Summary is { Length: > 3 }, $"r1sharp {name} {flag}: the field has no documentation comment");
            Assert.StartsWith(field.Summary!, option.Description);
        }
        // and the real help text shows them
        var help = CliRunner.Ok(name, "--help").Stdout;
        Assert.All(fields.Where(f => f.Path != "teacher"), f => Assert.Contains("--" + f.Path.Replace('_', '-'), help));
    }

    [Fact]
    public void Field_flags_in_either_spelling_and_TRL_names_set_the_fields()
    {
        using var temp = new TempDir();
        string run = temp.File("run");
        // The model does not exist: the run stops after writing the effective config, which is what this test reads.
        var r = CliRunner.Run("grpo", "--model", temp.File("no-model"), "--output", run, "--learning-rate", "2e-4", "--epsilon_high", "0.28",
            "--max-completion-length", "64", "--num-generations", "4", "--loss-type", "dr_grpo", "--set", "steps=7");
        Assert.Equal(1, r.ExitCode);
        var config = File.ReadAllText(Path.Combine(run, "config.yaml"));
        foreach (var line in new[] { "learning_rate: 0.0002", "epsilon_high: 0.28", "  max_new_tokens: 64", "generations: 4", "loss_type: dr_grpo", "steps: 7" })
            Assert.Contains("\n" + line + "\n", config);
        // A bad value names the flag's field, and a misspelt flag gets a suggestion.
        Assert.Contains("grpo.beta", CliRunner.Fails("grpo", "--model", "m", "--output", temp.File("b"), "--beta", "-1"));
        Assert.Contains("(did you mean --learning-rate?)", CliRunner.Fails("grpo", "--model", "m", "--output", temp.File("c"), "--learnin-rate", "1"));
        // Presets are offered only where there are some.
        Assert.Contains("--preset", CliRunner.Ok("grpo", "--help").Stdout);
        Assert.DoesNotContain("--preset", CliRunner.Ok("sft", "--help").Stdout);
    }

    [Fact]
    public void A_short_option_means_the_same_long_option_in_every_command()
    {
        var root = R1Sharp.Cli.CliApp.CreateRoot(new Option<bool>("--verbose"));
        var meanings = new Dictionary<string, HashSet<string>>();
        void Walk(Command command)
        {
            foreach (var option in command.Options)
                foreach (var alias in option.Aliases.Where(a => a.Length == 2 && a[0] == '-'))
                    (meanings.TryGetValue(alias, out var names) ? names : meanings[alias] = []).Add(option.Name);
            foreach (var sub in command.Subcommands) Walk(sub);
        }
        Walk(root);
        Assert.Contains("-p", meanings.Keys); // the walk sees the commands' options
        Assert.All(meanings, m => Assert.True(m.Value.Count == 1, $"{m.Key} means {string.Join(" and ", m.Value)}"));
    }
}

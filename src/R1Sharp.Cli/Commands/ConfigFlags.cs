using System.CommandLine;
using R1Sharp.Recipes.Config;

namespace R1Sharp.Cli.Commands;

/// <summary>
/// The three flags every recipe command takes to build its options record, with one spelling and one help text:
/// <c>--preset NAME</c> (a starting point from a <see cref="PresetRegistry"/>; default: the record's defaults),
/// <c>--config FILE.yaml</c> (overrides the fields it names) and <c>--set path=value</c> (repeatable, applied last).
/// </summary>
/// <example>
/// <code>
/// var flags = new ConfigFlags("grpo", ConfigFlags.ExamplesFor(new GrpoOptions()));
/// var command = new Command("grpo", "…");
/// flags.AddTo(command);
/// command.SetAction(r =>
/// {
///     var options = flags.Resolve(r, Presets.Registry, new GrpoOptions());   // ConfigException → "error: …", exit 1
///     ConfigBinder.WriteYaml(options, Path.Combine(runDir, "config.yaml"), "r1sharp grpo " + string.Join(' ', args));
///     …
/// });
/// </code>
/// </example>
public sealed class ConfigFlags(string root, string setExamples = "--set learning_rate=1e-5")
{
    /// <summary><c>--preset</c>.</summary>
    public Option<string?> Preset { get; } = new("--preset")
    {
        Description = "Start from this named preset instead of the defaults (see the recipe's documentation for the list).",
    };

    /// <summary><c>--config</c>.</summary>
    public Option<string?> Config { get; } = new("--config", "-c")
    {
        Description = "YAML file of options; it overrides only the fields it names (snake_case keys, e.g. learning_rate: 1e-5).",
    };

    /// <summary><c>--set</c>.</summary>
    public Option<string[]> Set { get; } = new("--set")
    {
        Description = $"Override one field, after the file: {setExamples}, --set \"rewards=[accuracy, format]\" where the record " +
                      "has rewards, rewards[1].weight=0.5 for a list item (the value is YAML). Repeatable.",
        AllowMultipleArgumentsPerToken = false,
    };

    /// <summary>Examples of <c>--set</c> with fields <paramref name="defaults"/> has: its learning rate and a nested sampling field when it has them.</summary>
    public static string ExamplesFor<T>(T defaults) where T : notnull
    {
        var keys = ConfigBinder.ToYaml(defaults).Split('\n').Where(l => l.Length > 0 && char.IsLetter(l[0])).Select(l => l[..l.IndexOf(':')]).ToHashSet();
        var examples = new List<string>();
        if (keys.Contains("learning_rate")) examples.Add("--set learning_rate=1e-5");
        if (keys.Contains("sampling")) examples.Add("--set sampling.temperature=0.7");
        if (examples.Count == 0) examples.Add($"--set {keys.Order(StringComparer.Ordinal).First()}=…");
        return string.Join(", ", examples);
    }

    /// <summary>Adds the options to <paramref name="command"/>: <c>--preset</c> only when <paramref name="hasPresets"/>.</summary>
    public void AddTo(Command command, bool hasPresets = true)
    {
        if (hasPresets) command.Options.Add(Preset);
        command.Options.Add(Config);
        command.Options.Add(Set);
    }

    /// <summary>
    /// The options: preset (or <paramref name="defaults"/>), then the file, then <paramref name="assignments"/> (the field flags
    /// given, as <c>path=value</c>), then every <c>--set</c>; validated.
    /// </summary>
    /// <exception cref="ConfigException">Every problem found, together (the CLI prints them and exits 1).</exception>
    public T Resolve<T>(ParseResult parse, PresetRegistry presets, T defaults, IEnumerable<string>? assignments = null) where T : notnull
    {
        var start = presets.GetOrDefault(parse.CommandResult.Command.Options.Contains(Preset) ? parse.GetValue(Preset) : null, defaults);
        return ConfigBinder.Load(start, parse.GetValue(Config), [.. assignments ?? [], .. parse.GetValue(Set) ?? []], root);
    }
}

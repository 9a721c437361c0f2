using System.CommandLine;
using R1Sharp.Model;
using R1Sharp.Recipes.Common;
using R1Sharp.Recipes.Config;
using R1Sharp.Training.Logging;
using R1Sharp.Training.Runs;

namespace R1Sharp.Cli.Commands;

/// <summary>
/// What every training command shares: <c>--output DIR</c>, <c>--resume</c>, <c>--device</c>, <c>--dtype</c>, <c>--threads</c>,
/// and the options record built from <c>--preset</c>, <c>--config FILE.yaml</c> and <c>--set field=value</c> (written back
/// as config.yaml in the run folder once the folder has been checked).
/// </summary>
public sealed class RecipeCommand<TOptions>(string name, string description, TOptions defaults) where TOptions : notnull
{
    readonly ConfigFlags flags = new(name, ConfigFlags.ExamplesFor(defaults));
    public Option<string> Output { get; } = new("--output", "-o") { Description = "Run folder: checkpoints, model/, metrics.jsonl, TensorBoard events, config.yaml, summary.json.", Required = true };
    public Option<bool> Resume { get; } = new("--resume") { Description = "Continue from the run folder's last complete checkpoint (a fresh start when there is none). Without it, a folder that holds a run is refused." };
    public Option<string> Device { get; } = Shared.Device();
    public Option<string> Dtype { get; } = new("--dtype")
    {
        Description = "float32, bfloat16 or float16: the dtype the model trains in; bfloat16 and float16 keep float32 master weights and optimiser state.",
        DefaultValueFactory = _ => "float32",
    };
    public Option<int?> Threads { get; } = Shared.Threads();
    public Option<string[]> RewardAssembly { get; } = Shared.RewardAssembly();

    /// <summary>
    /// Other spellings of fields, as TRL and the serving commands write them: each is accepted for the field it names
    /// when the recipe has that field.
    /// </summary>
    static readonly Dictionary<string, string[]> Aliases = new()
    {
        ["sampling.max_new_tokens"] = ["max-completion-length", "max-tokens"],
        ["sampling.temperature"] = ["temperature"],
        ["sampling.top_p"] = ["top-p"],
        ["generations"] = ["num-generations"],
        ["iterations"] = ["num-iterations"],
        ["epochs"] = ["num-train-epochs"],
        ["batch_size"] = ["per-device-train-batch-size"],
        ["max_length"] = ["max-seq-length"],
    };

    public Command Build(Func<ParseResult, TOptions, string, RunSettings, int> run, params Option[] extra)
    {
        var command = new Command(name, description) { Output, Resume, Device, Dtype, Threads };
        foreach (var option in extra) command.Options.Add(option);
        bool takesRewards = CustomRewards.HasRewards(defaults);
        if (takesRewards) command.Options.Add(RewardAssembly);
        flags.AddTo(command, RecipePresets.Registry.For<TOptions>().Count > 0);
        var fields = FieldOptions(command);
        command.SetAction((r, ct) =>
        {
            var given = fields.Where(f => r.GetResult(f.Option) is { Implicit: false }).Select(f => $"{f.Path}={r.GetValue(f.Option)}");
            var options = flags.Resolve(r, RecipePresets.Registry, defaults, given);
            if (takesRewards) options = CustomRewards.WithAssemblies(options, r.GetValue(RewardAssembly) ?? [], name);
            var settings = new RunSettings(r.GetValue(Resume), ConsoleDisplay.Auto, null, ct)
            {
                Device = Shared.ParseDevice(r.GetValue(Device)!), Dtype = Shared.ParseDtype(r.GetValue(Dtype)!),
            };
            Shared.SetThreads(r.GetValue(Threads));
            var output = r.GetValue(Output)!;
            TrainingRun.CheckFolder(output, settings.Resume, name); // before anything is written there
            if (settings.Collective.Rank != 0)
                Console.SetOut(TextWriter.Null); // under mpiexec rank 0 alone reports and writes (errors still go to standard error)
            else
            {
                Directory.CreateDirectory(output);
                ConfigBinder.WriteYaml(options, Path.Combine(output, "config.yaml"),
                    $"r1sharp {name} (effective options; device {r.GetValue(Device)}, dtype {Precision.Name(settings.Dtype)})");
            }
            return Task.FromResult(run(r, options, output, settings));
        });
        return command;
    }

    /// <summary>
    /// One option per field of the record (<c>--learning-rate</c> or <c>--learning_rate</c>, <c>--sampling.temperature</c>),
    /// described by the field's type, default and documentation comment; the value is YAML, as with <c>--set</c>. A field
    /// whose flag the command already has (e.g. distill's <c>--teacher</c>) keeps the command's option.
    /// </summary>
    List<(string Path, Option<string> Option)> FieldOptions(Command command)
    {
        var taken = command.Options.SelectMany(o => o.Aliases.Append(o.Name)).ToHashSet(StringComparer.Ordinal);
        var result = new List<(string, Option<string>)>();
        foreach (var field in ConfigFields.Of(defaults))
        {
            string dashed = "--" + field.Path.Replace('_', '-');
            var names = new[] { dashed, "--" + field.Path }.Concat((Aliases.GetValueOrDefault(field.Path) ?? []).Select(a => "--" + a))
                .Distinct().Where(n => !taken.Contains(n)).ToList();
            if (names.Count == 0 || !names.Contains(dashed)) continue;
            var option = new Option<string>(names[0], [.. names.Skip(1)])
            {
                Description = $"{(field.Summary is null ? "" : field.Summary + " ")}({field.Type}; default {field.Default})",
                HelpName = "value",
            };
            foreach (var n in names) taken.Add(n);
            command.Options.Add(option);
            result.Add((field.Path, option));
        }
        return result;
    }
}

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

    public Command Build(Func<ParseResult, TOptions, string, RunSettings, int> run, params Option[] extra)
    {
        var command = new Command(name, description) { Output, Resume, Device, Dtype, Threads };
        foreach (var option in extra) command.Options.Add(option);
        flags.AddTo(command);
        command.SetAction((r, ct) =>
        {
            var options = flags.Resolve(r, RecipePresets.Registry, defaults);
            var settings = new RunSettings(r.GetValue(Resume), ConsoleDisplay.Auto, null, ct)
            {
                Device = Shared.ParseDevice(r.GetValue(Device)!), Dtype = Shared.ParseDtype(r.GetValue(Dtype)!),
            };
            Shared.SetThreads(r.GetValue(Threads));
            var output = r.GetValue(Output)!;
            TrainingRun.CheckFolder(output, settings.Resume, name); // before anything is written there
            Directory.CreateDirectory(output);
            ConfigBinder.WriteYaml(options, Path.Combine(output, "config.yaml"),
                $"r1sharp {name} (effective options; device {r.GetValue(Device)}, dtype {Precision.Name(settings.Dtype)})");
            return Task.FromResult(run(r, options, output, settings));
        });
        return command;
    }
}

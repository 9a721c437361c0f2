using System.CommandLine;
using R1Sharp.Recipes.Common;
using R1Sharp.Recipes.Config;
using R1Sharp.Training.Logging;

namespace R1Sharp.Cli.Commands;

/// <summary>
/// What every training command shares: <c>--output DIR</c>, <c>--resume</c>, <c>--device</c>, and the options record built
/// from <c>--preset</c>, <c>--config FILE.yaml</c> and <c>--set field=value</c> (written back as config.yaml in the run folder).
/// </summary>
public sealed class RecipeCommand<TOptions>(string name, string description, TOptions defaults, Func<TOptions, string, TOptions> withDevice)
    where TOptions : notnull
{
    readonly ConfigFlags flags = new(name);
    public Option<string> Output { get; } = new("--output", "-o") { Description = "Run folder: checkpoints, model/, metrics.jsonl, TensorBoard events, config.yaml.", Required = true };
    public Option<bool> Resume { get; } = new("--resume") { Description = "Continue from the run folder's last complete checkpoint (a fresh start when there is none)." };
    public Option<string?> Device { get; } = new("--device") { Description = "cpu, cuda or cuda:N (overrides the config's device)." };
    public Option<int?> Threads { get; } = Shared.Threads();

    public Command Build(Func<ParseResult, TOptions, string, RunSettings, int> run, params Option[] extra)
    {
        var command = new Command(name, description) { Output, Resume, Device, Threads };
        foreach (var option in extra) command.Options.Add(option);
        flags.AddTo(command);
        command.SetAction((r, ct) =>
        {
            var options = flags.Resolve(r, RecipePresets.Registry, defaults);
            if (r.GetValue(Device) is { } device)
            {
                Shared.ParseDevice(device); // a clear error when CUDA is not available
                options = withDevice(options, device);
            }
            Shared.SetThreads(r.GetValue(Threads));
            var output = r.GetValue(Output)!;
            Directory.CreateDirectory(output);
            ConfigBinder.WriteYaml(options, Path.Combine(output, "config.yaml"), $"r1sharp {name} (effective options)");
            return Task.FromResult(run(r, options, output, new RunSettings(r.GetValue(Resume), ConsoleDisplay.Auto, null, ct)));
        });
        return command;
    }
}

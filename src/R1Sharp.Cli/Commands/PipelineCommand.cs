using System.CommandLine;
using R1Sharp.Model;
using R1Sharp.Recipes.Common;
using R1Sharp.Recipes.Config;
using R1Sharp.Recipes.Pipeline;
using R1Sharp.Training.Logging;
using R1Sharp.Training.Runs;

namespace R1Sharp.Cli.Commands;

/// <summary>
/// <c>r1sharp pipeline run CONFIG.yaml [--output DIR] [--from STAGE] [--until STAGE] [--quick]</c>: every stage of
/// DeepSeek-R1 from one config, ending with the final table and report.html; <c>r1sharp pipeline report RUN</c>
/// rebuilds the report of a run folder.
/// </summary>
public static class PipelineCommand
{
    public static Command Create()
    {
        var config = new Argument<string>("config") { Description = "The pipeline's YAML config (configs/pipeline-embedded.yaml: the embedded CPU demo)." };
        var output = new Option<string>("--output", "-o") { Description = "Run folder: one folder per stage, summary.json, report.html.", DefaultValueFactory = _ => Path.Combine("runs", "pipeline") };
        var from = new Option<string?>("--from") { Description = $"Redo this stage and every later one (earlier ones must be done): {string.Join(", ", PipelineStages.All.Select(PipelineStages.Name))}." };
        var until = new Option<string?>("--until") { Description = "Stop after this stage." };
        var quick = new Option<bool>("--quick") { Description = "A smoke run of a few minutes: every stage on little data and few steps (the numbers mean nothing)." };
        var set = new Option<string[]>("--set") { Description = "Override one field of the config: --set r1_zero.steps=100, --set eval.samples=16 (the value is YAML). Repeatable." };
        var device = new Option<string?>("--device") { Description = "cpu, cuda or cuda:N for every stage (overrides the config's device)." };
        var dtype = new Option<string?>("--dtype") { Description = "float32, bfloat16 or float16 for every stage (overrides the config's dtype)." };
        var threads = Shared.Threads();
        var rewardAssembly = Shared.RewardAssembly();
        var run = new Command("run", "Run the DeepSeek-R1 pipeline: base → r1-zero → cold-start → reasoning-rl → rejection-sampling → sft → final-rl → distill → eval. A rerun skips finished stages and resumes an interrupted one.")
        {
            config, output, from, until, quick, set, device, dtype, threads, rewardAssembly,
        };
        run.SetAction((r, ct) =>
        {
            var path = r.GetValue(config)!;
            if (!File.Exists(path)) throw new UserError($"{path}: config file not found");
            // The file, then --quick's reductions, then --set: an explicit override always wins.
            var options = ConfigBinder.Load(new PipelineOptions(), path);
            bool isQuick = r.GetValue(quick);
            if (isQuick) options = options.Quick();
            options = ConfigBinder.LoadYaml(options, null, ConfigBinder.OverrideSource, r.GetValue(set) ?? []);
            options = CustomRewards.WithAssemblies(options, r.GetValue(rewardAssembly) ?? []);
            if (r.GetValue(device) is { } d) options = options with { Device = Shared.ParseDevice(d).ToString() };
            if (r.GetValue(dtype) is { } t) options = options with { Dtype = Precision.Name(Shared.ParseDtype(t)) };
            Shared.SetThreads(r.GetValue(threads));
            var stages = new PipelineRun(Stage(r.GetValue(from), "--from"), Stage(r.GetValue(until), "--until"), isQuick, path);
            var settings = new RunSettings(Resume: true, ConsoleDisplay.Auto, null, ct);
            if (settings.Collective.Rank != 0)
                Console.SetOut(TextWriter.Null); // under mpiexec rank 0 alone reports and writes (errors still go to standard error)
            var table = PipelineRecipe.Run(options, r.GetValue(output)!, stages, settings);
            if (settings.Collective.Rank != 0) return Task.FromResult(0);
            Console.WriteLine();
            Console.WriteLine(PipelineTable.Format(table));
            Console.WriteLine($"report: {Path.GetFullPath(PipelineReport.Write(r.GetValue(output)!))}");
            return Task.FromResult(0);
        });

        var runDir = new Argument<string>("run") { Description = "A pipeline run folder." };
        var report = new Command("report", "Rebuild report.html of a pipeline run folder (also of an unfinished run).") { runDir };
        report.SetAction(r =>
        {
            var dir = r.GetValue(runDir)!;
            if (!Directory.Exists(dir)) throw new UserError($"{dir}: no such run folder");
            Console.WriteLine(Path.GetFullPath(PipelineReport.Write(dir)));
            return 0;
        });
        return new Command("pipeline", "The whole DeepSeek-R1 recipe from one config.") { run, report };
    }

    static PipelineStage? Stage(string? name, string option)
    {
        if (name is null) return null;
        try { return PipelineStages.Parse(name); }
        catch (ArgumentException e) { throw new UserError($"{option}: {e.Message}"); }
    }
}

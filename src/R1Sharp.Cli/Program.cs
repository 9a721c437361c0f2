// The r1sharp command.   dotnet run --project src/R1Sharp.Cli -c Release -- --help
using System.CommandLine;
using System.CommandLine.Invocation;
using R1Sharp.Cli.Commands;

// The commands that train, sample or serve restart once with malloc on transparent huge pages (NativeHeap.cs).
if (args.Length > 0 && R1Sharp.Cli.CliApp.TensorHeavy.Contains(args[0])) R1Sharp.Model.NativeHeap.RestartWithHugePages();
R1Sharp.Model.CpuKernels.PreferAvx2OnAmd(); // before the first tensor: libtorch's AVX2 kernels on AMD (CpuKernels.cs)
R1Sharp.Model.NativeHeap.KeepFreedMemory(); // training, sampling and serving reuse freed tensor memory (NativeHeap.cs)
// Under mpiexec: MPI_Finalize after success, MPI_Abort after a failure so that every rank of the job ends.
return R1Sharp.Training.Distributed.Collectives.Exit(R1Sharp.Cli.CliApp.Run(args));

namespace R1Sharp.Cli
{
    /// <summary>The command tree and one run of it; tests call <see cref="Run"/> in-process.</summary>
    public static class CliApp
    {
        /// <summary>The commands whose processes allocate tensor memory by the gigabyte: they restart once with huge pages
        /// (NativeHeap.RestartWithHugePages); the others (info, tokenize, verify, …) start once.</summary>
        public static readonly IReadOnlySet<string> TensorHeavy = new HashSet<string>(StringComparer.Ordinal)
        {
            "demo", "score", "generate", "eval", "serve", "chat", "pretrain", "grpo", "sft", "rm", "sample", "distill", "pipeline",
        };

        /// <summary>The root command with every subcommand and the global <c>--verbose</c>.</summary>
        public static RootCommand CreateRoot(Option<bool> verbose)
        {
            var root = new RootCommand(
                "R1Sharp: the DeepSeek-R1 training recipe for .NET — Hugging Face checkpoints, tokenizers, generation, " +
                "rule-checked rewards and evaluation.")
            {
                DemoCommand.Create(),
                InfoCommand.Create(),
                ScoreCommand.Create(),
                GenerateCommand.Create(),
                MergeCommand.Create(),
                TokenizeCommand.Create(),
                VerifyCommand.Create(),
                GradeCommand.Create(),
                RewardCommand.Create(),
                EvalCommand.Create(),
                ServeCommand.Create(),
                ChatCommand.Create(),
                TokenizerCommand.Create(),
                PretrainCommand.Create(),
                GrpoCommand.Create(),
                SftCommand.Create(),
                RmCommand.Create(),
                SampleCommand.Create(),
                DistillCommand.Create(),
                PipelineCommand.Create(),
                CollectivesCommand.Create(),
            };
            root.Options.Add(verbose);
            return root;
        }

        /// <summary>
        /// Parses and runs <paramref name="args"/>; returns the exit code. A mistake on the command line or in an input is
        /// one "error: …" line on standard error and exit code 1; the stack trace only with <c>--verbose</c>.
        /// </summary>
        public static int Run(string[] args)
        {
            var verbose = new Option<bool>("--verbose")
            {
                Description = "On an error, also print the exception and its stack trace (for bug reports).",
                Recursive = true,
            };
            var parse = CreateRoot(verbose).Parse(args);
            if (parse.Action is ParseErrorAction && args.Length > 0)
            {
                string command = CliErrors.CommandPath(parse);
                var names = parse.CommandResult.Command.Options.SelectMany(o => o.Aliases.Append(o.Name)).Where(n => n.StartsWith("--", StringComparison.Ordinal)).ToList();
                foreach (var error in parse.Errors)
                {
                    // An unknown flag: the nearest option's name, as a suggestion.
                    var unknown = System.Text.RegularExpressions.Regex.Match(error.Message, "^Unrecognized command or argument '(--[^']+)'");
                    string? hint = unknown.Success ? R1Sharp.Recipes.Config.ConfigNames.Closest(unknown.Groups[1].Value.Split('=')[0], names) : null;
                    Console.Error.WriteLine($"error: {command}: {error.Message}{(hint is null ? "" : $" (did you mean {hint}?)")}");
                }
                Console.Error.WriteLine($"('{command} --help' lists the options)");
                return 1;
            }
            return CliErrors.Run(parse, parse.GetValue(verbose),
                () => parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false }));
        }
    }
}

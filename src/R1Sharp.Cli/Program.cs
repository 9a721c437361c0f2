// The r1sharp command.   dotnet run --project src/R1Sharp.Cli -c Release -- --help
using System.CommandLine;
using R1Sharp.Cli;
using R1Sharp.Cli.Commands;

var root = new RootCommand(
    "R1Sharp: the DeepSeek-R1 training recipe for .NET — Hugging Face checkpoints, tokenizers, generation, " +
    "rule-checked rewards and evaluation.")
{
    DemoCommand.Create(),
    InfoCommand.Create(),
    ScoreCommand.Create(),
    GenerateCommand.Create(),
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
};
return CliErrors.Run(() => root.Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false }));

using System.CommandLine;

namespace R1Sharp.Cli.Commands;

public static class GenerateCommand
{
    public static Command Create() => new("generate", "Generate text.");
}

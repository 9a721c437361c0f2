using System.CommandLine;

namespace R1Sharp.Cli.Commands;

/// <summary>Placeholder until the pipeline lands; replaced below.</summary>
public static class DemoCommand
{
    public static Command Create() => new("demo", "Run the embedded demo.");
}

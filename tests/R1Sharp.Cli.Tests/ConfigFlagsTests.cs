using System.CommandLine;
using R1Sharp.Cli.Commands;
using R1Sharp.Recipes.Config;

namespace R1Sharp.Cli.Tests;

/// <summary>The --preset / --config / --set flags recipe commands share (in-process: no recipe command exists yet).</summary>
public class ConfigFlagsTests
{
    public sealed record Sampling
    {
        public double Temperature { get; init; } = 1.0;
        public int MaxNewTokens { get; init; } = 64;
    }

    public sealed record Options
    {
        public double LearningRate { get; init; } = 3e-6;
        public int Steps { get; init; } = 100;
        public Sampling Sampling { get; init; } = new();
    }

    private static (Options? Value, string? Error) Resolve(params string[] args)
    {
        var flags = new ConfigFlags("demo");
        var command = new Command("demo");
        flags.AddTo(command);
        var presets = new PresetRegistry().Add("short", "a short run", new Options { Steps = 10 });
        var parse = command.Parse(args);
        Assert.Empty(parse.Errors);
        try { return (flags.Resolve(parse, presets, new Options()), null); }
        catch (ConfigException e) { return (null, e.Message); }
    }

    [Fact]
    public void Preset_then_file_then_set()
    {
        using var tmp = new TempDir();
        string file = tmp.Write("demo.yaml", "learning_rate: 1e-5", "sampling:", "  temperature: 0.7");
        var (o, _) = Resolve("--preset", "short", "--config", file, "--set", "sampling.max_new_tokens=32", "--set", "learning_rate=2e-5");
        Assert.Equal(new Options { LearningRate = 2e-5, Steps = 10, Sampling = new Sampling { Temperature = 0.7, MaxNewTokens = 32 } }, o);
        Assert.Equal(new Options(), Resolve().Value);
    }

    [Fact]
    public void Errors_from_all_three_come_together()
    {
        using var tmp = new TempDir();
        string file = tmp.Write("demo.yaml", "steps: ten");
        Assert.Equal($"{file}: line 1: demo.steps: 'ten' is not an integer\n--set: demo.sampling.temp: unknown field 'temp'; Sampling has temperature, max_new_tokens".ReplaceLineEndings(),
            Resolve("--config", file, "--set", "sampling.temp=1").Error);
        Assert.Equal("--preset: unknown preset 'shrot' (did you mean short?); presets: short", Resolve("--preset", "shrot").Error);
    }
}

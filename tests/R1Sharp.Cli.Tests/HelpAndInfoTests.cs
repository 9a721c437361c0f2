using System.Buffers.Binary;
using System.Text.Json;
using System.Text.RegularExpressions;
using R1Sharp.Tests;

namespace R1Sharp.Cli.Tests;

public partial class HelpAndInfoTests
{
    /// <summary>The command names listed under "Commands:" in a help text.</summary>
    private static List<string> Commands(string help)
    {
        int at = help.IndexOf("Commands:", StringComparison.Ordinal);
        if (at < 0) return [];
        return help[(at + "Commands:".Length)..].Split('\n').Select(l => CommandLine().Match(l)).Where(m => m.Success).Select(m => m.Groups[1].Value).ToList();
    }

    [GeneratedRegex(@"^  ([a-z][a-z-]*)\s")]
    private static partial Regex CommandLine();

    [GeneratedRegex(@"^  (-\S.*?)(?:\s{2,}(\S.*))?$")]
    private static partial Regex OptionLine();

    [Fact]
    public void Every_command_has_help_and_every_option_a_description()
    {
        var commands = Commands(CliRunner.Ok("--help").Stdout);
        Assert.Superset(new HashSet<string> { "info", "score", "generate", "tokenize", "verify", "grade", "reward", "tokenizer" }, commands.ToHashSet());
        foreach (var command in commands) CheckHelp([command]);
    }

    /// <summary>A command's help has a description and described options; a command group's subcommands are checked the same way.</summary>
    private static void CheckHelp(string[] path)
    {
        string name = string.Join(' ', path);
        var help = CliRunner.Ok([.. path, "--help"]).Stdout;
        Assert.Contains("Description:", help);
        var subcommands = Commands(help);
        if (subcommands.Count > 0)
        {
            Assert.Contains($"r1sharp {name} [command] [options]", help);
            foreach (var sub in subcommands) CheckHelp([.. path, sub]);
            return;
        }
        Assert.Matches($@"r1sharp {Regex.Escape(name)}( <[a-z]+>)* \[options\]", help); // arguments, then options
        var options = help[help.IndexOf("Options:", StringComparison.Ordinal)..].Split('\n').Skip(1).ToList();
        int count = 0;
        foreach (var line in options.Where(l => l.StartsWith("  -", StringComparison.Ordinal)))
        {
            var m = OptionLine().Match(line.TrimEnd());
            Assert.True(m.Success && m.Groups[2].Value.Length > 0, $"{name}: option without a description: '{line}'");
            count++;
        }
        Assert.True(count >= (help.Contains("Arguments:", StringComparison.Ordinal) ? 1 : 2), $"{name}: no options listed\n{help}");
    }

    [Fact]
    public void Info_reads_the_checkpoint_without_loading_weights()
    {
        string dir = RepoPaths.Fixture("hf-tiny", "qwen2-tiny");
        var info = CliRunner.Ok("info", "--model", dir, "--json").Json();
        // Reference: config.json, and the parameter count summed over the tensor shapes in the safetensors header
        // (tied embeddings: no lm_head.weight in the file).
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "config.json")));
        Assert.Equal(config.RootElement.GetProperty("hidden_size").GetInt32(), info.GetProperty("hidden_size").GetInt32());
        Assert.Equal(config.RootElement.GetProperty("num_hidden_layers").GetInt32(), info.GetProperty("layers").GetInt32());
        Assert.Equal(config.RootElement.GetProperty("vocab_size").GetInt32(), info.GetProperty("vocab_size").GetInt32());
        Assert.Equal(config.RootElement.GetProperty("num_key_value_heads").GetInt32(), info.GetProperty("kv_heads").GetInt32());
        Assert.Equal("Qwen2", info.GetProperty("architecture").GetString());
        Assert.True(info.GetProperty("tied_embeddings").GetBoolean());
        Assert.Equal(SafetensorsParameters(Path.Combine(dir, "model.safetensors")), info.GetProperty("parameters").GetInt64());
        Assert.Equal(1, info.GetProperty("weight_files").GetInt32());

        var text = CliRunner.Ok("info", "--model", dir).Stdout;
        Assert.Contains("Qwen2 (2 layers, hidden 64, 4 heads / 2 kv heads", text);
        Assert.Contains("vocabulary     320 tokens", text);

        Assert.Contains("config.json", CliRunner.Fails("info", "--model", Path.Combine(dir, "missing")));
    }

    /// <summary>Σ over tensors of the product of their shape, from the safetensors JSON header.</summary>
    private static long SafetensorsParameters(string path)
    {
        var bytes = File.ReadAllBytes(path);
        long headerLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        using var header = JsonDocument.Parse(bytes.AsMemory(8, (int)headerLength));
        return header.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__")
            .Sum(p => p.Value.GetProperty("shape").EnumerateArray().Aggregate(1L, (a, d) => a * d.GetInt64()));
    }
}

using System.CommandLine;
using System.Diagnostics;
using System.Text.Json.Nodes;
using R1Sharp.Engine;
using R1Sharp.Model;
using static TorchSharp.torch;

namespace R1Sharp.Cli.Commands;

/// <summary>
/// <c>r1sharp demo</c>: the model stack end to end on the reference checkpoints in tests/fixtures — load each
/// Hugging Face checkpoint, check its greedy continuation against transformers', sample a batch, save and reload.
/// (The full R1 pipeline demo replaces this once the trainers land.)
/// </summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var fixtures = new Option<string?>("--fixtures") { Description = "Folder holding qwen2-tiny, llama3-tiny, qwen3-tiny (default: the repository's tests/fixtures/hf-tiny)." };
        var command = new Command("demo", "Run the embedded demo: load Hugging Face checkpoints, generate, compare with transformers, save and reload.") { fixtures };
        command.SetAction(r =>
        {
            var root = r.GetValue(fixtures) ?? FindFixtures();
            foreach (var name in new[] { "qwen2-tiny", "llama3-tiny", "qwen3-tiny" })
                RunOne(Path.Combine(root, name));
            return 0;
        });
        return command;
    }

    static void RunOne(string dir)
    {
        using var model = Checkpoint.Load(dir, ScalarType.Float32);
        var c = model.Config;
        Console.WriteLine($"{Path.GetFileName(dir)}: {c.Architecture}, {c.NumLayers} layers, {c.ParameterCount():N0} parameters, stored as {c.TorchDtype}");

        var reference = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "case.json")))!;
        var prompt = reference["greedy_prompt"]!.AsArray().Select(n => n!.GetValue<int>()).ToArray();
        var expected = reference["greedy_continuation"]!.AsArray().Select(n => n!.GetValue<int>()).ToArray();
        var sampler = new Sampler(new CausalLMLanguageModel(model));
        var greedy = sampler.Generate([prompt], new SamplingOptions { MaxNewTokens = expected.Length, Temperature = 0 })[0];
        Console.WriteLine($"  greedy continuation  {string.Join(" ", greedy.Tokens)}  {(greedy.Tokens.SequenceEqual(expected) ? "= transformers" : "≠ transformers: " + string.Join(" ", expected))}");

        var sw = Stopwatch.StartNew();
        var samples = sampler.Generate([prompt], new SamplingOptions { MaxNewTokens = 64, Temperature = 0.6, TopP = 0.95, Seed = 1 }, samplesPerPrompt: 32);
        double seconds = sw.Elapsed.TotalSeconds;
        Console.WriteLine($"  32 samples × 64 tokens at T 0.6, top-p 0.95: {samples.Sum(s => s.Tokens.Length) / seconds:N0} tokens/s; " +
                          $"mean log-prob per token {samples.SelectMany(s => s.LogProbs).Average():F2}");

        var copy = Path.Combine(Path.GetTempPath(), $"r1sharp-demo-{Guid.NewGuid():N}");
        try
        {
            Checkpoint.Save(model, copy);
            using var again = Checkpoint.Load(copy);
            bool same = model.state_dict().All(kv => kv.Value.bytes.SequenceEqual(again.state_dict()[kv.Key].bytes));
            Console.WriteLine($"  saved in Hugging Face layout and reloaded: {(same ? "bit-identical" : "DIFFERENT")}");
        }
        finally
        {
            if (Directory.Exists(copy)) Directory.Delete(copy, recursive: true);
        }
    }

    static string FindFixtures()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
            {
                var candidate = Path.Combine(d.FullName, "tests", "fixtures", "hf-tiny");
                if (Directory.Exists(candidate)) return candidate;
            }
        throw new UserError("tests/fixtures/hf-tiny not found; run from the repository or pass --fixtures");
    }
}

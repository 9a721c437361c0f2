using System.Text.Json.Nodes;
using R1Sharp.Tasks;
using R1Sharp.Text.Tokenization;

namespace R1Sharp.Tests;

/// <summary>
/// A checkpoint that takes text: the qwen2-tiny fixture's weights and config (vocabulary 320; random weights
/// with PyTorch reference outputs) plus a byte-level BPE tokenizer trained here on GSM8K text with exactly 320
/// tokens (3 special + 256 bytes + 61 merges), so every id the model can emit decodes, and a ChatML chat template.
/// Special ids match the config: &lt;|im_start|&gt; = 1 (bos_token_id), &lt;|im_end|&gt; = 2 (eos_token_id).
/// The context is raised to <paramref name="contextLength"/> (RoPE has no table limit) so that tests can run long requests.
/// </summary>
public static class TinyCheckpoint
{
    public const string ChatMlTemplate =
        "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
        "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    public static void Create(string fixtureDirectory, string directory, int contextLength = 4096)
    {
        Directory.CreateDirectory(directory);
        File.Copy(Path.Combine(fixtureDirectory, "model.safetensors"), Path.Combine(directory, "model.safetensors"), overwrite: true);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(fixtureDirectory, "config.json")))!.AsObject();
        config["max_position_embeddings"] = contextLength;
        File.WriteAllText(Path.Combine(directory, "config.json"), config.ToJsonString());

        var corpus = Benchmarks.Gsm8k(PromptStyle.Raw).Examples.Take(400).Select(e => e.Question + "\n" + e.Field("solution"));
        var tokenizer = new BpeTrainer(new BpeTrainerOptions
        {
            VocabSize = 320,
            SpecialTokens = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
            EosToken = "<|im_end|>",
            ChatTemplate = ChatMlTemplate,
        }).Train(corpus);
        if (tokenizer.VocabSize != 320) throw new InvalidOperationException($"tokenizer has {tokenizer.VocabSize} tokens, the model 320");
        tokenizer.Save(directory);
    }
}

/// <summary>One tiny checkpoint per test run, in a temporary folder.</summary>
public static class TinyModel
{
    private static readonly Lazy<string> Folder = new(() =>
    {
        var dir = Path.Combine(Path.GetTempPath(), $"r1sharp-tiny-{Environment.ProcessId}");
        TinyCheckpoint.Create(RepoPaths.Fixture("hf-tiny", "qwen2-tiny"), dir);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { System.IO.Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        };
        return dir;
    });

    /// <summary>The checkpoint folder (created on first use).</summary>
    public static string Directory => Folder.Value;

    /// <summary>The PyTorch reference: greedy continuation of a token-id prompt (tests/fixtures/hf-tiny/qwen2-tiny/case.json).</summary>
    public static (int[] Prompt, int[] Continuation) Reference()
    {
        var json = JsonNode.Parse(File.ReadAllText(RepoPaths.Fixture("hf-tiny", "qwen2-tiny", "case.json")))!;
        return ([.. json["greedy_prompt"]!.AsArray().Select(n => n!.GetValue<int>())],
                [.. json["greedy_continuation"]!.AsArray().Select(n => n!.GetValue<int>())]);
    }
}

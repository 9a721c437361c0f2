using System.Text.Json;
using R1Sharp.Model;
using R1Sharp.Tests;
using R1Sharp.Text.Tokenization;
using static TorchSharp.torch;

namespace R1Sharp.Cli.Tests;

/// <summary>score and generate on the hf-tiny fixtures, whose case.json holds reference logits and a greedy
/// continuation computed by an independent PyTorch implementation.</summary>
public class ModelCommandTests
{
    private static readonly string Qwen2 = RepoPaths.Fixture("hf-tiny", "qwen2-tiny");

    private static JsonElement Case(string dir) => JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "case.json"))).RootElement;

    [Fact]
    public void Score_is_the_models_log_softmax_and_null_first()
    {
        var reference = Case(Qwen2);
        int[] ids = reference.GetProperty("input_ids")[0].EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var json = CliRunner.Ok("score", "--model", Qwen2, "--ids", string.Join(",", ids), "--json").Json();
        Assert.Equal(ids, json.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()));
        var scores = json.GetProperty("token_logprobs").EnumerateArray().ToList();
        Assert.Equal(ids.Length, scores.Count);
        Assert.Equal(JsonValueKind.Null, scores[0].ValueKind);

        // In-test: the same checkpoint's forward pass, log-softmax, the logit of each next token.
        float[,] logp;
        using (var model = Checkpoint.Load(Qwen2))
        using (NewDisposeScope())
        using (no_grad())
        {
            var lp = model.Forward(tensor(ids.Select(i => (long)i).ToArray()).unsqueeze(0)).log_softmax(-1).squeeze(0);   // (T, V)
            logp = new float[ids.Length, lp.shape[1]];
            var data = lp.data<float>().ToArray();
            for (int t = 0; t < ids.Length; t++)
            for (int v = 0; v < lp.shape[1]; v++) logp[t, v] = data[t * lp.shape[1] + v];
        }
        // Reference: log-softmax of PyTorch's logits (case.json, float32; the fixture's tolerance is 1e-4).
        var logits = reference.GetProperty("logits")[0];
        for (int t = 1; t < ids.Length; t++)
        {
            double cli = scores[t].GetDouble();
            Assert.Equal(logp[t - 1, ids[t]], cli, 6);
            var row = logits[t - 1].EnumerateArray().Select(e => e.GetDouble()).ToArray();
            double max = row.Max(), logSum = max + Math.Log(row.Sum(x => Math.Exp(x - max)));
            Assert.Equal(row[ids[t]] - logSum, cli, 4);
        }
    }

    [Fact]
    public void Generate_with_ids_continues_greedily_like_the_reference()
    {
        var reference = Case(Qwen2);
        var prompt = reference.GetProperty("greedy_prompt").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var expected = reference.GetProperty("greedy_continuation").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var json = CliRunner.Ok("generate", "--model", Qwen2, "--ids", string.Join(",", prompt), "-n", expected.Length.ToString(), "--json").Json();
        Assert.Equal(expected, json.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal("length", json.GetProperty("finish_reason").GetString());
        Assert.False(json.TryGetProperty("text", out _));   // no tokenizer in the folder
        Assert.Equal(expected.Length, json.GetProperty("logprobs").GetArrayLength());

        var plain = CliRunner.Ok("generate", "--model", Qwen2, "--ids", string.Join(",", prompt), "-n", "4");
        Assert.Equal(string.Join(",", expected[..4]), plain.Stdout.Trim());
        Assert.Contains("4 tokens in", plain.Stderr);
        // The length limit under the names of transformers, OpenAI/vLLM and TRL.
        foreach (var flag in new[] { "--max-new-tokens", "--max_tokens", "--max-tokens", "--max-completion-length", "--max_new_tokens" })
            Assert.Equal(string.Join(",", expected[..3]), CliRunner.Ok("generate", "--model", Qwen2, "--ids", string.Join(",", prompt), flag, "3").Stdout.Trim());

        Assert.Equal("error: --ids: token id 999 is outside the vocabulary (size 320)",
            CliRunner.Fails("generate", "--model", Qwen2, "--ids", "1,999"));
        Assert.Equal("error: --prompt needs a tokenizer.json in " + Qwen2 + "; use --ids instead",
            CliRunner.Fails("generate", "--model", Qwen2, "--prompt", "hi"));
    }

    [Fact]
    public void Generate_with_a_prompt_uses_the_folders_tokenizer()
    {
        // A checkpoint folder: the fixture's files plus a byte-level BPE trained here whose vocabulary fits the
        // model's 320 ids.
        using var tmp = new TempDir();
        foreach (var f in Directory.GetFiles(Qwen2)) File.Copy(f, Path.Combine(tmp.Path, Path.GetFileName(f)));
        var corpus = File.ReadLines(RepoPaths.Data("benchmarks", "gsm8k_test.jsonl")).Take(300)
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("question").GetString()!).ToList();
        var tokenizer = new BpeTrainer(new BpeTrainerOptions { VocabSize = 300, SpecialTokens = ["<|endoftext|>"], EosToken = "<|endoftext|>" }).Train(corpus);
        Assert.True(tokenizer.VocabSize <= 320);
        tokenizer.Save(tmp.Path);

        const string prompt = "Janet has 3 apples.";
        var json = CliRunner.Ok("generate", "--model", tmp.Path, "--prompt", prompt, "-n", "10", "--json").Json();
        var ids = json.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        Assert.InRange(ids.Length, 1, 10);
        Assert.Equal(tokenizer.Decode(ids, skipSpecialTokens: true), json.GetProperty("text").GetString());
        Assert.Contains(json.GetProperty("finish_reason").GetString(), new[] { "stop", "length" });
        Assert.Equal(tokenizer.Encode(prompt, addSpecialTokens: true).Count, json.GetProperty("prompt_tokens").GetInt32());

        // The same greedy run with the prompt's ids gives the same tokens.
        var byIds = CliRunner.Ok("generate", "--model", tmp.Path, "--ids", string.Join(",", tokenizer.Encode(prompt, addSpecialTokens: true)), "-n", "10", "--json").Json();
        Assert.Equal(ids, byIds.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()));
    }
}

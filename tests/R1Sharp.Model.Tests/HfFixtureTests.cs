using System.Text.Json.Nodes;
using R1Sharp.Tests;
using TorchSharp;
using static TorchSharp.torch;

namespace R1Sharp.Model.Tests;

/// <summary>
/// The model against tests/fixtures/hf-tiny: logits computed by an independent PyTorch implementation of
/// transformers' Qwen2 / Llama / Qwen3 / Qwen3-MoE / DeepSeek-V3 (see tests/fixtures/README.md), and its greedy continuation.
/// </summary>
public class HfFixtureTests
{
    public static TheoryData<string> Models => new() { "qwen2-tiny", "llama3-tiny", "qwen3-tiny", "qwen3-moe-tiny", "deepseek-v3-tiny", "deepseek-v3-tiny-plain" };

    internal sealed record Case(long[][] InputIds, float[] Logits, long[] Shape, long[] GreedyPrompt, long[] GreedyContinuation, double Tolerance);

    /// <summary>A fixture's case.json: input ids, transformers' logits (flat, <c>Shape</c> (B, T, V)), the greedy prompt and continuation.</summary>
    internal static Case ReadCase(string model)
    {
        var json = JsonNode.Parse(File.ReadAllText(RepoPaths.Fixture("hf-tiny", model, "case.json")))!;
        var ids = json["input_ids"]!.AsArray().Select(r => r!.AsArray().Select(v => v!.GetValue<long>()).ToArray()).ToArray();
        var rows = json["logits"]!.AsArray();
        var flat = new List<float>();
        long t = 0, v = 0;
        foreach (var row in rows)
        {
            var positions = row!.AsArray();
            t = positions.Count;
            foreach (var pos in positions)
            {
                var vals = pos!.AsArray();
                v = vals.Count;
                flat.AddRange(vals.Select(x => (float)x!.GetValue<double>()));
            }
        }
        return new Case(ids, flat.ToArray(), [rows.Count, t, v],
            json["greedy_prompt"]!.AsArray().Select(x => x!.GetValue<long>()).ToArray(),
            json["greedy_continuation"]!.AsArray().Select(x => x!.GetValue<long>()).ToArray(),
            json["tolerance"]?["float32"]?.GetValue<double>() ?? 1e-4);
    }

    [Theory, MemberData(nameof(Models))]
    public void Hf_fixture_logits_match_transformers_within1e4(string name)
    {
        using var scope = NewDisposeScope();
        var c = ReadCase(name);
        using var model = Checkpoint.Load(RepoPaths.Fixture("hf-tiny", name), ScalarType.Float32);
        using var noGrad = no_grad();
        var logits = model.Forward(tensor(c.InputIds.SelectMany(r => r).ToArray()).view(c.InputIds.Length, -1));
        Assert.Equal(c.Shape, logits.shape);
        var expected = tensor(c.Logits).view(c.Shape);
        double maxDiff = (logits - expected).abs().max().item<float>();
        Assert.True(maxDiff <= Math.Min(c.Tolerance, 1e-4), $"{name}: max |logit difference| = {maxDiff:E3}");
    }

    [Theory, MemberData(nameof(Models))]
    public void Hf_fixture_greedy_continuation_is_identical_with_and_without_cache(string name)
    {
        using var scope = NewDisposeScope();
        var c = ReadCase(name);
        using var model = Checkpoint.Load(RepoPaths.Fixture("hf-tiny", name), ScalarType.Float32);
        using var noGrad = no_grad();

        // Without a cache: recompute the whole sequence each step.
        var seq = c.GreedyPrompt.ToList();
        for (int i = 0; i < c.GreedyContinuation.Length; i++)
        {
            var logits = model.Forward(tensor(seq.ToArray()).unsqueeze(0), lastTokens: 1);
            seq.Add(logits.argmax(-1).item<long>());
        }
        Assert.Equal(c.GreedyContinuation, seq.Skip(c.GreedyPrompt.Length).ToArray());

        // With a KV cache: prefill once, then one token per step.
        using var cache = model.NewCache(1, c.GreedyPrompt.Length + c.GreedyContinuation.Length);
        var next = model.Forward(tensor(c.GreedyPrompt).unsqueeze(0), cache: cache, lastTokens: 1).argmax(-1); // (1, 1)
        var generated = new List<long>();
        for (int i = 0; i < c.GreedyContinuation.Length; i++)
        {
            generated.Add(next.item<long>());
            next = model.Forward(next, cache: cache).argmax(-1);
        }
        Assert.Equal(c.GreedyContinuation, generated.ToArray());
    }
}

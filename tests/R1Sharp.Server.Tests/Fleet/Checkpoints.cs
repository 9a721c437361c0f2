using System.Text.Json.Nodes;
using R1Sharp.Model;
using R1Sharp.Tests;
using static TorchSharp.torch;

namespace R1Sharp.Server.Tests.Fleet;

/// <summary>Checkpoints for the weight-update tests, and the reference log-probabilities of a completion (a full forward pass).</summary>
internal static class Checkpoints
{
    /// <summary>The tiny chat model with every weight moved by seeded noise (same architecture, other weights), saved to <paramref name="dir"/>.</summary>
    public static string Perturbed(string dir, int seed, double scale = 0.05)
    {
        using var model = Checkpoint.Load(TinyModel.Directory);
        using (no_grad())
        {
            var g = new Generator((ulong)seed);
            foreach (var (_, p) in model.named_parameters()) p.add_(randn(p.shape, generator: g) * scale);
        }
        Checkpoint.Save(model, dir, companionsFrom: TinyModel.Directory);
        return dir;
    }

    /// <summary>A copy of <paramref name="from"/> whose config.json says something else about the model.</summary>
    public static string WithConfig(string from, string dir, string key, JsonNode value)
    {
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)), overwrite: true);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!.AsObject();
        config[key] = value;
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
        return dir;
    }

    /// <summary>Every tensor of <paramref name="a"/> equals <paramref name="b"/>'s, bit for bit.</summary>
    public static bool SameWeights(CausalLM a, CausalLM b)
    {
        var sb = b.state_dict();
        return a.state_dict().All(kv => kv.Value.bytes.SequenceEqual(sb[kv.Key].bytes));
    }

    /// <summary>log softmax(logits / T) of each completion token, from one forward pass over prompt + completion.</summary>
    public static float[] LogProbs(CausalLM model, IReadOnlyList<int> prompt, IReadOnlyList<int> completion, double temperature = 1.0)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var ids = prompt.Concat(completion).Select(i => (long)i).ToArray();
        var logits = model.Forward(tensor(ids, [1, ids.Length])).squeeze(0);     // (T, V)
        if (temperature > 0 && temperature != 1) logits = logits / temperature;
        var logp = logits.to(ScalarType.Float32).log_softmax(-1);
        var result = new float[completion.Count];
        for (int t = 0; t < completion.Count; t++) result[t] = logp[prompt.Count - 1 + t, completion[t]].item<float>();
        return result;
    }
}

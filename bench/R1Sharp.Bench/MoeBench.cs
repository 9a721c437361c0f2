// The mixture-of-experts preset against a dense model of about the same active size, in one run:
//   dotnet run --project bench/R1Sharp.Bench -c Release -- moe [--quick]
// dsv3-1m (DeepSeek-V3: latent attention, 8 experts top-2 + 1 shared; 0.82M active of 1.5M with a 1,024-token
// vocabulary) vs 1m (Qwen2 dense, 0.9M). Greedy decode with a KV cache at batch 1 and 64 (32-token prompts, 64 new
// tokens) and one training step (forward + backward, batch 8 × 256 tokens), float32 on the CPU. Each measurement
// alternates the two models and keeps each one's best of several rounds, so machine noise hits both alike.
using System.Diagnostics;
using R1Sharp.Model;
using static TorchSharp.torch;

static class MoeBench
{
    public static void Run(bool quick)
    {
        const int vocab = 1024;
        var models = new[] { "dsv3-1m", "1m" }.Select(name =>
        {
            var m = new CausalLM(ModelPresets.Create(name, vocab, 1024, null, 1, 1));
            m.InitializeWeights(seed: 1);
            m.eval();
            Console.WriteLine($"{name,-8} {m.Config.Architecture,-10} {m.Config.ParameterCount() / 1e6:F2}M parameters, {m.Config.ActiveParameterCount() / 1e6:F2}M active");
            return (Name: name, Model: m);
        }).ToList();
        Console.WriteLine($"libtorch threads: {get_num_threads()}");
        int rounds = quick ? 2 : 4, newTokens = quick ? 16 : 64;

        foreach (int batch in new[] { 1, 64 })
        {
            var best = models.ToDictionary(m => m.Name, _ => double.MaxValue);
            for (int r = 0; r < rounds; r++)
                foreach (var (name, model) in models)
                    best[name] = Math.Min(best[name], Decode(model, batch, 32, newTokens));
            foreach (var (name, _) in models)
                Console.WriteLine($"decode batch {batch,2}: {name,-8} {batch * newTokens / best[name],8:N0} tokens/s");
        }

        var step = models.ToDictionary(m => m.Name, _ => (Forward: double.MaxValue, Total: double.MaxValue));
        for (int r = 0; r < rounds; r++)
            foreach (var (name, model) in models)
            {
                var (f, t) = TrainStep(model, 8, quick ? 128 : 256);
                step[name] = (Math.Min(step[name].Forward, f), Math.Min(step[name].Total, t));
            }
        foreach (var (name, _) in models)
            Console.WriteLine($"train step (8 × {(quick ? 128 : 256)}): {name,-8} {step[name].Total * 1000,8:F0} ms (forward {step[name].Forward * 1000:F0} ms)");
        foreach (var (_, m) in models) m.Dispose();
    }

    static double Decode(CausalLM model, int batch, int prompt, int newTokens)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var ids = randint(3, model.Config.VocabSize, [batch, prompt], generator: new Generator(2, CPU));
        var sw = Stopwatch.StartNew();
        using var cache = model.NewCache(batch, prompt + newTokens);
        var next = model.Forward(ids, cache: cache, lastTokens: 1).argmax(-1);
        for (int i = 1; i < newTokens; i++)
        {
            using var stepScope = NewDisposeScope();
            next = model.Forward(next, cache: cache).argmax(-1).MoveToOuterDisposeScope();
        }
        return sw.Elapsed.TotalSeconds;
    }

    static (double Forward, double Total) TrainStep(CausalLM model, int batch, int length)
    {
        using var scope = NewDisposeScope();
        var ids = randint(3, model.Config.VocabSize, [batch, length + 1], generator: new Generator(3, CPU));
        var sw = Stopwatch.StartNew();
        var logits = model.Forward(ids.narrow(1, 0, length));
        var loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[^1]), ids.narrow(1, 1, length).reshape(-1));
        if (ExpertBalance.AuxiliaryLoss(model) is { } aux) loss = loss + aux;
        loss.item<float>();
        double forward = sw.Elapsed.TotalSeconds;
        loss.backward();
        double seconds = sw.Elapsed.TotalSeconds;
        model.zero_grad();
        foreach (var layer in ExpertBalance.Layers(model)) { layer.ForgetScores(); layer.TakePendingLoad(); }
        return (forward, seconds);
    }
}

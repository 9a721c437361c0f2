// The mixture-of-experts preset against a dense model of about the same active size, in one run:
//   dotnet run --project bench/R1Sharp.Bench -c Release -- moe [--quick] [--train-only]
// dsv3-1m (DeepSeek-V3: latent attention, 8 experts top-2 + 1 shared; 0.82M active of 1.5M with a 1,024-token
// vocabulary) — with its experts run one by one and, as "dsv3-1m/batched", in one bmm per projection — vs 1m (Qwen2 dense, 0.9M). Greedy decode with a KV cache at batch 1 and 64 (32-token prompts, 64 new
// tokens) and one training step (forward + backward, batch 8 × 256 tokens), float32 on the CPU. Each measurement
// alternates the models, starting each round with the next one, and keeps each one's best of several rounds, so
// machine noise hits all alike.
using System.Diagnostics;
using R1Sharp.Model;
using static TorchSharp.torch;

static class MoeBench
{
    public static void Run(bool quick, bool trainOnly = false)
    {
        const int vocab = 1024;
        // "dsv3-1m/batched" is the same model (same weights) with ExpertDispatch.Batched (one bmm per projection in training).
        var models = new[] { "dsv3-1m", "dsv3-1m/batched", "1m" }.Select(name =>
        {
            var m = new CausalLM(ModelPresets.Create(name.Split('/')[0], vocab, 1024, null, 1, 1));
            m.InitializeWeights(seed: 1);
            m.eval();
            foreach (var layer in ExpertBalance.Layers(m)) layer.Dispatch = name.EndsWith("/batched") ? ExpertDispatch.Batched : ExpertDispatch.PerExpert;
            Console.WriteLine($"{name,-12} {m.Config.Architecture,-10} {m.Config.ParameterCount() / 1e6:F2}M parameters, {m.Config.ActiveParameterCount() / 1e6:F2}M active");
            return (Name: name, Model: m);
        }).ToList();
        Console.WriteLine($"load average at the start: {LoadAverage()}");
        Console.WriteLine($"libtorch threads: {get_num_threads()}");
        int rounds = quick ? 3 : 6, newTokens = quick ? 16 : 64;

        foreach (int batch in trainOnly ? [] : new[] { 1, 64 })
        {
            var best = models.ToDictionary(m => m.Name, _ => double.MaxValue);
            for (int r = 0; r < rounds; r++)
                foreach (var (name, model) in Rotated(models, r))
                    best[name] = Math.Min(best[name], Decode(model, batch, 32, newTokens));
            foreach (var (name, _) in models)
                Console.WriteLine($"decode batch {batch,2}: {name,-12} {batch * newTokens / best[name],8:N0} tokens/s");
        }

        var step = models.ToDictionary(m => m.Name, _ => (Forward: double.MaxValue, Total: double.MaxValue, Cpu: double.MaxValue));
        for (int r = 0; r < rounds; r++)
            foreach (var (name, model) in Rotated(models, r))
            {
                var cpu = MoeProfile.Cpu();
                var (f, t) = TrainStep(model, 8, quick ? 128 : 256);
                double c = (MoeProfile.Cpu() - cpu).TotalSeconds;
                step[name] = (Math.Min(step[name].Forward, f), Math.Min(step[name].Total, t), Math.Min(step[name].Cpu, c));
            }
        foreach (var (name, model) in models)
            Console.WriteLine($"train step (8 × {(quick ? 128 : 256)}): {name,-12} {step[name].Total * 1000,8:F0} ms (forward {step[name].Forward * 1000:F0} ms; process CPU time {step[name].Cpu * 1000:F0} ms)");
        Console.WriteLine($"load average at the end: {LoadAverage()}");
        foreach (var (_, m) in models) m.Dispose();
    }

    /// <summary>The models in round <paramref name="r"/>'s order: each round starts one further, so no model always runs first.</summary>
    static IEnumerable<T> Rotated<T>(IReadOnlyList<T> items, int r) => items.Skip(r % items.Count).Concat(items.Take(r % items.Count));

    static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

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

/// <summary>
/// Forward and backward time of each kind of block of the two models on the training step's activations (8 × 256 × 128),
/// to see where the MoE model's backward goes: `moe --profile`.
/// </summary>
static class MoeProfile
{
    static SparseMoe Sparse(CausalLM m, ExpertDispatch dispatch)
    {
        var layer = (SparseMoe)m.model.layers[1].mlp;
        layer.Dispatch = dispatch;
        return layer;
    }

    public static TimeSpan Cpu() { using var p = Process.GetCurrentProcess(); return p.TotalProcessorTime; }

    /// <summary>Best of <paramref name="rounds"/> forward and backward times, wall clock and process CPU time (the CPU time
    /// is what the work costs when other processes share the cores).</summary>
    static void Time(string name, Func<Tensor, Tensor> f, Tensor input, int rounds = 7, Action? after = null)
    {
        double bestF = double.MaxValue, bestB = double.MaxValue, cpuF = double.MaxValue, cpuB = double.MaxValue;
        for (int r = 0; r < rounds; r++)
        {
            using var inner = NewDisposeScope();
            var h = input.detach().requires_grad_(true);
            var c0 = Cpu();
            var sw = Stopwatch.StartNew();
            var y = f(h);
            var loss = (y * y).mean();
            loss.item<float>();
            double fwd = sw.Elapsed.TotalSeconds;
            var c1 = Cpu();
            loss.backward();
            double bwd = sw.Elapsed.TotalSeconds - fwd;
            var c2 = Cpu();
            (bestF, bestB) = (Math.Min(bestF, fwd), Math.Min(bestB, bwd));
            (cpuF, cpuB) = (Math.Min(cpuF, (c1 - c0).TotalSeconds), Math.Min(cpuB, (c2 - c1).TotalSeconds));
            after?.Invoke();
        }
        Console.WriteLine($"  {name,-40} forward {bestF * 1000,7:F2} ms (cpu {cpuF * 1000,7:F2})  backward {bestB * 1000,7:F2} ms (cpu {cpuB * 1000,7:F2})");
    }

    public static void Ops()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(9, CPU);
        var h = randn([2048, 128], generator: g);
        var tokens = randint(0, 2048, [4096], generator: g).sort().Values;
        var perm = randperm(4096, generator: g);
        var w = randn([96, 128], generator: g);
        var ws = randn([8, 128, 96], generator: g);
        Time("index_select 4096 of 2048 rows", x => x.index_select(0, tokens), h);
        Time("gather (expanded index) 4096 of 2048", x => x.gather(0, tokens.unsqueeze(1).expand(-1, 128)), h);
        var src = randn([4096, 128], generator: g);
        Time("index_add 4096 rows into 2048", x => zeros(2048, 128).index_add(0, tokens, x, 1.0), src);
        Time("index_select permutation 4096", x => x.index_select(0, perm), src);
        Time("linear (4096,128)x(128,96)", x => nn.functional.linear(x, w), src);
        Time("8 narrows + linear + cat", x => cat(Enumerable.Range(0, 8).Select(i => nn.functional.linear(x.narrow(0, i * 512, 512), w)).ToList(), 0), src);
        Time("bmm (8,512,128)x(8,128,96)", x => x.view(8, 512, 128).bmm(ws), src);
        Time("bmm, transposed stacked weights", x => x.view(8, 512, 128).bmm(ws.transpose(1, 2).contiguous().transpose(1, 2)), src);
    }

    public static void Run()
    {
        using var scope = NewDisposeScope();
        var moe = new CausalLM(ModelPresets.Create("dsv3-1m", 1024, 1024, null, 1, 1));
        var dense = new CausalLM(ModelPresets.Create("1m", 1024, 1024, null, 1, 1));
        moe.InitializeWeights(1);
        dense.InitializeWeights(1);
        var x = randn([8, 256, 128], generator: new Generator(4, CPU)) * 0.5;
        var positions = arange(0, 256, dtype: ScalarType.Int64).unsqueeze(0).expand(8, 256);
        (Tensor, Tensor) Tables(CausalLM m) => Rope.Tables(Rope.InverseFrequencies(m.Config), positions, ScalarType.Float32, Rope.AttentionScaling(m.Config));
        var (mc, ms) = Tables(moe);
        var (dc, ds) = Tables(dense);
        var blocks = new (string Name, Func<Tensor, Tensor> F)[]
        {
            ("SparseMoe, batched (dsv3-1m)", h => Sparse(moe, ExpertDispatch.Batched).forward(h)),
            ("SparseMoe, per expert", h => Sparse(moe, ExpertDispatch.PerExpert).forward(h)),
            ("Mlp (1m layer 0)", h => dense.model.layers[0].mlp.forward(h)),
            ("LatentAttention (dsv3-1m)", h => ((ISelfAttention)moe.model.layers[1].self_attn).Forward(h, mc, ms, null, null, 1)),
            ("Attention (1m)", h => ((ISelfAttention)dense.model.layers[0].self_attn).Forward(h, dc, ds, null, null, 0)),
        };
        foreach (var (name, f) in blocks)
            Time(name, f, x, after: () =>
            {
                moe.zero_grad();
                dense.zero_grad();
                foreach (var l in ExpertBalance.Layers(moe)) { l.ForgetScores(); l.TakePendingLoad(); }
            });
        var ids = randint(3, 1024, [8, 257], generator: new Generator(3, CPU));
        foreach (var (name, model, aux) in new[] { ("step dsv3-1m + aux", moe, true), ("step dsv3-1m, no aux", moe, false), ("step 1m", dense, false) })
            foreach (var dispatch in model == moe ? new[] { ExpertDispatch.Batched, ExpertDispatch.PerExpert } : [ExpertDispatch.Batched])
            {
                foreach (var l in ExpertBalance.Layers(model)) l.Dispatch = dispatch;
                Time($"{name} {(model == moe ? dispatch : "")}", _ =>
                {
                    var logits = model.Forward(ids.narrow(1, 0, 256));
                    var loss = nn.functional.cross_entropy(logits.reshape(-1, 1024), ids.narrow(1, 1, 256).reshape(-1));
                    if (aux && ExpertBalance.AuxiliaryLoss(model) is { } a) loss = loss + a;
                    return loss;
                }, x, rounds: 3, after: () =>
                {
                    model.zero_grad();
                    foreach (var l in ExpertBalance.Layers(model)) { l.ForgetScores(); l.TakePendingLoad(); }
                });
            }
        moe.Dispose();
        dense.Dispose();
    }
}

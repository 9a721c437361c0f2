using System.Diagnostics;
using R1Sharp.Engine;
using R1Sharp.Engine.Generation;
using R1Sharp.Model;
using R1Sharp.Recipes.Grpo;
using R1Sharp.Tasks;
using R1Sharp.Training.Losses.Grpo;
using R1Sharp.Training.Optim;
using R1Sharp.Training.Runs;
using static TorchSharp.torch;

// The rollout engine against the machine's own limits:
//   dotnet run --project bench/R1Sharp.Bench -c Release -- profile [--quick] [--loop SECONDS]
//   dotnet run --project bench/R1Sharp.Bench -c Release -- profile --part update|small [--loop SECONDS]
//   dotnet run --project bench/R1Sharp.Bench -c Release -- profile --part pretrain [--preset NAME]
//
// 1. The limits, measured in this process: the float32 GEMM rate on the decode's shape (64 × 512 · 512 × 1408) and on
//    a large one, and the copy bandwidth (a 256 MB tensor copied); one layer's projections as 5 GEMMs and as 2 fused ones.
// 2. Decode on the 25m shape (d 512, 8 layers, vocab 4096, tied; the `model` benchmark's model), 32-token prompts, KV
//    cache: at batch 64, tokens/s against the FLOP bound (2 · parameters FLOP per token at the large GEMM's rate, and at
//    the 64-row GEMM's); at batch 1, against the memory-bandwidth bound (every weight read once per token: weight bytes ÷
//    copy bandwidth). CPU time and page faults per token beside each; peak resident memory.
// 3. `--part small` (also part of the default run): one decode step of the pipeline's 1m model at batch 64.
// 4. `--part update`: the GRPO update of the `grpo` benchmark (6m preset, 16 prompts of 32 tokens × G 8 × 128 completion
//    tokens, micro-batches of 32, dapo, μ = 1, β = 0, AdamW) on random completions, its time split into forward (logits and
//    log-probs with grad, the loss), backward, statistics and optimiser, against 6 · parameters · tokens at the GEMM rate.
// --loop SECONDS repeats the batch-64 decode (batch 1 with R1SHARP_PROFILE_BATCH=1) that long (to sample it with `perf record -g -p PID`; export
// DOTNET_PerfMapEnabled=1 first so managed frames have names).
static class ProfileBench
{
    public static void Run(bool quick, double loopSeconds)
    {
        Console.WriteLine($"libtorch threads: {get_num_threads()}");
        var config = ModelPresets.Create("25m", 4096, 1024, null, 0, 0);
        using var model = new CausalLM(config);
        model.InitializeWeights(seed: 1);
        model.eval();
        long parameters = config.ParameterCount();
        Console.WriteLine($"model: 25m preset, d {config.HiddenSize}, {config.NumLayers} layers, vocab 4096 (tied), {parameters / 1e6:F1}M parameters");

        double decodeGemm = Gemm(64, config.HiddenSize, config.IntermediateSize, quick);
        double largeGemm = Gemm(4096, config.HiddenSize, config.IntermediateSize, quick);
        Console.WriteLine($"GEMM fp32: {decodeGemm:F1} GFLOP/s at 64×512·512×1408 (decode), {largeGemm:F1} GFLOP/s at 4096×512·512×1408");
        double kernelGemm = KernelGemm(64, config.HiddenSize, config.IntermediateSize, quick, SpinTeam.Shared);
        using (var one = new SpinTeam(1))
            Console.WriteLine($"VectorDecoder's 4 × 4 tiles: {kernelGemm:F1} GFLOP/s at 64×512·512×1408 on {SpinTeam.Shared.Threads} threads, " +
                              $"{KernelGemm(64, config.HiddenSize, config.IntermediateSize, quick, one):F1} on one");

        Fusion(config, quick);

        var sampler = new Sampler(new CausalLMLanguageModel(model)) { MaxBatchSize = 64 };
        var torchOnly = new Sampler(new CausalLMLanguageModel(model, vectorRows: 0)) { MaxBatchSize = 128 }; // every step through libtorch
        var rng = new Random(7);
        int[][] Prompts(int n) => Enumerable.Range(0, n).Select(_ => Enumerable.Range(0, 32).Select(_ => rng.Next(4096)).ToArray()).ToArray();
        var batch64 = Prompts(64);
        var batch128 = batch64.Concat(Prompts(64)).ToArray();
        var batch1 = Prompts(1);
        int newTokens = quick ? 32 : 128;
        var greedy = new GenerationOptions { MaxNewTokens = newTokens, Temperature = 0 };
        sampler.Generate(batch64.Take(4).ToArray(), greedy with { MaxNewTokens = 4 });
        torchOnly.Generate(batch64.Take(4).ToArray(), greedy with { MaxNewTokens = 4 });

        // Best wall time of a few rounds; the CPU time of this process per token is printed beside it (with one libtorch
        // thread it is the work done, which other jobs on a shared machine disturb much less than the wall time).
        double Decode(int[][] prompts, GenerationOptions options, Sampler? by = null)
        {
            by ??= sampler;
            double best = double.MaxValue, bestCpu = double.MaxValue;
            long fewestFaults = long.MaxValue;
            var self = Process.GetCurrentProcess();
            for (int round = 0; round < (quick ? 1 : 3); round++)
            {
                self.Refresh();
                var cpu = self.TotalProcessorTime;
                long faults = MinorFaults();
                var sw = Stopwatch.StartNew();
                by.Generate(prompts, options);
                best = Math.Min(best, sw.Elapsed.TotalSeconds);
                self.Refresh();
                bestCpu = Math.Min(bestCpu, (self.TotalProcessorTime - cpu).TotalSeconds);
                fewestFaults = Math.Min(fewestFaults, MinorFaults() - faults);
            }
            int tokens = prompts.Length * options.MaxNewTokens;
            Console.Write($"  [CPU {bestCpu * 1e6 / tokens:F0} µs/token, wall {best * 1e6 / tokens:F0} µs/token, {fewestFaults / (double)tokens:F1} page faults/token] ");
            return prompts.Length * options.MaxNewTokens / best;
        }

        // FLOP per new token: 2 · (every parameter's multiply-add, the tied head included) + attention over ~prompt + new/2 keys.
        double keys = 32 + newTokens / 2.0;
        double flopsPerToken = 2.0 * parameters + config.NumLayers * 4.0 * keys * config.NumHeads * config.HeadDim;
        double rate64 = Decode(batch64, greedy);
        // The bound at the large GEMM's rate (what the machine can do), and at the rate of the decode's own 64-row GEMMs.
        double bound64 = Math.Max(largeGemm, decodeGemm) * 1e9 / flopsPerToken, shapeBound = decodeGemm * 1e9 / flopsPerToken;
        Console.WriteLine($"decode batch 64 greedy: {rate64:F0} tokens/s; FLOP bound {bound64:F0} tokens/s → {rate64 / bound64:P0} (target ≥ 60%); " +
                          $"at the 64-row GEMM rate {shapeBound:F0} tokens/s → {rate64 / shapeBound:P0}; " +
                          $"at the rate of VectorDecoder's own tiles {kernelGemm * 1e9 / flopsPerToken:F0} tokens/s → {rate64 / (kernelGemm * 1e9 / flopsPerToken):P0}" +
                          $"   [peak resident {Process.GetCurrentProcess().PeakWorkingSet64 / 1e6:F0} MB]");
        var sampled = greedy with { Temperature = 1.0, TopP = 1.0, Seed = 1 };
        double rate64t = Decode(batch64, sampled);
        Console.WriteLine($"decode batch 64 T = 1: {rate64t:F0} tokens/s → {rate64t / bound64:P0} of the FLOP bound");
        double rate1 = Decode(batch1, greedy);
        Console.WriteLine($"decode batch 1 greedy: {rate1:F0} tokens/s (VectorDecoder)");
        double rate1Torch = Decode(batch1, greedy, torchOnly);
        Console.WriteLine($"decode batch 1 greedy, libtorch only: {rate1Torch:F0} tokens/s → VectorDecoder {rate1 / rate1Torch:F2}× its speed");
        // Both paths from 2 to 128 rows (by default the sampler takes VectorDecoder up to its MaxRows: 93 rows for this model).
        foreach (int rows in new[] { 2, 4, 8, 16, 32, 64, 128 })
        {
            var prompts = batch128.Take(rows).ToArray();
            var vector = new Sampler(new CausalLMLanguageModel(model, vectorRows: rows)) { MaxBatchSize = 128 };
            double v = Decode(prompts, greedy, vector), t = Decode(prompts, greedy, torchOnly);
            Console.WriteLine($"decode batch {rows} greedy: VectorDecoder {v:F0} tokens/s, libtorch {t:F0} tokens/s → {v / t:F2}×");
        }
        long peak = Process.GetCurrentProcess().PeakWorkingSet64;
        double bandwidth = CopyBandwidth(quick); // after the decodes: its 512 MB would hide their peak
        Console.WriteLine($"copy bandwidth {bandwidth:F1} GB/s (read + write of 256 MB)");
        double weightBytes = 4.0 * parameters;
        double bound1 = bandwidth * 1e9 / weightBytes;
        Console.WriteLine($"decode batch 1 greedy: {rate1:F0} tokens/s; bandwidth bound {bound1:F0} tokens/s ({weightBytes / 1e6:F0} MB of weights per token) " +
                          $"→ {rate1 / bound1:P0} (target ≥ 50%)   [peak resident {peak / 1e6:F0} MB]");

        SmallModelStep(quick, 0);

        if (loopSeconds > 0)
        {
            Console.WriteLine($"looping the batch-64 decode for {loopSeconds:F0} s (pid {Environment.ProcessId})");
            var sw = Stopwatch.StartNew();
            int n = 0;
            var looped = Environment.GetEnvironmentVariable("R1SHARP_PROFILE_BATCH") == "1" ? batch1 : batch64;
            while (sw.Elapsed.TotalSeconds < loopSeconds) { sampler.Generate(looped, greedy); n++; }
            Console.WriteLine($"{n * looped.Length * newTokens / sw.Elapsed.TotalSeconds:F0} tokens/s over the loop");
        }
    }

    public static void RunUpdate(double loopSeconds)
    {
        const int prompts = 16, group = 8, promptLength = 32, newTokens = 128, vocab = 4096;
        Console.WriteLine($"libtorch threads: {get_num_threads()}");
        var config = ModelPresets.Create("6m", vocab, 1024, null, 0, 0);
        using var policy = new CausalLM(config);
        policy.InitializeWeights(seed: 1);
        long parameters = config.ParameterCount();
        var rng = new Random(7);
        var example = new TaskExample("bench", "", "", new Dictionary<string, string>());
        var rewards = Enumerable.Range(0, prompts * group).Select(_ => (double)rng.Next(2) + rng.NextDouble() * 0.5).ToArray();
        var (advantages, _) = GroupAdvantages.Compute(rewards, group, AdvantageScaling.Group);
        var samples = Enumerable.Range(0, prompts * group).Select(i => new GrpoRecipe.Sample(example,
            Enumerable.Range(0, promptLength).Select(_ => rng.Next(vocab)).ToArray(), Enumerable.Range(0, newTokens).Select(_ => rng.Next(vocab)).ToArray(),
            new float[newTokens], true, "", rewards[i], new Dictionary<string, double?>()) { Advantage = advantages[i] }).ToList();
        var options = new GrpoOptions
        {
            PromptsPerStep = prompts, Generations = group, Sampling = new() { MaxNewTokens = newTokens, Temperature = 1.0, TopP = 1.0 },
            LossType = LossType.Dapo, Beta = 0, Optimizer = new() { LearningRate = 1e-6, MaxGradNorm = 1.0, Schedule = ScheduleKind.Constant },
            MicroBatchSize = 32,
        };
        var trainable = new Trainable<CausalLM>(policy, ScalarType.Float32, (c, dtype) => new CausalLM(c, dtype));
        var optimizer = new OptimizerStep<CausalLM>(trainable, options.Optimizer, 1, _ => { });
        var aggregation = LossAggregations.For(options.LossType);
        double tokens = prompts * group * (promptLength + newTokens);
        double gemm = Gemm(options.MicroBatchSize * (promptLength + newTokens), config.HiddenSize, config.IntermediateSize, false);
        Console.WriteLine($"model: 6m preset, {parameters / 1e6:F1}M parameters; GEMM fp32 {gemm:F1} GFLOP/s at {options.MicroBatchSize * (promptLength + newTokens)}×{config.HiddenSize}·{config.HiddenSize}×{config.IntermediateSize}");
        var self = Process.GetCurrentProcess();
        var sw = Stopwatch.StartNew();
        for (int round = 0; round < 3 || sw.Elapsed.TotalSeconds < loopSeconds; round++)
        {
            var timing = new Dictionary<string, double>();
            self.Refresh();
            var cpu = self.TotalProcessorTime;
            long faults = MinorFaults();
            var watch = Stopwatch.StartNew();
            GrpoRecipe.Update(policy, null, optimizer, samples, options, aggregation, CPU, timing, watch, step: round);
            double seconds = watch.Elapsed.TotalSeconds;
            self.Refresh();
            double rate = 6.0 * parameters * tokens / seconds / 1e9;
            Console.WriteLine($"update: {seconds:F2} s (CPU {(self.TotalProcessorTime - cpu).TotalSeconds:F2} s) = {rate:F1} GFLOP/s of 6·N·tokens = {rate / gemm:P0} of the GEMM rate (target ≥ 60%); " +
                              string.Join(", ", timing.Select(kv => $"{kv.Key} {kv.Value:F2} s")) +
                              $"   [peak resident {self.PeakWorkingSet64 / 1e6:F0} MB, {MinorFaults() - faults} page faults]");
        }
        optimizer.Optimizer.Dispose();
    }

    /// <summary>
    /// A decode step's projections at batch 64, as separate GEMMs (q, k, v; gate, up) and fused (one QKV, one gate-up):
    /// the best time of many repetitions of each, alternated.
    /// </summary>
    static void Fusion(ModelConfig c, bool quick)
    {
        using var scope = NewDisposeScope();
        long d = c.HiddenSize, kv = c.NumKvHeads * c.HeadDim, inner = c.IntermediateSize;
        var x = randn(64, d);
        var (wq, wk, wv, bq, bk, bv) = (randn(d, d), randn(kv, d), randn(kv, d), randn(d), randn(kv), randn(kv));
        var (wg, wu) = (randn(inner, d), randn(inner, d));
        var wqkv = cat([wq, wk, wv], 0);
        var bqkv = cat([bq, bk, bv], 0);
        var wgu = cat([wg, wu], 0);
        double Best(Action step)
        {
            double best = double.MaxValue;
            for (int i = 0; i < (quick ? 20 : 200); i++)
            {
                var sw = Stopwatch.StartNew();
                using (NewDisposeScope()) step();
                best = Math.Min(best, sw.Elapsed.TotalSeconds);
            }
            return best * 1e6;
        }
        double separate = 0, fused = 0;
        for (int round = 0; round < 3; round++)
        {
            separate = Best(() =>
            {
                nn.functional.linear(x, wq, bq); nn.functional.linear(x, wk, bk); nn.functional.linear(x, wv, bv);
                nn.functional.linear(x, wg); nn.functional.linear(x, wu);
            });
            fused = Best(() => { nn.functional.linear(x, wqkv, bqkv).split([d, kv, kv], 1); nn.functional.linear(x, wgu).chunk(2, 1); });
        }
        Console.WriteLine($"projections of one layer at batch 64: q, k, v, gate, up as 5 GEMMs {separate:F0} µs, as QKV + gate-up {fused:F0} µs ({separate / fused:F2}×)");
    }

    /// <summary>
    /// The pipeline's own model size (the 1m preset, d 128, 4 layers, vocab 1024): one decode step at batch 64, the best of
    /// many 16-token generations. Its GEMMs are tiny, so the step's time is mostly the cost of each tensor operation.
    /// </summary>
    public static void SmallModelStep(bool quick, double loopSeconds)
    {
        var config = ModelPresets.Create("1m", 1024, 1024, null, 0, 0);
        using var model = new CausalLM(config);
        model.InitializeWeights(seed: 1);
        model.eval();
        var sampler = new Sampler(new CausalLMLanguageModel(model)) { MaxBatchSize = 64 };
        var vector64 = new Sampler(new CausalLMLanguageModel(model, vectorRows: 64)) { MaxBatchSize = 64 }; // every step through VectorDecoder
        var rng = new Random(3);
        var prompts = Enumerable.Range(0, 64).Select(_ => Enumerable.Range(0, 32).Select(_ => rng.Next(1024)).ToArray()).ToArray();
        double Best(GenerationOptions o, Sampler? by = null)
        {
            by ??= sampler;
            double best = double.MaxValue;
            for (int i = 0; i < (quick ? 10 : 40); i++)
            {
                var sw = Stopwatch.StartNew();
                by.Generate(prompts, o);
                best = Math.Min(best, sw.Elapsed.TotalSeconds);
            }
            return best;
        }
        var o16 = new GenerationOptions { MaxNewTokens = 16, Temperature = 1.0, Seed = 1 };
        double t16 = Best(o16), t1 = Best(o16 with { MaxNewTokens = 1 });
        Console.WriteLine($"1m preset ({config.ParameterCount() / 1e6:F2}M), batch 64, T = 1: {(t16 - t1) / 15 * 1e3:F2} ms per decode step " +
                          $"({64 * 15 / (t16 - t1):F0} tokens/s; prefill of 64 × 32 tokens {t1 * 1e3:F1} ms)");
        double v16 = Best(o16, vector64), v1 = Best(o16 with { MaxNewTokens = 1 }, vector64);
        Console.WriteLine($"  the same step through VectorDecoder: {(v16 - v1) / 15 * 1e3:F2} ms → {(t16 - t1) / (v16 - v1):F2}× libtorch's speed");
        for (var sw = Stopwatch.StartNew(); sw.Elapsed.TotalSeconds < loopSeconds;) sampler.Generate(prompts, o16);
    }

    /// <summary>GFLOP/s of VectorDecoder's tiled products (y = W x for m rows, W k × n) on <paramref name="team"/>, best of a few rounds.</summary>
    static unsafe double KernelGemm(int m, int k, int n, bool quick, SpinTeam team)
    {
        var w = GC.AllocateArray<float>(n * k, pinned: true);
        var x = GC.AllocateArray<float>(m * k, pinned: true);
        var y = GC.AllocateArray<float>(m * n, pinned: true);
        for (int i = 0; i < w.Length; i++) w[i] = (i % 17) * 0.01f;
        for (int i = 0; i < x.Length; i++) x[i] = (i % 13) * 0.01f;
        double best = double.MaxValue;
        fixed (float* wp = w, xp = x, yp = y)
        {
            nint W = (nint)wp, X = (nint)xp, Y = (nint)yp;
            void Once() => team.Run((n + 3) / 4, (first, end, _) =>
            {
                if (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated)
                    VectorKernels<Simd512>.MatMul((float*)W, null, k, (float*)X, m, (float*)Y, n, first * 4, Math.Min(end * 4, n), false);
                else VectorKernels<Simd256>.MatMul((float*)W, null, k, (float*)X, m, (float*)Y, n, first * 4, Math.Min(end * 4, n), false);
            });
            for (int i = 0; i < 20; i++) Once();
            for (int round = 0; round < (quick ? 5 : 20); round++)
            {
                var sw = Stopwatch.StartNew();
                for (int i = 0; i < 20; i++) Once();
                best = Math.Min(best, sw.Elapsed.TotalSeconds / 20);
            }
        }
        return 2.0 * m * k * n / best / 1e9;
    }

    /// <summary>Minor page faults of this process so far (/proc/self/stat field 10): memory the kernel had to map and zero.</summary>
    static long MinorFaults()
    {
        var stat = File.ReadAllText("/proc/self/stat");
        return long.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[7]);
    }

    /// <summary>
    /// `--part pretrain [--preset NAME]`: the pretraining step of the pipeline's base (1m preset, vocab 1024, 16 × 256 tokens,
    /// AdamW) split into forward (logits and loss), backward and optimiser, against 6 · parameters · tokens + attention at
    /// the GEMM rate of the step's largest projection shape.
    /// </summary>
    public static void PretrainStep(string preset)
    {
        const int batch = 16, seq = 256, vocab = 1024; int steps = int.TryParse(Environment.GetEnvironmentVariable("R1SHARP_PROFILE_STEPS"), out int n) ? n : 20;
        bool kept = NativeHeap.KeepFreedMemory();
        Console.WriteLine($"libtorch threads: {get_num_threads()}; glibc heap: {(kept ? "freed memory kept (NativeHeap)" : "defaults")}");
        var config = ModelPresets.Create(preset, vocab, seq * 2, null, 0, 0);
        using var model = new CausalLM(config);
        model.InitializeWeights(seed: 1);
        model.train();
        var optimizer = Optimizers.AdamW(model, 1e-3, 0.1);
        long h = config.HiddenSize, kv = (long)config.NumKvHeads * config.HeadDim, q = (long)config.NumHeads * config.HeadDim;
        double linear = config.NumLayers * (2.0 * h * q + 2.0 * h * kv + 3.0 * h * config.IntermediateSize) + vocab * h;
        double tokens = batch * seq;
        double flops = 3 * (2 * linear * tokens + config.NumLayers * 2.0 * batch * config.NumHeads * seq * (double)seq * config.HeadDim); // causal: half of QKᵀ and AV
        double gemm = Gemm(batch * seq, h, config.IntermediateSize, false);
        Console.WriteLine($"model: {preset}, {config.ParameterCount() / 1e6:F2}M parameters, {batch} × {seq} tokens a step, {flops / 1e9:F1} GFLOP; GEMM fp32 {gemm:F1} GFLOP/s at {batch * seq}×{h}·{h}×{config.IntermediateSize}");
        var rng = new Random(3);
        var ids = tensor(Enumerable.Range(0, batch * (seq + 1)).Select(_ => (long)rng.Next(vocab)).ToArray(), [batch, seq + 1]);
        var input = ids.narrow(1, 0, seq);
        var target = ids.narrow(1, 1, seq);
        var all = ones(batch, seq, dtype: ScalarType.Bool);
        double forward = 0, backward = 0, step = 0, best = double.MaxValue;
        long faults = 0, scalarsBefore = 0;
        for (int i = 0; i < steps + 3; i++)
        {
            if (i == 3) scalarsBefore = TorchSharpScalars.CountAfterCollection(); // the warm-up steps' garbage found and counted before the timed steps
            long faultsBefore = MinorFaults();
            using var scope = NewDisposeScope();
            var sw = Stopwatch.StartNew();
            var loss = R1Sharp.Training.Losses.TokenLosses.CrossEntropy(model.Forward(input), target, all);
            loss.item<float>();
            double f = sw.Elapsed.TotalSeconds;
            loss.backward();
            double b = sw.Elapsed.TotalSeconds;
            Optimizers.ClipGradients(model, 1.0);
            optimizer.step();
            optimizer.zero_grad();
            double total = sw.Elapsed.TotalSeconds;
            if (i < 3) continue;
            forward += f; backward += b - f; step += total - b; best = Math.Min(best, total);
            faults += MinorFaults() - faultsBefore;
        }
        double mean = (forward + backward + step) / steps;
        long garbageScalars = TorchSharpScalars.CountAfterCollection() - scalarsBefore;
        Console.WriteLine($"step {mean * 1e3:F0} ms (best {best * 1e3:F0}): forward {forward / steps * 1e3:F0} ms, backward {backward / steps * 1e3:F0} ms, clip + AdamW {step / steps * 1e3:F0} ms; {faults / steps:N0} page faults a step, peak resident {Process.GetCurrentProcess().PeakWorkingSet64 / 1e6:F0} MB, " +
                          $"{garbageScalars / (double)steps:F0} Scalars a step left to the finalizer");
        Console.WriteLine($"  {flops / mean / 1e9:F1} GFLOP/s = {flops / mean / 1e9 / gemm:P0} of the GEMM rate; {tokens / mean:F0} tokens/s");
    }

    static double Gemm(long m, long k, long n, bool quick)
    {
        using var scope = NewDisposeScope();
        var a = randn(m, k);
        var b = randn(k, n);
        int reps = (int)Math.Max(1, 2e9 / (2.0 * m * k * n)); // ~2 GFLOP per timing
        double best = double.MaxValue;
        for (int i = 0; i < (quick ? 3 : 8); i++)
        {
            var sw = Stopwatch.StartNew();
            for (int r = 0; r < reps; r++) a.matmul(b).Dispose();
            best = Math.Min(best, sw.Elapsed.TotalSeconds / reps);
        }
        return 2.0 * m * k * n / best / 1e9;
    }

    static double CopyBandwidth(bool quick)
    {
        using var scope = NewDisposeScope();
        var a = randn(64L << 20);
        var b = empty_like(a);
        double best = double.MaxValue;
        for (int i = 0; i < (quick ? 3 : 8); i++)
        {
            var sw = Stopwatch.StartNew();
            b.copy_(a);
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        return 2.0 * 4 * a.numel() / best / 1e9;
    }
}

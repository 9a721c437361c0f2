using R1Sharp.Engine.Generation;
// Speed of the model stack, measured side by side in one run:
//   dotnet run --project bench/R1Sharp.Bench -c Release -- model [--quick]
//   dotnet run --project bench/R1Sharp.Bench -c Release -- sft [--quick] [--row-length N]  (the SFT step: SftStep.cs)
//   dotnet run --project bench/R1Sharp.Bench -c Release -- sft-memory [steps] (resident memory of a long SFT run: SftMemory.cs)
//   dotnet run --project bench/R1Sharp.Bench -c Release -- grpo [--preset 6m] [--quick]  (one GRPO step vs PyTorch eager: GrpoStep.cs)
//   OMP_NUM_THREADS=1 dotnet run --project bench/R1Sharp.Bench -c Release -- grpo-memory [steps] (resident memory of a long GRPO run: GrpoMemory.cs)
//   dotnet run --project bench/R1Sharp.Bench -c Release -- fleet [--quick] [--part overlap|sync]  (asynchronous vs synchronous GRPO on r1sharp serve, weight-sync times: FleetBench.cs)
//   dotnet run --project bench/R1Sharp.Bench -c Release -- mpi [--quick]  (all-reduce bandwidth on 2 MPI ranks, SFT and GRPO step scaling 1 → 2 ranks: MpiBench.cs)
//   dotnet run --project bench/R1Sharp.Bench -c Release -- moe [--quick] [--train-only] [--profile]   (the dsv3-1m MoE preset vs the dense 1m; --profile: per-block forward/backward: MoeBench.cs)
//   dotnet run --project bench/R1Sharp.Bench -c Release -- profile [--part update|small] [--quick] [--loop SECONDS]  (decode against the FLOP and bandwidth bounds: ProfileBench.cs)
//
// 1. GEMM: the float32 matmul rate libtorch reaches in this process, on the training step's largest shape.
// 2. Training step: forward + backward (float32, d_model 512, 8 layers, batch 8 × 512 tokens); its useful
//    FLOP rate as a share of (1). Target ≥ 80%. `--train-only` stops here.
// 3. Batched decode at batch 64 with a KV cache, greedy: tokens/s against a PyTorch eager decode loop on the
//    same checkpoint and prompts (bench/pytorch/reference.py, Debian's python3-torch). Target ≥ 2×.
//    The two are interleaved (ours, theirs, ours, theirs) so machine noise hits both alike.
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using R1Sharp.Engine;
using R1Sharp.Model;
using static TorchSharp.torch;

bool quick = args.Contains("--quick");
// As the r1sharp command does (CpuKernels.cs, NativeHeap.cs); ATEN_CPU_CAPABILITY=avx512 and R1SHARP_GLIBC_HEAP=default
// measure without.
R1Sharp.Model.NativeHeap.RestartWithHugePages();
R1Sharp.Model.CpuKernels.PreferAvx2OnAmd();
R1Sharp.Model.NativeHeap.KeepFreedMemory();
if (args.Length == 0 || args[0] is not ("model" or "sft" or "sft-memory" or "grpo" or "grpo-memory" or "fleet" or "mpi" or "mpi-allreduce" or "moe" or "profile"))
{
    Console.WriteLine("usage: R1Sharp.Bench model [--quick] [--train-only] | sft [--quick] [--row-length N] | sft-memory [steps] | grpo [--preset NAME] [--quick] | grpo-memory [steps] | fleet [--quick] [--part overlap|sync] | mpi [--quick] | moe [--quick] [--train-only] [--profile] | profile [--part update|small|pretrain] [--preset NAME] [--quick] [--loop SECONDS]");
    return 1;
}
if (args[0] == "mpi")
{
    MpiBench.Run(quick);
    return 0;
}
if (args[0] == "mpi-allreduce") // started by `mpi` under mpiexec -n 2
{
    MpiBench.AllReduce(quick);
    return R1Sharp.Training.Distributed.Collectives.Exit(0);
}
if (args[0] == "fleet")
{
    int part = Array.IndexOf(args, "--part");
    FleetBench.Run(quick, part > 0 && part + 1 < args.Length ? args[part + 1] : null);
    return 0;
}
if (args[0] == "profile")
{
    int loop = Array.IndexOf(args, "--loop");
    double seconds = loop > 0 && loop + 1 < args.Length ? double.Parse(args[loop + 1]) : 0;
    int preset = Array.IndexOf(args, "--preset");
    if (args.Contains("update")) ProfileBench.RunUpdate(seconds);
    else if (args.Contains("pretrain")) ProfileBench.PretrainStep(preset > 0 && preset + 1 < args.Length ? args[preset + 1] : "1m");
    else if (args.Contains("small")) ProfileBench.SmallModelStep(quick, seconds);
    else ProfileBench.Run(quick, seconds);
    return 0;
}
if (args[0] == "moe")
{
    if (args.Contains("--ops")) MoeProfile.Ops();
    else if (args.Contains("--profile")) MoeProfile.Run();
    else MoeBench.Run(quick, trainOnly: args.Contains("--train-only"));
    return 0;
}
if (args[0] == "grpo")
{
    int at = Array.IndexOf(args, "--preset");
    GrpoStep.Run(at > 0 && at + 1 < args.Length ? args[at + 1] : "6m", quick);
    return 0;
}
if (args[0] == "grpo-memory")
{
    GrpoMemory.Run(args.Length > 1 && int.TryParse(args[1], out int steps) ? steps : 500);
    return 0;
}

if (args[0] == "sft-memory")
{
    SftMemory.Run(args.Length > 1 && int.TryParse(args[1], out int n) ? n : 200);
    return 0;
}
Console.WriteLine($"libtorch threads: {get_num_threads()}");
var config = new ModelConfig
{
    Architecture = Architecture.Qwen2, VocabSize = 4096, HiddenSize = 512, IntermediateSize = 1408, NumLayers = 8,
    NumHeads = 8, NumKvHeads = 4, HeadDim = 64, MaxPositionEmbeddings = 1024, RopeTheta = 10000, TieWordEmbeddings = true,
    AttentionBias = true, RmsNormEps = 1e-6,
};
using var model = new CausalLM(config);
model.InitializeWeights(seed: 1);
Console.WriteLine($"model: Qwen2-style, d 512, 8 layers, 8 heads / 4 kv heads, vocab 4096 (tied), {config.ParameterCount() / 1e6:F1}M parameters");

// ---- 1. GEMM rate ----
double GemmGflops(long m, long k, long n)
{
    using var scope = NewDisposeScope();
    var a = randn(m, k);
    var b = randn(k, n);
    a.matmul(b);
    double best = double.MaxValue;
    for (int i = 0; i < (quick ? 3 : 10); i++)
    {
        var sw = Stopwatch.StartNew();
        a.matmul(b).Dispose();
        best = Math.Min(best, sw.Elapsed.TotalSeconds);
    }
    return 2.0 * m * k * n / best / 1e9;
}

if (args[0] == "sft")
{
    double gemmBefore = GemmGflops(4096, 512, 1408);
    Console.WriteLine($"GEMM (4096×512 · 512×1408, fp32) before the steps: {gemmBefore:F1} GFLOP/s");
    int rowLength = Array.IndexOf(args, "--row-length") is int at and > 0 && at + 1 < args.Length ? int.Parse(args[at + 1]) : 512;
    SftStep.Run(model, () => Math.Max(gemmBefore, GemmGflops(4096, 512, 1408)), quick, rowLength);
    return 0;
}

// ---- 2. training step ----
int batch = 8, seq = 512;
long linearParams = 8L * (512 * 512 * 2 + 512 * 256 * 2 + 3 * 512 * 1408) + 4096L * 512; // q,o + k,v + mlp per layer; the head
double forwardFlops = 2.0 * batch * seq * linearParams + 8 * 2.0 * batch * seq * seq * 512; // + causal attention (QKᵀ and AV, half the square each)
double trainFlops = 3 * forwardFlops;
double TrainStepSeconds()
{
    var ids = randint(0, 4096, [batch, seq + 1]);
    double best = double.MaxValue;
    for (int i = 0; i < (quick ? 2 : 4); i++)
    {
        using var scope = NewDisposeScope();
        var sw = Stopwatch.StartNew();
        var logits = model.Forward(ids.narrow(1, 0, seq));
        var loss = nn.functional.cross_entropy(logits.reshape(-1, 4096), ids.narrow(1, 1, seq).reshape(-1));
        loss.backward();
        double t = sw.Elapsed.TotalSeconds;
        foreach (var p in model.parameters()) p.grad = null;
        if (i > 0) best = Math.Min(best, t); // the first step warms up
    }
    return best;
}

double gemm = GemmGflops(batch * seq, 512, 1408);
double step = TrainStepSeconds();
double gemmAfter = GemmGflops(batch * seq, 512, 1408);
double gemmRate = Math.Max(gemm, gemmAfter);
double trainRate = trainFlops / step / 1e9;
Console.WriteLine($"GEMM (4096×512 · 512×1408, fp32): {gemm:F1} / {gemmAfter:F1} GFLOP/s (before / after the step)");
Console.WriteLine($"training step (8 × 512 tokens, fwd+bwd fp32): {step:F2} s = {trainRate:F1} GFLOP/s of useful work " +
                  $"= {trainRate / gemmRate:P0} of the GEMM rate (target ≥ 80%)   [{batch * seq / step:F0} tokens/s]");
// The step's attention alone, at its shapes (8 layers of Attention.Causal — K/V repeated to the 8 query heads as Attention
// does without a mask — forward and backward), against libtorch's single causal call (flash attention in 512-key blocks:
// at T = 512 its causal mask skips nothing, and its small blocks run far below the GEMM rate). The rest of the step against
// the rest of the FLOPs.
double AttentionSeconds(Func<Tensor, Tensor, Tensor, Tensor> attend)
{
    var q = randn(batch, 8, seq, 64, requires_grad: true);
    var k = randn(batch, 8, seq, 64, requires_grad: true);
    var v = randn(batch, 8, seq, 64, requires_grad: true);
    double best = double.MaxValue;
    for (int i = 0; i < (quick ? 2 : 4); i++)
    {
        using var scope = NewDisposeScope();
        var sw = Stopwatch.StartNew();
        for (int layer = 0; layer < 8; layer++) attend(q, k, v).sum().backward();
        if (i > 0) best = Math.Min(best, sw.Elapsed.TotalSeconds);
    }
    return best;
}
double attention = AttentionSeconds(Attention.Causal), attentionFlops = 3 * 8 * 2.0 * batch * seq * seq * 512;
double oneCall = AttentionSeconds((q, k, v) => nn.functional.scaled_dot_product_attention(q, k, v, null, 0.0, true));
Console.WriteLine($"  of which attention (8 layers of Attention.Causal fwd+bwd at the step's shapes, alone): {attention:F2} s = " +
                  $"{attentionFlops / attention / 1e9:F0} GFLOP/s of useful work (libtorch's single causal call: {oneCall:F2} s); " +
                  $"the rest of the step {step - attention:F2} s = {(trainFlops - attentionFlops) / (step - attention) / 1e9 / gemmRate:P0} of the GEMM rate");
if (args.Contains("--train-only")) return 0;

// ---- 3. decode vs PyTorch eager ----
int decodeBatch = 64, promptLength = 32, newTokens = quick ? 32 : 128;
var rng = new Random(7);
var prompts = Enumerable.Range(0, decodeBatch).Select(_ => Enumerable.Range(0, promptLength).Select(_ => rng.Next(4096)).ToArray()).ToArray();
var dir = Directory.CreateTempSubdirectory("r1sharp-bench-").FullName;
try
{
    Checkpoint.Save(model, Path.Combine(dir, "model"));
    File.WriteAllText(Path.Combine(dir, "prompts.json"), JsonSerializer.Serialize(prompts));
    var sampler = new Sampler(new CausalLMLanguageModel(model)) { MaxBatchSize = decodeBatch };
    var options = new GenerationOptions { MaxNewTokens = newTokens, Temperature = 0 };
    sampler.Generate(prompts.Take(4).ToArray(), options with { MaxNewTokens = 4 }); // warm-up

    (double TokensPerSecond, int[][] Tokens) Ours()
    {
        var sw = Stopwatch.StartNew();
        var c = sampler.Generate(prompts, options);
        return (decodeBatch * newTokens / sw.Elapsed.TotalSeconds, c.Select(x => x.Tokens).ToArray());
    }

    double theirGemm = 0;
    (double TokensPerSecond, int[][] Tokens)? Theirs()
    {
        var python = "/usr/bin/python3";
        var script = Path.Combine(AppContext.BaseDirectory, "pytorch", "reference.py");
        var psi = new ProcessStartInfo(python, [script, "decode", Path.Combine(dir, "model"), "--prompts", Path.Combine(dir, "prompts.json"),
                                                "--new", newTokens.ToString(), "--threads", get_num_threads().ToString()])
        { RedirectStandardOutput = true, RedirectStandardError = true };
        try
        {
            using var p = Process.Start(psi)!;
            var output = p.StandardOutput.ReadToEnd();
            var error = p.StandardError.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) { Console.WriteLine($"PyTorch reference failed: {error.Trim()}"); return null; }
            var json = JsonNode.Parse(output)!;
            theirGemm = json["gemm_gflops"]!.GetValue<double>();
            return (json["tokens_per_second"]!.GetValue<double>(),
                    json["tokens"]!.AsArray().Select(r => r!.AsArray().Select(t => t!.GetValue<int>()).ToArray()).ToArray());
        }
        catch (System.ComponentModel.Win32Exception)
        {
            Console.WriteLine("PyTorch reference skipped: /usr/bin/python3 not found (apt-get install python3-torch)");
            return null;
        }
    }

    var ours = new List<double>();
    var theirs = new List<double>();
    int[][]? ourTokens = null, theirTokens = null;
    for (int round = 0; round < (quick ? 1 : 2); round++)
    {
        var o = Ours();
        ours.Add(o.TokensPerSecond);
        ourTokens = o.Tokens;
        if (Theirs() is { } t) { theirs.Add(t.TokensPerSecond); theirTokens = t.Tokens; }
    }
    Console.WriteLine($"decode, batch {decodeBatch}, prompt {promptLength}, {newTokens} new tokens, greedy: R1Sharp {string.Join(" / ", ours.Select(x => x.ToString("F0")))} tokens/s");
    if (theirs.Count > 0)
    {
        int same = ourTokens!.Zip(theirTokens!).Count(p => p.First.SequenceEqual(p.Second));
        Console.WriteLine($"                          PyTorch eager {string.Join(" / ", theirs.Select(x => x.ToString("F0")))} tokens/s; " +
                          $"ratio {ours.Max() / theirs.Max():F2}× (target ≥ 2×); identical greedy rows {same}/{decodeBatch}");
        Console.WriteLine($"                          (PyTorch's own GEMM rate: {theirGemm:F0} GFLOP/s; under ~20 means Debian's reference BLAS: apt-get install libopenblas0-pthread)");
    }
}
finally
{
    Directory.Delete(dir, recursive: true);
}
return 0;

// Serving figures, measured on loopback with the tiny fixture checkpoint (or --model DIR):
//   dotnet run --project bench/R1Sharp.Bench.Server -c Release -- load [--requests 200] [--seconds 60] [--concurrency 1,16] [--max-tokens 64] [--stream]
//   dotnet run --project bench/R1Sharp.Bench.Server -c Release -- eval-compare [--limit 64] [--samples 8] [--max-tokens 32]
//   dotnet run --project bench/R1Sharp.Bench.Server -c Release -- checkpoint DIR      (writes the tiny text checkpoint)
//
// load: starts the server in this process on 127.0.0.1 (a free port) and sends completions requests from
//   `concurrency` clients until `requests` are done or `seconds` have passed, whichever comes first; reports
//   requests/s, latency percentiles (and time to first token when streaming), tokens/s and the server's batching.
// eval-compare: the evaluation harness through the local engine and through `r1sharp serve` (remote backend on
//   loopback): identical outputs at temperature 0 (GSM8K prompts), and pass@1 with its standard error when
//   sampling (R1's 0.6 / 0.95) on a digit-answer task where a random-weight model scores above zero; tokens/s both ways.
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using R1Sharp.Engine.Generation;
using R1Sharp.Recipes.Eval;
using R1Sharp.Server;
using R1Sharp.Tasks;
using R1Sharp.Tests;
using R1Sharp.Text.Templates;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
if (args.Length == 0 || args[0] is not ("load" or "eval-compare" or "checkpoint"))
{
    Console.WriteLine("usage: R1Sharp.Bench.Server load|eval-compare|checkpoint [options] (see Program.cs)");
    return 1;
}
string Arg(string name, string fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}
if (args[0] == "checkpoint")
{
    TinyCheckpoint.Create(R1Sharp.Tests.RepoPaths.Fixture("hf-tiny", "qwen2-tiny"), args[1]);
    Console.WriteLine($"wrote {args[1]}");
    return 0;
}

string? modelDir = Arg("--model", "") is { Length: > 0 } m ? m : null;
string temp = Directory.CreateTempSubdirectory("r1sharp-bench-server-").FullName;
try
{
    if (modelDir is null)
    {
        modelDir = Path.Combine(temp, "tiny");
        TinyCheckpoint.Create(R1Sharp.Tests.RepoPaths.Fixture("hf-tiny", "qwen2-tiny"), modelDir);
    }
    using var model = LocalModel.Load(modelDir);
    Console.WriteLine($"model: {modelDir} ({model.Model.Config.Architecture}, {model.Model.Config.ParameterCount() / 1e6:F2}M parameters, " +
                      $"vocab {model.VocabSize}, context {model.ContextLength}); libtorch threads {TorchSharp.torch.get_num_threads()}");
    return args[0] == "load" ? await Load(model) : await EvalCompare(model);
}
finally
{
    Directory.Delete(temp, recursive: true);
}

async Task<int> Load(LocalModel model)
{
    int maxRequests = int.Parse(Arg("--requests", "200"));
    double seconds = double.Parse(Arg("--seconds", "60"));
    int maxTokens = int.Parse(Arg("--max-tokens", "64"));
    bool stream = args.Contains("--stream");
    var levels = Arg("--concurrency", "1,16").Split(',').Select(int.Parse).ToArray();
    var questions = Benchmarks.Gsm8k(PromptStyle.Raw).Examples.Select(e => e.Question).ToArray();

    await using var server = await OpenAiServer.StartAsync(model, new ServerOptions { Port = 0, ServedModelName = "bench", MaxQueuedRequests = 1024 });
    using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(5) };
    http.DefaultRequestHeaders.ConnectionClose = false;
    var url = new Uri(server.BaseAddress, "v1/completions");
    Console.WriteLine($"load test: POST {url}, ≤ {maxRequests} requests or ≤ {seconds} s per level, max_tokens {maxTokens}, temperature 0.6, " +
                      $"{(stream ? "streaming" : "not streaming")}, GSM8K questions as prompts");
    // Baselines in this process, under the same machine load: the engine without HTTP, one request at a time, and
    // the largest level's worth of requests in one call.
    using (var engine = new LocalGenerationBackend(model))
    {
        GenerationRequest Request(int n) => new(GenerationPrompt.FromText(questions[n % questions.Length]),
            new GenerationOptions { MaxNewTokens = maxTokens, Temperature = 0.6, TopP = 0.95, Seed = 1 });
        await engine.GenerateAllAsync([Request(0)]);
        var times = new List<double>();
        long engineTokens = 0;
        var total = Stopwatch.StartNew();
        for (int n = 1; n <= Math.Min(20, maxRequests) && total.Elapsed.TotalSeconds < seconds; n++)
        {
            var sw = Stopwatch.StartNew();
            engineTokens += (await engine.GenerateAllAsync([Request(n)]))[0].CompletionTokens;
            times.Add(sw.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        Console.WriteLine($"engine alone, one request at a time: {times.Count / total.Elapsed.TotalSeconds:F2} req/s, p50 {times[times.Count / 2]:F0} ms, " +
                          $"{engineTokens / total.Elapsed.TotalSeconds:F0} tokens/s");
        int batch = levels.Max();
        var batchClock = Stopwatch.StartNew();
        var batchResults = await engine.GenerateAllAsync([.. Enumerable.Range(0, batch).Select(Request)]);
        Console.WriteLine($"engine alone, {batch} requests in one call: {batch / batchClock.Elapsed.TotalSeconds:F2} req/s, " +
                          $"{batchResults.Sum(r => r.CompletionTokens) / batchClock.Elapsed.TotalSeconds:F0} tokens/s");
    }
    Console.WriteLine($"{"clients",8} {"requests",9} {"errors",7} {"req/s",8} {"p50 ms",8} {"p90 ms",8} {"p99 ms",8} {"max ms",8} {(stream ? "ttft p50" : ""),9} {"tokens/s",9} {"rows/batch",11} {"largest",8}");
    foreach (int clients in levels)
    {
        var before = server.Stats;
        var latencies = new List<double>();
        var firstTokens = new List<double>();
        int issued = 0, errors = 0;
        long tokens = 0;
        var clock = Stopwatch.StartNew();
        async Task Client()
        {
            while (true)
            {
                int n = Interlocked.Increment(ref issued);
                if (n > maxRequests || clock.Elapsed.TotalSeconds > seconds) return;
                var body = new JsonObject
                {
                    ["model"] = "bench", ["prompt"] = questions[n % questions.Length], ["max_tokens"] = maxTokens,
                    ["temperature"] = 0.6, ["top_p"] = 0.95, ["seed"] = 1, ["stream"] = stream,
                };
                if (stream) body["stream_options"] = new JsonObject { ["include_usage"] = true };
                var sw = Stopwatch.StartNew();
                double? ttft = null;
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
                    using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                    if (response.StatusCode != HttpStatusCode.OK) { Interlocked.Increment(ref errors); continue; }
                    int used = 0;
                    if (stream)
                    {
                        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
                        while (await reader.ReadLineAsync() is { } line)
                        {
                            if (!line.StartsWith("data: ") || line == "data: [DONE]") continue;
                            var chunk = JsonNode.Parse(line[6..])!;
                            if (chunk["usage"] is { } u) used = (int)u["completion_tokens"]!;
                            else ttft ??= sw.Elapsed.TotalMilliseconds;
                        }
                    }
                    else
                    {
                        used = (int)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["usage"]!["completion_tokens"]!;
                    }
                    Interlocked.Add(ref tokens, used);
                    lock (latencies)
                    {
                        latencies.Add(sw.Elapsed.TotalMilliseconds);
                        if (ttft is { } t) firstTokens.Add(t);
                    }
                }
                catch (HttpRequestException)
                {
                    Interlocked.Increment(ref errors);
                }
            }
        }
        await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(Client)));
        double wall = clock.Elapsed.TotalSeconds;
        var after = server.Stats;
        latencies.Sort();
        firstTokens.Sort();
        double P(List<double> xs, double q) => xs.Count == 0 ? double.NaN : xs[Math.Min(xs.Count - 1, (int)Math.Ceiling(q * xs.Count) - 1)];
        long batches = after.Batches - before.Batches;
        double rowsPerBatch = batches == 0 ? 0 : (after.Rows - before.Rows) / (double)batches;
        Console.WriteLine($"{clients,8} {latencies.Count,9} {errors,7} {latencies.Count / wall,8:F2} {P(latencies, 0.5),8:F0} {P(latencies, 0.9),8:F0} {P(latencies, 0.99),8:F0} " +
                          $"{(latencies.Count == 0 ? 0 : latencies[^1]),8:F0} {(stream ? P(firstTokens, 0.5).ToString("F0") : ""),9} {tokens / wall,9:F0} {rowsPerBatch,11:F1} {after.LargestBatch,8}");
    }
    return 0;
}

async Task<int> EvalCompare(LocalModel model)
{
    int limit = int.Parse(Arg("--limit", "64"));
    int samples = int.Parse(Arg("--samples", "8"));
    int maxTokens = int.Parse(Arg("--max-tokens", "32"));
    await using var server = await OpenAiServer.StartAsync(model, new ServerOptions { Port = 0, ServedModelName = "bench", MaxQueuedRequests = 4096 });
    using var local = new LocalGenerationBackend(model);
    using var remote = new RemoteGenerationBackend(new RemoteBackendOptions { Endpoints = [server.BaseAddress], Model = "bench", MaxConcurrency = 64 });

    // Warm-up (JIT, first libtorch calls, first connection) so that neither path pays it in the figures.
    var warm = new GenerationRequest(GenerationPrompt.FromText("warm up"), new GenerationOptions { MaxNewTokens = 4 }, N: 2);
    await local.GenerateAllAsync([warm, warm]);
    await remote.GenerateAllAsync([warm, warm]);

    // 1. Temperature 0 on GSM8K (chat template, R1's instruction): the two paths must agree exactly.
    var gsm8k = await EvalTasks.LoadAsync("gsm8k");
    var greedy = new EvalOptions { Samples = 1, Sampling = new() { Temperature = 0, MaxNewTokens = maxTokens }, Limit = limit, Template = PromptTemplate.Chat };
    var (l0, lDir) = await Run(local, gsm8k, greedy, "greedy-local");
    var (s0, sDir) = await Run(remote, gsm8k, greedy, "greedy-served");
    var a = Samples(lDir);
    var b = Samples(sDir);
    int same = a.Count(kv => b.TryGetValue(kv.Key, out var other) && other == kv.Value);
    Console.WriteLine($"temperature 0, GSM8K × {limit}, {maxTokens} new tokens: identical samples {same}/{a.Count}; " +
                      $"tokens/s local {l0.TokensPerSecond:F0}, served {s0.TokensPerSecond:F0}");

    // 2. Sampling (0.6 / 0.95) on single-digit sums: pass@1 with standard errors both ways.
    string file = Path.Combine(temp, "digits.jsonl");
    var rng = new Random(5);
    File.WriteAllLines(file, Enumerable.Range(0, limit).Select(i =>
    {
        int x = rng.Next(0, 5), y = rng.Next(0, 5);
        return JsonSerializer.Serialize(new { id = $"digits-{i}", question = $"What is {x} + {y}? Answer with one digit.", answer = (x + y).ToString(CultureInfo.InvariantCulture) });
    }));
    var digits = await EvalTasks.LoadAsync(file);
    var sampled = new EvalOptions { Samples = samples, Sampling = new() { Temperature = 0.6, TopP = 0.95, MaxNewTokens = maxTokens }, Limit = limit, Template = PromptTemplate.Chat };
    var (l1, _) = await Run(local, digits, sampled, "sampled-local");
    var (s1, _) = await Run(remote, digits, sampled, "sampled-served");
    double diff = l1.PassAt1 - s1.PassAt1, se = Math.Sqrt(l1.PassAt1StdErr * l1.PassAt1StdErr + s1.PassAt1StdErr * s1.PassAt1StdErr);
    Console.WriteLine($"temperature 0.6 / top-p 0.95, {limit} digit problems × {samples} samples: pass@1 local {l1.PassAt1:F4} ± {l1.PassAt1StdErr:F4}, " +
                      $"served {s1.PassAt1:F4} ± {s1.PassAt1StdErr:F4}; difference {diff:+0.0000;-0.0000} = {(se > 0 ? diff / se : 0):F2} standard errors");
    Console.WriteLine($"    cons@{samples} {l1.ConsAtK:F4} / {s1.ConsAtK:F4}, pass@{samples} {l1.PassAtK:F4} / {s1.PassAtK:F4}, mean length {l1.MeanLength:F1} / {s1.MeanLength:F1}; " +
                      $"tokens/s local {l1.TokensPerSecond:F0}, served {s1.TokensPerSecond:F0}; server batches: {server.Stats.Batches}, largest {server.Stats.LargestBatch} rows");
    return 0;
}

async Task<(EvalSummary Summary, string Dir)> Run(IGenerationBackend backend, TaskDefinition task, EvalOptions options, string name)
{
    string dir = Path.Combine(temp, name);
    return (await Evaluation.RunAsync(backend, task, options, dir), dir);
}

static Dictionary<string, string> Samples(string dir) => File.ReadAllLines(Path.Combine(dir, "results.jsonl"))
    .Select(l => JsonNode.Parse(l)!).ToDictionary(n => (string)n["id"]!, n => n["samples"]!.ToJsonString());

using System.CommandLine;
using System.Diagnostics;
using System.Text.Json.Nodes;
using R1Sharp.Engine;
using R1Sharp.Engine.Generation;
using R1Sharp.Model;
using R1Sharp.Text.Tokenization;

namespace R1Sharp.Cli.Commands;

/// <summary>
/// <c>r1sharp generate --model DIR (--prompt TEXT | --ids 1,2,3) [--json]</c>. Sampling defaults come from the
/// checkpoint's generation_config.json as transformers reads it (greedy unless do_sample is true); flags override.
/// </summary>
public static class GenerateCommand
{
    public static Command Create()
    {
        var model = Shared.Model();
        var prompt = new Option<string?>("--prompt", "-p") { Description = "Prompt text (needs tokenizer.json in the model folder)." };
        var ids = new Option<string?>("--ids") { Description = "Prompt as comma-separated token ids (works without a tokenizer)." };
        var maxNew = Shared.MaxNewTokens(128, "Most tokens to generate.");
        var temperature = new Option<double?>("--temperature", "-t") { Description = "Sampling temperature; 0 is greedy. Default: generation_config.json, else 0." };
        var topP = new Option<double?>("--top-p") { Description = "Nucleus sampling: keep the most probable tokens up to this total probability (0–1]." };
        var topK = new Option<int?>("--top-k") { Description = "Keep only the K most probable tokens (0 = off)." };
        var minP = new Option<double?>("--min-p") { Description = "Drop tokens less probable than min-p × the top token's probability." };
        var seed = new Option<long?>("--seed") { Description = "Random seed: the same seed gives the same tokens." };
        var stop = new Option<string[]>("--stop") { Description = "Stop when the output contains this string (repeatable).", AllowMultipleArgumentsPerToken = false };
        var adapter = Shared.Adapter();
        var dtype = Shared.DType();
        var device = Shared.Device();
        var threads = Shared.Threads();
        var json = Shared.Json();
        var command = new Command("generate", "Generate a continuation of a prompt with the KV-cache sampler.")
        { model, adapter, prompt, ids, maxNew, temperature, topP, topK, minP, seed, stop, dtype, device, threads, json };
        command.SetAction(r =>
        {
            var dir = r.GetValue(model)!;
            string? text = r.GetValue(prompt), idText = r.GetValue(ids);
            if ((text is null) == (idText is null)) throw new UserError("give exactly one of --prompt and --ids");
            // Every flag and file is checked before the model is loaded.
            if (r.GetValue(maxNew) is var n and < 1) throw new UserError($"--max-new-tokens: expected an integer ≥ 1, got {n}");
            CheckNumber(r.GetValue(temperature), "--temperature", "a number ≥ 0 (0 is greedy)", t => t >= 0);
            CheckNumber(r.GetValue(topP), "--top-p", "a number in (0, 1]", p => p > 0 && p <= 1);
            CheckNumber(r.GetValue(minP), "--min-p", "a number in [0, 1]", p => p >= 0 && p <= 1);
            if (r.GetValue(topK) is int k and < 0) throw new UserError($"--top-k: expected an integer ≥ 0 (0 = off), got {k}");
            if ((r.GetValue(stop) ?? []).Any(s => s.Length == 0)) throw new UserError("--stop: expected a non-empty string");
            ScoreCommand.CheckDType(r.GetValue(dtype));
            var promptIds = idText is not null ? Shared.ParseIds(idText, "--ids") : null;
            var defaults = GenerationDefaults.Read(dir);
            HfTokenizer? tokenizer = HasTokenizer(dir) ? HfTokenizer.Load(dir) : null;
            if (text is not null && tokenizer is null) throw new UserError($"--prompt needs a tokenizer.json in {dir}; use --ids instead");

            Shared.SetThreads(r.GetValue(threads));
            using var m = Shared.LoadModel(dir, r.GetValue(dtype), r.GetValue(device)!, r.GetValue(adapter));
            promptIds ??= tokenizer!.Encode(text!, addSpecialTokens: true).ToArray();
            Shared.CheckIds(promptIds, m.Config, text is null ? "--ids" : "--prompt");

            var stopIds = m.Config.EosTokenIds.Concat(defaults.EosTokenIds).ToHashSet();
            if (tokenizer?.EosTokenId is { } eos) stopIds.Add(eos);
            var options = new GenerationOptions
            {
                MaxNewTokens = r.GetValue(maxNew),
                Temperature = r.GetValue(temperature) ?? defaults.Temperature,
                TopP = r.GetValue(topP) ?? defaults.TopP,
                TopK = r.GetValue(topK) ?? defaults.TopK,
                MinP = r.GetValue(minP) ?? 0,
                Seed = r.GetValue(seed),
                StopTokenIds = stopIds.ToArray(),
                Stop = r.GetValue(stop) ?? [],
            };
            var sampler = new Sampler(new CausalLMLanguageModel(m), tokenizer is null ? null : t => tokenizer.Decode(t));
            var sw = Stopwatch.StartNew();
            var c = sampler.Generate([promptIds], options)[0];
            double seconds = sw.Elapsed.TotalSeconds;
            string? output = tokenizer is null ? null : Sampler.TrimAtStop(tokenizer.Decode(c.Tokens, skipSpecialTokens: true), c.StopString);
            string finish = c.FinishReason == FinishReason.Stop ? "stop" : "length";

            if (r.GetValue(json))
            {
                var result = new JsonObject
                {
                    ["ids"] = new JsonArray(c.Tokens.Select(t => (JsonNode)t).ToArray()),
                    ["text"] = output,
                    ["finish_reason"] = finish,
                    ["logprobs"] = new JsonArray(c.LogProbs.Select(l => (JsonNode)(double)l).ToArray()),
                    ["prompt_tokens"] = promptIds.Length,
                };
                if (output is null) result.Remove("text");
                Console.WriteLine(result.ToJsonString());
            }
            else
            {
                Console.WriteLine(output ?? string.Join(",", c.Tokens));
                Console.Error.WriteLine($"[{c.Tokens.Length} tokens in {seconds:F2} s, {c.Tokens.Length / seconds:F0} tokens/s, finish: {finish}]");
            }
            return 0;
        });
        return command;
    }

    static bool HasTokenizer(string dir) => File.Exists(Path.Combine(dir, "tokenizer.json")) || File.Exists(Path.Combine(dir, "tokenizer.json.gz"));

    /// <summary><paramref name="value"/>, when given, is finite and passes <paramref name="valid"/>.</summary>
    static void CheckNumber(double? value, string option, string expected, Func<double, bool> valid)
    {
        if (value is { } v && !(double.IsFinite(v) && valid(v))) throw new UserError($"{option}: expected {expected}, got {v}");
    }

    /// <summary>The sampling settings of generation_config.json, as transformers applies them.</summary>
    sealed record GenerationDefaults(double Temperature, double TopP, int TopK, int[] EosTokenIds)
    {
        /// <summary>Reads generation_config.json when present; every field it sets is checked (type and range) whether or not it samples.</summary>
        public static GenerationDefaults Read(string dir)
        {
            var path = Path.Combine(dir, Checkpoint.GenerationConfigFile);
            if (!File.Exists(path)) return new(0, 1, 0, []);
            var json = JsonInput.ReadObject(path, "generation_config.json");
            UserError Bad(string field, string expected, JsonNode? got) => new($"{path}: field '{field}': expected {expected}, got {JsonInput.Kind(got)}");
            double Number(string field, double fallback, string expected, Func<double, bool> valid)
            {
                var node = json[field];
                if (JsonInput.IsNull(node)) return fallback;
                return JsonInput.TryNumber(node, out double v) && valid(v) ? v : throw Bad(field, expected, node);
            }
            int TokenId(JsonNode? node, string field) =>
                JsonInput.TryInteger(node, out long id) && id >= 0 && id <= int.MaxValue ? (int)id : throw Bad(field, "a token id (an integer ≥ 0)", node);

            bool sample = false;
            if (!JsonInput.IsNull(json["do_sample"]) && !JsonInput.TryBool(json["do_sample"], out sample)) throw Bad("do_sample", "true or false", json["do_sample"]);
            double temperature = Number("temperature", 1.0, "a number ≥ 0", t => t >= 0);
            double topP = Number("top_p", 1.0, "a number in (0, 1]", p => p > 0 && p <= 1);
            int topK = 50;
            if (!JsonInput.IsNull(json["top_k"]))
                topK = JsonInput.TryInteger(json["top_k"], out long k) && k >= 0 && k <= int.MaxValue ? (int)k : throw Bad("top_k", "an integer ≥ 0", json["top_k"]);
            var eosNode = json["eos_token_id"];
            int[] eos = eosNode switch
            {
                _ when JsonInput.IsNull(eosNode) => [],
                JsonArray a => a.Select((n, i) => TokenId(n, $"eos_token_id[{i}]")).ToArray(),
                _ => [TokenId(eosNode, "eos_token_id")],
            };
            return sample ? new(temperature, topP, topK, eos) : new(0, 1, 0, eos);
        }
    }
}

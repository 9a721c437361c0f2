// r1sharp reward --input rollouts.jsonl --rewards accuracy,format:pattern=r1_zero_loose,cosine:max_len=512 --weights 1,0.5,1
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using R1Sharp.Data;
using R1Sharp.Rewards;
using R1Sharp.Rewards.Rules;

namespace R1Sharp.Cli.Commands;

/// <summary>
/// <c>r1sharp reward --input FILE.jsonl --rewards accuracy,format,… [--weights …]</c>: scores each row with reward
/// functions built by <see cref="RewardRegistry.CreateStandard"/> — the same functions GRPO trains with — and writes
/// each function's value and the weighted total. Total = Σ wᵢ·rᵢ over the functions that could judge the row
/// (<see cref="WeightedRewards"/>); null when none could.
/// </summary>
public static class RewardCommand
{
    const string Syntax = """
        --rewards is a comma-separated list; each item is NAME or NAME:KEY=VALUE[:KEY=VALUE…] with that reward's
        options, e.g.  accuracy,format:pattern=cold_start,cosine:max_len=512:max_value_correct=2
        Every reward takes name=NEW to rename it (to use one reward twice: format,format:pattern=cold_start:name=cs).
        Rewards and their options [defaults]:
          accuracy [gold_field=answer]  · length (Kimi) [group_by_prompt=true, gold_field=answer]
          cosine [min_value_wrong=-1, max_value_wrong=-0.5, min_value_correct=0.5, max_value_correct=1, max_len=1000, gold_field=answer]
          format [pattern=r1_zero | r1_zero_loose | cold_start] · r1_zero_format · cold_start_format · tag_count · reasoning_steps
          repetition [ngram_size=3, max_penalty=-1, language=en] · overlong [max_completion_len=16384, soft_punish_cache=4096]
          language [language=en] · countdown [format_score=0.1, score=1]
          code [language=python, tolerance=exact, time_limit=4, memory_mb=512, workers=cores]
        Row fields: "completion" (or "prediction", required), "prompt" (optional), "completion_tokens" (optional, the
        length in tokens for length rewards; else words are counted). Every other field is a reference field the
        rewards read: "answer" (accuracy, length, cosine), "numbers" and "target" (countdown), "tests" (code; a JSON
        string or the JSON itself), "language" (language). A "reference" object's fields are reference fields too.
        Added fields: "rewards" (each function's unweighted value, null = cannot judge) and "reward" (the weighted total).
        """;

    public static Command Create()
    {
        var input = new Option<string>("--input", "-i") { Description = "Data file of rows to score (JSONL, JSON or Parquet; fields below).", Required = true };
        var rewards = new Option<string>("--rewards", "-r") { Description = "Reward functions with their options (syntax below), e.g. accuracy,format:pattern=r1_zero.", Required = true };
        var weights = new Option<string?>("--weights", "-w") { Description = "Comma-separated weights, one per reward, in order (default: 1 each)." };
        var output = new Option<string?>("--output", "-o") { Description = "Write the scored rows here (written whole, then renamed into place). Default: standard output, with the summary on standard error." };
        var skip = new Option<bool>("--skip-malformed") { Description = "Skip rows with missing or malformed fields (counted in the summary) instead of stopping at the first." };
        var json = new Option<bool>("--json") { Description = "Print the summary as one JSON object." };
        var allowUnsandboxed = new Option<bool>("--allow-unsandboxed") { Description = "code: where Linux namespaces are unavailable, run the untrusted programs anyway with resource limits only (NO network or filesystem isolation). Without it the code reward refuses to run there." };
        var rewardAssembly = Shared.RewardAssembly();
        var command = new Command("reward", "Score completions with reward functions (each value and the weighted total).\n\n" + Syntax)
        { input, rewards, weights, output, skip, json, allowUnsandboxed, rewardAssembly };
        command.SetAction(r =>
        {
            var specs = ParseSpecs(r.GetValue(rewards)!, r.GetValue(weights));
            WeightedRewards combined;
            var registry = RewardRegistry.CreateStandard(allowUnsandboxed: r.GetValue(allowUnsandboxed));
            // Rewards of the user's own assemblies, under their registered names; R1Sharp's own names keep their rewards.
            foreach (var assembly in r.GetValue(rewardAssembly) ?? []) registry.RegisterAssembly(assembly, "--reward-assembly");
            try { combined = registry.Build(specs); }
            catch (Exception e) when (e is RewardConfigException or ArgumentException) { throw new UserError($"--rewards: {e.Message}"); }

            var path = r.GetValue(input)!;
            var rows = new List<DataRow>();
            var inputs = new List<RewardInput>();
            var malformed = new List<string>();
            foreach (var row in DataRows.ReadAll(path))
            {
                try
                {
                    inputs.Add(ToInput(row));
                    rows.Add(row);
                }
                catch (DatasetFormatException e) when (r.GetValue(skip)) { malformed.Add(e.Message); }
            }

            var scores = combined.Score(inputs);
            var outPath = r.GetValue(output);
            JsonlOutput.Write(outPath, rows.Select((row, i) =>
            {
                var o = (JsonObject)row.Fields.DeepClone();
                var values = new JsonObject();
                foreach (var name in combined.Names) values[name] = Number(scores[i].Components[name]);
                o["rewards"] = values;
                o["reward"] = Number(scores[i].Total);
                return JsonlOutput.ToLine(o);
            }));

            var summary = Summarize(path, combined, scores, malformed.Count);
            var text = r.GetValue(json) ? JsonlOutput.ToLine(summary) : Describe(summary, malformed);
            (outPath is null ? Console.Error : Console.Out).WriteLine(text);
            return 0;
        });
        return command;
    }

    /// <summary>Parses <c>name[:key=value…],…</c> and the weights into specs.</summary>
    public static List<RewardSpec> ParseSpecs(string rewards, string? weights)
    {
        var specs = new List<RewardSpec>();
        foreach (var item in rewards.Split(',', StringSplitOptions.TrimEntries))
        {
            if (item.Length == 0) throw new UserError($"--rewards: empty item in '{rewards}' (expected NAME[:KEY=VALUE…],…)");
            var parts = item.Split(':', StringSplitOptions.TrimEntries);
            var options = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var option in parts.Skip(1))
            {
                int eq = option.IndexOf('=');
                if (eq <= 0) throw new UserError($"--rewards: '{option}' in '{item}' is not KEY=VALUE");
                var key = option[..eq].Trim();
                if (!options.TryAdd(key, option[(eq + 1)..].Trim()))
                    throw new UserError($"--rewards: option '{key}' given twice in '{item}'");
            }
            specs.Add(new RewardSpec(parts[0], 1.0, options));
        }
        if (weights is null) return specs;
        var w = weights.Split(',', StringSplitOptions.TrimEntries);
        if (w.Length != specs.Count)
            throw new UserError($"--weights: {w.Length} weights for {specs.Count} rewards ({string.Join(", ", specs.Select(s => s.Name))})");
        for (int i = 0; i < w.Length; i++)
        {
            if (!double.TryParse(w[i], NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
                throw new UserError($"--weights: '{w[i]}' is not a number");
            specs[i] = specs[i] with { Weight = value };
        }
        return specs;
    }

    static RewardInput ToInput(DataRow row)
    {
        string completion = row.String("completion", "prediction");
        string prompt = row["prompt"] is { } p ? DataRow.Text(p) : "";
        int? tokens = null;
        if (row["completion_tokens"] is { } t)
        {
            if (t is not JsonValue v || v.GetValueKind() != JsonValueKind.Number || !v.TryGetValue<int>(out var n) || n < 0)
                throw row.Error("completion_tokens", $"expected a non-negative integer, got {t.ToJsonString()}");
            tokens = n;
        }
        var reference = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in row.Fields)
        {
            if (key is "completion" or "prediction" or "prompt" or "completion_tokens" or "reference" || value is null) continue;
            reference[key] = DataRow.Text(value);
        }
        if (row["reference"] is { } nested)
        {
            if (nested is not JsonObject fields) throw row.Error("reference", $"expected an object, got {DataRow.Kind(nested)}");
            foreach (var (key, value) in fields)
                if (value is not null) reference[key] = DataRow.Text(value);
        }
        return new RewardInput(prompt, completion, reference, tokens);
    }

    static JsonNode? Number(double? value) => value is double d && double.IsFinite(d) ? JsonValue.Create(d) : null;

    static JsonObject Summarize(string path, WeightedRewards combined, IReadOnlyList<RewardBreakdown> scores, int skipped)
    {
        var perReward = new JsonObject();
        foreach (var wr in combined.Rewards)
        {
            var values = scores.Select(s => s.Components[wr.Reward.Name]).Where(v => v is double d && double.IsFinite(d)).Select(v => v!.Value).ToList();
            perReward[wr.Reward.Name] = new JsonObject
            {
                ["weight"] = wr.Weight,
                ["mean"] = values.Count == 0 ? null : values.Average(),
                ["judged"] = values.Count,
                ["null"] = scores.Count - values.Count,
            };
        }
        var totals = scores.Where(s => s.Total is not null).Select(s => s.Total!.Value).ToList();
        return new JsonObject
        {
            ["input"] = path,
            ["rows"] = scores.Count,
            ["skipped_malformed"] = skipped,
            ["reward_mean"] = totals.Count == 0 ? null : totals.Average(),
            ["rewards"] = perReward,
        };
    }

    static string Describe(JsonObject s, List<string> malformed)
    {
        string Mean(JsonNode? n) => n is null ? "—" : ((double)n).ToString("F4", CultureInfo.InvariantCulture);
        var lines = new List<string> { $"{s["rows"]} rows scored; mean total reward {Mean(s["reward_mean"])}" };
        foreach (var (name, v) in (JsonObject)s["rewards"]!)
            lines.Add($"  {name,-24} weight {(double)v!["weight"]!,-6:G4} mean {Mean(v["mean"]),-8} ({v["judged"]} judged, {v["null"]} could not judge)");
        if (malformed.Count > 0) lines.Add($"skipped {malformed.Count} malformed rows; first: {malformed[0]}");
        return string.Join('\n', lines);
    }
}

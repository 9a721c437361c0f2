using System.Text.Json;

namespace R1Sharp.Recipes.Pipeline;

/// <summary>One stage's line in summary.json's <c>stages</c>.</summary>
internal sealed record StageEntry(string Stage, string Status, double? Seconds, string? Model);

/// <summary>One row of summary.json's <c>table</c>: a model's evaluation (rates as fractions in [0, 1]).</summary>
internal sealed record TableEntry(string Row, string? Title, string? Model, double? Params, double? PassAt1, double? ConsAtK,
    double? PassAtK, int? K, double? FormatRate, double? LanguageConsistency, double? MeanLength, int? Prompts)
{
    /// <summary>The hard split's pass@1, cons@k and language consistency; null when not evaluated.</summary>
    public double? HardPassAt1 { get; init; }
    public double? HardConsAtK { get; init; }
    public double? HardLanguageConsistency { get; init; }
    public int? HardPrompts { get; init; }
    /// <summary>Held-out judges' win rates (fractions).</summary>
    public double? Helpfulness { get; init; }
    public double? Harmlessness { get; init; }
    /// <summary>pass@1 at turns 1–4 of held-out conversations.</summary>
    public IReadOnlyList<double>? TurnAccuracy { get; init; }
}

/// <summary>One line of <c>eval/&lt;row&gt;/samples.jsonl</c>.</summary>
internal sealed record SampleEntry(string PromptId, string? Language, string Question, string Completion, bool? Correct,
    bool? Format, double? LanguageConsistency, int? Tokens);

/// <summary>A metric over training steps, in file order.</summary>
internal sealed record Curve(string Name, double[] Steps, double[] Values);

/// <summary>
/// What the report reads from a run folder. Everything is optional: a stage that never ran has no folder, a run killed
/// mid-stage leaves a cut-off last line. Unreadable pieces are left out and described in <see cref="Notes"/> (the
/// report lists them) rather than thrown: a partial run still gets its report.
/// </summary>
internal sealed class RunFolder
{
    public RunFolder(string directory) => Directory = directory;

    public string Directory { get; }
    public List<string> Notes { get; } = [];
    public string? Config { get; private set; }
    public bool? Quick { get; private set; }
    public double? TotalSeconds { get; private set; }
    public List<StageEntry> Stages { get; } = [];
    public List<TableEntry> Table { get; } = [];

    /// <summary>Reads <c>summary.json</c> when present.</summary>
    public static RunFolder Load(string directory)
    {
        var run = new RunFolder(directory);
        string path = Path.Combine(directory, "summary.json");
        if (!File.Exists(path))
        {
            run.Notes.Add("summary.json is missing: no final table or stage timings.");
            return run;
        }
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            run.ReadSummary(doc.RootElement);
        }
        catch (JsonException e)
        {
            run.Notes.Add($"summary.json: not valid JSON ({e.Message})");
        }
        return run;
    }

    private void ReadSummary(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            Notes.Add("summary.json: not a JSON object");
            return;
        }
        var top = new Fields(root, "summary.json", Notes);
        Config = top.String("config");
        Quick = top.Bool("quick");
        TotalSeconds = top.Number("total_seconds");
        foreach (var (stage, where) in top.Objects("stages"))
        {
            var f = new Fields(stage, where, Notes);
            if (f.String("stage") is { } name)
                Stages.Add(new StageEntry(name, f.String("status") ?? "unknown", f.Number("seconds"), f.String("model")));
        }
        foreach (var (row, where) in top.Objects("table"))
        {
            var f = new Fields(row, where, Notes);
            if (f.String("row") is { } name)
                Table.Add(new TableEntry(name, f.String("title"), f.String("model"), f.Number("params"), f.Number("pass@1"),
                    f.Number("cons@k"), f.Number("pass@k"), (int?)f.Number("k"), f.Number("format_rate"),
                    f.Number("language_consistency"), f.Number("mean_length"), (int?)f.Number("prompts"))
                {
                    HardPassAt1 = f.Number("hard_pass@1"), HardConsAtK = f.Number("hard_cons@k"),
                    HardLanguageConsistency = f.Number("hard_language_consistency"), HardPrompts = (int?)f.Number("hard_prompts"),
                    Helpfulness = f.Number("helpfulness"), Harmlessness = f.Number("harmlessness"), TurnAccuracy = f.Numbers("turn_accuracy"),
                });
        }
    }

    /// <summary>
    /// The numeric metrics of <c>&lt;stage&gt;/metrics.jsonl</c> by name, each against its line's <c>step</c> (lines
    /// without one are skipped; a line may carry only some metrics). Empty when the file is absent.
    /// </summary>
    public Dictionary<string, Curve> Metrics(string stage, string file = "metrics.jsonl")
    {
        var points = new Dictionary<string, (List<double> Steps, List<double> Values)>(StringComparer.Ordinal);
        foreach (var (line, _) in JsonLines(Path.Combine(stage, file)))
        {
            if (!line.TryGetProperty("step", out var s) || s.ValueKind != JsonValueKind.Number) continue;
            double step = s.GetDouble();
            foreach (var p in line.EnumerateObject())
            {
                if (p.Name == "step" || p.Value.ValueKind != JsonValueKind.Number) continue;
                double v = p.Value.GetDouble();
                if (!double.IsFinite(v)) continue;
                if (!points.TryGetValue(p.Name, out var curve)) points[p.Name] = curve = ([], []);
                curve.Steps.Add(step);
                curve.Values.Add(v);
            }
        }
        return points.ToDictionary(kv => kv.Key, kv => new Curve(kv.Key, [.. kv.Value.Steps], [.. kv.Value.Values]));
    }

    /// <summary>The evaluation samples of a table row (<c>eval/&lt;row&gt;/samples.jsonl</c>); empty when absent.</summary>
    public List<SampleEntry> Samples(string row)
    {
        var samples = new List<SampleEntry>();
        foreach (var (line, where) in JsonLines(Path.Combine("eval", row, "samples.jsonl")))
        {
            var f = new Fields(line, where, Notes);
            samples.Add(new SampleEntry(f.String("prompt_id") ?? $"#{samples.Count}", f.String("language"),
                f.String("question") ?? "", f.String("completion") ?? "", f.Bool("correct"), f.Bool("format"),
                f.Number("language_consistency"), (int?)f.Number("tokens")));
        }
        return samples;
    }

    /// <summary>The JSON objects of a JSONL file under the run folder, each with "file:line" for notes.</summary>
    private IEnumerable<(JsonElement Line, string Where)> JsonLines(string relativePath)
    {
        string path = Path.Combine(Directory, relativePath);
        if (!File.Exists(path)) yield break;
        string[] lines = File.ReadAllLines(path);
        for (int i = 0; i < lines.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i])) continue;
            string where = $"{relativePath}:{i + 1}";
            JsonElement element;
            try
            {
                using var doc = JsonDocument.Parse(lines[i]);
                element = doc.RootElement.Clone();
            }
            catch (JsonException)
            {
                // The last line of a run that was killed mid-write is expected to be cut short; anything else is news.
                if (i < lines.Length - 1) Notes.Add($"{where}: not valid JSON, skipped");
                continue;
            }
            if (element.ValueKind == JsonValueKind.Object) yield return (element, where);
            else Notes.Add($"{where}: not a JSON object, skipped");
        }
    }

    /// <summary>Typed reads of an object's fields: absent or null → null; present with the wrong type → null and a note.</summary>
    private readonly record struct Fields(JsonElement Element, string Where, List<string> Notes)
    {
        public string? String(string name) => Get(name, JsonValueKind.String, "a string")?.GetString();

        public double? Number(string name) => Get(name, JsonValueKind.Number, "a number")?.GetDouble();

        public bool? Bool(string name)
        {
            if (!Element.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
            if (v.ValueKind is JsonValueKind.True or JsonValueKind.False) return v.GetBoolean();
            Notes.Add($"{Where}: field '{name}' is not true or false, ignored");
            return null;
        }

        /// <summary>An array of numbers; null when absent, or (with a note) when it holds anything else.</summary>
        public IReadOnlyList<double>? Numbers(string name)
        {
            if (Get(name, JsonValueKind.Array, "an array") is not { } array) return null;
            if (array.EnumerateArray().Any(x => x.ValueKind != JsonValueKind.Number))
            {
                Notes.Add($"{Where}: field '{name}' is not an array of numbers, ignored");
                return null;
            }
            return [.. array.EnumerateArray().Select(x => x.GetDouble())];
        }

        public IEnumerable<(JsonElement Item, string Where)> Objects(string name)
        {
            if (Get(name, JsonValueKind.Array, "an array") is not { } array) yield break;
            int i = 0;
            foreach (var item in array.EnumerateArray())
            {
                string where = $"{Where}: {name}[{i++}]";
                if (item.ValueKind == JsonValueKind.Object) yield return (item, where);
                else Notes.Add($"{where}: not an object, skipped");
            }
        }

        private JsonElement? Get(string name, JsonValueKind kind, string expected)
        {
            if (!Element.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
            if (v.ValueKind == kind) return v;
            Notes.Add($"{Where}: field '{name}' is not {expected}, ignored");
            return null;
        }
    }
}

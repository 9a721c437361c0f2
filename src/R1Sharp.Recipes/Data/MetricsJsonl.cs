using System.Text.Json.Nodes;

namespace R1Sharp.Recipes.Data;

/// <summary>
/// metrics.jsonl, one JSON object per logged step (<c>{"step": n, "loss": …}</c>; non-finite values as null). A resumed
/// run first drops the lines of steps after the checkpoint it resumes from, so the file reads as one uninterrupted run.
/// (Stand-in until the recipes log through R1Sharp.Training.Logging.MetricsLogger.)
/// </summary>
internal static class MetricsJsonl
{
    public static StreamWriter Open(string path, int? resumedStep)
    {
        if (resumedStep is { } step && File.Exists(path))
        {
            var kept = File.ReadAllLines(path).Where(line =>
            {
                try { return JsonNode.Parse(line)?["step"]?.GetValue<int>() <= step; }
                catch (System.Text.Json.JsonException) { return false; } // a line cut short by the interruption
            }).ToList();
            File.WriteAllLines(path, kept);
        }
        return new StreamWriter(path, append: resumedStep is not null);
    }

    public static void Write(StreamWriter writer, int step, IReadOnlyDictionary<string, double> metrics)
    {
        var json = new JsonObject { ["step"] = step };
        foreach (var (k, v) in metrics) json[k] = double.IsFinite(v) ? v : null;
        writer.WriteLine(json.ToJsonString());
        writer.Flush();
    }
}

using System.Globalization;
using System.Text.Json.Nodes;
using R1Sharp.Data;
using R1Sharp.Tasks;

namespace R1Sharp.Recipes.Pipeline;

/// <summary>
/// Per-step accuracy of an RL stage by problem length: after an RL stage on the embedded task, its
/// <c>completions.jsonl</c> (every sample's prompt id and rewards) is joined with the stage's training prompts (their
/// <c>expression</c>) and written as <c>&lt;stage&gt;/difficulty.jsonl</c>: one line per step with
/// <c>accuracy/ops=N</c>, the mean accuracy reward of the step's samples whose chain has N operations. The report draws
/// these as the stage's hard-split curves (the hard split's chains have four operations).
/// </summary>
public static class PipelineCurves
{
    public const string FileName = "difficulty.jsonl";

    /// <summary>Operations of an expression (<c>(7 + 8) × 2 - 3</c> → 3): its +, - and × signs.</summary>
    public static int Operations(string expression) => expression.Count(c => c is '+' or '-' or '×');

    /// <summary>Writes <c>difficulty.jsonl</c> into <paramref name="stageDir"/>; returns the number of steps written (0 when nothing applies).</summary>
    public static int Write(string stageDir, TaskDefinition train)
    {
        string completions = Path.Combine(stageDir, "completions.jsonl");
        if (!File.Exists(completions)) return 0;
        var ops = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var e in train.Examples)
            if (e.Field("expression") is { } x) ops[e.Id] = Operations(x);
        if (ops.Count == 0) return 0;
        // step → ops → (sum, count)
        var byStep = new SortedDictionary<int, SortedDictionary<int, (double Sum, int Count)>>();
        foreach (var line in File.ReadLines(completions))
        {
            JsonNode? row;
            try { row = JsonNode.Parse(line); }
            catch (System.Text.Json.JsonException) { continue; } // a cut-off last line of an interrupted run
            if (row?["step"] is not JsonValue s || row["prompt_id"]?.GetValue<string>() is not { } id || !ops.TryGetValue(id, out int n)) continue;
            if (row["rewards"]?["accuracy"] is not JsonValue a || !a.TryGetValue(out double accuracy)) continue;
            int step = s.GetValue<int>();
            if (!byStep.TryGetValue(step, out var cells)) byStep[step] = cells = [];
            var (sum, count) = cells.GetValueOrDefault(n);
            cells[n] = (sum + accuracy, count + 1);
        }
        AtomicFile.Write(Path.Combine(stageDir, FileName), w =>
        {
            foreach (var (step, cells) in byStep)
            {
                var o = new JsonObject { ["step"] = step };
                foreach (var (n, (sum, count)) in cells)
                {
                    o[string.Create(CultureInfo.InvariantCulture, $"accuracy/ops={n}")] = sum / count;
                    o[string.Create(CultureInfo.InvariantCulture, $"samples/ops={n}")] = count;
                }
                w.WriteLine(o.ToJsonString(JsonFormat.Compact));
            }
        });
        return byStep.Count;
    }
}

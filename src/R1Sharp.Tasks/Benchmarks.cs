using System.Globalization;
using System.Text.Json;
using R1Sharp.Data;
using R1Sharp.Rewards.Rules;

namespace R1Sharp.Tasks;

/// <summary>
/// The built-in evaluation benchmarks (data/benchmarks, embedded): GSM8K test (1319), MATH-500 (500),
/// AIME 2024 (30) and the Countdown CD3 test set (256). Each is a <see cref="TaskDefinition"/> whose gold answer is
/// reference field <c>answer</c> (Countdown: <c>numbers</c>, <c>target</c>).
/// </summary>
public static class Benchmarks
{
    /// <summary>Names accepted by <see cref="Get"/>.</summary>
    public static IReadOnlyList<string> Names { get; } = ["gsm8k", "math500", "aime24", "countdown"];

    /// <summary>The benchmark <paramref name="name"/> (see <see cref="Names"/>; also accepts math-500, aime2024).</summary>
    public static TaskDefinition Get(string name, PromptStyle style = PromptStyle.MathInstruction) =>
        name.Trim().ToLowerInvariant().Replace("-", "").Replace("_", "") switch
        {
            "gsm8k" => Gsm8k(style),
            "math500" or "math" => Math500(style),
            "aime24" or "aime2024" or "aime" => Aime2024(style),
            "countdown" or "countdowncd3" => CountdownTask.TestSet(style == PromptStyle.MathInstruction ? PromptStyle.R1Zero : style),
            _ => throw new ArgumentException($"Unknown benchmark '{name}'. Known: {string.Join(", ", Names)}.", nameof(name)),
        };

    /// <summary>
    /// GSM8K test (openai/grade-school-math). Gold: the text after <c>#### </c> in the answer with thousands commas
    /// removed ("1,000" → "1000"); <c>solution</c> keeps the whole worked answer.
    /// </summary>
    public static TaskDefinition Gsm8k(PromptStyle style = PromptStyle.MathInstruction)
    {
        const string file = "gsm8k_test.jsonl";
        var examples = new List<TaskExample>();
        foreach (var (line, row) in Rows(file))
        {
            string question = Required(row, "question", file, line);
            string solution = Required(row, "answer", file, line);
            int marker = solution.LastIndexOf("####", StringComparison.Ordinal);
            if (marker < 0) throw new DatasetFormatException(file, line, "answer", "no '#### <answer>' marker");
            string gold = solution[(marker + 4)..].Trim().Replace(",", "");
            examples.Add(Example($"gsm8k-{examples.Count}", question, style, ("answer", gold), ("solution", solution)));
        }
        return MathTask("gsm8k", examples, style, "GSM8K test set (grade-school math word problems), 1319 problems.");
    }

    /// <summary>MATH-500 (the PRM800K test split of MATH). Gold: field <c>answer</c> (LaTeX).</summary>
    public static TaskDefinition Math500(PromptStyle style = PromptStyle.MathInstruction)
    {
        const string file = "math500_test.jsonl";
        var examples = new List<TaskExample>();
        foreach (var (line, row) in Rows(file))
        {
            string id = Required(row, "unique_id", file, line);
            examples.Add(Example(id, Required(row, "problem", file, line), style,
                ("answer", Required(row, "answer", file, line)),
                ("solution", Required(row, "solution", file, line)),
                ("subject", Required(row, "subject", file, line)),
                ("level", Required(row, "level", file, line))));
        }
        return MathTask("math500", examples, style, "MATH-500: 500 competition problems from the MATH test set (PRM800K split).");
    }

    /// <summary>AIME 2024, 30 problems. Gold: the integer answer without leading zeros ("025" → "25").</summary>
    public static TaskDefinition Aime2024(PromptStyle style = PromptStyle.MathInstruction)
    {
        const string file = "aime24_test.jsonl";
        var examples = new List<TaskExample>();
        foreach (var (line, row) in Rows(file))
        {
            string raw = Required(row, "answer", file, line);
            if (!int.TryParse(raw.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int answer))
                throw new DatasetFormatException(file, line, "answer", $"expected an integer, got '{raw}'");
            examples.Add(Example($"aime24-{Required(row, "id", file, line)}", Required(row, "problem", file, line), style,
                ("answer", answer.ToString(CultureInfo.InvariantCulture)),
                ("solution", Required(row, "solution", file, line))));
        }
        return MathTask("aime24", examples, style, "AIME 2024 (I and II), 30 problems with integer answers 0–999.");
    }

    private static TaskDefinition MathTask(string name, List<TaskExample> examples, PromptStyle style, string description)
    {
        List<RewardSpec> rewards = [new("accuracy")];
        if (style == PromptStyle.R1Zero) rewards.Add(new RewardSpec("r1_zero_format"));
        return new TaskDefinition(name, examples, rewards, new EvaluationMetric("accuracy"), description);
    }

    internal static TaskExample Example(string id, string question, PromptStyle style, params (string Key, string Value)[] reference) =>
        new(id, question, PromptTemplates.Render(question, style), reference.ToDictionary(r => r.Key, r => r.Value, StringComparer.Ordinal));

    internal static IEnumerable<(int Line, JsonElement Row)> Rows(string file)
    {
        foreach (var (line, text) in EmbeddedData.ReadLines(file))
        {
            JsonElement row;
            try
            {
                using var doc = JsonDocument.Parse(text);
                row = doc.RootElement.Clone();
            }
            catch (JsonException ex)
            {
                throw new DatasetFormatException(file, line, null, $"invalid JSON: {ex.Message}", ex);
            }
            if (row.ValueKind != JsonValueKind.Object) throw new DatasetFormatException(file, line, null, "expected a JSON object");
            yield return (line, row);
        }
    }

    internal static string Required(JsonElement row, string field, string file, int line)
    {
        if (!row.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
            throw new DatasetFormatException(file, line, field, "missing");
        return value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText();
    }
}

using System.Globalization;
using System.Text.Json.Nodes;
using R1Sharp.Rewards.Rules;
using R1Sharp.Rewards.Tasks;
using R1Sharp.Rewards.Tasks.Arithmetic;

namespace R1Sharp.Recipes.Pipeline;

/// <summary>One cold-start example and where it came from (<c>r1-zero</c> or <c>generator</c>).</summary>
public sealed record ColdStartExample(string PromptId, string Prompt, string Completion, string Source, string Language);

/// <summary>
/// DeepSeek-R1's cold-start data (§2.2 of the paper): a few thousand long chains of thought in a readable format,
/// collected partly from R1-Zero's outputs and refined. Here: R1-Zero's training samples that are correct, show
/// their working, and think in the prompt's language, rewritten as <c>&lt;think&gt;\n{steps}\n&lt;/think&gt;\n{summary}</c>,
/// plus worked examples from the task generator; duplicates removed.
/// </summary>
public static class ColdStartData
{
    /// <param name="completionsJsonl">The R1-Zero run's completions.jsonl (step, prompt_id, completion, rewards).</param>
    /// <param name="r1ZeroPrompts">The R1-Zero run's training prompts, to look up each sample's question and reference.</param>
    public static IReadOnlyList<ColdStartExample> Build(string completionsJsonl, TaskDefinition r1ZeroPrompts, ColdStartOptions o, long seed)
    {
        var byId = r1ZeroPrompts.Examples.ToDictionary(e => e.Id, StringComparer.Ordinal);
        var examples = new List<ColdStartExample>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        // Latest samples first: the policy is best at the end of the run; one sample per prompt.
        foreach (var line in File.Exists(completionsJsonl) ? File.ReadLines(completionsJsonl).Reverse() : [])
        {
            if (examples.Count >= o.MaxFromR1Zero) break;
            if (JsonNode.Parse(line) is not JsonObject row) continue;
            string id = row["prompt_id"]?.GetValue<string>() ?? "";
            if (seen.Contains(id) || !byId.TryGetValue(id, out var example)) continue;
            if (row["rewards"]?["accuracy"]?.GetValue<double?>() != 1.0) continue;
            if (Rewrite(row["completion"]?.GetValue<string>() ?? "", example) is not { } completion) continue;
            seen.Add(id);
            examples.Add(new ColdStartExample(id, PromptTemplates.Render(example.Question, PromptStyle.Plain), completion, "r1-zero",
                example.Field("language") ?? "en"));
        }
        foreach (var e in EmbeddedTask.ColdStartExamples(o.WorkedExamples, (int)seed))
            examples.Add(new ColdStartExample(e.Id, e.Prompt, e.Completion, "generator", e.Reference["language"]));
        return [.. examples.DistinctBy(e => (e.Prompt, e.Completion))];
    }

    /// <summary>
    /// An R1-Zero completion rewritten in the readable format, or null when it is not worth keeping: no working (no
    /// line with an equation), an answer missing from its tags, or reasoning not entirely in the prompt's language.
    /// The working keeps its equation lines; the closing sentence becomes the summary "The answer is \boxed{n}.".
    /// </summary>
    public static string? Rewrite(string completion, TaskExample example)
    {
        string language = example.Field("language") ?? "en";
        if (CompletionText.LastAnswer(completion)?.Trim() is not { Length: > 0 } answerText
            || !int.TryParse(answerText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int answer))
            return null;
        var steps = CompletionText.ChainOfThought(completion).Split('\n')
            .Select(l => l.Trim()).Where(l => l.Contains('=', StringComparison.Ordinal)).ToList();
        if (steps.Count == 0) return null;
        if (LanguageConsistencyReward.Share(string.Join("\n", steps), language) is < 0.99) return null;
        return "<think>\n" + string.Join("\n", steps) + "\n</think>\n" + ArithmeticText.Summary(answer, language);
    }
}

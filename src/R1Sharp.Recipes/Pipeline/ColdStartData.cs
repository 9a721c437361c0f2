using System.Globalization;
using System.Text.Json.Nodes;
using R1Sharp.Rewards.Rules;
using R1Sharp.Tasks;
using R1Sharp.Tasks.Arithmetic;

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
    /// <param name="difficulty">For the embedded task: the problems of the worked examples (the pipeline passes the reasoning RL's,
    /// capped at <see cref="ColdStartOptions.MaxOperations"/> like R1-Zero's samples); null for other tasks (no worked
    /// examples, no cap; every line of the reasoning is kept).</param>
    public static IReadOnlyList<ColdStartExample> Build(string completionsJsonl, TaskDefinition r1ZeroPrompts, ColdStartOptions o, long seed,
        ArithmeticDifficulty? difficulty = null)
    {
        var byId = r1ZeroPrompts.Examples.ToDictionary(e => e.Id, StringComparer.Ordinal);
        bool embedded = difficulty is not null;
        var examples = new List<ColdStartExample>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        int longerKept = 0;
        int cap = embedded ? o.MaxOperations ?? int.MaxValue : int.MaxValue;
        if (difficulty is not null && cap < difficulty.MaxOperations)
            difficulty = difficulty with { MinOperations = Math.Min(difficulty.MinOperations, cap), MaxOperations = cap };
        // Latest samples first: the policy is best at the end of the run; one sample per prompt.
        foreach (var line in File.Exists(completionsJsonl) ? File.ReadLines(completionsJsonl).Reverse() : [])
        {
            if (examples.Count >= o.MaxFromR1Zero) break;
            if (JsonNode.Parse(line) is not JsonObject row) continue;
            string id = row["prompt_id"]?.GetValue<string>() ?? "";
            if (seen.Contains(id) || !byId.TryGetValue(id, out var example)) continue;
            bool longer = example.Field("expression") is { } expression && PipelineCurves.Operations(expression) > cap;
            if (longer && longerKept >= o.LongerChains) continue;
            if (row["rewards"]?["accuracy"]?.GetValue<double?>() != 1.0) continue;
            if (Rewrite(row["completion"]?.GetValue<string>() ?? "", example, equationsOnly: embedded) is not { } completion) continue;
            seen.Add(id);
            if (longer) longerKept++;
            examples.Add(new ColdStartExample(id, PromptTemplates.Render(example.Question, PromptStyle.Plain), completion, "r1-zero",
                example.Field("language") ?? "en"));
        }
        foreach (var e in embedded ? EmbeddedTask.ColdStartExamples(o.WorkedExamples, (int)seed, difficulty) : [])
            examples.Add(new ColdStartExample(e.Id, e.Prompt, e.Completion, "generator", e.Reference["language"]));
        return [.. examples.DistinctBy(e => (e.Prompt, e.Completion))];
    }

    /// <summary>
    /// An R1-Zero completion rewritten in the readable format, or null when it is not worth keeping: no answer in its
    /// tags, no working, or reasoning not entirely in the prompt's language. The working keeps its non-empty lines —
    /// for the embedded task only the lines with an equation, so its closing sentence goes — and the summary is
    /// "The answer is \boxed{…}." in the prompt's language.
    /// </summary>
    public static string? Rewrite(string completion, TaskExample example, bool equationsOnly = true)
    {
        string language = example.Field("language") ?? "en";
        if (CompletionText.LastAnswer(completion)?.Trim() is not { Length: > 0 } answer) return null;
        if (equationsOnly && !int.TryParse(answer, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _)) return null;
        var steps = CompletionText.ChainOfThought(completion).Split('\n').Select(l => l.Trim())
            .Where(l => l.Length > 0 && (!equationsOnly || l.Contains('=', StringComparison.Ordinal))).ToList();
        if (steps.Count == 0) return null;
        if (LanguageConsistencyReward.Share(string.Join("\n", steps), language) is < 0.99) return null;
        string summary = language == "fr" ? $"La réponse est \\boxed{{{answer}}}." : $"The answer is \\boxed{{{answer}}}.";
        return "<think>\n" + string.Join("\n", steps) + "\n</think>\n" + summary;
    }
}

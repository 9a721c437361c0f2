using System.Globalization;
using System.Text;
using R1Sharp.Data;
using R1Sharp.Rewards.Rules;

namespace R1Sharp.Tasks;

/// <summary>Difficulty of generated Countdown problems.</summary>
/// <param name="Numbers">How many numbers are given (all must be used), 2–6.</param>
/// <param name="MinNumber">Smallest given number.</param>
/// <param name="MaxNumber">Largest given number.</param>
/// <param name="MinTarget">Smallest target.</param>
/// <param name="MaxTarget">Largest target.</param>
public sealed record CountdownDifficulty(int Numbers = 3, int MinNumber = 1, int MaxNumber = 100, int MinTarget = 1, int MaxTarget = 100);

/// <summary>
/// Countdown (TinyZero's task): reach the target with each given number used exactly once and + − × ÷.
/// Generated problems are solvable by construction: the target is the value of a random expression tree over the
/// drawn numbers (exact arithmetic, intermediate divisions exact), kept when it is an integer in the target range.
/// Reference fields: <c>numbers</c> ("30,100,93"), <c>target</c> ("23"), and for generated problems
/// <c>solution</c> (one expression that works). Reward: <c>countdown</c>; correct = reward ≥ 1.
/// </summary>
public static class CountdownTask
{
    /// <summary>The shipped test set (dllm-reasoning/d1, 256 problems with three numbers).</summary>
    public static TaskDefinition TestSet(PromptStyle style = PromptStyle.R1Zero)
    {
        const string file = "countdown_cd3_test.jsonl";
        var examples = new List<TaskExample>();
        foreach (var (line, row) in Benchmarks.Rows(file))
        {
            string numbers = Benchmarks.Required(row, "input", file, line);
            string target = Benchmarks.Required(row, "output", file, line);
            if (!CountdownReward.TryParseNumbers(numbers, out var parsed))
                throw new DatasetFormatException(file, line, "input", $"expected comma-separated integers, got '{numbers}'");
            if (!int.TryParse(target, NumberStyles.Integer, CultureInfo.InvariantCulture, out _))
                throw new DatasetFormatException(file, line, "output", $"expected an integer, got '{target}'");
            examples.Add(Example($"countdown-cd3-{examples.Count}", [.. parsed.Select(n => (int)n)], int.Parse(target, CultureInfo.InvariantCulture), style, null));
        }
        return Task("countdown_cd3_test", examples, "Countdown with three numbers, 256 test problems (d1's CD3 test set).");
    }

    /// <summary>
    /// <paramref name="count"/> generated problems for <paramref name="seed"/> (the same seed gives the same
    /// problems). Problems with the same numbers and target as the shipped test set are never generated.
    /// </summary>
    public static TaskDefinition Generate(int count, int seed, CountdownDifficulty? difficulty = null, PromptStyle style = PromptStyle.R1Zero)
    {
        var d = difficulty ?? new CountdownDifficulty();
        if (d.Numbers is < 2 or > 6) throw new ArgumentOutOfRangeException(nameof(difficulty), d.Numbers, "Numbers must be in 2..6.");
        if (d.MinNumber < 1 || d.MaxNumber < d.MinNumber) throw new ArgumentOutOfRangeException(nameof(difficulty), "Need 1 <= MinNumber <= MaxNumber.");
        if (d.MaxTarget < d.MinTarget) throw new ArgumentOutOfRangeException(nameof(difficulty), "Need MinTarget <= MaxTarget.");

        var excluded = TestSet(PromptStyle.Raw).Examples.Select(e => Key(e.Field("numbers")!, e.Field("target")!)).ToHashSet(StringComparer.Ordinal);
        var rng = new DeterministicRandom(seed, "countdown");
        var examples = new List<TaskExample>(count);
        int attempts = 0;
        while (examples.Count < count)
        {
            if (++attempts > 1000 * (count + 10))
                throw new InvalidOperationException($"Could not generate {count} Countdown problems at {d}: targets in range are too rare.");
            int[] numbers = [.. Enumerable.Range(0, d.Numbers).Select(_ => rng.Next(d.MinNumber, d.MaxNumber))];
            if (!TryBuild(numbers, rng, out string expression, out var value)) continue;
            if (!value.Denominator.IsOne || value.Numerator < d.MinTarget || value.Numerator > d.MaxTarget) continue;
            int target = (int)value.Numerator;
            if (excluded.Contains(Key(string.Join(",", numbers), target.ToString(CultureInfo.InvariantCulture)))) continue;
            examples.Add(Example($"countdown-{seed}-{examples.Count}", numbers, target, style, expression));
        }
        return Task($"countdown_generated_{seed}", examples, $"{count} generated Countdown problems, seed {seed}, {d}.");
    }

    /// <summary>The question text for numbers and a target.</summary>
    public static string Question(IReadOnlyList<int> numbers, int target) =>
        $"Using the numbers [{string.Join(", ", numbers)}], write an equation that equals {target}. " +
        "Use each number exactly once, with + - * / and parentheses. " +
        "Show your reasoning in <think> </think> and give only the equation in <answer> </answer>, for example <answer> (1 + 2) * 3 </answer>";

    private static TaskDefinition Task(string name, List<TaskExample> examples, string description) =>
        new(name, examples, [new RewardSpec("countdown")], new EvaluationMetric("countdown", 1.0), description);

    private static TaskExample Example(string id, int[] numbers, int target, PromptStyle style, string? solution)
    {
        string question = Question(numbers, target);
        var reference = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["numbers"] = string.Join(",", numbers),
            ["target"] = target.ToString(CultureInfo.InvariantCulture),
        };
        if (solution is not null) reference["solution"] = solution;
        return new TaskExample(id, question, PromptTemplates.Render(question, style), reference);
    }

    private static string Key(string numbers, string target)
    {
        CountdownReward.TryParseNumbers(numbers, out var parsed);
        return string.Join(",", parsed.Order()) + "=" + target.Trim();
    }

    /// <summary>Combines the numbers in random order with random operators into one expression; false on division by zero.</summary>
    private static bool TryBuild(int[] numbers, DeterministicRandom rng, out string expression, out Fraction value)
    {
        var items = numbers.Select(n => (Text: n.ToString(CultureInfo.InvariantCulture), Value: Fraction.FromInteger(n))).ToList();
        rng.Shuffle(items);
        while (items.Count > 1)
        {
            int i = rng.Next(0, items.Count - 2);
            var (a, b) = (items[i], items[i + 1]);
            char op = "+-*/"[rng.Next(0, 3)];
            if (op == '/' && b.Value.Numerator.IsZero) { expression = ""; value = default; return false; }
            var combined = op switch
            {
                '+' => a.Value + b.Value,
                '-' => a.Value - b.Value,
                '*' => a.Value * b.Value,
                _ => a.Value / b.Value,
            };
            if (op == '/' && !combined.Denominator.IsOne) { expression = ""; value = default; return false; }
            var text = new StringBuilder().Append('(').Append(a.Text).Append(' ').Append(op).Append(' ').Append(b.Text).Append(')').ToString();
            items[i] = (text, combined);
            items.RemoveAt(i + 1);
        }
        expression = items[0].Text.StartsWith('(') && items[0].Text.EndsWith(')') ? items[0].Text[1..^1] : items[0].Text;
        value = items[0].Value;
        return true;
    }
}

using System.Globalization;
using System.Text;
using R1Sharp.Data;

namespace R1Sharp.Tasks.Arithmetic;

/// <summary>
/// Seeded, deterministic generator of embedded arithmetic problems.
/// </summary>
/// <remarks>
/// <para>Train / held-out partition: a chain belongs to the held-out split when the FNV-1a hash of its
/// language-independent <see cref="ArithmeticProblem.Key"/> falls in the lowest <see cref="HeldOutPercent"/>
/// percent. The partition is a property of the chain, not of the seed, so no seed can ever put a held-out chain —
/// in either language or wording — into training prompts, cold-start data or the pretraining corpus.</para>
/// <para>Within one call every chain appears once.</para>
/// </remarks>
public static class ArithmeticGenerator
{
    /// <summary>Percent of all chains reserved for evaluation.</summary>
    public const int HeldOutPercent = 10;

    /// <summary>The split a chain belongs to.</summary>
    public static ArithmeticSplit SplitOf(string key) =>
        DeterministicRandom.StableHash("arith-split:" + key) % 100 < HeldOutPercent ? ArithmeticSplit.HeldOut : ArithmeticSplit.Train;

    /// <summary><paramref name="count"/> distinct problems of <paramref name="split"/> for <paramref name="seed"/>.</summary>
    /// <exception cref="InvalidOperationException">The difficulty allows fewer distinct chains than asked for.</exception>
    public static IReadOnlyList<ArithmeticProblem> Generate(ArithmeticSplit split, int count, int seed, ArithmeticDifficulty? difficulty = null)
    {
        var d = difficulty ?? new ArithmeticDifficulty();
        d.Validate();
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        string splitName = split == ArithmeticSplit.Train ? "train" : "heldout";
        var rng = new DeterministicRandom(seed, "arith-" + splitName);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var problems = new List<ArithmeticProblem>(count);
        long attempts = 0, maxAttempts = 200L * count + 10_000;
        while (problems.Count < count)
        {
            if (++attempts > maxAttempts)
                throw new InvalidOperationException(
                    $"Only {problems.Count} distinct {splitName} problems found after {maxAttempts} draws at {d}; widen the difficulty or ask for fewer.");
            var steps = RandomChain(rng, d);
            string key = ArithmeticProblem.ChainKey(steps);
            if (SplitOf(key) != split || !seen.Add(key)) continue;
            string id = string.Create(CultureInfo.InvariantCulture, $"arith-{splitName}-{seed}-{problems.Count:D5}");
            problems.Add(Create(id, steps, rng, d));
        }
        return problems;
    }

    /// <summary>Words the chain as a problem (language and wording drawn from <paramref name="rng"/> per the difficulty).</summary>
    internal static ArithmeticProblem Create(string id, IReadOnlyList<ArithmeticStep> steps, DeterministicRandom rng, ArithmeticDifficulty d)
    {
        string language = rng.Chance(d.FrenchShare) ? "fr" : "en";
        var wording = d.Wording == WordingStyle.Mixed ? (rng.Chance(0.5) ? WordingStyle.WordProblem : WordingStyle.Expression) : d.Wording;
        string expression = Expression(steps);
        string question = wording == WordingStyle.WordProblem
            ? ArithmeticText.WordProblem(steps, language, rng)
            : ArithmeticText.ExpressionQuestion(expression, language, rng.Next(0, 1));
        return new ArithmeticProblem(id, language, wording, question, expression, steps, steps[^1].Result);
    }

    /// <summary>A random chain: start value, then operations that keep every running result in [0, MaxResult].</summary>
    internal static List<ArithmeticStep> RandomChain(DeterministicRandom rng, ArithmeticDifficulty d)
    {
        while (true)
        {
            int operations = rng.Next(d.MinOperations, d.MaxOperations);
            int running = rng.Next(d.MinOperand, d.MaxOperand);
            var steps = new List<ArithmeticStep>(operations);
            var feasible = new List<ArithmeticOperator>(3);
            for (int k = 0; k < operations; k++)
            {
                feasible.Clear();
                if (running + d.MinOperand <= d.MaxResult) feasible.Add(ArithmeticOperator.Add);
                if (running >= d.MinOperand) feasible.Add(ArithmeticOperator.Subtract);
                if (d.Multiplication && running >= 1 && running * 2 <= d.MaxResult) feasible.Add(ArithmeticOperator.Multiply);
                if (feasible.Count == 0) break;
                var op = rng.Pick(feasible);
                int operand = op switch
                {
                    ArithmeticOperator.Add => rng.Next(d.MinOperand, Math.Min(d.MaxOperand, d.MaxResult - running)),
                    ArithmeticOperator.Subtract => rng.Next(d.MinOperand, Math.Min(d.MaxOperand, running)),
                    _ => rng.Next(2, Math.Min(d.MaxFactor, d.MaxResult / running)),
                };
                int result = ArithmeticStep.Apply(running, op, operand);
                steps.Add(new ArithmeticStep(running, op, operand, result));
                running = result;
            }
            if (steps.Count == operations) return steps;
        }
    }

    /// <summary>
    /// The chain as a conventional expression: left to right, with the part before a × parenthesised when it ends
    /// in + or − at top level, so that usual precedence gives the chain's value: <c>(37 + 48) × 2 - 19</c>.
    /// </summary>
    public static string Expression(IReadOnlyList<ArithmeticStep> steps)
    {
        var sb = new StringBuilder(steps[0].Left.ToString(CultureInfo.InvariantCulture));
        bool topLevelSum = false;
        foreach (var step in steps)
        {
            if (step.Operator == ArithmeticOperator.Multiply && topLevelSum)
            {
                sb.Insert(0, '(').Append(')');
                topLevelSum = false;
            }
            sb.Append(' ').Append(ArithmeticStep.Symbol(step.Operator)).Append(' ').Append(step.Right.ToString(CultureInfo.InvariantCulture));
            if (step.Operator != ArithmeticOperator.Multiply) topLevelSum = true;
        }
        return sb.ToString();
    }
}

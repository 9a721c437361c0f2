using System.Globalization;
using System.Numerics;

namespace R1Sharp.Rewards.Rules;

/// <summary>
/// Countdown (TinyZero <c>verl/utils/reward_score/countdown.py</c>): the equation is the content of the last
/// <c>&lt;answer&gt;…&lt;/answer&gt;</c> block. Reward 0 when there is none; otherwise 1.0 when the numbers
/// in it (maximal runs of ASCII digits) are exactly the given numbers as a multiset — each used once, none
/// added — and it evaluates to the target; 0.1 (the format score) for any other answer: numbers wrong,
/// not a valid expression, division by zero, or a wrong value.
/// </summary>
/// <remarks>
/// <para>Reference fields: <c>numbers</c> ("30,100,93", "[30, 100, 93]" or space-separated) and <c>target</c>
/// (an integer); null when either is missing or unreadable.</para>
/// <para>Deviations from TinyZero, deliberate: the expression is evaluated by <see cref="ArithmeticExpression"/>
/// in exact rational arithmetic and compared exactly (TinyZero: Python eval in floating point, |x − t| &lt; 1e-5),
/// and it accepts only <c>+ - * /</c>, unary signs, parentheses and integers (TinyZero's character filter lets
/// eval see <c>**</c>, <c>//</c> and decimals). TinyZero looks for the answer on the last line of the text after
/// "Assistant:"; the completion here is already the response, and the answer may be anywhere in it.</para>
/// </remarks>
public sealed class CountdownReward : IReward
{
    /// <param name="formatScore">Reward for an answer that is present but not correct (TinyZero 0.1).</param>
    /// <param name="score">Reward for a correct equation (TinyZero 1.0).</param>
    public CountdownReward(double formatScore = 0.1, double score = 1.0)
    {
        FormatScore = formatScore;
        CorrectScore = score;
    }

    /// <summary>Reward for a present but wrong answer.</summary>
    public double FormatScore { get; }

    /// <summary>Reward for a correct equation.</summary>
    public double CorrectScore { get; }

    /// <inheritdoc />
    public string Name => "countdown";

    /// <inheritdoc />
    public IReadOnlyList<double?> Score(IReadOnlyList<RewardInput> batch, CancellationToken cancellationToken = default)
    {
        var scores = new double?[batch.Count];
        for (int i = 0; i < batch.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var input = batch[i];
            if (!TryParseNumbers(input.Field("numbers"), out var numbers)
                || !BigInteger.TryParse(input.Field("target")?.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var target))
            {
                scores[i] = null;
                continue;
            }
            scores[i] = ScoreOne(input.Completion, numbers, target);
        }
        return scores;
    }

    /// <summary>The reward of one completion for the given numbers and target.</summary>
    public double ScoreOne(string completion, IReadOnlyList<BigInteger> numbers, BigInteger target)
    {
        string? equation = CompletionText.LastAnswer(completion)?.Trim();
        if (equation is null) return 0.0;
        return IsCorrect(equation, numbers, target) ? CorrectScore : FormatScore;
    }

    /// <summary>True when <paramref name="equation"/> uses exactly <paramref name="numbers"/> and equals <paramref name="target"/>.</summary>
    public static bool IsCorrect(string equation, IReadOnlyList<BigInteger> numbers, BigInteger target)
    {
        var used = new List<BigInteger>();
        for (int i = 0; i < equation.Length; i++)
        {
            if (!char.IsAsciiDigit(equation[i])) continue;
            int start = i;
            while (i < equation.Length && char.IsAsciiDigit(equation[i])) i++;
            if (used.Count >= numbers.Count) return false;
            used.Add(BigInteger.Parse(equation.AsSpan(start, i - start), CultureInfo.InvariantCulture));
        }
        if (used.Count != numbers.Count) return false;
        used.Sort();
        var expected = numbers.OrderBy(n => n).ToList();
        for (int k = 0; k < used.Count; k++)
            if (used[k] != expected[k]) return false;
        return ArithmeticExpression.TryEvaluate(equation, out var value) && value == Fraction.FromInteger(target);
    }

    /// <summary>Parses "30,100,93", "[30, 100, 93]" or "30 100 93".</summary>
    public static bool TryParseNumbers(string? text, out List<BigInteger> numbers)
    {
        numbers = [];
        if (string.IsNullOrWhiteSpace(text)) return false;
        foreach (string part in text.Trim().TrimStart('[').TrimEnd(']').Split([',', ' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
        {
            if (!BigInteger.TryParse(part, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)) return false;
            numbers.Add(n);
        }
        return numbers.Count > 0;
    }
}

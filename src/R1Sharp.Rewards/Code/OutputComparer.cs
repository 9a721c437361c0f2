using System.Globalization;

namespace R1Sharp.Rewards.Code;

/// <summary>
/// Numeric tolerance for output tokens that both parse as finite numbers, as Python's <c>math.isclose</c>:
/// |a − b| ≤ max(<paramref name="Relative"/> · max(|a|, |b|), <paramref name="Absolute"/>).
/// </summary>
public sealed record FloatTolerance(double Absolute = 1e-6, double Relative = 1e-6);

/// <summary>The verdict of <see cref="OutputComparer.Compare"/>: equal, or the first difference in words.</summary>
public sealed record OutputComparison(bool Equal, string? Difference);

/// <summary>
/// Compares a program's stdout with the expected output, line by line, over ALL lines (a missing or extra line
/// fails — unlike open-r1's <c>zip()</c>, which silently ignores them). Tolerated: "\r\n" line ends, trailing
/// whitespace on a line, trailing blank lines, and different amounts of whitespace between tokens. With a
/// <see cref="FloatTolerance"/>, tokens that both parse as finite numbers compare numerically; otherwise tokens
/// compare as exact strings ("1.0" ≠ "1").
/// </summary>
public static class OutputComparer
{
    /// <summary>Compares <paramref name="actual"/> against <paramref name="expected"/>.</summary>
    public static OutputComparison Compare(string actual, string expected, FloatTolerance? tolerance = null)
    {
        var got = Lines(actual);
        var want = Lines(expected);
        int common = Math.Min(got.Count, want.Count);
        for (int i = 0; i < common; i++)
        {
            if (!LineEquals(got[i], want[i], tolerance))
                return new(false, $"line {i + 1}: expected '{Clip(want[i])}', got '{Clip(got[i])}'");
        }
        if (got.Count < want.Count)
            return new(false, $"expected {want.Count} lines, got {got.Count} (first missing line {got.Count + 1}: '{Clip(want[got.Count])}')");
        if (got.Count > want.Count)
            return new(false, $"expected {want.Count} lines, got {got.Count} (first extra line {want.Count + 1}: '{Clip(got[want.Count])}')");
        return new(true, null);
    }

    /// <summary>Lines with line ends normalised, trailing whitespace removed and trailing blank lines dropped.</summary>
    internal static List<string> Lines(string text)
    {
        var lines = text.Replace("\r\n", "\n").Replace('\r', '\n').Split('\n').Select(l => l.TrimEnd()).ToList();
        while (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        return lines;
    }

    private static bool LineEquals(string got, string want, FloatTolerance? tolerance)
    {
        if (got == want) return true;
        var a = got.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        var b = want.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (a.Length != b.Length) return false;
        for (int i = 0; i < a.Length; i++)
        {
            if (a[i] == b[i]) continue;
            if (tolerance is null || !TryNumber(a[i], out double x) || !TryNumber(b[i], out double y)) return false;
            if (Math.Abs(x - y) > Math.Max(tolerance.Relative * Math.Max(Math.Abs(x), Math.Abs(y)), tolerance.Absolute)) return false;
        }
        return true;
    }

    private static bool TryNumber(string token, out double value) =>
        double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);

    private static string Clip(string line) => Printable(line.Length <= 60 ? line : line[..60] + "…");

    /// <summary>The program's text made safe to quote in a reason (logs, terminals): every control character
    /// (escape sequences, carriage return, bell…) becomes '?'.</summary>
    internal static string Printable(string text) =>
        text.Any(char.IsControl) ? string.Concat(text.Select(c => char.IsControl(c) ? '?' : c)) : text;
}

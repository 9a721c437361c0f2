namespace R1Sharp.Training.Runs;

/// <summary>
/// Running sums of metrics between two log lines: each metric is Σ value / Σ weight over what was added (a token-weighted
/// loss adds (Σ loss, tokens); a per-pair mean adds (Σ loss, pairs); a rate adds (amount, seconds)).
/// </summary>
public sealed class MetricWindow
{
    readonly Dictionary<string, (double Sum, double Weight)> sums = new(StringComparer.Ordinal);

    /// <summary>Adds <paramref name="sum"/> over <paramref name="weight"/> to <paramref name="name"/>.</summary>
    public void Add(string name, double sum, double weight = 1)
    {
        var (s, w) = sums.GetValueOrDefault(name);
        sums[name] = (s + sum, w + weight);
    }

    /// <summary>The metric's mean so far (NaN when nothing was added).</summary>
    public double Mean(string name) => sums.TryGetValue(name, out var x) && x.Weight != 0 ? x.Sum / x.Weight : double.NaN;

    /// <summary>Every mean, in the order the metrics were first added; the window starts over.</summary>
    public Dictionary<string, double> Flush()
    {
        var means = sums.Keys.ToDictionary(k => k, Mean, StringComparer.Ordinal);
        sums.Clear();
        return means;
    }
}

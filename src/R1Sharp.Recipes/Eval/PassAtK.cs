namespace R1Sharp.Recipes.Eval;

/// <summary>The metrics of DeepSeek-R1's evaluation protocol, per problem.</summary>
public static class PassAtK
{
    /// <summary>
    /// The unbiased pass@k estimator of Chen et al. 2021 ("Evaluating Large Language Models Trained on Code", §2.1):
    /// with n samples of which c are correct, pass@k = 1 − C(n−c, k) / C(n, k) — the chance that k samples drawn
    /// without replacement from the n contain a correct one. Computed as 1 − Π_{i=n−c+1}^{n} (1 − k/i), the
    /// paper's numerically stable product. pass@1 = c / n.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Unless 0 ≤ c ≤ n and 1 ≤ k ≤ n.</exception>
    public static double Estimate(int n, int c, int k)
    {
        if (n < 1 || c < 0 || c > n) throw new ArgumentOutOfRangeException(nameof(c), $"need 0 ≤ c ≤ n and n ≥ 1 (n {n}, c {c})");
        if (k < 1 || k > n) throw new ArgumentOutOfRangeException(nameof(k), $"need 1 ≤ k ≤ n (n {n}, k {k})");
        if (n - c < k) return 1.0;
        double product = 1.0;
        for (int i = n - c + 1; i <= n; i++) product *= 1.0 - (double)k / i;
        return 1.0 - product;
    }

    /// <summary>The k values a run of n samples reports pass@k for: 1, 2, 4, … up to n, and n itself.</summary>
    public static IReadOnlyList<int> Curve(int n)
    {
        var ks = new List<int>();
        for (int k = 1; k <= n; k *= 2) ks.Add(k);
        if (ks[^1] != n) ks.Add(n);
        return ks;
    }
}

/// <summary>
/// Majority vote over extracted answers (cons@k, "self-consistency", Wang et al. 2022). Samples without an
/// answer do not vote. Answers are grouped by a key (for math, <c>MathVerifier.Normalize</c>, so <c>\frac12</c>
/// and <c>1/2</c> agree) and, optionally, by an equivalence test between a new answer and each group's first
/// answer (so <c>0.5</c> joins <c>1/2</c>). The group with the most votes wins; a tie goes to the group whose first
/// vote came earliest (sample order), which makes the result deterministic.
/// </summary>
public static class MajorityVote
{
    /// <summary>The winning group: its key, its first sample's index, and its size; null when no sample has an answer.</summary>
    public readonly record struct Winner(string Key, int FirstSample, int Votes);

    /// <param name="answers">Per sample, the extracted answer or null.</param>
    /// <param name="key">The group key of an answer.</param>
    /// <param name="equivalent">(group's first answer, answer) → same answer? Null: keys only.</param>
    public static Winner? Vote(IReadOnlyList<string?> answers, Func<string, string> key, Func<string, string, bool>? equivalent = null)
    {
        var groups = new List<(string Key, string First, int FirstSample, int Votes)>();
        for (int i = 0; i < answers.Count; i++)
        {
            if (answers[i] is not { } answer) continue;
            string k = key(answer);
            int g = groups.FindIndex(x => x.Key == k);
            if (g < 0 && equivalent is not null) g = groups.FindIndex(x => equivalent(x.First, answer));
            if (g < 0) groups.Add((k, answer, i, 1));
            else groups[g] = groups[g] with { Votes = groups[g].Votes + 1 };
        }
        if (groups.Count == 0) return null;
        var best = groups[0];
        foreach (var group in groups)
            if (group.Votes > best.Votes) best = group; // strictly more: earlier groups win ties
        return new Winner(best.Key, best.FirstSample, best.Votes);
    }
}

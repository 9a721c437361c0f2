using System.Text;

namespace R1Sharp.Recipes.Config;

/// <summary>
/// The one naming rule between C# and config files: a property or enum member <c>PascalCase</c> is written
/// <c>snake_case</c> (<c>LearningRate</c> → <c>learning_rate</c>, <c>MaxNewTokens</c> → <c>max_new_tokens</c>,
/// <c>KLCoef</c> → <c>kl_coef</c>, <c>Gsm8kPath</c> → <c>gsm8k_path</c>, <c>DrGrpo</c> → <c>dr_grpo</c>).
/// </summary>
public static class ConfigNames
{
    /// <summary>
    /// An underscore goes before an upper-case letter that follows a lower-case letter or a digit, and before the
    /// last capital of an acronym that a lower-case letter follows (<c>KLCoef</c> → <c>kl_coef</c>); digits stay
    /// attached to what precedes them.
    /// </summary>
    public static string ToSnakeCase(string name)
    {
        var sb = new StringBuilder(name.Length + 4);
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (char.IsUpper(c) && i > 0)
            {
                char prev = name[i - 1];
                bool nextLower = i + 1 < name.Length && char.IsLower(name[i + 1]);
                if (char.IsLower(prev) || char.IsDigit(prev) || (char.IsUpper(prev) && nextLower)) sb.Append('_');
            }
            sb.Append(char.ToLowerInvariant(c));
        }
        return sb.ToString();
    }

    /// <summary>Levenshtein distance, for "did you mean" hints.</summary>
    internal static int Distance(string a, string b)
    {
        var row = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++) row[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            int diagonal = row[0];
            row[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.Length];
    }

    /// <summary>The closest of <paramref name="candidates"/> to <paramref name="name"/>, when it is close enough to be a typo.</summary>
    public static string? Closest(string name, IEnumerable<string> candidates)
    {
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (var c in candidates)
        {
            int d = Distance(name, c);
            if (d < bestDistance)
            {
                best = c;
                bestDistance = d;
            }
        }
        return best is not null && bestDistance <= Math.Max(2, name.Length / 4) ? best : null;
    }
}

using System.Globalization;
using System.Text;

namespace R1Sharp.Recipes.Pipeline;

/// <summary>The final table as text, for the console.</summary>
public static class PipelineTable
{
    public static string Format(IReadOnlyList<TableRow> rows)
    {
        var sb = new StringBuilder();
        int k = rows.Count > 0 ? rows[0].K : 0;
        sb.AppendLine(CultureInfo.InvariantCulture, $"{"",-20} {"params",8} {"pass@1",8} {"cons@" + k,8} {"format",8} {"language",9} {"length",8}");
        foreach (var r in rows)
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"{r.Title,-20} {Params(r.Params),8} {r.PassAt1,8:P1} {r.ConsAtK,8:P1} {r.FormatRate,8:P1} {Language(r.LanguageConsistency),9} {r.MeanLength,8:F1}");
        if (rows.Count > 0)
            sb.Append(CultureInfo.InvariantCulture, $"(pass@1 and cons@{k}: {k} samples per prompt × {rows[0].Prompts} held-out prompts at T {rows[0].Temperature}, top-p {rows[0].TopP}; length in tokens)");
        return sb.ToString();
    }

    /// <summary>Language consistency to three decimals, or a dash when no sample's reasoning had a word to judge.</summary>
    public static string Language(double? consistency) =>
        consistency is { } l ? l.ToString("F3", CultureInfo.InvariantCulture) : "—";

    static string Params(long n) => n >= 1_000_000 ? (n / 1e6).ToString("F2", CultureInfo.InvariantCulture) + "M" : (n / 1e3).ToString("F0", CultureInfo.InvariantCulture) + "K";
}

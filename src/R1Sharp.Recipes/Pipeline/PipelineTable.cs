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
        bool hard = rows.Any(r => r.HardPassAt1 is not null), judged = rows.Any(r => r.Helpfulness is not null || r.Harmlessness is not null);
        bool turns = rows.Any(r => r.TurnAccuracy is not null);
        sb.Append(CultureInfo.InvariantCulture, $"{"",-20} {"params",8} {"pass@1",8} {"cons@" + k,8} {"format",8} {"language",9} {"length",8}");
        if (hard) sb.Append(CultureInfo.InvariantCulture, $" {"hard p@1",9} {"hard c@" + k,9} {"hard lang",9} {"hard len",8}");
        if (judged) sb.Append(CultureInfo.InvariantCulture, $" {"helpful",8} {"harmless",8}");
        if (turns) sb.Append(CultureInfo.InvariantCulture, $" {"turns 1/2/3/4",16}");
        sb.AppendLine();
        foreach (var r in rows)
        {
            sb.Append(CultureInfo.InvariantCulture,
                $"{r.Title,-20} {Params(r.Params),8} {r.PassAt1,8:P1} {r.ConsAtK,8:P1} {r.FormatRate,8:P1} {Language(r.LanguageConsistency),9} {r.MeanLength,8:F1}");
            if (hard)
                sb.Append(CultureInfo.InvariantCulture,
                    $" {Percent(r.HardPassAt1),9} {Percent(r.HardConsAtK),9} {Language(r.HardLanguageConsistency),9} {(r.HardMeanLength is { } l ? l.ToString("F1", CultureInfo.InvariantCulture) : "—"),8}");
            if (judged) sb.Append(CultureInfo.InvariantCulture, $" {Percent(r.Helpfulness),8} {Percent(r.Harmlessness),8}");
            if (turns)
                sb.Append(CultureInfo.InvariantCulture, $" {(r.TurnAccuracy is { } t ? string.Join('/', t.Select(a => (100 * a).ToString("F0", CultureInfo.InvariantCulture))) : "—"),16}");
            sb.AppendLine();
        }
        if (rows.Count > 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $"(pass@1 and cons@{k}: {k} samples per prompt × {rows[0].Prompts} held-out prompts at T {rows[0].Temperature}, top-p {rows[0].TopP}; length in tokens");
            if (hard) sb.Append(CultureInfo.InvariantCulture, $"; hard: {rows[0].HardPrompts} held-out prompts of the hard split, {k} samples each");
            if (judged) sb.Append("; helpful / harmless: share of replies to held-out general prompts that held-out judges prefer over the rejected reply");
            if (turns) sb.Append("; turns: pass@1 (%) at turns 1–4 of held-out conversations");
            sb.Append(')');
        }
        return sb.ToString();
    }

    /// <summary>A share as a percentage to one decimal, or a dash when not measured.</summary>
    public static string Percent(double? share) => share is { } s ? s.ToString("P1", CultureInfo.InvariantCulture) : "—";

    /// <summary>Language consistency to three decimals, or a dash when no sample's reasoning had a word to judge.</summary>
    public static string Language(double? consistency) =>
        consistency is { } l ? l.ToString("F3", CultureInfo.InvariantCulture) : "—";

    static string Params(long n) => n >= 1_000_000 ? (n / 1e6).ToString("F2", CultureInfo.InvariantCulture) + "M" : (n / 1e3).ToString("F0", CultureInfo.InvariantCulture) + "K";
}

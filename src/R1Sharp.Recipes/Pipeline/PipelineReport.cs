// The pipeline's report, written at the end of `r1sharp pipeline run CONFIG.yaml` as RUN/report.html.
//
// One self-contained page (CSS inline, plots as PNG data: URIs, one small inline script; nothing fetched from the
// network) that shows what each stage bought:
//   - the final table in the style of DeepSeek-R1's Tables 4–6: one row per model (base, R1-Zero, cold start,
//     reasoning RL, R1, distilled student, RL-only student), pass@1 / cons@k / pass@k, format rate, language
//     consistency (in %) and mean response length (tokens);
//   - stage timings;
//   - training curves: reward and accuracy per step for each RL stage, response length per step (the paper's
//     Figure 3, "average response length of DeepSeek-R1-Zero … during the RL process"), the language-consistency
//     reward, and loss for the pretraining/SFT stages;
//   - three sample responses per model, the <think> part in a grey box apart from the answer or summary.
// All model text is HTML-escaped.
using System.Globalization;
using System.Net;
using System.Text;
using R1Sharp.Data;

namespace R1Sharp.Recipes.Pipeline;

public static class PipelineReport
{
    public const string FileName = "report.html";

    /// <summary>The table's rows in the paper's order, with their default titles.</summary>
    private static readonly (string Row, string Title)[] Rows =
    [
        ("base", "Base model"), ("r1-zero", "R1-Zero"), ("cold-start", "Cold start (SFT)"), ("reasoning-rl", "Reasoning RL"),
        ("sft", "SFT (stage 4)"), ("r1", "R1 (final)"), ("distilled-student", "Distilled student"), ("rl-only-student", "RL-only student"),
    ];

    /// <summary>Run-folder stages trained by GRPO and by cross-entropy (pretraining, SFT, distillation).</summary>
    private static readonly (string Stage, string Title)[] RlStages =
        [("r1-zero", "R1-Zero"), ("reasoning-rl", "Reasoning RL"), ("final-rl", "Final RL"), ("student-rl", "RL-only student")];

    private static readonly (string Stage, string Title)[] LossStages =
    [
        ("base", "Base model (pretraining)"), ("cold-start", "Cold-start SFT"), ("sft", "SFT on rejection-sampled data"),
        ("distill", "Distillation (student SFT)"), ("student-base", "Student base (pretraining)"),
    ];

    private const int SamplesPerRow = 3;

    /// <summary>
    /// Writes <c>report.html</c> into <paramref name="runDirectory"/> (whole or not at all) from what the run folder
    /// holds — summary.json, each stage's metrics.jsonl, eval/&lt;row&gt;/samples.jsonl — and returns its path.
    /// Missing stages or files leave their section out; unreadable lines are listed at the end of the report.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The run folder does not exist.</exception>
    public static string Write(string runDirectory)
    {
        if (!Directory.Exists(runDirectory)) throw new DirectoryNotFoundException($"run folder not found: {runDirectory}");
        var run = RunFolder.Load(runDirectory);
        var html = new StringBuilder();
        html.Append(Head);
        RunInfo(html, run);
        FinalTable(html, run);
        StageTable(html, run);
        Curves(html, run);
        SampleResponses(html, run);
        Notes(html, run);
        html.Append(Tail);
        string path = Path.Combine(runDirectory, FileName);
        AtomicFile.WriteAllText(path, html.ToString());
        return path;
    }

    private static void RunInfo(StringBuilder html, RunFolder run)
    {
        html.Append("<h1>R1Sharp pipeline report</h1>\n<dl class=\"info\">");
        Item("Run folder", Path.GetFullPath(run.Directory));
        Item("Config", run.Config ?? "—");
        Item("Mode", run.Quick switch { true => "quick", false => "full", null => "—" });
        Item("Total time", Duration(run.TotalSeconds));
        Item("Report written", DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture));
        html.Append("</dl>\n");

        void Item(string name, string value) => html.Append($"<dt>{name}</dt><dd>{Escape(value)}</dd>");
    }

    private static void FinalTable(StringBuilder html, RunFolder run)
    {
        html.Append("<h2>Results</h2>\n");
        if (run.Table.Count == 0)
        {
            html.Append("<p class=\"missing\">No evaluation results yet.</p>\n");
            return;
        }
        var rows = run.Table.OrderBy(r => Array.FindIndex(Rows, x => x.Row == r.Row) is var i and >= 0 ? i : Rows.Length).ToList();
        var ks = rows.Select(r => r.K).OfType<int>().Distinct().ToList();
        string k = ks.Count == 1 ? ks[0].ToString(CultureInfo.InvariantCulture) : "k";
        int? prompts = rows.Select(r => r.Prompts).OfType<int>().Distinct().Count() == 1 ? rows[0].Prompts : null;
        bool hard = rows.Any(r => r.HardPassAt1 is not null), judged = rows.Any(r => r.Helpfulness is not null || r.Harmlessness is not null);
        bool turns = rows.Any(r => r.TurnAccuracy is not null);
        int? hardPrompts = rows.Select(r => r.HardPrompts).OfType<int>().FirstOrDefault(n => n > 0) is var hp and > 0 ? hp : null;
        html.Append("<table class=\"results\" id=\"results\">\n<caption>")
            .Append(prompts is null ? "" : $"{prompts} evaluation prompts. ")
            .Append(ks.Count == 1 ? $"k = {k} samples per prompt. " : "")
            .Append($"pass@1: mean correctness over the samples; cons@{k}: majority vote; pass@{k}: any correct. ")
            .Append(hard ? $"Hard: {hardPrompts} held-out prompts of the hard split (longer chains), same k. " : "")
            .Append(turns ? "Turns: pass@1 at turns 1–4 of held-out conversations (plain-template rows). " : "")
            .Append(judged ? "Helpful / harmless: share of replies to held-out general prompts that judges trained on held-out preference pairs prefer over the rejected reply. " : "")
            .Append("Rates in %, mean length in tokens.</caption>\n")
            .Append($"<thead><tr><th>Model</th><th>Params</th><th>pass@1</th><th>cons@{k}</th><th>pass@{k}</th>")
            .Append("<th>Format</th><th>Language consistency</th><th>Mean length</th>")
            .Append(hard ? $"<th>Hard pass@1</th><th>Hard cons@{k}</th><th>Hard language</th>" : "")
            .Append(judged ? "<th>Helpful</th><th>Harmless</th>" : "")
            .Append(turns ? "<th>Turns 1 / 2 / 3 / 4</th>" : "")
            .Append("</tr></thead>\n<tbody>\n");
        double best = rows.Max(r => r.PassAt1 ?? double.NegativeInfinity);
        foreach (var r in rows)
        {
            string title = r.Title ?? DefaultTitle(r.Row);
            string pass1 = Percent(r.PassAt1);
            if (r.PassAt1 == best) pass1 = $"<b>{pass1}</b>";
            html.Append($"<tr data-row=\"{Escape(r.Row)}\"><th scope=\"row\">{Escape(title)}</th><td>{Count(r.Params)}</td>")
                .Append($"<td>{pass1}</td><td>{Percent(r.ConsAtK)}</td><td>{Percent(r.PassAtK)}</td><td>{Percent(r.FormatRate)}</td>")
                .Append($"<td>{Percent(r.LanguageConsistency)}</td><td>{Number(r.MeanLength, "0.0")}</td>");
            if (hard) html.Append($"<td>{Percent(r.HardPassAt1)}</td><td>{Percent(r.HardConsAtK)}</td><td>{Percent(r.HardLanguageConsistency)}</td>");
            if (judged) html.Append($"<td>{Percent(r.Helpfulness)}</td><td>{Percent(r.Harmlessness)}</td>");
            if (turns) html.Append($"<td>{(r.TurnAccuracy is { } t ? string.Join(" / ", t.Select(a => Number(a * 100, "0"))) : "—")}</td>");
            html.Append("</tr>\n");
        }
        html.Append("</tbody></table>\n");
    }

    private static void StageTable(StringBuilder html, RunFolder run)
    {
        if (run.Stages.Count == 0) return;
        html.Append("<h2>Stages</h2>\n<table class=\"stages\" id=\"stages\"><thead><tr><th>Stage</th><th>Status</th>")
            .Append("<th>Time</th><th>Share</th><th>Model</th></tr></thead>\n<tbody>\n");
        foreach (var s in run.Stages)
        {
            string share = s.Seconds is { } sec && run.TotalSeconds is > 0 ? Percent(sec / run.TotalSeconds.Value) + "%" : "—";
            html.Append($"<tr><th scope=\"row\">{Escape(s.Stage)}</th><td class=\"status {Escape(s.Status)}\">{Escape(s.Status)}</td>")
                .Append($"<td>{Duration(s.Seconds)}</td><td>{share}</td><td><code>{Escape(s.Model ?? "")}</code></td></tr>\n");
        }
        html.Append("</tbody></table>\n");
    }

    private static void Curves(StringBuilder html, RunFolder run)
    {
        var rl = RlStages.Select(s => (s.Title, Metrics: run.Metrics(s.Stage))).Where(s => s.Metrics.Count > 0).ToList();
        var sft = LossStages.Select(s => (s.Title, Metrics: run.Metrics(s.Stage))).Where(s => s.Metrics.Count > 0).ToList();
        if (rl.Count + sft.Count == 0) return;
        html.Append("<h2>Training curves</h2>\n");
        foreach (var (title, metrics) in rl)
        {
            // Total reward, then accuracy, then the other reward functions (format, language, reward models).
            var curves = new[] { "reward", "rewards/accuracy" }.Concat(metrics.Keys.Where(n => n.StartsWith("rewards/", StringComparison.Ordinal)).Order())
                .Distinct().Where(metrics.ContainsKey).Select(n => metrics[n] with { Name = n.Replace("rewards/", "") }).ToList();
            Figure(html, $"{title}: reward per step", "mean reward", curves,
                "Mean over the step's samples: total (weighted) reward and each reward function; accuracy is the rule-checked answer.");
        }
        foreach (var (stage, title) in RlStages)
        {
            // Training accuracy by chain length (difficulty.jsonl): the hard split's chains have four operations.
            var byLength = run.Metrics(stage, PipelineCurves.FileName);
            var curves = byLength.Keys.Where(n => n.StartsWith("accuracy/ops=", StringComparison.Ordinal)).Order()
                .Select(n => byLength[n] with { Name = n["accuracy/".Length..].Replace("ops=", "", StringComparison.Ordinal) + " operations" }).ToList();
            Figure(html, $"{title}: accuracy per step by chain length", "accuracy", curves,
                "Mean accuracy reward of the step's samples, by the number of operations of their training chain (the hard split has four).");
        }
        HardByStage(html, run);
        Figure(html, "Response length per step", "tokens", Across(rl, n => n == "completion_length"),
            "Mean completion length of each RL stage's samples (DeepSeek-R1 Figure 3: R1-Zero learns to think longer).");
        Figure(html, "Language consistency reward per step", "reward", Across(rl, n => n.StartsWith("rewards/language", StringComparison.Ordinal)),
            "Share of the chain of thought's words in the prompt's language (DeepSeek-R1 §2.3.2).");
        foreach (var (title, metrics) in sft)
            Figure(html, $"{title}: loss", "cross-entropy (nats/token)",
                new[] { "loss", "eval_loss" }.Where(metrics.ContainsKey).Select(n => metrics[n]).ToList(), null);
    }

    /// <summary>Held-out pass@1 of each row in the paper's order, standard and hard split, as two lines over the stages.</summary>
    private static void HardByStage(StringBuilder html, RunFolder run)
    {
        var rows = Rows.Select(r => run.Table.FirstOrDefault(t => t.Row == r.Row)).OfType<TableEntry>().ToList();
        if (!rows.Any(r => r.HardPassAt1 is not null)) return;
        Curve Line(string name, Func<TableEntry, double?> value)
        {
            var points = rows.Select((r, i) => (Step: (double)(i + 1), Value: value(r))).Where(x => x.Value is not null).ToList();
            return new Curve(name, [.. points.Select(x => x.Step)], [.. points.Select(x => x.Value!.Value)]);
        }
        Figure(html, "Held-out pass@1 by stage: standard and hard split", "pass@1",
            [Line("standard split", r => r.PassAt1), Line("hard split", r => r.HardPassAt1)],
            "x: the table's rows in order (" + string.Join(", ", rows.Select((r, i) => $"{i + 1} {r.Title ?? DefaultTitle(r.Row)}")) + ").");
    }

    /// <summary>One metric from several stages, each curve named after its stage.</summary>
    private static List<Curve> Across(List<(string Title, Dictionary<string, Curve> Metrics)> stages, Func<string, bool> metric) =>
        stages.SelectMany(s => s.Metrics.Values.Where(c => metric(c.Name)).Take(1).Select(c => c with { Name = s.Title })).ToList();

    private static void Figure(StringBuilder html, string title, string yLabel, IReadOnlyList<Curve> curves, string? caption)
    {
        if (curves.Count == 0) return;
        string uri = PipelineReportPlots.LineChart(title, yLabel, curves);
        html.Append($"<figure><img src=\"{uri}\" alt=\"{Escape(title)}\" width=\"{PipelineReportPlots.Width}\" height=\"{PipelineReportPlots.Height}\">");
        if (caption is not null) html.Append($"<figcaption>{Escape(caption)}</figcaption>");
        html.Append("</figure>\n");
    }

    /// <summary>
    /// Three responses per model, to the same prompts where the models share them (the first prompt of each language
    /// first, so a bilingual task shows both): the first sample of each chosen prompt.
    /// </summary>
    private static void SampleResponses(StringBuilder html, RunFolder run)
    {
        var rows = Rows.Select(r => r.Row).Concat(run.Table.Select(r => r.Row)).Distinct()
            .Select(row => (Row: row, Title: run.Table.FirstOrDefault(r => r.Row == row)?.Title ?? DefaultTitle(row), Samples: run.Samples(row)))
            .Where(r => r.Samples.Count > 0).ToList();
        if (rows.Count == 0) return;
        var first = rows[0].Samples;
        var showcase = first.GroupBy(s => s.Language).Select(g => g.First().PromptId)
            .Concat(first.Select(s => s.PromptId)).Distinct().Take(SamplesPerRow).ToList();
        html.Append("<h2>Sample responses</h2>\n");
        foreach (var (row, title, samples) in rows)
        {
            var chosen = showcase.Select(id => samples.FirstOrDefault(s => s.PromptId == id)).OfType<SampleEntry>().ToList();
            if (chosen.Count < SamplesPerRow)
                chosen.AddRange(samples.Where(s => chosen.All(c => c.PromptId != s.PromptId)).DistinctBy(s => s.PromptId).Take(SamplesPerRow - chosen.Count));
            html.Append($"<section class=\"samples\" data-row=\"{Escape(row)}\"><h3>{Escape(title)}</h3>\n");
            foreach (var s in chosen) Sample(html, s);
            html.Append("</section>\n");
        }
    }

    private static void Sample(StringBuilder html, SampleEntry s)
    {
        html.Append("<div class=\"sample\"><p class=\"meta\">")
            .Append($"<code>{Escape(s.PromptId)}</code>{(s.Language is null ? "" : $" · {Escape(s.Language)}")}")
            .Append(s.Correct switch { true => " · <span class=\"ok\">correct</span>", false => " · <span class=\"bad\">wrong</span>", _ => "" })
            .Append(s.Format switch { true => " · format ok", false => " · <span class=\"bad\">format broken</span>", _ => "" })
            .Append(s.LanguageConsistency is { } lc ? $" · language {Percent(lc)}%" : "")
            .Append(s.Tokens is { } t ? $" · {t} tokens" : "")
            .Append("</p>\n")
            .Append(s.Question.Length > 0 ? $"<div class=\"question\">{Escape(s.Question)}</div>\n" : "")
            .Append(s.Completion.Trim().Length == 0 ? "<p class=\"missing\">(empty response)</p>\n" : "");
        var (before, think, closed, answer) = SplitThink(s.Completion);
        if (before.Trim().Length > 0) html.Append($"<div class=\"answer\">{Escape(before)}</div>\n");
        if (think is not null)
            html.Append($"<div class=\"think\"><span class=\"label\">think{(closed ? "" : " (no closing &lt;/think&gt;)")}</span>{Escape(think)}</div>\n");
        if (answer.Length > 0) html.Append($"<div class=\"answer\"><span class=\"label\">answer</span>{Escape(answer)}</div>\n");
        html.Append("</div>\n");
    }

    /// <summary>
    /// Splits a completion at its first <c>&lt;think&gt;…&lt;/think&gt;</c>: text before the tag, the reasoning (null
    /// without either tag; the rest of the text when the closing tag never came), and the answer after it.
    /// A completion that starts inside the reasoning (a template that opens <c>&lt;think&gt;</c> in the prompt) has
    /// only the closing tag.
    /// </summary>
    internal static (string Before, string? Think, bool Closed, string Answer) SplitThink(string completion)
    {
        const string open = "<think>", close = "</think>";
        int end = completion.IndexOf(close, StringComparison.Ordinal);
        int start = completion.IndexOf(open, StringComparison.Ordinal);
        if (end < 0)
            return start < 0 ? ("", null, false, completion.Trim()) : (completion[..start], completion[(start + open.Length)..].Trim(), false, "");
        int from = start >= 0 && start < end ? start + open.Length : 0;
        string before = start >= 0 && start < end ? completion[..start] : "";
        return (before, completion[from..end].Trim(), true, completion[(end + close.Length)..].Trim());
    }

    private static void Notes(StringBuilder html, RunFolder run)
    {
        if (run.Notes.Count == 0) return;
        const int shown = 20;
        html.Append("<h2>Notes</h2>\n<ul class=\"notes\">");
        foreach (var note in run.Notes.Take(shown)) html.Append($"<li>{Escape(note)}</li>");
        if (run.Notes.Count > shown) html.Append($"<li>… and {run.Notes.Count - shown} more</li>");
        html.Append("</ul>\n");
    }

    private static string DefaultTitle(string row) => Rows.FirstOrDefault(x => x.Row == row).Title ?? row;

    private static string Escape(string text) => WebUtility.HtmlEncode(text);

    private static string Percent(double? fraction) => Number(fraction * 100, "0.0");

    private static string Number(double? value, string format) =>
        value is { } v ? v.ToString(format, CultureInfo.InvariantCulture) : "—";

    /// <summary>860000 → "860K", 1.3e6 → "1.3M", 4.9e8 → "490M", 1.5e9 → "1.5B".</summary>
    internal static string Count(double? n) => n switch
    {
        null => "—",
        >= 1e9 => Number(n / 1e9, "0.#") + "B",
        >= 1e6 => Number(n / 1e6, "0.#") + "M",
        >= 1e3 => Number(n / 1e3, "0.#") + "K",
        _ => Number(n, "0"),
    };

    /// <summary>12.34 → "12.3 s", 388.2 → "6 min 28 s", 4000 → "1 h 06 min".</summary>
    internal static string Duration(double? seconds) => seconds switch
    {
        null => "—",
        < 60 => Number(seconds, "0.0") + " s",
        < 3600 => $"{(int)(seconds / 60)} min {(int)(seconds % 60):00} s",
        _ => $"{(int)(seconds / 3600)} h {(int)(seconds % 3600 / 60):00} min",
    };

    private const string Head = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>R1Sharp pipeline report</title>
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <style>
        body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
        h1 { margin-bottom: .3em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: .2em; }
        dl.info { display: grid; grid-template-columns: max-content auto; gap: .2em 1em; }
        dl.info dt { font-weight: 600; } dl.info dd { margin: 0; }
        table { border-collapse: collapse; margin: 1em 0; }
        caption { caption-side: bottom; text-align: left; font-size: .85em; color: #555; padding-top: .5em; }
        th, td { padding: .35em .8em; text-align: right; }
        th[scope=row], thead th:first-child, table.stages td:last-child, table.stages th:last-child { text-align: left; }
        thead th { border-top: 2px solid #222; border-bottom: 1px solid #222; }
        tbody tr:last-child th, tbody tr:last-child td { border-bottom: 2px solid #222; }
        td.status.done { color: #1a7f37; } td.status.failed { color: #cf222e; } td.status.skipped, td.status.pending { color: #777; }
        figure { margin: 1.5em 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
        figcaption { font-size: .85em; color: #555; }
        .sample { border: 1px solid #ddd; border-radius: 6px; padding: .6em .8em; margin: .8em 0; }
        .meta { margin: 0 0 .4em; font-size: .85em; color: #555; }
        .ok { color: #1a7f37; } .bad { color: #cf222e; }
        .question, .think, .answer { white-space: pre-wrap; font-family: ui-monospace, monospace; font-size: .9em; padding: .4em .6em; margin: .3em 0; }
        .question { font-weight: 600; }
        .think { background: #eee; color: #555; border-left: 4px solid #bbb; }
        .answer { background: #f4fbf4; border-left: 4px solid #6c6; }
        .label { display: block; font-family: system-ui, sans-serif; font-size: .75em; text-transform: uppercase; color: #888; }
        .missing { color: #777; font-style: italic; }
        </style></head>
        <body>

        """;

    /// <summary>Records for headless checks how many images decoded (an inline script: the page stays offline).</summary>
    private const string Tail = """
        <script>
        window.addEventListener("load", function () {
          var images = Array.prototype.slice.call(document.images);
          document.body.dataset.images = images.length;
          document.body.dataset.imagesLoaded = images.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
        });
        </script>
        </body></html>

        """;
}

using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using R1Sharp.Recipes.Pipeline;

namespace R1Sharp.Recipes.Tests;

/// <summary>
/// The pipeline report on synthetic run folders (made-up but well-formed summary.json, metrics.jsonl and samples.jsonl,
/// as the orchestrator writes them): content, escaping, self-containment, partial runs.
/// </summary>
public sealed class PipelineReportTests : IDisposable
{
    readonly string _run = Directory.CreateTempSubdirectory("r1sharp-report-").FullName;

    public void Dispose() => Directory.Delete(_run, recursive: true);

    /// <summary>The model text every row's first sample carries: markup and entities that must come out escaped.</summary>
    internal const string Hostile = "x <script>alert('pwned')</script> & <img src=\"https://example.com/x.png\"> a<b";

    [Fact]
    public void Table_has_every_row_in_the_papers_order_with_percentages()
    {
        SyntheticRun.Write(_run);
        string html = File.ReadAllText(PipelineReport.Write(_run));

        string table = Regex.Match(html, "<table class=\"results\".*?</table>", RegexOptions.Singleline).Value;
        var rows = Regex.Matches(table, "<tr data-row=\"([^\"]+)\">(.*?)</tr>", RegexOptions.Singleline);
        Assert.Equal(["base", "r1-zero", "cold-start", "reasoning-rl", "sft", "r1", "distilled-student", "rl-only-student"],
            rows.Select(m => m.Groups[1].Value));
        // r1-zero: pass@1 0.65, cons@8 0.8, pass@8 0.9, format 1.0, language 0.97, mean length 34.125, 860000 params.
        var cells = Regex.Matches(rows[1].Groups[2].Value, "<t[hd][^>]*>(.*?)</t[hd]>").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(["DeepSeek-R1-Zero (ours)", "860K", "65.0", "80.0", "90.0", "100.0", "97.0", "34.1"], cells);
        Assert.Contains("<th>cons@8</th>", table);
        Assert.Contains("<b>72.5</b>", table);                                  // the best pass@1 (r1) in bold
        Assert.Contains("<td>—</td>", rows[0].Groups[2].Value);                 // base has no language consistency
        Assert.Contains("64 evaluation prompts", table);

        string stages = Regex.Match(html, "<table class=\"stages\".*?</table>", RegexOptions.Singleline).Value;
        Assert.Equal(9, Regex.Matches(stages, "<tr><th scope=\"row\">").Count);
        Assert.Contains("<td>6 min 28 s</td><td>35.3%</td>", stages);          // base: 388.2 s of 1100.5 s
        Assert.Contains("<td class=\"status failed\">failed</td>", stages);
        Assert.Contains("<dd>18 min 20 s</dd>", html);
        Assert.Contains("<dd>configs/pipeline.yaml</dd>", html);
        Assert.Contains("<dd>full</dd>", html);
    }

    [Fact]
    public void Report_is_self_contained_with_every_plot_embedded_as_png()
    {
        SyntheticRun.Write(_run);
        string html = File.ReadAllText(PipelineReport.Write(_run));

        // Attributes of real tags only (escaped model text has no literal '<').
        var references = Regex.Matches(html, "<[a-z][^>]*>", RegexOptions.IgnoreCase)
            .SelectMany(tag => Regex.Matches(tag.Value, "\\b(?:src|href)\\s*=\\s*[\"']?([^\"'\\s>]+)", RegexOptions.IgnoreCase))
            .Select(m => m.Groups[1].Value).ToList();
        Assert.NotEmpty(references);
        Assert.All(references, r => Assert.StartsWith("data:image/png;base64,", r));
        Assert.DoesNotMatch("url\\(|@import|<link|<iframe|<object", html);

        // 4 RL stages (reward + accuracy each), response length, language consistency, 5 loss curves.
        var images = Regex.Matches(html, "<img src=\"data:image/png;base64,([^\"]+)\" alt=\"([^\"]+)\"").ToList();
        Assert.Equal(11, images.Count);
        Assert.Contains(images, m => m.Groups[2].Value == "Response length per step");
        Assert.Contains(images, m => m.Groups[2].Value == "Language consistency reward per step");
        Assert.Contains(images, m => m.Groups[2].Value == "R1-Zero: reward per step");
        foreach (var image in images)
        {
            byte[] png = Convert.FromBase64String(image.Groups[1].Value);
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 13, 10, 26, 10 }, png[..8]);
            Assert.Equal(760, BigEndian(png, 16));                            // IHDR width, height
            Assert.Equal(400, BigEndian(png, 20));
        }
        Assert.Empty(Directory.GetFiles(_run, "*.tmp").Concat(Directory.GetFiles(_run, ".*")));
    }

    [Fact]
    public void Model_text_is_escaped_and_the_reasoning_shown_apart()
    {
        SyntheticRun.Write(_run);
        string html = File.ReadAllText(PipelineReport.Write(_run));

        Assert.DoesNotContain("<script>alert", html);
        Assert.Contains("x &lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt; &amp; &lt;img src=&quot;https://example.com/x.png&quot;&gt; a&lt;b", html);

        var sections = Regex.Matches(html, "<section class=\"samples\" data-row=\"([^\"]+)\">(.*?)</section>", RegexOptions.Singleline).ToList();
        Assert.Equal(8, sections.Count);
        foreach (var s in sections)
        {
            Assert.Equal(3, Regex.Matches(s.Groups[2].Value, "<div class=\"sample\">").Count);
            // The same three prompts for every model, the first of each language first: p0 (en), p1 (fr), then p2.
            Assert.Equal(["p0", "p1", "p2"], Regex.Matches(s.Groups[2].Value, "<p class=\"meta\"><code>([^<]+)</code>").Select(m => m.Groups[1].Value));
        }
        // r1-zero's first sample: "<think>\nreasoning\n</think>\n<answer>\n7\n</answer>" → a think box, then the answer.
        string r1Zero = sections[1].Groups[2].Value;
        Assert.Matches("<div class=\"think\"><span class=\"label\">think</span>x &lt;script&gt;[^\n]*\nstep 1 for p0</div>\n" +
                       "<div class=\"answer\"><span class=\"label\">answer</span>&lt;answer&gt;\n7\n&lt;/answer&gt;</div>", r1Zero);
        // base's samples never close the think tag; the reasoning is still shown apart and flagged.
        Assert.Contains("<span class=\"label\">think (no closing &lt;/think&gt;)</span>", sections[0].Groups[2].Value);
        Assert.Contains("<span class=\"ok\">correct</span>", r1Zero);
        Assert.Contains("<span class=\"bad\">wrong</span>", sections[0].Groups[2].Value);
    }

    [Fact]
    public void Partial_run_still_gets_a_report_that_names_what_is_missing()
    {
        Directory.CreateDirectory(Path.Combine(_run, "r1-zero"));
        File.WriteAllLines(Path.Combine(_run, "r1-zero", "metrics.jsonl"),
        [
            """{"step":1,"reward":0.5,"rewards/accuracy":0.1,"completion_length":12}""",
            """{"step":2,"reward":"oops"}""",
            "{not json",
            """{"step":3,"reward":0.7,"rewards/accuracy":0.3,"completion_length":15}""",
            """{"step":4,"reward":0.8,"rewa""",   // the run was killed mid-line
        ]);
        string html = File.ReadAllText(PipelineReport.Write(_run));

        Assert.Contains("No evaluation results yet.", html);
        Assert.Contains("<li>summary.json is missing: no final table or stage timings.</li>", html);
        Assert.Contains("<li>r1-zero/metrics.jsonl:3: not valid JSON, skipped</li>", html);
        Assert.DoesNotContain("metrics.jsonl:5", html);                          // a cut-off last line is expected
        Assert.Equal(2, Regex.Matches(html, "<img ").Count);                    // rewards and length; no language reward
        Assert.DoesNotContain("<table", html);
    }

    [Fact]
    public void Hard_split_and_judged_columns_and_the_hard_split_curves_appear_when_the_run_has_them()
    {
        SyntheticRun.Write(_run);
        string path = Path.Combine(_run, "summary.json");
        var summary = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!;
        foreach (var row in summary["table"]!.AsArray())
        {
            bool zero = row!["row"]!.GetValue<string>() == "r1-zero";
            row["hard_pass@1"] = zero ? 0.4375 : 0.25;
            row["hard_cons@k"] = 0.5;
            row["hard_language_consistency"] = 0.9;
            row["hard_prompts"] = 64;
            row["helpfulness"] = zero ? 0.125 : 0.75;
            row["harmlessness"] = null;
            row["turn_accuracy"] = zero ? null : new System.Text.Json.Nodes.JsonArray(1.0, 0.875, 0.75, 0.5);
        }
        File.WriteAllText(path, summary.ToJsonString());
        File.WriteAllLines(Path.Combine(_run, "reasoning-rl", PipelineCurves.FileName),
            Enumerable.Range(1, 10).Select(s => $"{{\"step\":{s},\"accuracy/ops=3\":{0.5 + 0.02 * s},\"accuracy/ops=4\":{0.1 + 0.05 * s}}}"));
        string html = File.ReadAllText(PipelineReport.Write(_run));

        string table = Regex.Match(html, "<table class=\"results\".*?</table>", RegexOptions.Singleline).Value;
        Assert.Contains("<th>Hard pass@1</th><th>Hard cons@8</th><th>Hard language</th><th>Helpful</th><th>Harmless</th><th>Turns 1 / 2 / 3 / 4</th>", table);
        var r1Zero = Regex.Match(table, "<tr data-row=\"r1-zero\">(.*?)</tr>", RegexOptions.Singleline).Groups[1].Value;
        var cells = Regex.Matches(r1Zero, "<t[hd][^>]*>(.*?)</t[hd]>").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(["43.8", "50.0", "90.0", "12.5", "—", "—"], cells[^6..]);
        Assert.Contains("<td>100 / 88 / 75 / 50</td>", table);             // the other rows' turns 1–4
        Assert.Contains("<th>Turns 1 / 2 / 3 / 4</th>", table);
        Assert.Contains("64 held-out prompts of the hard split", table);
        Assert.Contains("alt=\"Reasoning RL: accuracy per step by chain length\"", html);
        Assert.Contains("alt=\"Held-out pass@1 by stage: standard and hard split\"", html);
        Assert.DoesNotContain("alt=\"R1-Zero: accuracy per step by chain length\"", html); // no difficulty.jsonl there
    }

    [Fact]
    public void Missing_run_folder_is_a_clear_error()
    {
        string missing = Path.Combine(_run, "nope");
        var e = Assert.Throws<DirectoryNotFoundException>(() => PipelineReport.Write(missing));
        Assert.Contains(missing, e.Message);
    }

    static int BigEndian(byte[] b, int at) => (b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3];
}

/// <summary>A whole run folder as the pipeline writes it, with made-up but plausible numbers.</summary>
internal static class SyntheticRun
{
    static readonly string[] Rows = ["base", "r1-zero", "cold-start", "reasoning-rl", "sft", "r1", "distilled-student", "rl-only-student"];

    public static void Write(string run)
    {
        var stages = new (string Stage, string Status, double Seconds)[]
        {
            ("base", "done", 388.2), ("r1-zero", "done", 220), ("cold-start", "done", 40), ("reasoning-rl", "done", 180),
            ("rejection-sampling", "done", 60), ("sft", "done", 55), ("final-rl", "failed", 100), ("distill", "done", 45.3), ("eval", "done", 12),
        };
        var table = Rows.Select((row, i) => new Dictionary<string, object?>
        {
            ["row"] = row, ["title"] = row == "r1-zero" ? "DeepSeek-R1-Zero (ours)" : null, ["model"] = $"{row}/model",
            ["params"] = row.Contains("student") ? 310000 : 860000,
            ["pass@1"] = row switch { "base" => 0.3, "r1-zero" => 0.65, "r1" => 0.725, _ => 0.5 + 0.01 * i },
            ["cons@k"] = row == "r1-zero" ? 0.8 : 0.6, ["pass@k"] = row == "r1-zero" ? 0.9 : 0.7, ["k"] = 8,
            ["format_rate"] = row == "base" ? 0.1 : 1.0, ["language_consistency"] = row == "base" ? null : row == "r1-zero" ? 0.97 : 0.995,
            ["mean_length"] = row == "r1-zero" ? 34.125 : 20 + i, ["prompts"] = 64,
        });
        Json(Path.Combine(run, "summary.json"), new Dictionary<string, object?>
        {
            ["config"] = "configs/pipeline.yaml", ["quick"] = false, ["total_seconds"] = 1100.5,
            ["stages"] = stages.Select(s => new Dictionary<string, object?> { ["stage"] = s.Stage, ["status"] = s.Status, ["seconds"] = s.Seconds, ["model"] = $"{s.Stage}/model" }),
            ["table"] = table,
        });

        var rng = new Random(1);
        Grpo(run, "r1-zero", 100, ["r1_zero_format"], rng);
        Grpo(run, "reasoning-rl", 60, ["cold_start_format", "language"], rng);
        Grpo(run, "final-rl", 30, ["cold_start_format", "language", "helpfulness", "harmlessness"], rng);
        Grpo(run, "student-rl", 80, ["r1_zero_format"], rng);
        foreach (var (stage, steps) in new[] { ("base", 120), ("cold-start", 20), ("sft", 30), ("distill", 25), ("student-base", 50) })
            Lines(Path.Combine(run, stage, "metrics.jsonl"), Enumerable.Range(1, steps).SelectMany(s => Sft(s, steps, rng)));

        foreach (var row in Rows)
            Lines(Path.Combine(run, "eval", row, "samples.jsonl"), Enumerable.Range(0, 4).SelectMany(p => Enumerable.Range(0, 2).Select(j => Sample(row, p, j))));
    }

    static void Grpo(string run, string stage, int steps, string[] others, Random rng) =>
        Lines(Path.Combine(run, stage, "metrics.jsonl"), Enumerable.Range(1, steps).Select(s =>
        {
            double progress = (double)s / steps, accuracy = 0.2 + 0.5 * progress + 0.05 * rng.NextDouble();
            var m = new Dictionary<string, object> { ["step"] = s, ["rewards/accuracy"] = accuracy, ["completion_length"] = 12 + 25 * progress + 3 * rng.NextDouble() };
            foreach (var o in others) m["rewards/" + o] = Math.Min(1, 0.6 + 0.4 * progress + 0.1 * rng.NextDouble());
            m["reward"] = m.Where(kv => kv.Key.StartsWith("rewards/")).Sum(kv => (double)kv.Value);
            return JsonSerializer.Serialize(m);
        }));

    static IEnumerable<string> Sft(int step, int steps, Random rng)
    {
        yield return JsonSerializer.Serialize(new Dictionary<string, object> { ["step"] = step, ["loss"] = 0.5 + 3 * Math.Exp(-5.0 * step / steps) + 0.1 * rng.NextDouble(), ["learning_rate"] = 1e-3 });
        if (step % 10 == 0) yield return JsonSerializer.Serialize(new Dictionary<string, object> { ["step"] = step, ["eval_loss"] = 0.6 + 3 * Math.Exp(-5.0 * step / steps) });
    }

    static string Sample(string row, int prompt, int index)
    {
        string reasoning = (prompt == 0 && index == 0 ? PipelineReportTests.Hostile + "\n" : "") + $"step 1 for p{prompt}";
        string completion = row switch
        {
            "base" => $"<think>\n{reasoning} and it goes on",                                      // never closed
            "r1-zero" or "rl-only-student" => $"<think>\n{reasoning}\n</think>\n<answer>\n7\n</answer>",
            _ => $"<think>\n{reasoning}\n</think>\nSo the answer is \\boxed{{7}}.",
        };
        return JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["prompt_id"] = $"p{prompt}", ["language"] = prompt % 2 == 0 ? "en" : "fr", ["question"] = $"What is 3 + 4? (p{prompt})",
            ["completion"] = completion, ["correct"] = row != "base", ["format"] = row != "base",
            ["language_consistency"] = 1.0, ["tokens"] = 20 + prompt,
        });
    }

    static void Json(string path, object value) => File.WriteAllText(path, JsonSerializer.Serialize(value));

    static void Lines(string path, IEnumerable<string> lines)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllLines(path, lines);
    }
}

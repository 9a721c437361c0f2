// r1sharp grade --input predictions.jsonl --task gsm8k --output graded.jsonl
using System.CommandLine;
using System.Globalization;
using System.Numerics;
using System.Text.Json.Nodes;
using R1Sharp.Rewards;
using R1Sharp.Rewards.Code;
using R1Sharp.Rewards.Rules;
using R1Sharp.Rewards.Verification;

namespace R1Sharp.Cli.Commands;

/// <summary>
/// <c>r1sharp grade --input FILE.jsonl [--task math|gsm8k|countdown|code] [--output FILE.jsonl]</c>: decides, row by
/// row, whether a prediction is correct, with the same graders the rewards and evaluation use, and prints accuracy
/// and how the answers were found. Each output row is the input row plus <c>correct</c> (true, false, or null for
/// "cannot judge") and the extracted answers. Every row is read and checked before any is graded.
/// </summary>
public static class GradeCommand
{
    const string Fields = """
        Row fields (one JSON object per line; other fields are kept in the output):
          math, gsm8k  "gold" (or "answer"): the reference answer; for gsm8k a whole GSM8K solution works too,
                       its answer is the text after "####" without thousands commas.
                       "prediction" (or "completion"): the model's text; the answer is extracted from it
                       (<answer> tag, last \boxed{}, "#### n", "final answer is", "answer:", else the last number).
          countdown    "numbers": the given numbers ([30, 100, 93] or "30,100,93"); "target": the integer to reach;
                       "prediction" (or "completion"): the equation is the last <answer>…</answer> block; correct
                       when it uses each number exactly once and equals the target.
          code         "gold" (or "tests"): the test cases as JSON (a JSON string, or the array/object itself:
                       [{"input": "1 2\n", "output": "3\n"}], ["assert f(1) == 2"], open-r1 verification_info,
                       APPS inputs/outputs); "prediction" (or "completion"): the last fenced program is run in
                       the code sandbox; correct when every test passes.
        Added fields: "correct" (true/false/null), "extracted_answer", "extraction_rule"; math and gsm8k also
        "gold_answer", "gold_normalized", "extracted_normalized"; code also "tests_passed" and "code_summary".
        correct is null when the row cannot be judged: a gold answer that does not parse, a sandbox failure.
        """;

    public static Command Create()
    {
        var input = new Option<string>("--input", "-i") { Description = "JSONL file of rows to grade (fields below).", Required = true };
        var task = new Option<string>("--task") { Description = "How to grade: math (default), gsm8k, countdown or code.", DefaultValueFactory = _ => "math" };
        task.AcceptOnlyFromAmong("math", "gsm8k", "countdown", "code");
        var output = new Option<string?>("--output", "-o") { Description = "Write the graded rows here (written whole, then renamed into place). Default: standard output, with the summary on standard error." };
        var skip = new Option<bool>("--skip-malformed") { Description = "Skip rows with missing or malformed fields (counted in the summary) instead of stopping at the first." };
        var json = new Option<bool>("--json") { Description = "Print the summary as one JSON object." };
        var language = new Option<string>("--language") { Description = "code: language of the programs when the tests name none (python or bash).", DefaultValueFactory = _ => "python" };
        var timeLimit = new Option<double>("--time-limit") { Description = "code: seconds per test run.", DefaultValueFactory = _ => 4.0 };
        var allowUnsandboxed = new Option<bool>("--allow-unsandboxed") { Description = "code: where Linux namespaces are unavailable, run the untrusted programs anyway with resource limits only (NO network or filesystem isolation). Without it grading code refuses to run there." };
        var command = new Command("grade", "Grade predictions against gold answers (math, GSM8K, Countdown, code tests); print accuracy.\n\n" + Fields)
        { input, task, output, skip, json, language, timeLimit, allowUnsandboxed };
        command.SetAction(r =>
        {
            var path = r.GetValue(input)!;
            var kind = r.GetValue(task)!;
            var rows = JsonlRows.Read(path);
            var items = new List<Item>(rows.Count);
            var malformed = new List<string>();
            foreach (var row in rows)
            {
                try { items.Add(Parse(path, row, kind)); }
                catch (MalformedRowException e) when (r.GetValue(skip)) { malformed.Add(e.Message); }
            }

            var grades = kind switch
            {
                "math" or "gsm8k" => GradeMath(items),
                "countdown" => GradeCountdown(items),
                _ => GradeCode(items, r.GetValue(language)!, r.GetValue(timeLimit), r.GetValue(allowUnsandboxed)),
            };

            var outPath = r.GetValue(output);
            JsonlRows.Write(outPath, items.Select((item, i) => JsonlRows.ToLine(Annotate(item.Row.Data, grades[i]))));
            var summary = Summarize(kind, path, grades, malformed);
            var text = r.GetValue(json) ? JsonlRows.ToLine(summary) : Describe(summary, malformed);
            (outPath is null ? Console.Error : Console.Out).WriteLine(text);
            return 0;
        });
        return command;
    }

    /// <summary>A row ready to grade.</summary>
    sealed record Item(JsonlRow Row, string Gold, string Prediction, List<BigInteger>? Numbers = null, BigInteger Target = default);

    /// <summary>The verdict on one row.</summary>
    sealed record Grade(bool? Correct, string? Extracted, string? Rule, JsonObject Extra);

    static Item Parse(string path, JsonlRow row, string kind)
    {
        string prediction = JsonlRows.RequiredString(path, row, "prediction", "completion");
        switch (kind)
        {
            case "math":
                return new Item(row, JsonlRows.RequiredScalar(path, row, "gold", "answer"), prediction);
            case "gsm8k":
            {
                string gold = JsonlRows.RequiredScalar(path, row, "gold", "answer");
                int marker = gold.LastIndexOf("####", StringComparison.Ordinal);
                if (marker >= 0) gold = gold[(marker + 4)..];
                return new Item(row, gold.Trim().Replace(",", ""), prediction);
            }
            case "countdown":
            {
                var numbers = JsonlRows.Field(row.Data, "numbers") ?? throw new MalformedRowException(path, row.Line, "numbers", "missing");
                if (!CountdownReward.TryParseNumbers(numbers.Text, out var parsed))
                    throw new MalformedRowException(path, row.Line, "numbers", $"expected integers like [30, 100, 93] or \"30,100,93\", got {numbers.Text}");
                var target = JsonlRows.Field(row.Data, "target") ?? throw new MalformedRowException(path, row.Line, "target", "missing");
                if (!BigInteger.TryParse(target.Text.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var t))
                    throw new MalformedRowException(path, row.Line, "target", $"expected an integer, got {target.Text}");
                return new Item(row, target.Text, prediction, parsed, t);
            }
            default:
            {
                var tests = JsonlRows.Field(row.Data, "gold", "tests") ?? throw new MalformedRowException(path, row.Line, "gold", "missing (also looked for 'tests')");
                try { CodeTests.Parse(tests.Text, "the tests"); }
                catch (CodeTestsFormatException e) { throw new MalformedRowException(path, row.Line, tests.Name, e.Message); }
                return new Item(row, tests.Text, prediction);
            }
        }
    }

    static Grade[] GradeMath(List<Item> items)
    {
        var grades = new Grade[items.Count];
        Parallel.For(0, items.Count, i =>
        {
            var item = items[i];
            var result = MathVerifier.Grade(item.Gold, item.Prediction);
            bool? correct = RewardRegistry.MathGrader(item.Gold, item.Prediction);
            var extra = new JsonObject
            {
                ["gold_answer"] = item.Gold,
                ["gold_normalized"] = MathVerifier.Normalize(item.Gold),
                ["extracted_normalized"] = result.Prediction is null ? null : MathVerifier.Normalize(result.Prediction),
            };
            grades[i] = new Grade(correct, result.Prediction, result.Rule is { } rule ? RuleName(rule) : null, extra);
        });
        return grades;
    }

    static Grade[] GradeCountdown(List<Item> items) =>
        items.Select(item =>
        {
            string? equation = CompletionText.LastAnswer(item.Prediction)?.Trim();
            bool correct = equation is not null && CountdownReward.IsCorrect(equation, item.Numbers!, item.Target);
            return new Grade(correct, equation, equation is null ? null : "answer_tag", []);
        }).ToArray();

    static Grade[] GradeCode(List<Item> items, string language, double timeLimit, bool allowUnsandboxed)
    {
        if (items.Count == 0) return [];
        var options = new Dictionary<string, string>
        {
            ["language"] = language,
            ["time_limit"] = timeLimit.ToString("R", CultureInfo.InvariantCulture),
        };
        CodeReward reward;
        try { reward = (CodeReward)RewardRegistry.CreateStandard(allowUnsandboxed: allowUnsandboxed).Create("code", options); }
        catch (RewardConfigException e) { throw new UserError(e.Message); }
        var batch = items.Select(item => new RewardInput("", item.Prediction, new Dictionary<string, string> { ["tests"] = item.Gold })).ToList();
        return reward.Evaluate(batch).Select(e => new Grade(
            e.Score is double s ? s >= 1.0 : null,
            e.Program,
            e.Program is null ? null : "code_block",
            new JsonObject { ["tests_passed"] = e.Score, ["code_summary"] = e.Summary })).ToArray();
    }

    static JsonObject Annotate(JsonObject row, Grade grade)
    {
        var result = (JsonObject)row.DeepClone();
        result["correct"] = grade.Correct;
        result["extracted_answer"] = grade.Extracted;
        result["extraction_rule"] = grade.Rule;
        foreach (var (key, value) in grade.Extra) result[key] = value?.DeepClone();
        return result;
    }

    static JsonObject Summarize(string task, string path, Grade[] grades, List<string> malformed)
    {
        int correct = grades.Count(g => g.Correct == true), wrong = grades.Count(g => g.Correct == false);
        int judged = correct + wrong;
        var extraction = new JsonObject();
        foreach (var group in grades.GroupBy(g => g.Rule ?? "none").OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal))
            extraction[group.Key] = new JsonObject { ["rows"] = group.Count(), ["correct"] = group.Count(g => g.Correct == true) };
        return new JsonObject
        {
            ["task"] = task,
            ["input"] = path,
            ["rows"] = grades.Length,
            ["correct"] = correct,
            ["wrong"] = wrong,
            ["unjudged"] = grades.Length - judged,
            ["skipped_malformed"] = malformed.Count,
            ["accuracy"] = judged == 0 ? null : (double)correct / judged,
            ["extraction"] = extraction,
        };
    }

    static string Describe(JsonObject s, List<string> malformed)
    {
        int correct = (int)s["correct"]!, wrong = (int)s["wrong"]!, unjudged = (int)s["unjudged"]!;
        var lines = new List<string>
        {
            $"{s["rows"]} rows graded ({s["task"]}): {correct} correct, {wrong} wrong, {unjudged} could not be judged",
            s["accuracy"] is { } a ? $"accuracy {(double)a:P2} ({correct}/{correct + wrong})" : "accuracy: no row could be judged",
            "extraction: " + string.Join(", ", ((JsonObject)s["extraction"]!).Select(kv => $"{kv.Key} {kv.Value!["rows"]} ({kv.Value["correct"]} correct)")),
        };
        if (malformed.Count > 0)
        {
            lines.Add($"skipped {malformed.Count} malformed rows; first: {malformed[0]}");
        }
        return string.Join('\n', lines);
    }

    /// <summary>An extraction rule as snake_case (<c>AnswerTag</c> → <c>answer_tag</c>).</summary>
    public static string RuleName(ExtractionRule rule) => rule switch
    {
        ExtractionRule.AnswerTag => "answer_tag",
        ExtractionRule.Boxed => "boxed",
        ExtractionRule.Gsm8k => "gsm8k",
        ExtractionRule.FinalAnswer => "final_answer",
        ExtractionRule.AnswerPhrase => "answer_phrase",
        ExtractionRule.LastNumber => "last_number",
        _ => rule.ToString(),
    };
}

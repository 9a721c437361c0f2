// r1sharp grade --input predictions.jsonl --task gsm8k --output graded.jsonl
using System.CommandLine;
using System.Globalization;
using System.Numerics;
using System.Text.Json.Nodes;
using R1Sharp.Data;
using R1Sharp.Engine;
using R1Sharp.Engine.Generation;
using R1Sharp.Recipes.Eval;
using R1Sharp.Rewards.Code;
using R1Sharp.Rewards.Rules;
using R1Sharp.Rewards.Verification;
using R1Sharp.Tasks;

namespace R1Sharp.Cli.Commands;

/// <summary>
/// <c>r1sharp grade --input FILE.jsonl [--task math|gsm8k|countdown|code] [--output FILE.jsonl]</c>: decides, row by
/// row, whether a prediction is correct, with the evaluation's scorer (ProblemScorer, the graders training rewards use
/// too), and prints accuracy
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
        "gold_answer", "gold_normalized", "extracted_normalized"; code also "tests_passed".
        correct is null when the row cannot be judged: a gold answer that does not parse, a sandbox failure.
        """;

    public static Command Create()
    {
        var input = new Option<string>("--input", "-i") { Description = "Data file of rows to grade (JSONL, JSON or Parquet; fields below).", Required = true };
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
        var verifyFlags = VerifyFlags.AddTo(command);
        command.SetAction(r =>
        {
            var path = r.GetValue(input)!;
            var kind = r.GetValue(task)!;
            double seconds = r.GetValue(timeLimit);
            if (!(seconds > 0 && seconds <= 3600)) throw new UserError($"--time-limit: {seconds} is not a number of seconds in (0, 3600]");
            var items = new List<Item>();
            var malformed = new List<string>();
            foreach (var row in DataRows.ReadAll(path))
            {
                try { items.Add(Parse(row, kind)); }
                catch (DatasetFormatException e) when (r.GetValue(skip)) { malformed.Add(e.Message); }
            }

            // The evaluation's own scorer on the task these rows make: the grader training rewards use too.
            var verify = verifyFlags.Read(r);
            var scorer = new ProblemScorer(Task(kind, items, r.GetValue(language)!, seconds, verify, r.GetValue(allowUnsandboxed)));
            var grades = new Grade[items.Count];
            Parallel.For(0, items.Count, i => grades[i] = GradeOne(scorer, items[i], kind, r.GetValue(language)!, verify));

            var outPath = r.GetValue(output);
            JsonlOutput.Write(outPath, items.Select((item, i) => JsonlOutput.ToLine(Annotate(item.Row.Fields, grades[i]))));
            var summary = Summarize(kind, path, grades, malformed);
            var text = r.GetValue(json) ? JsonlOutput.ToLine(summary) : Describe(summary, malformed);
            (outPath is null ? Console.Error : Console.Out).WriteLine(text);
            return 0;
        });
        return command;
    }

    /// <summary>A row ready to grade: the problem as a task example (its gold in the reference fields) and the prediction.</summary>
    sealed record Item(DataRow Row, TaskExample Example, string Prediction);

    /// <summary>The verdict on one row.</summary>
    sealed record Grade(bool? Correct, string? Extracted, string? Rule, JsonObject Extra);

    static Item Parse(DataRow row, string kind)
    {
        string prediction = row.String("prediction", "completion");
        var reference = new Dictionary<string, string>(StringComparer.Ordinal);
        switch (kind)
        {
            case "math":
                reference["answer"] = row.Scalar("gold", "answer");
                break;
            case "gsm8k":
            {
                string gold = row.Scalar("gold", "answer");
                int marker = gold.LastIndexOf("####", StringComparison.Ordinal);
                if (marker >= 0) gold = gold[(marker + 4)..];
                reference["answer"] = gold.Trim().Replace(",", "");
                break;
            }
            case "countdown":
            {
                var numbers = row["numbers"] is { } n ? DataRow.Text(n) : throw row.Missing("numbers");
                if (!CountdownReward.TryParseNumbers(numbers, out _))
                    throw row.Error("numbers", $"expected integers like [30, 100, 93] or \"30,100,93\", got {numbers}");
                var target = row["target"] is { } t ? DataRow.Text(t) : throw row.Missing("target");
                if (!BigInteger.TryParse(target.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
                    throw row.Error("target", $"expected an integer, got {target}");
                (reference["numbers"], reference["target"]) = (numbers, target);
                break;
            }
            default:
            {
                string field = row.FirstPresent("gold", "tests") ?? throw row.Missing("gold", "tests");
                string tests = DataRow.Text(row[field]!);
                try { CodeTests.Parse(tests, "the tests"); }
                catch (CodeTestsFormatException e) { throw row.Error(field, e.Message); }
                reference["tests"] = tests;
                break;
            }
        }
        return new Item(row, new TaskExample($"row-{row.Line}", "", "", reference), prediction);
    }

    /// <summary>The rows as a task whose metric is the kind's reward: accuracy (Math-Verify's rules), countdown, or code in the sandbox.</summary>
    static TaskDefinition Task(string kind, List<Item> items, string language, double timeLimit, VerifyOptions verify, bool allowUnsandboxed)
    {
        var metric = kind switch
        {
            "math" or "gsm8k" => new RewardSpec("accuracy"),
            "countdown" => new RewardSpec("countdown"),
            _ => new RewardSpec("code", 1.0, new Dictionary<string, string>
            {
                ["language"] = language, ["time_limit"] = timeLimit.ToString("R", CultureInfo.InvariantCulture),
                ["allow_unsandboxed"] = allowUnsandboxed ? "true" : "false",
            }),
        };
        try
        {
            var definition = new TaskDefinition($"grade-{kind}", [.. items.Select(i => i.Example)], [metric], new EvaluationMetric(metric.Name))
            {
                Grader = (gold, completion) => RewardRegistry.MathGrader(gold, completion, verify),
            };
            if (items.Count > 0) definition.Registry().Create(metric); // a bad option or no sandbox fails here, before any row
            return definition;
        }
        catch (RewardConfigException e) { throw new UserError(e.Message); }
    }

    static Grade GradeOne(ProblemScorer scorer, Item item, string kind, string language, VerifyOptions verify)
    {
        var sample = scorer.Score(item.Example, new GenerationResult(0, [new GenerationSample(item.Prediction, null, null, FinishReason.Stop, 0)])).Samples[0];
        bool? correct = sample.Score is null ? null : sample.Correct;
        switch (kind)
        {
            case "math" or "gsm8k":
            {
                string gold = item.Example.Field("answer")!;
                var result = MathVerifier.Grade(gold, item.Prediction, verify);
                var extra = new JsonObject
                {
                    ["gold_answer"] = gold,
                    ["gold_normalized"] = MathVerifier.Normalize(gold, verify),
                    ["extracted_normalized"] = result.Prediction is null ? null : MathVerifier.Normalize(result.Prediction, verify),
                };
                return new Grade(correct, result.Prediction, result.Rule is { } rule ? RuleName(rule) : null, extra);
            }
            case "countdown":
                return new Grade(correct, sample.Answer, sample.Answer is null ? null : "answer_tag", []);
            default:
            {
                var program = CodeLanguages.Find(language) is { } lang ? CodeExtractor.LastProgram(item.Prediction, lang) : null;
                return new Grade(correct, program, program is null ? null : "code_block", new JsonObject { ["tests_passed"] = sample.Score });
            }
        }
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

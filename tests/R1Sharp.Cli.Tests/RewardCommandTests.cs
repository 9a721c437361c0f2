using System.Text.Json;
using System.Text.Json.Nodes;
using R1Sharp.Tests;
using R1Sharp.Training.Logging;

namespace R1Sharp.Cli.Tests;

/// <summary>verify, grade and reward, against published benchmark answers and hand-computed rewards.</summary>
public class RewardCommandTests
{
    private static List<JsonObject> Rows(string file, int count) =>
        File.ReadLines(RepoPaths.Data("benchmarks", file)).Take(count).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();

    private static string Line(JsonObject o) => o.ToJsonString();

    private static List<JsonObject> Output(string path) => File.ReadAllLines(path).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();

    [Fact]
    public void Verify_prints_true_or_false_and_exits_0()
    {
        Assert.Equal("true", CliRunner.Ok("verify", "--gold", "\\frac{1}{2}", "--prediction", "0.5").Stdout.Trim());
        Assert.Equal("false", CliRunner.Ok("verify", "--gold", "\\frac{1}{2}", "--prediction", "0.25").Stdout.Trim());
        Assert.Equal("true", CliRunner.Ok("verify", "--gold", "18", "--completion", "9 * 2 = 18 dollars. #### 18").Stdout.Trim());
    }

    [Fact]
    public void Grade_math_accepts_MATH500_reference_solutions()
    {
        using var tmp = new TempDir();
        var rows = Rows("math500_test.jsonl", 12).Select(r => new JsonObject { ["gold"] = r["answer"]!.GetValue<string>(), ["prediction"] = r["solution"]!.GetValue<string>() }).ToList();
        rows.Add(new JsonObject { ["answer"] = "3", ["completion"] = "so it is \\boxed{4}" });
        rows.Add(new JsonObject { ["gold"] = "\\frac{14}{3}", ["prediction"] = "I do not know." });
        rows.Add(new JsonObject { ["gold"] = "", ["prediction"] = "\\boxed{2}" });
        string input = tmp.Write("in.jsonl", [.. rows.Select(Line)]), output = tmp.File("out.jsonl");
        var summary = CliRunner.Ok("grade", "--input", input, "--output", output, "--json").Json();
        Assert.Equal(15, summary.GetProperty("rows").GetInt32());
        Assert.Equal(12, summary.GetProperty("correct").GetInt32());
        Assert.Equal(2, summary.GetProperty("wrong").GetInt32());
        Assert.Equal(1, summary.GetProperty("unjudged").GetInt32());
        Assert.Equal(12.0 / 14, summary.GetProperty("accuracy").GetDouble(), 12);
        Assert.Equal(14, summary.GetProperty("extraction").GetProperty("boxed").GetProperty("rows").GetInt32());
        Assert.Equal(12, summary.GetProperty("extraction").GetProperty("boxed").GetProperty("correct").GetInt32());
        Assert.Equal(1, summary.GetProperty("extraction").GetProperty("none").GetProperty("rows").GetInt32());

        var graded = Output(output);
        Assert.Equal(15, graded.Count);
        Assert.Equal(rows[0]["gold"]!.GetValue<string>(), graded[0]["gold"]!.GetValue<string>());   // input fields kept
        Assert.True(graded[0]["correct"]!.GetValue<bool>());
        Assert.Equal("\\left( 3, \\frac{\\pi}{2} \\right)", graded[0]["extracted_answer"]!.GetValue<string>());
        Assert.Equal("boxed", graded[0]["extraction_rule"]!.GetValue<string>());
        Assert.False(graded[12]["correct"]!.GetValue<bool>());
        Assert.Equal("4", graded[12]["extracted_answer"]!.GetValue<string>());
        Assert.Null(graded[14]["correct"]);

        // -o /dev/null writes through the device (renaming a temporary file over it would replace /dev/null).
        Assert.False(R1Sharp.Data.AtomicFile.IsRegularFileOrAbsent("/dev/null"));
        Assert.Contains("15 rows graded", CliRunner.Ok("grade", "--input", input, "--output", "/dev/null").Stdout);
        Assert.False(R1Sharp.Data.AtomicFile.IsRegularFileOrAbsent("/dev/null"));

        var text = CliRunner.Ok("grade", "--input", input).Stderr;   // rows on stdout, summary on stderr
        Assert.Contains("15 rows graded (math): 12 correct, 2 wrong, 1 could not be judged", text);
        Assert.Contains("accuracy 85.71 % (12/14)", text);
    }

    [Fact]
    public void Grade_gsm8k_reads_the_answer_after_the_marks()
    {
        using var tmp = new TempDir();
        var rows = Rows("gsm8k_test.jsonl", 8).Select(r => new JsonObject { ["gold"] = r["answer"]!.GetValue<string>(), ["prediction"] = r["answer"]!.GetValue<string>() }).ToList();
        rows.Add(new JsonObject { ["gold"] = "The total is 1,000 dollars.\n#### 1,000", ["prediction"] = "The answer is 1000." });
        rows.Add(new JsonObject { ["gold"] = 18, ["prediction"] = "She makes $16." });
        string input = tmp.Write("in.jsonl", [.. rows.Select(Line)]), output = tmp.File("out.jsonl");
        var summary = CliRunner.Ok("grade", "--input", input, "--task", "gsm8k", "--output", output, "--json").Json();
        Assert.Equal((9, 1), (summary.GetProperty("correct").GetInt32(), summary.GetProperty("wrong").GetInt32()));
        var graded = Output(output);
        Assert.Equal("18", graded[0]["gold_answer"]!.GetValue<string>());   // Janet's ducks
        Assert.Equal("gsm8k", graded[0]["extraction_rule"]!.GetValue<string>());
        Assert.Equal("1000", graded[8]["gold_answer"]!.GetValue<string>());
        Assert.Equal("answer_phrase", graded[8]["extraction_rule"]!.GetValue<string>());
    }

    [Fact]
    public void Grade_countdown_checks_numbers_and_target()
    {
        using var tmp = new TempDir();
        // d1's CD3 test set: [30,100,93] → 23, [83,18,75] → 10, [76,41,59] → 24 (equations worked out by hand).
        string input = tmp.Write("in.jsonl",
            """{"numbers": [30, 100, 93], "target": 23, "prediction": "<think>100-93=7</think> <answer>30 - (100 - 93)</answer>"}""",
            """{"numbers": "83,18,75", "target": "10", "prediction": "<answer>18 - (83 - 75)</answer>"}""",
            """{"numbers": [76, 41, 59], "target": 24, "prediction": "<answer>59 + 41 - 76</answer>"}""",
            """{"numbers": [76, 41, 59], "target": 24, "prediction": "<answer>59 + 41 - 76 + 0</answer>"}""",
            """{"numbers": [30, 100, 93], "target": 23, "prediction": "<answer>100 - 93 + 30</answer>"}""",
            """{"numbers": [30, 100, 93], "target": 23, "prediction": "30 - (100 - 93)"}""");
        string output = tmp.File("out.jsonl");
        var summary = CliRunner.Ok("grade", "--input", input, "--task", "countdown", "--output", output, "--json").Json();
        Assert.Equal([true, true, true, false, false, false], Output(output).Select(o => o["correct"]!.GetValue<bool>()));
        Assert.Equal(0.5, summary.GetProperty("accuracy").GetDouble());
        Assert.Equal(1, summary.GetProperty("extraction").GetProperty("none").GetProperty("rows").GetInt32());
        Assert.Equal($"error: {input}:1: field 'target': missing; the row has numbers, prediction",
            CliRunner.Fails("grade", "--input", tmp.Write("in.jsonl", """{"numbers": [1, 2], "prediction": "x"}"""), "--task", "countdown"));
    }

    [Fact]
    public void Grade_code_runs_the_tests_in_the_sandbox()
    {
        using var tmp = new TempDir();
        var tests = """[{"input": "1 2\n", "output": "3\n"}, {"input": "5 5\n", "output": "10\n"}]""";
        var rows = new[]
        {
            new JsonObject { ["gold"] = tests, ["prediction"] = "```python\na, b = map(int, input().split())\nprint(a + b)\n```" },
            new JsonObject { ["tests"] = JsonNode.Parse(tests), ["prediction"] = "```python\nprint(3)\n```" },
            new JsonObject { ["tests"] = JsonNode.Parse("""["assert add(2, 3) == 5"]"""), ["completion"] = "```python\ndef add(a, b):\n    return a + b\n```" },
            new JsonObject { ["tests"] = tests, ["prediction"] = "No code today." },
        };
        string input = tmp.Write("in.jsonl", [.. rows.Select(Line)]), output = tmp.File("out.jsonl");
        CliRunner.Ok("grade", "--input", input, "--task", "code", "--output", output, "--json");
        var graded = Output(output);
        Assert.Equal([true, false, true, false], graded.Select(o => o["correct"]!.GetValue<bool>()));
        Assert.Equal([1.0, 0.5, 1.0, 0.0], graded.Select(o => o["tests_passed"]!.GetValue<double>()));
        Assert.Equal("a, b = map(int, input().split())\nprint(a + b)\n", graded[0]["extracted_answer"]!.GetValue<string>());
        Assert.Null(graded[3]["extraction_rule"]);

        var bad = tmp.Write("bad.jsonl", """{"tests": "[{\"inptu\": 1}]", "prediction": "x"}""");
        Assert.StartsWith($"error: {bad}:1: field 'tests': the tests: $[0]: a stdin/stdout case needs \"output\"", CliRunner.Fails("grade", "--input", bad, "--task", "code"));
    }

    [Fact]
    public void Grade_stops_at_a_malformed_row_unless_asked_to_skip()
    {
        using var tmp = new TempDir();
        string input = tmp.Write("in.jsonl", """{"gold": "1", "prediction": "\\boxed{1}"}""", """{"gold": ["1"], "prediction": "1"}""", "not json");
        Assert.StartsWith($"error: {input}:3: not valid JSON (", CliRunner.Fails("grade", "--input", input));
        File.WriteAllLines(input, ["""{"gold": "1", "prediction": "\\boxed{1}"}""", """{"gold": ["1"], "prediction": "1"}""", """{"gold": "2"}"""]);
        Assert.Equal($"error: {input}:2: field 'gold': expected a string or a number, got an array", CliRunner.Fails("grade", "--input", input));
        var summary = CliRunner.Ok("grade", "--input", input, "--skip-malformed", "--json", "--output", tmp.File("out.jsonl")).Json();
        Assert.Equal((1, 2), (summary.GetProperty("rows").GetInt32(), summary.GetProperty("skipped_malformed").GetInt32()));
    }

    [Fact]
    public void Reward_gives_each_function_and_the_weighted_total()
    {
        using var tmp = new TempDir();
        string input = tmp.Write("in.jsonl",
            """{"prompt": "What is 1+1?", "completion": "<think>\n1 plus 1 is 2\n</think>\n<answer>\n2\n</answer>", "answer": "2"}""",
            """{"prompt": "What is 1+1?", "completion": "it is 3", "answer": "2", "completion_tokens": 3}""",
            """{"prompt": "Countdown", "completion": "<answer>30 - (100 - 93)</answer>", "reference": {"numbers": [30, 100, 93], "target": 23}}""");
        string output = tmp.File("out.jsonl");
        var summary = CliRunner.Ok("reward", "--input", input, "--rewards", "accuracy,format,countdown,cosine:max_len=100,tag_count:name=tags",
            "--weights", "1,0.5,1,1,0.25", "--output", output, "--json").Json();
        var rows = Output(output);

        // Row 1: correct and R1-Zero formatted; 10 words of max_len 100 → cosine 0.5 + 0.25·(1 + cos(π/10)).
        double cosine = 0.5 + 0.25 * (1 + Math.Cos(Math.PI / 10));
        var r = rows[0]["rewards"]!;
        Assert.Equal((1.0, 1.0, 1.0), (r["accuracy"]!.GetValue<double>(), r["format"]!.GetValue<double>(), r["tags"]!.GetValue<double>()));
        Assert.Null(r["countdown"]);
        Assert.Equal(cosine, r["cosine"]!.GetValue<double>(), 12);
        Assert.Equal(1 + 0.5 + cosine + 0.25, rows[0]["reward"]!.GetValue<double>(), 12);
        // Row 2: wrong, 3 tokens; open-r1 swaps the bounds for wrong answers (short wrong answers are punished most):
        // max_value_wrong + 0.5·(min_value_wrong − max_value_wrong)·(1 + cos(3π/100)) = −0.5 − 0.25·(1 + cos(3π/100)).
        double wrong = -0.5 + 0.5 * (-1 - -0.5) * (1 + Math.Cos(Math.PI * 3 / 100));
        Assert.Equal(wrong, rows[1]["rewards"]!["cosine"]!.GetValue<double>(), 12);
        Assert.Equal(0.0 + wrong, rows[1]["reward"]!.GetValue<double>(), 12);
        // Row 3: countdown correct; no answer field → accuracy and cosine cannot judge.
        Assert.Equal(1.0, rows[2]["rewards"]!["countdown"]!.GetValue<double>());
        Assert.Null(rows[2]["rewards"]!["accuracy"]);

        Assert.Equal(3, summary.GetProperty("rows").GetInt32());
        Assert.Equal(0.5, summary.GetProperty("rewards").GetProperty("accuracy").GetProperty("mean").GetDouble());
        Assert.Equal(1, summary.GetProperty("rewards").GetProperty("accuracy").GetProperty("null").GetInt32());
        Assert.Equal(0.25, summary.GetProperty("rewards").GetProperty("tags").GetProperty("weight").GetDouble());
    }

    [Fact]
    public void Reward_options_and_errors()
    {
        using var tmp = new TempDir();
        string input = tmp.Write("in.jsonl", """{"completion": "<think>\nhmm\n</think>\nThe answer is 4.", "answer": "4"}""");
        var both = CliRunner.Ok("reward", "--input", input, "--rewards", "format,format:pattern=cold_start:name=cold,accuracy:gold_field=answer");
        var row = JsonNode.Parse(both.Stdout)!["rewards"]!;
        Assert.Equal((0.0, 1.0, 1.0), (row["format"]!.GetValue<double>(), row["cold"]!.GetValue<double>(), row["accuracy"]!.GetValue<double>()));
        Assert.Contains("1 rows scored", both.Stderr);

        Assert.Equal("error: --rewards: Reward 'format': unknown option(s) 'patern'.", CliRunner.Fails("reward", "--input", input, "--rewards", "format:patern=x"));
        Assert.StartsWith("error: --rewards: Unknown reward 'acuracy'.", CliRunner.Fails("reward", "--input", input, "--rewards", "acuracy"));
        Assert.Equal("error: --weights: 1 weights for 2 rewards (format, accuracy)", CliRunner.Fails("reward", "--input", input, "--rewards", "format,accuracy", "--weights", "2"));
        Assert.Equal("error: --rewards: 'pattern' in 'format:pattern' is not KEY=VALUE", CliRunner.Fails("reward", "--input", input, "--rewards", "format:pattern"));
        string bad = tmp.Write("bad.jsonl", """{"prompt": "p"}""");
        Assert.Equal($"error: {bad}:1: field 'completion': missing (also looked for 'prediction'); the row has prompt", CliRunner.Fails("reward", "--input", bad, "--rewards", "format"));
    }
}

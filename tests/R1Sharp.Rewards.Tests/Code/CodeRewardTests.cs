using R1Sharp.Rewards.Code;

namespace R1Sharp.Rewards.Tests.Code;

public class CodeRewardTests
{
    /// <summary>The reference solution that accompanies <see cref="CodeTestsParseTests.VerifiableCodingProblemsRow"/>
    /// in open-r1's E2B router example.</summary>
    private const string DatasetSolution =
        "t=int(input())\nwhile(t):\n    n=int(input())\n    l=[]\n    for i in range(n):\n        l.append(list(map(int,input().split())))\n    m=[]\n    for i in l:\n        m.append((i[1]//(i[0]+1))*i[2])\n    res=max(m)\n    print(res)\n    t=t-1";

    // Scoring logic, not isolation, is under test here: on a machine without namespaces it runs unsandboxed.
    private static readonly Lazy<CodeSandbox> SharedSandbox = new(() => new CodeSandbox(new CodeSandboxOptions
    {
        TimeLimit = TimeSpan.FromSeconds(3),
        Workers = 2,
        AllowUnsandboxed = true,
    }, new ListLogger()));

    private static CodeReward Reward(CodeRewardOptions? options = null) => new(SharedSandbox.Value, options);

    private static RewardInput Input(string completion, string? tests, string field = "tests") =>
        new("prompt", completion, tests is null ? new Dictionary<string, string>() : new Dictionary<string, string> { [field] = tests });

    private static string Python(string code) => $"<think>\nreasoning\n</think>\nHere is my solution:\n```python\n{code}\n```\n";

    [Fact]
    public void Name_is_code() => Assert.Equal("code", Reward().Name);

    [Fact]
    public void The_datasets_reference_solution_scores_1()
    {
        var evaluation = Reward().Evaluate([Input(Python(DatasetSolution), CodeTestsParseTests.VerifiableCodingProblemsRow, "verification_info")]).Single();
        Assert.Equal(1.0, evaluation.Score);
        Assert.Equal("1/1 tests passed", evaluation.Summary);
        Assert.Equal("python", evaluation.Language);
    }

    [Fact]
    public void A_program_missing_the_last_line_scores_0()
    {
        // Prints "12" and stops: open-r1's zip()-based comparison would count this as passed.
        var evaluation = Reward().Evaluate([Input(Python("print(12)"), CodeTestsParseTests.VerifiableCodingProblemsRow)]).Single();
        Assert.Equal(0.0, evaluation.Score);
        Assert.Equal("expected 2 lines, got 1 (first missing line 2: '0')", evaluation.Tests[0].Reason);
    }

    [Fact]
    public void Scores_the_share_of_tests_passed_in_batch_order()
    {
        const string tests = """[{"input": "2\n", "output": "4\n"}, {"input": "-3\n", "output": "-6\n"}, {"input": "0\n", "output": "0\n"}, {"input": "5\n", "output": "10\n"}]""";
        var batch = new[]
        {
            Input(Python("print(int(input()) * 2)"), tests),                    // all 4
            Input(Python("print(abs(int(input())) * 2)"), tests),               // 3 of 4
            Input(Python("x = int(input())\nprint(x * 2 if x > 0 else 7)"), tests), // 2 of 4
            Input("I don't know.", tests),                                      // no program
        };
        var scores = Reward().Score(batch);
        Assert.Equal(new double?[] { 1.0, 0.75, 0.5, 0.0 }, scores);
    }

    [Fact]
    public void Assert_style_tests_from_mbpp()
    {
        // MBPP task 2 (similar_elements), its three published asserts.
        const string tests = """["assert set(similar_elements((3, 4, 5, 6),(5, 7, 4, 10))) == set((4, 5))", "assert set(similar_elements((1, 2, 3, 4),(5, 4, 3, 7))) == set((3, 4))", "assert set(similar_elements((11, 12, 14, 13),(17, 15, 14, 13))) == set((13, 14))"]""";
        var good = Python("def similar_elements(a, b):\n    return tuple(set(a) & set(b))");
        var partial = Python("def similar_elements(a, b):\n    return tuple(x for x in set(a) & set(b) if x < 10)");
        var evaluations = Reward().Evaluate([Input(good, tests), Input(partial, tests)]);
        Assert.Equal(1.0, evaluations[0].Score);
        Assert.Equal(2.0 / 3.0, evaluations[1].Score!.Value, 12);
        Assert.Contains("AssertionError", evaluations[1].Tests[2].Reason);
        Assert.All(evaluations[0].Tests, t => Assert.Equal("assert", t.Kind));
    }

    [Fact]
    public void No_program_scores_0_and_says_so()
    {
        var evaluation = Reward().Evaluate([Input("The answer is print(42).", """[{"output": "42"}]""")]).Single();
        Assert.Equal(0.0, evaluation.Score);
        Assert.Equal("no ```python (or untagged) code block found", evaluation.Summary);
        Assert.Empty(evaluation.Tests);
    }

    [Fact]
    public void Missing_or_malformed_tests_cannot_be_judged()
    {
        var evaluations = Reward().Evaluate(
        [
            Input(Python("print(1)"), null),
            Input(Python("print(1)"), "[{\"input\": \"1\"}]"),
            Input(Python("print(1)"), "{\"language\": \"cpp\", \"test_cases\": [{\"input\": \"\", \"output\": \"1\"}]}"),
            Input(Python("print(1)"), "[]"),
        ]);
        Assert.All(evaluations, e => Assert.Null(e.Score));
        Assert.Equal("no tests (fields tests, verification_info absent)", evaluations[0].Summary);
        Assert.Equal("tests: $[0]: a stdin/stdout case needs \"output\"", evaluations[1].Summary);
        Assert.Equal("no runner for language 'cpp'", evaluations[2].Summary);
        Assert.Equal("tests: no test cases", evaluations[3].Summary);
    }

    [Fact]
    public void Float_tolerance_is_optional()
    {
        const string tests = """[{"input": "", "output": "0.333333333\n"}]""";
        var completion = Python("print(round(1/3, 7))");
        Assert.Equal(0.0, Reward().Score([Input(completion, tests)])[0]);
        var tolerant = Reward(new CodeRewardOptions { Tolerance = new FloatTolerance(Absolute: 1e-6, Relative: 1e-6) });
        Assert.Equal(1.0, tolerant.Score([Input(completion, tests)])[0]);
    }

    [Fact]
    public void Runs_bash_when_the_tests_say_so()
    {
        const string tests = """{"language": "bash", "test_cases": [{"input": "3 4\n", "output": "7\n", "type": "stdin_stdout"}]}""";
        var evaluation = Reward().Evaluate([Input("```bash\nread a b\necho $((a + b))\n```", tests)]).Single();
        Assert.Equal(1.0, evaluation.Score);
        Assert.Equal("bash", evaluation.Language);
    }

    [Fact]
    public void Runtime_errors_fail_even_with_the_right_output()
    {
        var evaluation = Reward().Evaluate([Input(Python("print(42)\nraise SystemExit(3)"), """[{"output": "42"}]""")]).Single();
        Assert.Equal(0.0, evaluation.Score);
        Assert.Equal(ExecutionStatus.RuntimeError, evaluation.Tests[0].Status);
        Assert.Equal("exit code 3", evaluation.Tests[0].Reason);
    }
    /// <summary>Programs that leave before the appended asserts run, or turn their failure into exit code 0. Each
    /// used to score 1.0 against asserts its wrong function fails (pass was "exit code 0").</summary>
    [Theory]
    [InlineData("import os\nos._exit(0)")]
    [InlineData("import sys\nsys.exit(0)")]
    [InlineData("exit()")]
    [InlineData("raise SystemExit")]
    [InlineData("import sys, os\nsys.excepthook = lambda *a: os._exit(0)")]
    [InlineData("import atexit, os\natexit.register(lambda: os._exit(0))")]
    [InlineData("import signal, os\nsignal.signal(signal.SIGALRM, lambda *a: os._exit(0))\nsignal.setitimer(signal.ITIMER_REAL, 0.001)\nimport time\ntime.sleep(1)")]
    [InlineData("print('passed')\nprint('r1sharp-asserts-passed')\nprint('OK')\nimport os\nos._exit(0)")]
    public void Asserts_cannot_be_skipped_by_exiting_early(string exit)
    {
        const string tests = """["assert f(1) == 2", "assert f(2) == 4"]""";
        var evaluation = Reward().Evaluate([Input(Python("def f(x):\n    return 0\n" + exit), tests)]).Single();
        Assert.Equal(0.0, evaluation.Score);
        Assert.All(evaluation.Tests, t => Assert.False(t.Passed, t.Reason));
    }

    [Fact]
    public void Bash_asserts_cannot_be_skipped_by_exiting_early()
    {
        const string tests = """{"language": "bash", "asserts": ["[ \"$(add 1 2)\" = 3 ]"]}""";
        var wrong = Reward().Evaluate([Input("```bash\nadd() { echo 0; }\nexit 0\n```", tests)]).Single();
        Assert.Equal(0.0, wrong.Score);
        var trapped = Reward().Evaluate([Input("```bash\nadd() { echo 0; }\ntrap 'exit 0' EXIT\n```", tests)]).Single();
        Assert.Equal(0.0, trapped.Score);
        var right = Reward().Evaluate([Input("```bash\nadd() { echo $(($1 + $2)); }\n```", tests)]).Single();
        Assert.Equal(1.0, right.Score);
    }

    /// <summary>Honest programs that print, buffer output, replace sys.stdout or register exit handlers still pass.</summary>
    [Theory]
    [InlineData("")]
    [InlineData("print('debug', f(3))")]
    [InlineData("import sys, io\nsys.stdout = io.StringIO()")]
    [InlineData("import atexit\natexit.register(lambda: print('bye'))")]
    [InlineData("import sys\nsys.stdout.write('no newline, not flushed')")]
    public void Honest_programs_still_pass_their_asserts(string extra)
    {
        const string tests = """["assert f(1) == 2", "assert f(2) == 4"]""";
        var evaluation = Reward().Evaluate([Input(Python("def f(x):\n    return 2 * x\n" + extra), tests)]).Single();
        Assert.True(evaluation.Score == 1.0, string.Join("; ", evaluation.Tests.Select(t => t.Reason)));
    }
}

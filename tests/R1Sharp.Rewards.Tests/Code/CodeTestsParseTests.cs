using R1Sharp.Rewards.Code;

namespace R1Sharp.Rewards.Tests.Code;

public class CodeTestsParseTests
{
    /// <summary>A row of open-r1/verifiable-coding-problems-python (a CodeChef problem) as open-r1's E2B router
    /// example passes it: items carry "fn_name": null and "type": "stdin_stdout".</summary>
    internal const string VerifiableCodingProblemsRow =
        """{"language": "python", "test_cases": [{"fn_name": null, "input": "2\n3\n4 6 8\n2 6 6\n1 4 3\n1\n7 7 4\n", "output": "12\n0\n", "type": "stdin_stdout"}]}""";

    [Fact]
    public void Parses_open_r1_verification_info()
    {
        var tests = CodeTests.Parse(VerifiableCodingProblemsRow);
        Assert.Equal("python", tests.Language);
        var only = Assert.IsType<StdioTestCase>(Assert.Single(tests.Cases));
        Assert.Equal("2\n3\n4 6 8\n2 6 6\n1 4 3\n1\n7 7 4\n", only.Input);
        Assert.Equal("12\n0\n", only.ExpectedOutput);
    }

    [Fact]
    public void Parses_a_list_of_stdio_and_assert_cases()
    {
        var tests = CodeTests.Parse("""[{"input": "1 2\n", "output": "3\n"}, {"output": "hi"}, "assert f(1) == 2", {"assert": "assert f(2) == 3"}, {"type": "assert", "code": "assert f(0) == 1"}]""");
        Assert.Null(tests.Language);
        Assert.Equal(
            new CodeTestCase[]
            {
                new StdioTestCase("1 2\n", "3\n"), new StdioTestCase("", "hi"), new AssertTestCase("assert f(1) == 2"),
                new AssertTestCase("assert f(2) == 3"), new AssertTestCase("assert f(0) == 1"),
            },
            tests.Cases);
    }

    [Fact]
    public void Parses_apps_inputs_outputs_with_line_arrays_and_numbers()
    {
        var tests = CodeTests.Parse("""{"inputs": ["1\n", "2\n"], "outputs": [["1", "2"], 4]}""");
        Assert.Equal([new StdioTestCase("1\n", "1\n2"), new StdioTestCase("2\n", "4")], tests.Cases);
    }

    [Fact]
    public void Parses_mbpp_style_asserts_with_setup()
    {
        var tests = CodeTests.Parse("""{"test_list": ["assert sq(3) == 9"], "test_setup_code": "import math"}""");
        Assert.Equal([new AssertTestCase("import math\nassert sq(3) == 9")], tests.Cases);
    }

    [Theory]
    [InlineData("""[{"input": "1"}]""", "tests: $[0]: a stdin/stdout case needs \"output\"")]
    [InlineData("""{"test_cases": [{"input": "1", "output": "1", "type": "function_call"}]}""", "tests: $.test_cases[0].type: unsupported test type 'function_call'")]
    [InlineData("""{"inputs": ["1"], "outputs": []}""", "tests: $.inputs has 1 items but $.outputs has 0")]
    [InlineData("""{"inputs": ["1"], "outputs": ["2"], "fn_name": "solve"}""", "tests: $.fn_name: call-based tests")]
    [InlineData("""[{"input": 5, "output": "5"}]""", "tests: $[0].input must be a string, got Number")]
    [InlineData("""{"foo": 1}""", "tests: $ has none of test_cases")]
    [InlineData("42", "tests: $ must be an array of test cases or an object")]
    public void Rejects_bad_shapes_naming_the_field(string json, string message)
    {
        var e = Assert.Throws<CodeTestsFormatException>(() => CodeTests.Parse(json));
        Assert.StartsWith(message, e.Message);
    }

    [Fact]
    public void Reports_json_syntax_errors_with_line_and_source()
    {
        var e = Assert.Throws<CodeTestsFormatException>(() => CodeTests.Parse("[\n  {\"input\": \"1\",\n  \"output\" 2}]", "train.jsonl line 7, field tests"));
        Assert.StartsWith("train.jsonl line 7, field tests: invalid JSON at line 3", e.Message);
    }
}

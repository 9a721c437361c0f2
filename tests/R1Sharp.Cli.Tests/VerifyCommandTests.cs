using System.Text.Json.Nodes;

namespace R1Sharp.Cli.Tests;

/// <summary>r1sharp verify's Math-Verify flags; the verdicts are Math-Verify 0.8.0's on the same pairs.</summary>
public class VerifyCommandTests
{
    private static string Verify(params string[] args) => CliRunner.Ok(["verify", .. args]).Stdout.Trim();

    [Fact]
    public void Math_verify_options_are_flags()
    {
        Assert.Equal("false", Verify("--gold", "\\frac13", "--prediction", "0.33"));
        Assert.Equal("true", Verify("--gold", "\\frac13", "--prediction", "0.33", "--precision", "2"));
        Assert.Equal("true", Verify("--gold", "\\frac13", "--prediction", "0.3333", "--float-rounding", "4"));
        Assert.Equal("false", Verify("--gold", "x \\in [-2,7]", "--prediction", "-2 \\le x \\le 7"));
        Assert.Equal("true", Verify("--gold", "x \\in [-2,7]", "--prediction", "-2 \\le x \\le 7", "--allow-set-relation-comp"));
        Assert.Equal("false", Verify("--gold", "f(x)", "--prediction", "f(y)"));
        Assert.Equal("true", Verify("--gold", "f(x)", "--prediction", "f(y)", "--strict", "false"));
        Assert.Equal("true", Verify("--gold", "f(x)", "--prediction", "f(y)", "--non-strict"));
        Assert.Equal("true", Verify("--gold", "-10/9", "--completion", "-\\frac{10}{9}"));
    }

    [Fact]
    public void The_accuracy_reward_takes_the_same_options()
    {
        using var tmp = new TempDir();
        string input = tmp.Write("in.jsonl", """{"completion": "so it is about \\boxed{0.33}", "answer": "\\frac{1}{3}"}""");
        double Accuracy(string rewards) =>
            JsonNode.Parse(CliRunner.Ok("reward", "--input", input, "--rewards", rewards).Stdout)!["rewards"]!["accuracy"]!.GetValue<double>();
        Assert.Equal(0.0, Accuracy("accuracy"));
        Assert.Equal(1.0, Accuracy("accuracy:precision=2"));
        Assert.Equal("error: --rewards: Reward 'accuracy': option 'precision' must be an integer from 0 to 15, got 'two'.",
            CliRunner.Fails("reward", "--input", input, "--rewards", "accuracy:precision=two"));
    }

    [Fact]
    public void Out_of_range_values_are_one_clear_error()
    {
        Assert.Contains("--precision: the value must be an integer from 0 to 15, got '99'",
            CliRunner.Fails("verify", "--gold", "1", "--prediction", "1", "--precision", "99"), StringComparison.Ordinal);
        Assert.Contains("--timeout", CliRunner.Fails("verify", "--gold", "1", "--prediction", "1", "--timeout", "-3"), StringComparison.Ordinal);
    }
}

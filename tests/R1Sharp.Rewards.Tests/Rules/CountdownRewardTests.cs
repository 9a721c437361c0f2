using System.Numerics;
using R1Sharp.Rewards.Rules;
using static R1Sharp.Rewards.Tests.Rules.RewardTestHelpers;

namespace R1Sharp.Rewards.Tests.Rules;

public class CountdownRewardTests
{
    private static double? Score(string completion, string numbers = "1,2,3", string target = "7") =>
        One(new CountdownReward(), In(completion, reference: [("numbers", numbers), ("target", target)]));

    [Theory]
    [InlineData("<think> try </think> <answer> 1 + 2 * 3 </answer>", 1.0)]
    [InlineData("<answer>(1 + 2) * 3</answer>", 0.1)]           // 9
    [InlineData("<answer>1 + 2 + 3 + 1</answer>", 0.1)]         // 1 used twice
    [InlineData("<answer>1 + 2 * 3 = 7</answer>", 0.1)]         // the 7 is a fourth number
    [InlineData("<answer>1 + 2 *</answer>", 0.1)]               // not an expression (and a number missing)
    [InlineData("<answer>  </answer>", 0.1)]                    // present, empty
    [InlineData("1 + 2 * 3", 0.0)]                              // no answer block
    [InlineData("<answer>1 + 2 * 3", 0.0)]                      // unclosed
    [InlineData("<answer> 9 </answer> no <answer> 3*2+1 </answer>", 1.0)] // the last block counts
    [InlineData("<answer> 3*2+1 </answer> <answer> 9 </answer>", 0.1)]
    public void TinyZero_scores(string completion, double expected) => Assert.Equal(expected, Score(completion));

    [Fact]
    public void Exact_rational_arithmetic()
    {
        Assert.Equal(1.0, Score("<answer>6 / 3 * 4</answer>", "6,4,3", "8"));
        Assert.Equal(1.0, Score("<answer>(1 / 3) * 3</answer>", "1,3,3", "1"));
        Assert.Equal(1.0, Score("<answer>-3 + 5</answer>", "[3, 5]", "2"));
        Assert.Equal(0.1, Score("<answer>5 / (3 - 3)</answer>", "5,3,3", "5"));  // division by zero
        Assert.Equal(0.1, Score("<answer>2 ** 3</answer>", "2 3", "8"));         // no power operator
        Assert.Equal(0.1, Score("<answer>7 // 2</answer>", "7,2", "3"));         // no floor division
    }

    [Fact]
    public void Missing_reference_is_null()
    {
        Assert.Null(One(new CountdownReward(), In("<answer>1+2</answer>", reference: ("target", "3"))));
        Assert.Null(One(new CountdownReward(), In("<answer>1+2</answer>", reference: [("numbers", "1,x"), ("target", "3")])));
    }

    [Theory]
    [InlineData("((((1))))", "1")]
    [InlineData("3/4 + 1/4", "1")]
    [InlineData("2 - 3 - 4", "-5")]       // left-associative
    [InlineData("2 * 3 + 4 * 5", "26")]
    [InlineData("7 / 2", "7/2")]
    [InlineData("--3", "3")]
    [InlineData("12345678901234567890 * 10", "123456789012345678900")]
    public void Evaluates(string text, string expected)
    {
        Assert.True(ArithmeticExpression.TryEvaluate(text, out var value));
        Assert.Equal(expected, value.ToString());
    }

    [Theory]
    [InlineData("1+")]
    [InlineData("()")]
    [InlineData("1 2")]
    [InlineData("1.5")]
    [InlineData("1/0")]
    [InlineData("(1")]
    [InlineData("1)")]
    [InlineData("x")]
    [InlineData("")]
    [InlineData("１+1")] // fullwidth digit
    public void Rejects(string text) => Assert.False(ArithmeticExpression.TryEvaluate(text, out _));

    [Fact]
    public void Deep_nesting_is_rejected_not_a_stack_overflow()
    {
        Assert.False(ArithmeticExpression.TryEvaluate(new string('(', 5000) + "1" + new string(')', 5000), out _));
        Assert.False(ArithmeticExpression.TryEvaluate(new string('-', 5000) + "1", out _));
        Assert.True(ArithmeticExpression.TryEvaluate(new string('(', 100) + "1" + new string(')', 100), out _));
    }

    [Fact]
    public void Correctness_check_directly() =>
        Assert.True(CountdownReward.IsCorrect("(100 - 93) + 30 - 14", [new BigInteger(30), 100, 93, 14], 23));
}

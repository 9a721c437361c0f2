using R1Sharp.Rewards.Verification;

namespace R1Sharp.Rewards.Tests.MathAnswers;

public class ExtractionTests
{
    [Theory]
    [InlineData("So the answer is \\boxed{5}.", "5", ExtractionRule.Boxed)]
    [InlineData("First \\boxed{3}. Then we correct it. After a long detour the total is \\boxed{4}.", "4", ExtractionRule.Boxed)]
    [InlineData("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}", ExtractionRule.Boxed)]
    [InlineData("\\boxed{\\{1, 2\\}}", "\\{1, 2\\}", ExtractionRule.Boxed)]
    [InlineData("Thus $x = \\boxed{\\left(\\frac{1}{2}, {3}\\right)}$.", "\\left(\\frac{1}{2}, {3}\\right)", ExtractionRule.Boxed)]
    [InlineData("The result is \\boxed 7 and we stop.", "7", ExtractionRule.Boxed)]
    [InlineData("The result is \\fbox{12}.", "12", ExtractionRule.Boxed)]
    [InlineData("roots are \\boxed{-2} and \\boxed{1}.", "-2, 1", ExtractionRule.Boxed)]
    [InlineData("\\boxed{1} no no no no no \\boxed{2}", "2", ExtractionRule.Boxed)]
    [InlineData("unclosed \\boxed{\\frac{1}{2}", "\\frac{1}{2}", ExtractionRule.Boxed)]
    [InlineData("<think>maybe 3</think>\n<answer>\n42\n</answer>", "42", ExtractionRule.AnswerTag)]
    [InlineData("<think>\\boxed{3}</think> <answer>\\boxed{7}</answer>", "7", ExtractionRule.AnswerTag)]
    [InlineData("<answer>$\\frac{3}{4}$</answer>", "\\frac{3}{4}", ExtractionRule.AnswerTag)]
    [InlineData("Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs.\n#### 18", "18", ExtractionRule.Gsm8k)]
    [InlineData("Total: 1,000 + 234\n#### 1,234", "1,234", ExtractionRule.Gsm8k)]
    [InlineData("The final answer is $28 \\%$. I hope it is correct.", "28 \\%", ExtractionRule.FinalAnswer)]
    [InlineData("Final Answer: The largest $n$ is 34.", "34", ExtractionRule.FinalAnswer)]
    [InlineData("The final answer is 12,000,023. I hope it is correct.", "12,000,023", ExtractionRule.FinalAnswer)]
    [InlineData("**Final Answer:** $\\frac{7}{2}$", "\\frac{7}{2}", ExtractionRule.FinalAnswer)]
    [InlineData("Final answer: 3.5", "3.5", ExtractionRule.FinalAnswer)]
    [InlineData("The final answer is $12$ and $13$.", "12, 13", ExtractionRule.FinalAnswer)]
    [InlineData("Therefore, the answer is 18.", "18", ExtractionRule.AnswerPhrase)]
    [InlineData("Answer: 2/3", "2/3", ExtractionRule.AnswerPhrase)]
    [InlineData("Answer \\[ 9 \\]", "9", ExtractionRule.AnswerPhrase)]
    [InlineData("So the answer should be 2 + 3 = 5.", "5", ExtractionRule.AnswerPhrase)]
    [InlineData("The probability that Alice wins the game is 2/3. <|im_start|>user", "2/3", ExtractionRule.LastNumber)]
    [InlineData("She earns 9 * 2 = $<<9*2=18>>18 every day at the market.", "18", ExtractionRule.LastNumber)]
    [InlineData("the number is not 10 which is 1,000.99€", "1,000.99", ExtractionRule.LastNumber)]
    [InlineData("So the pair is $(7, 6)$. Thanks", "(7, 6)", ExtractionRule.LastNumber)]
    [InlineData("It went up by 28 %", "28 %", ExtractionRule.LastNumber)]
    [InlineData("\\frac{10}{9}", "\\frac{10}{9}", ExtractionRule.LastNumber)]                 // Math-Verify's bare-fraction pattern
    [InlineData("so it is -\\frac{3}{4} in the end", "-\\frac{3}{4}", ExtractionRule.LastNumber)]
    [InlineData("halve it: \\dfrac{-1}{2.5}", "\\dfrac{-1}{2.5}", ExtractionRule.LastNumber)]
    [InlineData("x-\\frac{3}{4}", "\\frac{3}{4}", ExtractionRule.LastNumber)]                  // a minus after a letter is subtraction
    [InlineData("\\frac{x}{4} where x = 2", "2", ExtractionRule.LastNumber)]
    [InlineData("$$\\text{The midpoints form a regular hexagon}$$", "\\text{The midpoints form a regular hexagon}", ExtractionRule.LastNumber)]
    [InlineData("I paid $3 for eggs and the farmer said the rest costs $", "3", ExtractionRule.LastNumber)]
    public void ExtractsTheFinalAnswer(string text, string expected, ExtractionRule rule)
    {
        var found = AnswerExtractor.Extract(text);
        Assert.NotNull(found);
        Assert.Equal(expected, found!.Text);
        Assert.Equal(rule, found.Rule);
        Assert.Equal(expected.Split(',')[0], text.Substring(found.Start, expected.Split(',')[0].Length));
    }

    [Theory]
    [InlineData("")]
    [InlineData("No digits here at all.")]
    [InlineData("AZYUK2A")]
    public void Returns_null_when_there_is_no_answer(string text) => Assert.Null(AnswerExtractor.Extract(text));

    [Fact]
    public void Last_number_fallback_can_be_turned_off()
    {
        Assert.Null(AnswerExtractor.Extract("We get 5 apples.", ExtractionOptions.WithoutFallback));
        Assert.Equal("5", AnswerExtractor.Extract("We get 5 apples.")!.Text);
    }

    [Fact]
    public void Rule_priority_follows_the_options()
    {
        const string text = "The final answer is 9999. Also \\boxed{1}";
        Assert.Equal(ExtractionRule.Boxed, AnswerExtractor.Extract(text)!.Rule);
        var finalFirst = new ExtractionOptions { Rules = [ExtractionRule.FinalAnswer, ExtractionRule.Boxed] };
        var found = AnswerExtractor.Extract(text, finalFirst)!;
        Assert.Equal(ExtractionRule.FinalAnswer, found.Rule);
        Assert.Equal("9999", found.Text);
    }

    [Fact]
    public void Grade_reports_rule_extraction_and_gold_form()
    {
        var r = MathVerifier.Grade("\\dfrac{1}{2}", "We find $x = \\frac{2}{4}$, so the answer is \\boxed{0.5}.");
        Assert.True(r.Correct);
        Assert.Equal("0.5", r.Prediction);
        Assert.Equal(ExtractionRule.Boxed, r.Rule);
        Assert.Equal("1/2", r.GoldNormalized);

        var wrong = MathVerifier.Grade("7", "so \\boxed{8}");
        Assert.False(wrong.Correct);

        var none = MathVerifier.Grade("7", "I am not sure.", new VerifyOptions { Extraction = ExtractionOptions.WithoutFallback });
        Assert.Null(none.Correct);
        Assert.Null(none.Prediction);
        Assert.Null(none.Rule);
    }
}

using R1Sharp.Rewards.Rules;
using static R1Sharp.Rewards.Tests.Rules.RewardTestHelpers;

namespace R1Sharp.Rewards.Tests.Rules;

public class LanguageConsistencyRewardTests
{
    private static double? Score(string completion, string? language = null, string defaultLanguage = "en")
    {
        var input = language is null ? In(completion) : In(completion, reference: ("language", language));
        return One(new LanguageConsistencyReward(defaultLanguage), input);
    }

    [Fact]
    public void English_worked_solution_is_all_english() =>
        // First, Then, So, the, answer, is
        Assert.Equal(1.0, Score("First, 37 + 48 = 85. Then 85 - 19 = 66. So the answer is 66.", "en"));

    [Fact]
    public void French_worked_solution_is_all_french()
    {
        // D (one letter: not counted), abord, Ensuite, La, réponse, est, donc
        const string text = "D'abord, 37 + 48 = 85. Ensuite, 85 - 19 = 66. La réponse est donc 66.";
        Assert.Equal((6, 0), LanguageConsistencyReward.Count(text, "fr"));
        Assert.Equal(1.0, Score(text, "fr"));
        // Read as English: abord, Ensuite, La, réponse, est, donc are French.
        Assert.Equal((0, 6), LanguageConsistencyReward.Count(text, "en"));
    }

    [Fact]
    public void Only_the_chain_of_thought_counts() =>
        // think: First (en → other), Ensuite (fr) → 1 / 2; the answer block is outside the chain.
        Assert.Equal(0.5, Score("<think> First, 37 + 48 = 85. Ensuite, 85 - 19 = 66. </think> <answer> la réponse </answer>", "fr"));

    [Fact]
    public void Chinese_by_script()
    {
        Assert.Equal(1.0, Score("首先 37 + 48 = 85，然后 85 - 19 = 66。", "zh"));
        Assert.Equal(0.8, Score("First 首先然后", "zh"));   // 4 Han target, "First" other
        Assert.Equal(1.0, Score("ABC 的面积", "zh"));       // upper-case unknown Latin: neutral
        Assert.Equal(0.75, Score("的面积 area", "zh"));     // lower-case Latin: other
        Assert.Equal(2.0 / 3, Score("The answer 是 66", "en"));
    }

    [Fact]
    public void Math_numbers_and_symbols_do_not_count()
    {
        // frac, sqrt (after a backslash), x, y (one letter), ab2 (touches a digit), sin (function) are neutral.
        Assert.Equal((1, 0), LanguageConsistencyReward.Count(@"\frac{x}{y} = \sqrt{2} and ab2 + sin x", "en"));
        Assert.Null(Score("37 + 48 = 85, 85 - 19 = 66 ∴ 66", "en"));
    }

    [Fact]
    public void Unknown_latin_words_are_neutral_accented_are_foreign_for_english()
    {
        Assert.Equal(1.0, Score("Zorglub has apples", "en"));
        Assert.Equal(0.5, Score("The café", "en"));
        Assert.Equal(1.0, Score("Le gâteau", "fr"));     // gâteau: unknown but French letters
        Assert.Equal(0.5, Score("Le Straße", "fr"));     // ß is not French
    }

    [Fact]
    public void Tags_are_not_words() =>
        Assert.Equal((1, 0), LanguageConsistencyReward.Count("<answer> answer </answer>", "en"));

    [Fact]
    public void Other_scripts()
    {
        Assert.Equal(1.0, Score("Ответ 66", "ru"));
        Assert.Equal(0.5, Score("Ответ the 66", "ru"));
        Assert.Equal(0.5, Score("the Ответ", "en"));
    }

    [Fact]
    public void Target_from_reference_or_default()
    {
        Assert.Equal(1.0, Score("la réponse", defaultLanguage: "fr"));
        Assert.Equal(0.0, Score("la réponse", language: "English", defaultLanguage: "fr"));
        Assert.Equal(1.0, Score("the answer", language: "en-US"));
        Assert.Null(Score("the answer", language: "xx"));
        Assert.Throws<ArgumentException>(() => new LanguageConsistencyReward("klingon"));
    }
}

using R1Sharp.Rewards.Rules;

namespace R1Sharp.Rewards.Tests.Rules;

internal static class RewardTestHelpers
{
    public static RewardInput In(string completion, string prompt = "p", int? tokens = null, params (string Key, string Value)[] reference) =>
        new(prompt, completion, reference.ToDictionary(r => r.Key, r => r.Value), tokens);

    public static double? One(IReward reward, RewardInput input) => reward.Score([input])[0];

    /// <summary>Exact match of the trimmed last &lt;answer&gt; block; null ("cannot parse gold") for gold "??".</summary>
    public static bool? ExactMatch(string gold, string completion) =>
        gold == "??" ? null : CompletionText.LastAnswer(completion)?.Trim() == gold.Trim();
}

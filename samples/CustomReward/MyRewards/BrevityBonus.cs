using R1Sharp.Rewards;
using R1Sharp.Rewards.Rules;

namespace MyRewards;

/// <summary>
/// <c>brevity</c> (named by the attribute). 1 for a completion of at most <c>max_words</c> words, max_words / words beyond.
/// It reads no reference field, so it judges every completion. The option comes from the spec:
/// <c>rewards: [{name: brevity, assembly: MyRewards.dll, options: {max_words: 20}}]</c>.
/// </summary>
[RewardName("brevity")]
public sealed class BrevityBonus : IReward
{
    readonly int _maxWords;

    public BrevityBonus(RewardOptions options)
    {
        _maxWords = options.GetInt("max_words", 40);
        if (_maxWords < 1) throw new ArgumentOutOfRangeException(nameof(options), $"max_words must be at least 1, got {_maxWords}");
    }

    public string Name => "brevity";

    public IReadOnlyList<double?> Score(IReadOnlyList<RewardInput> batch, CancellationToken cancellationToken = default) =>
        [.. batch.Select(input => (double?)Value(input.Completion))];

    double Value(string completion)
    {
        int words = completion.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
        return words <= _maxWords ? 1.0 : (double)_maxWords / words;
    }
}

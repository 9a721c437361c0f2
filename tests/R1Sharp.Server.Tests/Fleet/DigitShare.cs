namespace R1Sharp.Server.Tests.Fleet;

/// <summary>Share of a completion's characters that are digits: it varies between an untrained model's samples, so there is a gradient.</summary>
sealed class DigitShare : R1Sharp.Rewards.IReward
{
    public string Name => "digits";
    public IReadOnlyList<double?> Score(IReadOnlyList<R1Sharp.Rewards.RewardInput> batch, CancellationToken cancellationToken = default)
        => [.. batch.Select(i => (double?)(i.Completion.Length == 0 ? 0 : i.Completion.Count(char.IsDigit) / (double)i.Completion.Length))];
}

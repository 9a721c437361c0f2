namespace R1Sharp.Rewards.Rules;

/// <summary>One reward function with its weight in the total.</summary>
public sealed record WeightedReward(IReward Reward, double Weight = 1.0);

/// <summary>The total reward of one completion and each function's own value (before weighting).</summary>
/// <param name="Total">Σ wᵢ·rᵢ over the components that are not null; null when every component is null.</param>
/// <param name="Components">Each function's unweighted value by name, null where it could not judge.</param>
public sealed record RewardBreakdown(double? Total, IReadOnlyDictionary<string, double?> Components);

/// <summary>
/// Runs several rewards over a batch and combines them: total = Σᵢ wᵢ·rᵢ over the functions whose value is not
/// null. A null component is left out of the sum (TRL's <c>nansum</c> over reward functions) rather than
/// counted as 0; when every component is null the total is null (TRL would give 0 and warn). Each function
/// scores the whole batch once, so group-relative rewards see their group.
/// </summary>
public sealed class WeightedRewards
{
    private readonly WeightedReward[] _rewards;

    /// <summary>Combines <paramref name="rewards"/>; names must be distinct.</summary>
    public WeightedRewards(IEnumerable<WeightedReward> rewards)
    {
        _rewards = [.. rewards];
        var duplicate = _rewards.GroupBy(r => r.Reward.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new ArgumentException($"Reward '{duplicate.Key}' appears {duplicate.Count()} times; give each instance its own name.", nameof(rewards));
        foreach (var r in _rewards)
            if (!double.IsFinite(r.Weight)) throw new ArgumentException($"Weight of reward '{r.Reward.Name}' must be finite, got {r.Weight}.", nameof(rewards));
    }

    /// <summary>The functions and weights, in order.</summary>
    public IReadOnlyList<WeightedReward> Rewards => _rewards;

    /// <summary>The names of the functions, in order.</summary>
    public IReadOnlyList<string> Names => [.. _rewards.Select(r => r.Reward.Name)];

    /// <summary>Scores the batch with every function; one breakdown per input, in order.</summary>
    public IReadOnlyList<RewardBreakdown> Score(IReadOnlyList<RewardInput> batch, CancellationToken cancellationToken = default)
    {
        var perFunction = new IReadOnlyList<double?>[_rewards.Length];
        for (int f = 0; f < _rewards.Length; f++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var scores = _rewards[f].Reward.Score(batch, cancellationToken);
            if (scores.Count != batch.Count)
                throw new InvalidOperationException($"Reward '{_rewards[f].Reward.Name}' returned {scores.Count} scores for {batch.Count} inputs.");
            perFunction[f] = scores;
        }

        var result = new RewardBreakdown[batch.Count];
        for (int i = 0; i < batch.Count; i++)
        {
            var components = new Dictionary<string, double?>(_rewards.Length, StringComparer.Ordinal);
            double sum = 0;
            bool any = false;
            for (int f = 0; f < _rewards.Length; f++)
            {
                double? value = perFunction[f][i];
                components[_rewards[f].Reward.Name] = value;
                if (value is double v && !double.IsNaN(v))
                {
                    sum += _rewards[f].Weight * v;
                    any = true;
                }
            }
            result[i] = new RewardBreakdown(any ? sum : null, components);
        }
        return result;
    }
}

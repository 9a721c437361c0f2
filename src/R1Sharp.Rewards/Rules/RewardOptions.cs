using System.Globalization;

namespace R1Sharp.Rewards.Rules;

/// <summary>A reward as configured: its registry name, its weight in the total, and its options.</summary>
/// <param name="Name">Registry name, e.g. <c>accuracy</c>, <c>format</c>, <c>cosine</c>.</param>
/// <param name="Weight">Weight in the total reward.</param>
/// <param name="Options">Option values as text (from YAML, JSON or the command line), e.g. <c>max_len: 1000</c>.</param>
/// <param name="Assembly">A .NET assembly (<c>.dll</c>) holding the reward class registered as <paramref name="Name"/>, for rewards
/// of your own (docs/custom-rewards.md); null: one of R1Sharp's rewards. Relative to the current directory.</param>
public sealed record RewardSpec(string Name, double Weight = 1.0, IReadOnlyDictionary<string, string>? Options = null, string? Assembly = null);

/// <summary>
/// The options one reward factory reads. Values are text; the typed getters parse them (invariant culture) and
/// throw <see cref="RewardConfigException"/> naming the reward and the option on a bad value. The registry
/// rejects options no factory read, so a misspelt option is an error, not a silent default.
/// </summary>
public sealed class RewardOptions
{
    private readonly IReadOnlyDictionary<string, string> _values;
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    /// <summary>Options for the reward <paramref name="rewardName"/>.</summary>
    public RewardOptions(string rewardName, IReadOnlyDictionary<string, string>? values = null)
    {
        RewardName = rewardName;
        _values = values ?? new Dictionary<string, string>();
    }

    /// <summary>The registry name being built.</summary>
    public string RewardName { get; }

    /// <summary>The raw value, or null when not given.</summary>
    public string? GetRaw(string key)
    {
        _read.Add(key);
        return _values.TryGetValue(key, out var value) ? value : null;
    }

    /// <summary>A text option.</summary>
    public string GetString(string key, string defaultValue) => GetRaw(key) ?? defaultValue;

    /// <summary>A floating-point option.</summary>
    public double GetDouble(string key, double defaultValue) =>
        GetRaw(key) is not { } raw ? defaultValue
        : double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value) ? value
        : throw Bad(key, raw, "a number");

    /// <summary>An integer option.</summary>
    public int GetInt(string key, int defaultValue) =>
        GetRaw(key) is not { } raw ? defaultValue
        : int.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value
        : throw Bad(key, raw, "an integer");

    /// <summary>A boolean option (true/false, yes/no, 1/0).</summary>
    public bool GetBool(string key, bool defaultValue) =>
        GetRaw(key)?.Trim().ToLowerInvariant() switch
        {
            null => defaultValue,
            "true" or "yes" or "1" => true,
            "false" or "no" or "0" => false,
            var raw => throw Bad(key, raw, "true or false"),
        };

    /// <summary>Options given but never read.</summary>
    public IEnumerable<string> Unread => _values.Keys.Where(k => !_read.Contains(k));

    private RewardConfigException Bad(string key, string raw, string expected) =>
        new($"Reward '{RewardName}': option '{key}' must be {expected}, got '{raw}'.");
}

/// <summary>A reward configuration error: unknown reward, unknown option, bad value.</summary>
public sealed class RewardConfigException(string message, Exception? inner = null) : Exception(message, inner);

namespace R1Sharp.Rewards.Rules;

/// <summary>Builds one reward from its options.</summary>
public delegate IReward RewardFactory(RewardOptions options);

/// <summary>
/// Builds rewards by name from configuration. <see cref="CreateStandard"/> is the registry to use: every reward,
/// with Math-Verify grading and the local code sandbox. <see cref="CreateDefault"/> registers every rule reward;
/// rewards that need something this assembly does not own — an answer grader (<c>accuracy</c>, <c>length</c>,
/// <c>cosine</c>) or the code sandbox (<c>code</c>) — are registered from outside with <see cref="Register"/>.
/// Every reward accepts the option <c>name</c>, which renames that instance (to use one reward twice).
/// </summary>
/// <remarks>
/// Built-in names and options (defaults in brackets):
/// <list type="bullet">
/// <item><c>accuracy</c> [needs a grader]: <c>gold_field</c> [answer]; with the Math-Verify grader of
/// <see cref="CreateStandard"/> also Math-Verify's options (<see cref="Verification.VerifyOptions.With"/>):
/// <c>precision</c> [6] (alias <c>float_rounding</c>), <c>numeric_precision</c> [15], <c>strict</c> [true],
/// <c>allow_set_relation_comp</c> [false], <c>timeout</c> [2] seconds, <c>percent_matches_bare_number</c> [true].
/// <c>length</c> and <c>cosine</c> take them too.</item>
/// <item><c>format</c>: <c>pattern</c> = r1_zero [default] | r1_zero_loose | cold_start.</item>
/// <item><c>r1_zero_format</c> (the loose R1-Zero template layout), <c>cold_start_format</c>.</item>
/// <item><c>tag_count</c>, <c>reasoning_steps</c>.</item>
/// <item><c>length</c> (Kimi) [needs a grader]: <c>group_by_prompt</c> [true], <c>gold_field</c>.</item>
/// <item><c>cosine</c> [needs a grader]: <c>min_value_wrong</c> [−1], <c>max_value_wrong</c> [−0.5],
/// <c>min_value_correct</c> [0.5], <c>max_value_correct</c> [1], <c>max_len</c> [1000], <c>gold_field</c>.</item>
/// <item><c>repetition</c> (alias <c>repetition_penalty</c>): <c>ngram_size</c> [3], <c>max_penalty</c> [−1],
/// <c>language</c> [en].</item>
/// <item><c>overlong</c> (alias <c>soft_overlong_punishment</c>): <c>max_completion_len</c> [16384],
/// <c>soft_punish_cache</c> [4096].</item>
/// <item><c>language</c>: <c>language</c> [en] (default target when the input has no <c>language</c> field).</item>
/// <item><c>countdown</c>: <c>format_score</c> [0.1], <c>score</c> [1].</item>
/// </list>
/// </remarks>
public sealed partial class RewardRegistry
{
    private readonly Dictionary<string, RewardFactory> _factories = new(StringComparer.Ordinal);

    /// <summary>Names that are known to exist but must be registered from outside, with the hint to give.</summary>
    private static readonly Dictionary<string, string> External = new(StringComparer.Ordinal)
    {
        ["accuracy"] = "it needs an answer grader: use RewardRegistry.CreateStandard(), or CreateDefault(grader)",
        ["length"] = "it needs an answer grader: use RewardRegistry.CreateStandard(), or CreateDefault(grader)",
        ["cosine"] = "it needs an answer grader: use RewardRegistry.CreateStandard(), or CreateDefault(grader)",
        ["code"] = "use RewardRegistry.CreateStandard(), or register the code-sandbox reward with RewardRegistry.Register(\"code\", factory)",
    };

    /// <summary>An empty registry.</summary>
    public RewardRegistry() { }

    /// <summary>
    /// A registry with every rule reward. With <paramref name="grader"/> ((gold, completion) → correct?, null when
    /// it cannot judge), also <c>accuracy</c>, <c>length</c> and <c>cosine</c>.
    /// </summary>
    public static RewardRegistry CreateDefault(Func<string, string, bool?>? grader = null)
    {
        var registry = new RewardRegistry();
        registry.Register("format", o => new FormatReward(ParsePattern(o), "format"));
        registry.Register("r1_zero_format", _ => new FormatReward(FormatPattern.R1ZeroLoose));
        registry.Register("cold_start_format", _ => new FormatReward(FormatPattern.ColdStart));
        registry.Register("tag_count", _ => new TagCountReward());
        registry.Register("reasoning_steps", _ => new ReasoningStepsReward());
        RewardFactory repetition = o => new RepetitionPenaltyReward(
            o.GetInt("ngram_size", 3), o.GetDouble("max_penalty", -1.0), o.GetString("language", "en"));
        registry.Register("repetition", repetition);
        registry.Register("repetition_penalty", repetition);
        RewardFactory overlong = o => new SoftOverlongReward(o.GetInt("max_completion_len", 16384), o.GetInt("soft_punish_cache", 4096));
        registry.Register("overlong", overlong);
        registry.Register("soft_overlong_punishment", overlong);
        registry.Register("language", o => new LanguageConsistencyReward(o.GetString("language", "en")));
        registry.Register("countdown", o => new CountdownReward(o.GetDouble("format_score", 0.1), o.GetDouble("score", 1.0)));
        if (grader is not null)
        {
            registry.Register("accuracy", o => new AccuracyReward(AccuracyReward.WithVerifyOptions(grader, o), o.GetString("gold_field", "answer")));
            registry.Register("length", o => new KimiLengthReward(
                AccuracyReward.WithVerifyOptions(grader, o), o.GetBool("group_by_prompt", true), o.GetString("gold_field", "answer")));
            registry.Register("cosine", o => new CosineLengthReward(
                AccuracyReward.WithVerifyOptions(grader, o),
                o.GetDouble("min_value_wrong", -1.0),
                o.GetDouble("max_value_wrong", -0.5),
                o.GetDouble("min_value_correct", 0.5),
                o.GetDouble("max_value_correct", 1.0),
                o.GetInt("max_len", 1000),
                o.GetString("gold_field", "answer")));
        }
        return registry;
    }

    /// <summary>Registers (or, with <paramref name="replace"/>, replaces) the factory for <paramref name="name"/>.</summary>
    public RewardRegistry Register(string name, RewardFactory factory, bool replace = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(factory);
        if (!replace && _factories.ContainsKey(name))
            throw new ArgumentException($"Reward '{name}' is already registered; pass replace: true to override it.", nameof(name));
        _factories[name] = factory;
        return this;
    }

    /// <summary>True when <paramref name="name"/> can be built.</summary>
    public bool Contains(string name) => _factories.ContainsKey(name);

    /// <summary>The registered names, sorted.</summary>
    public IReadOnlyList<string> Names => [.. _factories.Keys.Order(StringComparer.Ordinal)];

    /// <summary>Builds the reward <paramref name="name"/> with <paramref name="options"/>.</summary>
    /// <exception cref="RewardConfigException">Unknown name, unknown option, or a bad option value.</exception>
    public IReward Create(string name, IReadOnlyDictionary<string, string>? options = null)
    {
        if (!_factories.TryGetValue(name, out var factory))
        {
            string why = External.TryGetValue(name, out var hint)
                ? $"Reward '{name}' is not registered: {hint}."
                : $"Unknown reward '{name}'. Registered: {string.Join(", ", Names)}.";
            throw new RewardConfigException(why);
        }
        var reader = new RewardOptions(name, options);
        string? rename = reader.GetRaw("name");
        IReward reward;
        try
        {
            reward = factory(reader);
        }
        catch (Exception ex) when (ex is ArgumentException)
        {
            throw new RewardConfigException($"Reward '{name}': {ex.Message}", ex);
        }
        var unread = reader.Unread.ToList();
        if (unread.Count > 0)
            throw new RewardConfigException($"Reward '{name}': unknown option(s) {string.Join(", ", unread.Select(u => $"'{u}'"))}.");
        return string.IsNullOrWhiteSpace(rename) ? reward : new RenamedReward(reward, rename);
    }

    /// <summary>
    /// Builds the reward of <paramref name="spec"/>: from this registry, or, when the spec names an assembly, the reward class
    /// registered under that name in it (<see cref="RewardAssemblies"/>, docs/custom-rewards.md).
    /// </summary>
    /// <exception cref="RewardConfigException">Unknown name, unknown option, or a bad option value.</exception>
    /// <exception cref="RewardAssemblyException">The spec's assembly cannot give the reward (missing file, not a .NET assembly,
    /// no reward of that name, constructor failure).</exception>
    public IReward Create(RewardSpec spec) =>
        spec.Assembly is { } assembly ? RewardAssemblies.Create(assembly, spec.Name, spec.Options) : Create(spec.Name, spec.Options);

    /// <summary>Builds every spec (<see cref="Create(RewardSpec)"/>) and combines them with their weights.</summary>
    public WeightedRewards Build(IEnumerable<RewardSpec> specs) =>
        new(specs.Select(s => new WeightedReward(Create(s), s.Weight)));

    private static FormatPattern ParsePattern(RewardOptions options) => options.GetString("pattern", "r1_zero") switch
    {
        "r1_zero" => FormatPattern.R1Zero,
        "r1_zero_loose" => FormatPattern.R1ZeroLoose,
        "cold_start" => FormatPattern.ColdStart,
        var other => throw new RewardConfigException($"Reward '{options.RewardName}': option 'pattern' must be r1_zero, r1_zero_loose or cold_start, got '{other}'."),
    };

    internal sealed class RenamedReward(IReward inner, string name) : IReward, IReadsReferenceFields
    {
        public string Name => name;

        public IReadOnlyList<string> ReferenceFields => (inner as IReadsReferenceFields)?.ReferenceFields ?? [];

        public IReadOnlyList<double?> Score(IReadOnlyList<RewardInput> batch, CancellationToken cancellationToken = default) =>
            inner.Score(batch, cancellationToken);
    }
}

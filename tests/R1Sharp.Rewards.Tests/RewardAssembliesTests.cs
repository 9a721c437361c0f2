using R1Sharp.Rewards;
using R1Sharp.Rewards.Rules;

namespace R1Sharp.Rewards.Tests;

/// <summary>A reward the tests load from this assembly by its class name in snake_case (<c>digit_count</c>).</summary>
public sealed class DigitCount : IReward
{
    public string Name => "digits";

    public IReadOnlyList<double?> Score(IReadOnlyList<RewardInput> batch, CancellationToken cancellationToken = default) =>
        [.. batch.Select(i => i.Field("answer") is null ? (double?)null : i.Completion.Count(char.IsAsciiDigit))];
}

/// <summary>Named by its attribute, with an option.</summary>
[RewardName("scaled_length")]
public sealed class ScaledLengthReward(RewardOptions options) : IReward
{
    readonly double _scale = options.GetDouble("scale", 1.0);

    public string Name => "scaled_length";

    public IReadOnlyList<double?> Score(IReadOnlyList<RewardInput> batch, CancellationToken cancellationToken = default) =>
        [.. batch.Select(i => (double?)(i.Completion.Length * _scale))];
}

/// <summary>A reward whose constructor fails, as one missing its configuration would.</summary>
[RewardName("needs_key")]
public sealed class NeedsKeyReward : IReward
{
    public NeedsKeyReward() => throw new InvalidOperationException("JUDGE_API_KEY is not set");

    public string Name => "needs_key";

    public IReadOnlyList<double?> Score(IReadOnlyList<RewardInput> batch, CancellationToken cancellationToken = default) => [];
}

/// <summary>Loading rewards from an assembly file: names, the shared interface, and each error naming the path and the field.</summary>
public sealed class RewardAssembliesTests : IDisposable
{
    static readonly string ThisDll = typeof(DigitCount).Assembly.Location;
    readonly string _dir = Directory.CreateTempSubdirectory("r1sharp-reward-assemblies-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static RewardInput Input(string completion, string? answer = "4") =>
        new("2+2?", completion, answer is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["answer"] = answer });

    [Fact]
    public void Rewards_are_found_by_attribute_or_by_the_class_name_in_snake_case()
    {
        var names = RewardAssemblies.Find(ThisDll).Select(r => r.Name).ToList();
        Assert.Contains("digit_count", names);
        Assert.Contains("scaled_length", names);
        Assert.Contains("needs_key", names);
        Assert.Equal("my_reward", RewardAssemblies.RegisteredName(typeof(MyReward)));
        Assert.Equal("http_check2", RewardAssemblies.SnakeCase("HTTPCheck2"));
    }

    [Fact]
    public void A_loaded_reward_lives_in_its_own_load_context_and_implements_R1Sharps_IReward()
    {
        var reward = RewardAssemblies.Create(ThisDll, "digit_count");
        // The loaded class is another copy of DigitCount (its own load context), yet its IReward is this process's.
        Assert.NotEqual(typeof(DigitCount).Assembly, reward.GetType().Assembly);
        Assert.IsAssignableFrom<IReward>(reward);
        Assert.Equal(new double?[] { 3, null }, reward.Score([Input("1+2+3"), Input("7", answer: null)]));
        // the name it is known by is the registered one (the instance calls itself "digits")
        Assert.Equal("digit_count", reward.Name);
    }

    [Fact]
    public void A_spec_with_an_assembly_builds_with_its_options_beside_built_in_rewards()
    {
        var rewards = RewardRegistry.CreateStandard().Build([
            new RewardSpec("scaled_length", 2.0, new Dictionary<string, string> { ["scale"] = "0.5" }, ThisDll),
            new RewardSpec("format"),
        ]);
        const string completion = "<think>x</think> <answer>4</answer>";
        var score = rewards.Score([Input(completion)])[0];
        Assert.Equal(completion.Length * 0.5, score.Components["scaled_length"]);
        Assert.Equal(new[] { "scaled_length", "format" }, rewards.Names);
        var bad = Assert.Throws<RewardConfigException>(() =>
            RewardAssemblies.Create(ThisDll, "scaled_length", new Dictionary<string, string> { ["scal"] = "2" }));
        Assert.Contains("'scal'", bad.Message);
    }

    [Fact]
    public void A_missing_file_names_the_path_and_the_field()
    {
        string path = Path.Combine(_dir, "Missing.dll");
        var e = Assert.Throws<RewardAssemblyException>(() => RewardAssemblies.Create(path, "x", field: "grpo.rewards[1].assembly"));
        Assert.Equal("grpo.rewards[1].assembly", e.Field);
        Assert.StartsWith($"grpo.rewards[1].assembly: {path}: file not found", e.Message);
    }

    [Fact]
    public void A_file_that_is_not_a_dotnet_assembly_says_so()
    {
        string text = Path.Combine(_dir, "notes.dll");
        File.WriteAllText(text, "not an assembly");
        var e = Assert.Throws<RewardAssemblyException>(() => RewardAssemblies.Find(text, "--reward-assembly"));
        Assert.StartsWith($"--reward-assembly: {text}: not a .NET assembly", e.Message);

        // a native library (ELF or PE, no metadata) is not one either
        string native = Directory.GetFiles(RuntimeLibraryFolder(), "*.so").Concat(Directory.GetFiles(RuntimeLibraryFolder(), "*.dll"))
            .First(f => Path.GetFileName(f).StartsWith("lib", StringComparison.Ordinal) || Path.GetFileName(f).Contains("native", StringComparison.OrdinalIgnoreCase));
        var n = Assert.Throws<RewardAssemblyException>(() => RewardAssemblies.Find(native, "--reward-assembly"));
        Assert.Contains($"{native}: not a .NET assembly", n.Message);
    }

    [Fact]
    public void A_name_the_assembly_lacks_lists_the_rewards_it_has()
    {
        var e = Assert.Throws<RewardAssemblyException>(() => RewardAssemblies.Get(ThisDll, "digit", "rewards[0].assembly"));
        Assert.Contains($"{ThisDll}: no reward 'digit' in it; rewards found: ", e.Message);
        Assert.Contains("digit_count (R1Sharp.Rewards.Tests.DigitCount)", e.Message);

        // an assembly without any reward says that
        string plain = typeof(Xunit.FactAttribute).Assembly.Location;
        var none = Assert.Throws<RewardAssemblyException>(() => RewardAssemblies.Get(plain, "digit", "rewards[0].assembly"));
        Assert.EndsWith("it has no class implementing R1Sharp.Rewards.IReward", none.Message);
    }

    [Fact]
    public void A_failing_constructor_is_reported_with_its_message()
    {
        var e = Assert.Throws<RewardAssemblyException>(() => RewardRegistry.CreateStandard().Create(new RewardSpec("needs_key", Assembly: ThisDll)));
        Assert.Contains($"{ThisDll}: reward 'needs_key' (R1Sharp.Rewards.Tests.NeedsKeyReward): its constructor failed: " +
                        "InvalidOperationException: JUDGE_API_KEY is not set", e.Message);
    }

    /// <summary>The folder of the runtime's own files (System.Private.CoreLib and its native libraries).</summary>
    static string RuntimeLibraryFolder() => Path.GetDirectoryName(typeof(object).Assembly.Location)!;

    sealed class MyReward : IReward
    {
        public string Name => "mine";

        public IReadOnlyList<double?> Score(IReadOnlyList<RewardInput> batch, CancellationToken cancellationToken = default) => [];
    }
}

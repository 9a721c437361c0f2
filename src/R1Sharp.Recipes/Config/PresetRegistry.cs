namespace R1Sharp.Recipes.Config;

/// <summary>A named starting point for a recipe's options.</summary>
/// <param name="Name">What <c>--preset</c> takes, e.g. <c>r1-zero-gsm8k</c>.</param>
/// <param name="Description">One line for <c>--help</c> and listings: what it is for and where its numbers come from.</param>
/// <param name="Value">The options record.</param>
public sealed record Preset(string Name, string Description, object Value)
{
    /// <summary>The options type the preset is for.</summary>
    public Type OptionsType => Value.GetType();
}

/// <summary>
/// Named presets of recipe options, in one place (docs/architecture.md, "Configuration"). A preset is a complete options record written in
/// code (<c>new GrpoOptions { LearningRate = 1e-6, ... }</c>); files and <c>--set</c> then override its fields
/// (<see cref="ConfigBinder.Load{T}"/>). Names are unique per options type.
/// </summary>
public sealed class PresetRegistry
{
    private readonly List<Preset> _presets = [];

    /// <summary>Adds a preset; returns this registry, for chaining.</summary>
    /// <exception cref="ArgumentException">The name is empty or already used for <typeparamref name="T"/>.</exception>
    public PresetRegistry Add<T>(string name, string description, T value) where T : notnull
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(value);
        if (_presets.Any(p => p.Name == name && p.OptionsType == typeof(T)))
            throw new ArgumentException($"A {typeof(T).Name} preset named '{name}' is already registered.", nameof(name));
        _presets.Add(new Preset(name, description, value));
        return this;
    }

    /// <summary>Every preset, in the order added.</summary>
    public IReadOnlyList<Preset> All => _presets;

    /// <summary>The presets for <typeparamref name="T"/>.</summary>
    public IReadOnlyList<Preset> For<T>() => [.. _presets.Where(p => p.OptionsType == typeof(T))];

    /// <summary>The preset <paramref name="name"/> for <typeparamref name="T"/>.</summary>
    /// <exception cref="ConfigException">No such preset; the message lists the ones there are.</exception>
    public T Get<T>(string name) where T : notnull
    {
        var preset = _presets.FirstOrDefault(p => p.Name == name && p.OptionsType == typeof(T));
        if (preset is not null) return (T)preset.Value;
        var names = For<T>().Select(p => p.Name).ToList();
        string known = names.Count == 0 ? $"there are no {typeof(T).Name} presets" : "presets: " + string.Join(", ", names);
        string? close = ConfigNames.Closest(name, names);
        throw new ConfigException([new ConfigError("--preset", null, "", $"unknown preset '{name}'{(close is null ? "" : $" (did you mean {close}?)")}; {known}")]);
    }

    /// <summary>The preset <paramref name="name"/>, or <paramref name="defaults"/> when the name is null.</summary>
    public T GetOrDefault<T>(string? name, T defaults) where T : notnull => name is null ? defaults : Get<T>(name);
}

namespace R1Sharp.Recipes.Config;

/// <summary>
/// One problem in a configuration: where it came from (a file and line, or <c>--set</c>), the field's path in
/// the config (<c>grpo.rewards[1].weight</c>) and what is wrong.
/// </summary>
/// <param name="Source">The file name or <c>--set</c>; null for a value that came from the defaults or a preset.</param>
/// <param name="Line">1-based line in <paramref name="Source"/>, when known.</param>
/// <param name="Path">Dotted snake_case path of the field.</param>
/// <param name="Problem">What is wrong, and what would be right.</param>
public sealed record ConfigError(string? Source, int? Line, string Path, string Problem)
{
    /// <summary><c>grpo.yaml: line 12: grpo.loss_type: 'dapo2' is not one of grpo, bnpo, dapo, dr_grpo</c>.</summary>
    public override string ToString()
    {
        string where = (Source, Line) switch
        {
            (null, _) => "",
            (var s, null) => $"{s}: ",
            (var s, var l) => $"{s}: line {l}: ",
        };
        return Path.Length == 0 ? $"{where}{Problem}" : $"{where}{Path}: {Problem}";
    }
}

/// <summary>Every error found in a configuration, reported together (the message lists them one per line).</summary>
public sealed class ConfigException(IReadOnlyList<ConfigError> errors)
    : FormatException(string.Join(Environment.NewLine, errors.Select(e => e.ToString())))
{
    /// <summary>The errors, in the order they were found.</summary>
    public IReadOnlyList<ConfigError> Errors { get; } = errors;
}

/// <summary>
/// Implemented by an options record with rules across fields (<c>epsilon_high ≥ epsilon_low</c>). Single-field
/// rules are better stated with DataAnnotations attributes on the property ([Range], [AllowedValues]).
/// </summary>
public interface IValidatableConfig
{
    /// <summary>The problems of this record: each with the snake_case name of the field it concerns (relative to this
    /// record; "" for the record itself) and a message.</summary>
    IEnumerable<(string Field, string Problem)> Validate();
}

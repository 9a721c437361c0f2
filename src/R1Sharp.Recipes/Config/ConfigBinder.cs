using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using R1Sharp.Data;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace R1Sharp.Recipes.Config;

/// <summary>
/// Config as data (docs/architecture.md): a recipe's options are an immutable record with defaults in code; a named preset
/// (<see cref="PresetRegistry"/>) or the defaults are the base; a YAML file overrides the fields it names; then
/// <c>--set path=value</c> arguments override single fields; then every value is validated. All errors of the file,
/// the overrides and the validation are reported together, each with the file and line it came from.
/// </summary>
/// <remarks>
/// <para>Names: a property <c>LearningRate</c> is the key <c>learning_rate</c>; enum values likewise
/// (<c>LossType.DrGrpo</c> is <c>dr_grpo</c>); see <see cref="ConfigNames.ToSnakeCase"/>. Unknown keys are errors.</para>
/// <para>Types: strings, booleans (<c>true</c>/<c>false</c>), integers, floating-point numbers (<c>3e-6</c>,
/// <c>.inf</c>, <c>.nan</c>), enums by name, <c>TimeSpan</c> (seconds or <c>hh:mm:ss</c>), nullable values
/// (<c>null</c> or <c>~</c>), lists (<c>T[]</c>, <c>IReadOnlyList&lt;T&gt;</c>, …), string-keyed dictionaries, and
/// nested records. A nested record in a file overrides only the fields it names; a list or dictionary replaces the
/// whole value. A positional record with one required parameter may be written as that value
/// (<c>rewards: [accuracy, format]</c> for <c>RewardSpec(string Name, double Weight = 1)</c>).</para>
/// <para>Overrides: <c>--set learning_rate=1e-5</c>, <c>--set sampling.temperature=0.7</c>,
/// <c>--set rewards[1].weight=0.5</c> (or <c>rewards.1.weight</c>), <c>--set rewards="[accuracy, format]"</c>. The value
/// is YAML, so lists and mappings can be given inline.</para>
/// <para>Validation: DataAnnotations attributes on a property (or a positional record's parameter) —
/// <see cref="System.ComponentModel.DataAnnotations.RangeAttribute"/>, <see cref="System.ComponentModel.DataAnnotations.AllowedValuesAttribute"/>
/// (for a string with a fixed set of values; an enum says it better), <c>[Length]</c>, … — and
/// <see cref="IValidatableConfig"/> for rules across fields.</para>
/// </remarks>
public static partial class ConfigBinder
{
    /// <summary>The source name of command-line overrides in errors.</summary>
    public const string OverrideSource = "--set";

    /// <summary>
    /// <paramref name="baseValue"/> (defaults or a preset) with the fields of <paramref name="configFile"/> and then
    /// <paramref name="overrides"/> (<c>path=value</c>) applied, validated.
    /// </summary>
    /// <param name="baseValue">The defaults (<c>new GrpoOptions()</c>) or a preset.</param>
    /// <param name="configFile">A YAML file whose top-level keys are the record's fields; null for none.</param>
    /// <param name="overrides">Assignments <c>path=value</c>, applied in order after the file.</param>
    /// <param name="root">Prefix of field paths in messages (e.g. <c>grpo</c>); empty for none.</param>
    /// <exception cref="ConfigException">Every problem found, together.</exception>
    public static T Load<T>(T baseValue, string? configFile = null, IEnumerable<string>? overrides = null, string root = "") where T : notnull
    {
        string? yaml = null;
        if (configFile is not null)
        {
            if (!File.Exists(configFile))
                throw new ConfigException([new ConfigError(configFile, null, "", "config file not found")]);
            yaml = File.ReadAllText(configFile);
        }
        return LoadYaml(baseValue, yaml, configFile ?? "config", overrides, root);
    }

    /// <summary>As <see cref="Load{T}"/>, from YAML text; <paramref name="sourceName"/> names it in errors.</summary>
    public static T LoadYaml<T>(T baseValue, string? yaml, string sourceName, IEnumerable<string>? overrides = null, string root = "") where T : notnull
    {
        ArgumentNullException.ThrowIfNull(baseValue);
        var errors = new List<ConfigError>();
        var origins = new Dictionary<string, Origin>(StringComparer.Ordinal);
        object value = baseValue;
        if (yaml is not null) value = ApplyYaml(value, typeof(T), yaml, sourceName, root, errors, origins);
        foreach (var assignment in overrides ?? [])
            value = ApplyOverride(value, typeof(T), assignment, root, errors, origins);
        Validate(value, typeof(T), "", root, errors, origins);
        if (errors.Count > 0) throw new ConfigException(errors);
        return (T)value;
    }

    /// <summary>
    /// Throws <see cref="ConfigException"/> listing every problem of <paramref name="value"/> (as <see cref="Validate{T}"/>): the check
    /// a recipe makes on options built in code, the same rules a config file meets.
    /// </summary>
    public static void Check<T>(T value, string root = "") where T : notnull
    {
        var errors = Validate(value, root);
        if (errors.Count > 0) throw new ConfigException(errors);
    }

    /// <summary>The problems <paramref name="value"/> has ([Range] attributes and <see cref="IValidatableConfig"/>), without source lines.</summary>
    public static IReadOnlyList<ConfigError> Validate<T>(T value, string root = "") where T : notnull
    {
        var errors = new List<ConfigError>();
        Validate(value, typeof(T), "", root, errors, new Dictionary<string, Origin>());
        return errors;
    }

    private static object ApplyYaml(object value, Type type, string yaml, string source, string root, List<ConfigError> errors, Dictionary<string, Origin> origins)
    {
        var reader = new ConfigReader(source, root, errors, origins);
        YamlNode? document;
        try
        {
            document = Parse(yaml);
        }
        catch (YamlException e)
        {
            errors.Add(new ConfigError(source, (int)e.Start.Line, "", $"not valid YAML: {InnerMessage(e)}"));
            return value;
        }
        if (document is null || (document is YamlScalarNode s && ConfigReader.IsNull(s))) return value;   // empty file
        if (document is not YamlMappingNode)
        {
            errors.Add(new ConfigError(source, (int)document.Start.Line, "",
                $"the file must be a mapping of fields (key: value lines), not {(document is YamlSequenceNode ? "a list" : "a single value")}"));
            return value;
        }
        return reader.Bind(document, type, null, value, "") ?? value;
    }

    /// <summary>Applies one <c>path=value</c> assignment.</summary>
    private static object ApplyOverride(object value, Type type, string assignment, string root, List<ConfigError> errors, Dictionary<string, Origin> origins)
    {
        var reader = new ConfigReader(OverrideSource, root, errors, origins);
        int eq = assignment.IndexOf('=');
        if (eq <= 0)
        {
            errors.Add(new ConfigError(OverrideSource, null, "", $"'{assignment}' is not path=value (e.g. learning_rate=1e-5)"));
            return value;
        }
        string key = assignment[..eq].Trim();
        if (!TryParsePath(key, out var segments))
        {
            errors.Add(new ConfigError(OverrideSource, null, "", $"'{key}' is not a field path (e.g. sampling.temperature or rewards[0].weight)"));
            return value;
        }
        YamlNode node;
        try
        {
            node = Parse(assignment[(eq + 1)..]) ?? new YamlScalarNode("");
        }
        catch (YamlException e)
        {
            errors.Add(new ConfigError(OverrideSource, null, ConfigReader.Display(root, key), $"the value is not valid YAML: {InnerMessage(e)}"));
            return value;
        }
        return (ApplyPath(reader, value, type, null, segments, 0, node, "") ?? value);
    }

    /// <summary>Walks <paramref name="segments"/> from <paramref name="current"/>, copying each record and list on the way, and binds the value at the end.</summary>
    private static object? ApplyPath(ConfigReader reader, object? current, Type type, NullabilityInfo? nullability, List<object> segments, int i,
        YamlNode node, string path)
    {
        if (i == segments.Count) return reader.Bind(node, type, nullability, current, path);
        var t = Nullable.GetUnderlyingType(type) ?? type;
        var kind = ConfigTypes.KindOf(t);
        switch (segments[i])
        {
            case int index when kind == ConfigKind.List:
            {
                var items = current is IEnumerable e ? e.Cast<object?>().ToList() : [];
                string at = $"{path}[{index}]";
                if (index >= items.Count)
                {
                    reader.Error(null, at, $"index {index} is out of range (the list has {items.Count} item{(items.Count == 1 ? "" : "s")})");
                    return current;
                }
                var elementType = ConfigTypes.ElementType(t)!;
                items[index] = ApplyPath(reader, items[index], elementType, ConfigTypes.ItemNullability(t, nullability), segments, i + 1, node, at);
                return ConfigTypes.MakeList(t, elementType, items);
            }
            case string name when kind == ConfigKind.Record:
            {
                var model = RecordModel.For(t);
                string fieldPath = ConfigReader.Join(path, name);
                if (!model.ByName.TryGetValue(name, out var field))
                {
                    reader.Error(null, fieldPath, ConfigReader.UnknownField(model, name));
                    return current;
                }
                object record;
                if (current is not null) record = model.Copy(current);
                else if (model.Parameterless is not null) record = model.Parameterless.Invoke(null);
                else
                {
                    reader.Error(null, path, "is null; set the whole value instead");
                    return current;
                }
                field.Set(record, ApplyPath(reader, field.Get(record), field.Type, field.Nullability, segments, i + 1, node, fieldPath));
                return record;
            }
            case string key when kind == ConfigKind.Dictionary:
            {
                var valueType = ConfigTypes.DictionaryValueType(t)!;
                var entries = current is IEnumerable e
                    ? e.Cast<object>().Select(o => new KeyValuePair<string, object?>((string)o.GetType().GetProperty("Key")!.GetValue(o)!, o.GetType().GetProperty("Value")!.GetValue(o))).ToList()
                    : [];
                int at = entries.FindIndex(kv => kv.Key == key);
                object? old = at >= 0 ? entries[at].Value : null;
                var updated = ApplyPath(reader, old, valueType, ConfigTypes.ItemNullability(t, nullability), segments, i + 1, node, ConfigReader.Join(path, key));
                if (at >= 0) entries[at] = new(key, updated);
                else entries.Add(new(key, updated));
                return ConfigTypes.MakeDictionary(valueType, entries);
            }
            default:
                reader.Error(null, path, segments[i] is int ? $"is {ConfigTypes.Describe(t)}, not a list" : $"is {ConfigTypes.Describe(t)}: it has no field '{segments[i]}'");
                return current;
        }
    }

    /// <summary>Parses <c>a.b[2].c</c> or <c>a.b.2.c</c> into names and indices.</summary>
    private static bool TryParsePath(string key, out List<object> segments)
    {
        segments = [];
        foreach (var part in key.Split('.'))
        {
            var m = PathSegment().Match(part);
            if (!m.Success) return false;
            string name = m.Groups["name"].Value;
            segments.Add(int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : name);
            foreach (Capture index in m.Groups["index"].Captures) segments.Add(int.Parse(index.Value, CultureInfo.InvariantCulture));
        }
        return segments[0] is string;
    }

    [GeneratedRegex(@"^(?<name>[A-Za-z0-9_\-]+)(\[(?<index>[0-9]+)\])*$")]
    private static partial Regex PathSegment();

    private static void Validate(object? value, Type type, string path, string root, List<ConfigError> errors, Dictionary<string, Origin> origins)
    {
        if (value is null) return;
        var t = Nullable.GetUnderlyingType(type) ?? value.GetType();
        switch (ConfigTypes.KindOf(t))
        {
            case ConfigKind.Scalar:
                return;
            case ConfigKind.List:
            {
                int i = 0;
                foreach (var item in (IEnumerable)value) Validate(item, item?.GetType() ?? typeof(object), $"{path}[{i++}]", root, errors, origins);
                return;
            }
            case ConfigKind.Dictionary:
            {
                foreach (var entry in (IEnumerable)value)
                {
                    var key = (string)entry.GetType().GetProperty("Key")!.GetValue(entry)!;
                    var item = entry.GetType().GetProperty("Value")!.GetValue(entry);
                    Validate(item, item?.GetType() ?? typeof(object), ConfigReader.Join(path, key), root, errors, origins);
                }
                return;
            }
        }
        var model = RecordModel.For(t);
        foreach (var field in model.Fields)
        {
            string fieldPath = ConfigReader.Join(path, field.Name);
            var fieldValue = field.Get(value);
            if (fieldValue is null && !ConfigTypes.AllowsNull(field.Type, field.Nullability))
                Add(errors, origins, root, fieldPath, "must be set (it is null)");
            if (fieldValue is double d && !double.IsFinite(d) || fieldValue is float f && !float.IsFinite(f))
                Add(errors, origins, root, fieldPath, $"must be a finite number, got {ConfigWriter.Scalar(fieldValue)}");
            else if (fieldValue is not null)
                foreach (var rule in field.Rules.Where(r => !r.IsValid(fieldValue)))
                    Add(errors, origins, root, fieldPath, Problem(rule, field.Name, fieldValue));
            Validate(fieldValue, field.Type, fieldPath, root, errors, origins);
        }
        if (value is IValidatableConfig validatable)
            foreach (var (field, problem) in validatable.Validate())
                Add(errors, origins, root, ConfigReader.Join(path, field), problem);
    }

    private static void Add(List<ConfigError> errors, Dictionary<string, Origin> origins, string root, string path, string problem)
    {
        var origin = origins.TryGetValue(path, out var o) ? o : (Origin?)null;
        errors.Add(new ConfigError(origin?.Source, origin?.Line, ConfigReader.Display(root, path), problem));
    }

    private static string Problem(System.ComponentModel.DataAnnotations.ValidationAttribute rule, string name, object value)
    {
        switch (rule)
        {
            case System.ComponentModel.DataAnnotations.RangeAttribute range:
                string lo = range.MinimumIsExclusive ? "(" : "[", hi = range.MaximumIsExclusive ? ")" : "]";
                return $"{ConfigWriter.Scalar(value)} is outside {lo}{ConfigWriter.Scalar(range.Minimum)}, {ConfigWriter.Scalar(range.Maximum)}{hi}";
            case System.ComponentModel.DataAnnotations.AllowedValuesAttribute allowed:
                return $"'{ConfigWriter.Scalar(value)}' is not one of {string.Join(", ", allowed.Values.Select(v => v is null ? "null" : ConfigWriter.Scalar(v)))}";
            default:
                return rule.FormatErrorMessage(name);
        }
    }

    /// <summary>The first document's root node, or null for an empty text.</summary>
    private static YamlNode? Parse(string yaml) => ConfigReader.ParseYaml(yaml);

    private static string InnerMessage(YamlException e)
    {
        string m = (e.InnerException as YamlException)?.Message ?? e.Message;
        // YamlDotNet prefixes "(Line: 3, Col: 1, Idx: 20) - (Line: …): "; the line is reported separately.
        int cut = m.LastIndexOf("): ", StringComparison.Ordinal);
        return cut >= 0 && m.StartsWith("(Line", StringComparison.Ordinal) ? m[(cut + 3)..] : m;
    }

    /// <summary>The effective config as YAML (snake_case keys, every field), for the run folder; see <see cref="ConfigWriter"/>.</summary>
    public static string ToYaml<T>(T value, string? header = null) where T : notnull => ConfigWriter.Write(value, typeof(T), header);

    /// <summary>Writes <see cref="ToYaml{T}"/> to <paramref name="path"/> whole or not at all (<see cref="AtomicFile"/>).</summary>
    public static void WriteYaml<T>(T value, string path, string? header = null) where T : notnull =>
        AtomicFile.WriteAllText(path, ToYaml(value, header));
}

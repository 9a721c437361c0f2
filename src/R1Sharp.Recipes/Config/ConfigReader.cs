using System.Globalization;
using System.Reflection;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace R1Sharp.Recipes.Config;

/// <summary>Where a field's value was last set: a file and line, or <c>--set</c>.</summary>
internal readonly record struct Origin(string Source, int? Line);

/// <summary>
/// Binds YAML nodes onto typed values, collecting every error instead of stopping at the first. A mapping applied to
/// a record overrides only the fields it names (the rest keep their current value); a list or dictionary replaces the
/// whole value. Records are never mutated: each change is made on a copy.
/// </summary>
internal sealed class ConfigReader(string source, string root, List<ConfigError> errors, Dictionary<string, Origin> origins)
{
    public string Source => source;

    public void Error(YamlNode? node, string path, string problem) =>
        errors.Add(new ConfigError(source, LineOf(node), Display(root, path), problem));

    /// <summary>The node's 1-based line in a file; none for a <c>--set</c> value (its own text is one line).</summary>
    private int? LineOf(YamlNode? node) => node is null || source == ConfigBinder.OverrideSource ? null : (int)node.Start.Line;

    public static string Display(string root, string path) =>
        root.Length == 0 ? path : path.Length == 0 ? root : path.StartsWith('[') ? root + path : root + "." + path;

    public static string Join(string path, string field) => path.Length == 0 ? field : path + "." + field;

    /// <summary>
    /// The value <paramref name="node"/> gives a field of <paramref name="type"/> whose value is
    /// <paramref name="current"/>; on error, records it and returns <paramref name="current"/>.
    /// </summary>
    public object? Bind(YamlNode node, Type type, NullabilityInfo? nullability, object? current, string path)
    {
        if (node is YamlScalarNode s && IsNull(s))
        {
            if (ConfigTypes.AllowsNull(type, nullability)) return Set(path, node, null);
            Error(node, path, $"null is not allowed here (expected {ConfigTypes.Describe(type)})");
            return current;
        }
        var t = Nullable.GetUnderlyingType(type) ?? type;
        switch (ConfigTypes.KindOf(t))
        {
            case ConfigKind.Scalar:
                if (node is not YamlScalarNode scalar)
                {
                    Error(node, path, $"expected {ConfigTypes.Describe(t)}, got {NodeKind(node)}");
                    return current;
                }
                return TryScalar(scalar, t, out var value, out var problem) ? Set(path, node, value) : Fail(node, path, problem!, current);

            case ConfigKind.List:
            {
                if (node is not YamlSequenceNode seq)
                {
                    Error(node, path, $"expected a list, got {NodeKind(node)}");
                    return current;
                }
                var elementType = ConfigTypes.ElementType(t)!;
                var itemNullability = ConfigTypes.ItemNullability(t, nullability);
                int before = errors.Count;
                var items = new List<object?>();
                int i = 0;
                foreach (var item in seq.Children)
                {
                    items.Add(Bind(item, elementType, itemNullability, null, $"{path}[{i}]"));
                    i++;
                }
                return errors.Count > before ? current : Set(path, node, ConfigTypes.MakeList(t, elementType, items));
            }

            case ConfigKind.Dictionary:
            {
                if (node is not YamlMappingNode map)
                {
                    Error(node, path, $"expected a mapping, got {NodeKind(node)}");
                    return current;
                }
                var valueType = ConfigTypes.DictionaryValueType(t)!;
                var itemNullability = ConfigTypes.ItemNullability(t, nullability);
                int before = errors.Count;
                var entries = new List<KeyValuePair<string, object?>>();
                foreach (var (k, v) in map.Children)
                {
                    if (k is not YamlScalarNode key || key.Value is null)
                    {
                        Error(k, path, "keys must be plain text");
                        continue;
                    }
                    entries.Add(new(key.Value, Bind(v, valueType, itemNullability, null, Join(path, key.Value))));
                }
                return errors.Count > before ? current : Set(path, node, ConfigTypes.MakeDictionary(valueType, entries));
            }

            default:
                return BindRecord(node, t, current, path);
        }
    }

    private object? BindRecord(YamlNode node, Type type, object? current, string path)
    {
        var model = RecordModel.For(type);
        if (node is YamlScalarNode shorthand)
        {
            // A positional record with one required parameter may be written as that parameter's value:
            // rewards: [accuracy, format] for RewardSpec(string Name, double Weight = 1.0, ...).
            var required = model.Primary?.GetParameters().Where(p => !p.HasDefaultValue).ToList();
            if (current is null && required is { Count: 1 } && ConfigTypes.IsScalar(required[0].ParameterType))
                return Construct(model, new YamlMappingNode { { ConfigNames.ToSnakeCase(required[0].Name!), shorthand } }, path, node);
            Error(node, path, $"expected a mapping of fields ({string.Join(", ", model.Fields.Select(f => f.Name))}), got {NodeKind(node)}");
            return current;
        }
        if (node is not YamlMappingNode map)
        {
            Error(node, path, $"expected a mapping of fields, got {NodeKind(node)}");
            return current;
        }
        if (current is null) return Construct(model, map, path, node);
        var copy = model.Copy(current);
        ApplyFields(model, copy, map, path, skip: null);
        return Set(path, node, copy);
    }

    /// <summary>A new record from a mapping: defaults of its parameterless constructor, or its primary constructor's arguments.</summary>
    private object? Construct(RecordModel model, YamlMappingNode map, string path, YamlNode node)
    {
        if (model.Parameterless is not null)
        {
            var fresh = model.Parameterless.Invoke(null);
            ApplyFields(model, fresh, map, path, skip: null);
            return Set(path, node, fresh);
        }
        if (model.Primary is null)
        {
            Error(node, path, $"{model.Type.Name} cannot be created from a config: it needs a parameterless or a single public constructor");
            return null;
        }
        int before = errors.Count;
        var given = Keys(map);
        var parameters = model.Primary.GetParameters();
        var args = new object?[parameters.Length];
        var used = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < parameters.Length; i++)
        {
            var p = parameters[i];
            string name = ConfigNames.ToSnakeCase(p.Name!);
            var field = model.ByName.GetValueOrDefault(name);
            if (given.TryGetValue(name, out var valueNode))
            {
                used.Add(name);
                args[i] = Bind(valueNode, p.ParameterType, field?.Nullability, p.HasDefaultValue ? p.DefaultValue : null, Join(path, name));
            }
            else if (p.HasDefaultValue) args[i] = p.DefaultValue;
            else Error(node, Join(path, name), "missing (required)");
        }
        if (errors.Count > before) return null;
        var created = model.Primary.Invoke(args);
        ApplyFields(model, created, map, path, skip: used);
        return Set(path, node, created);
    }

    private static Dictionary<string, YamlNode> Keys(YamlMappingNode map)
    {
        var keys = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        foreach (var (k, v) in map.Children)
            if (k is YamlScalarNode { Value: { } name }) keys.TryAdd(name, v);
        return keys;
    }

    /// <summary>Sets each field the mapping names on <paramref name="record"/> (a fresh copy).</summary>
    public void ApplyFields(RecordModel model, object record, YamlMappingNode map, string path, ISet<string>? skip)
    {
        foreach (var (k, v) in map.Children)
        {
            if (k is not YamlScalarNode { Value: { } name })
            {
                Error(k, path, "field names must be plain text");
                continue;
            }
            if (skip?.Contains(name) == true) continue;
            if (!model.ByName.TryGetValue(name, out var field))
            {
                Error(k, Join(path, name), UnknownField(model, name));
                continue;
            }
            field.Set(record, Bind(v, field.Type, field.Nullability, field.Get(record), Join(path, name)));
        }
    }

    public static string UnknownField(RecordModel model, string name)
    {
        var names = model.Fields.Select(f => f.Name).ToList();
        string? close = ConfigNames.Closest(name, names)
                        ?? (names.Contains(ConfigNames.ToSnakeCase(name)) ? ConfigNames.ToSnakeCase(name) : null);
        return close is not null
            ? $"unknown field '{name}' (did you mean {close}?)"
            : $"unknown field '{name}'; {model.Type.Name} has {string.Join(", ", names)}";
    }

    private object? Set(string path, YamlNode node, object? value)
    {
        origins[path] = new Origin(source, LineOf(node));
        return value;
    }

    private object? Fail(YamlNode node, string path, string problem, object? current)
    {
        Error(node, path, problem);
        return current;
    }

    private static string NodeKind(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        YamlScalarNode s => $"'{s.Value}'",
        _ => node.NodeType.ToString(),
    };

    /// <summary>
    /// The first document's root node of <paramref name="yaml"/>, or null for an empty text. Every way the text can fail
    /// to parse is a <see cref="YamlException"/> with its position: YamlDotNet's scanner also throws plain exceptions on
    /// some malformed input (InvalidOperationException for a flow sequence left open across lines), which are reported at
    /// the last place the parser reached.
    /// </summary>
    public static YamlNode? ParseYaml(string yaml)
    {
        var parser = new Parser(new StringReader(yaml));
        var stream = new YamlStream();
        try
        {
            stream.Load(parser);
        }
        catch (Exception e) when (e is not YamlException and not OutOfMemoryException)
        {
            var at = parser.Current?.End ?? Mark.Empty;
            throw new YamlException(at, at,
                $"the YAML breaks off after line {at.Line} (an unclosed '[', '{{' or quote?)", e);
        }
        if (stream.Documents.Count > 1)
        {
            var second = stream.Documents[1].RootNode.Start;
            throw new YamlException(second, second,
                $"the file holds {stream.Documents.Count} YAML documents (separated by '---'); a config is one mapping of fields");
        }
        return stream.Documents.Count == 0 ? null : stream.Documents[0].RootNode;
    }

    /// <summary>YAML's null: <c>~</c>, <c>null</c>, <c>Null</c>, <c>NULL</c> or nothing, unquoted.</summary>
    public static bool IsNull(YamlScalarNode s) =>
        s.Style is ScalarStyle.Plain or ScalarStyle.Any && s.Value is null or "" or "~" or "null" or "Null" or "NULL";

    /// <summary>Converts a scalar to <paramref name="t"/> (YAML 1.2 core schema spellings, invariant culture).</summary>
    public static bool TryScalar(YamlScalarNode node, Type t, out object? value, out string? problem)
    {
        string text = node.Value ?? "";
        value = null;
        problem = null;
        if (t == typeof(string))
        {
            value = text;
            return true;
        }
        string trimmed = text.Trim();
        if (t == typeof(bool))
        {
            if (trimmed is "true" or "True" or "TRUE") value = true;
            else if (trimmed is "false" or "False" or "FALSE") value = false;
            else problem = $"'{text}' is not true or false";
            return problem is null;
        }
        if (t.IsEnum)
        {
            var names = ConfigTypes.EnumNames(t);
            var match = names.FirstOrDefault(e => e.Name == trimmed || string.Equals(e.Value.ToString(), trimmed, StringComparison.OrdinalIgnoreCase));
            if (match.Name is not null)
            {
                value = match.Value;
                return true;
            }
            problem = $"'{text}' is not one of {string.Join(", ", names.Select(e => e.Name))}";
            return false;
        }
        if (t == typeof(TimeSpan))
        {
            if (TryDouble(trimmed, out double seconds) && double.IsFinite(seconds)) value = TimeSpan.FromSeconds(seconds);
            else if (TimeSpan.TryParse(trimmed, CultureInfo.InvariantCulture, out var span)) value = span;
            else problem = $"'{text}' is not a duration (seconds, or hh:mm:ss)";
            return problem is null;
        }
        if (ConfigTypes.IsInteger(t))
        {
            if (long.TryParse(trimmed, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long l))
            {
                try
                {
                    value = Convert.ChangeType(l, t, CultureInfo.InvariantCulture);
                    return true;
                }
                catch (OverflowException)
                {
                    problem = $"{text} is out of range for {t.Name}";
                    return false;
                }
            }
            problem = TryDouble(trimmed, out _) ? $"'{text}' is not a whole number" : $"'{text}' is not an integer";
            return false;
        }
        if (t == typeof(double) || t == typeof(float))
        {
            if (!TryDouble(trimmed, out double d))
            {
                problem = $"'{text}' is not a number";
                return false;
            }
            value = t == typeof(float) ? (float)d : d;
            return true;
        }
        if (t == typeof(decimal))
        {
            if (decimal.TryParse(trimmed, NumberStyles.Float, CultureInfo.InvariantCulture, out var m)) value = m;
            else problem = $"'{text}' is not a number";
            return problem is null;
        }
        problem = $"{t.Name} cannot be read from a config";
        return false;
    }

    private static bool TryDouble(string s, out double d)
    {
        switch (s)
        {
            case ".inf" or ".Inf" or ".INF" or "+.inf" or "+.Inf" or "+.INF": d = double.PositiveInfinity; return true;
            case "-.inf" or "-.Inf" or "-.INF": d = double.NegativeInfinity; return true;
            case ".nan" or ".NaN" or ".NAN": d = double.NaN; return true;
        }
        // Digits, an optional sign, point and exponent: no "Infinity", "NaN" or thousands separators.
        if (s.Length == 0 || s.Any(c => !(char.IsAsciiDigit(c) || c is '+' or '-' or '.' or 'e' or 'E')))
        {
            d = 0;
            return false;
        }
        return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out d);
    }
}

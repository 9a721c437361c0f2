using System.Collections;
using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace R1Sharp.Recipes.Config;

/// <summary>
/// Writes a config value back as YAML that <see cref="ConfigBinder"/> reads to the same value: every field, in
/// declaration order, snake_case keys, enums by snake_case name, numbers in invariant round-trip form with a decimal
/// point (<c>3.0e-06</c>, so YAML 1.1 readers such as PyYAML see floats too), <c>.inf</c>/<c>.nan</c>, and strings
/// quoted when they would otherwise read as null, a boolean or a number. Lists of scalars are written inline.
/// </summary>
public static class ConfigWriter
{
    /// <summary>The YAML of <paramref name="value"/>; <paramref name="header"/> lines become comments on top.</summary>
    public static string Write(object value, Type type, string? header = null)
    {
        var text = new StringWriter(CultureInfo.InvariantCulture);
        if (header is not null)
            foreach (var line in header.Split('\n')) text.WriteLine(("# " + line.TrimEnd('\r')).TrimEnd());
        var emitter = new Emitter(text, new EmitterSettings().WithBestWidth(int.MaxValue));
        emitter.Emit(new StreamStart());
        emitter.Emit(new DocumentStart(null, null, isImplicit: true));
        Node(emitter, value, type);
        emitter.Emit(new DocumentEnd(isImplicit: true));
        emitter.Emit(new StreamEnd());
        return text.ToString();
    }

    private static void Node(IEmitter emitter, object? value, Type type)
    {
        if (value is null)
        {
            emitter.Emit(new Scalar(null, null, "null", ScalarStyle.Plain, true, false));
            return;
        }
        var t = Nullable.GetUnderlyingType(type) ?? (type == typeof(object) ? value.GetType() : type);
        switch (ConfigTypes.KindOf(t))
        {
            case ConfigKind.Scalar:
                emitter.Emit(ScalarEvent(value));
                return;
            case ConfigKind.List:
            {
                var items = ((IEnumerable)value).Cast<object?>().ToList();
                var elementType = ConfigTypes.ElementType(t)!;
                bool inline = items.Count == 0 || ConfigTypes.KindOf(Nullable.GetUnderlyingType(elementType) ?? elementType) == ConfigKind.Scalar;
                emitter.Emit(new SequenceStart(null, null, true, inline ? SequenceStyle.Flow : SequenceStyle.Block));
                foreach (var item in items) Node(emitter, item, elementType);
                emitter.Emit(new SequenceEnd());
                return;
            }
            case ConfigKind.Dictionary:
            {
                var valueType = ConfigTypes.DictionaryValueType(t)!;
                var entries = ((IEnumerable)value).Cast<object>().ToList();
                emitter.Emit(new MappingStart(null, null, true, entries.Count == 0 ? MappingStyle.Flow : MappingStyle.Block));
                foreach (var entry in entries)
                {
                    emitter.Emit(StringEvent((string)entry.GetType().GetProperty("Key")!.GetValue(entry)!));
                    Node(emitter, entry.GetType().GetProperty("Value")!.GetValue(entry), valueType);
                }
                emitter.Emit(new MappingEnd());
                return;
            }
            default:
            {
                var model = RecordModel.For(t);
                emitter.Emit(new MappingStart(null, null, true, model.Fields.Count == 0 ? MappingStyle.Flow : MappingStyle.Block));
                foreach (var field in model.Fields)
                {
                    emitter.Emit(new Scalar(null, null, field.Name, ScalarStyle.Plain, true, false));
                    Node(emitter, field.Get(value), field.Type);
                }
                emitter.Emit(new MappingEnd());
                return;
            }
        }
    }

    private static Scalar ScalarEvent(object value) => value switch
    {
        string s => StringEvent(s),
        _ => new Scalar(null, null, Scalar(value), ScalarStyle.Plain, true, false),
    };

    /// <summary>A string: double-quoted when it would read as another type, a literal block (<c>|-</c>) when it has
    /// several lines (the emitter falls back to quotes where a block cannot hold it exactly), else as the emitter likes.</summary>
    private static Scalar StringEvent(string s) =>
        new(null, null, s, ReadsAsNonString(s) ? ScalarStyle.DoubleQuoted : s.Contains('\n') ? ScalarStyle.Literal : ScalarStyle.Any, true, true);

    /// <summary>A scalar value as config text (numbers invariant, with a decimal point; enums snake_case).</summary>
    public static string Scalar(object value) => value switch
    {
        bool b => b ? "true" : "false",
        double d => Float(d),
        float f => Float(f),
        decimal m => m.ToString(CultureInfo.InvariantCulture),
        TimeSpan span => Float(span.TotalSeconds),
        Enum e => ConfigTypes.EnumName(e),
        IFormattable n => n.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    private static string Float(double d)
    {
        if (double.IsNaN(d)) return ".nan";
        if (double.IsPositiveInfinity(d)) return ".inf";
        if (double.IsNegativeInfinity(d)) return "-.inf";
        string r = d.ToString("R", CultureInfo.InvariantCulture);
        int e = r.IndexOf('E');
        string mantissa = e < 0 ? r : r[..e];
        if (!mantissa.Contains('.')) mantissa += ".0";
        if (e < 0) return mantissa;
        string exponent = r[(e + 1)..];
        if (exponent[0] != '-' && exponent[0] != '+') exponent = "+" + exponent;
        return mantissa + "e" + exponent;
    }

    /// <summary>True for text a YAML reader would take as null, a boolean or a number when unquoted.</summary>
    private static bool ReadsAsNonString(string s) =>
        s.Length == 0 || s != s.Trim()
        || s is "~" or "null" or "Null" or "NULL"
        || s.ToLowerInvariant() is "true" or "false" or "yes" or "no" or "on" or "off" or "y" or "n"
        || s.ToLowerInvariant() is ".inf" or "+.inf" or "-.inf" or ".nan"
        || double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out _)
        || (s.StartsWith("0x", StringComparison.OrdinalIgnoreCase) && s.Length > 2);
}

using System.Collections;
using System.Collections.Concurrent;
using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace R1Sharp.Recipes.Config;

/// <summary>One settable field of an options record, as the CLI's help shows it.</summary>
/// <param name="Path">The snake_case path <c>--set</c> takes (<c>learning_rate</c>, <c>sampling.temperature</c>).</param>
/// <param name="Type">What values it takes (<c>a number</c>, <c>one of grpo, bnpo, dapo, dr_grpo</c>).</param>
/// <param name="Default">The value in the record given (its defaults, or a preset), as YAML.</param>
/// <param name="Summary">The first sentence of the property's documentation comment; null when it has none.</param>
public sealed record ConfigFieldInfo(string Path, string Type, string Default, string? Summary);

/// <summary>
/// Every leaf field of an options record (nested records are walked, [Flatten] records are the parent's own), with its
/// type, value and the summary of its documentation comment read from the assembly's XML documentation file — so the help
/// a user reads is the comment a developer writes, and the two cannot drift.
/// </summary>
public static partial class ConfigFields
{
    public static IReadOnlyList<ConfigFieldInfo> Of<T>(T value) where T : notnull => [.. Walk(value, typeof(T), "")];

    static IEnumerable<ConfigFieldInfo> Walk(object value, Type type, string prefix)
    {
        foreach (var field in RecordModel.For(type).Fields)
        {
            var fieldValue = field.Get(value);
            var t = Nullable.GetUnderlyingType(field.Type) ?? field.Type;
            if (ConfigTypes.KindOf(t) == ConfigKind.Record && fieldValue is not null)
            {
                foreach (var inner in Walk(fieldValue, t, prefix + field.Name + ".")) yield return inner;
                continue;
            }
            yield return new ConfigFieldInfo(prefix + field.Name, ConfigTypes.Describe(t), Show(fieldValue), Summary(field.Property));
        }
    }

    /// <summary>A value in one short line: scalars as YAML writes them, lists in brackets (records by their name).</summary>
    static string Show(object? value) => value switch
    {
        null => "null",
        string s => s.Length == 0 ? "\"\"" : s,
        IEnumerable items and not IDictionary =>
            "[" + string.Join(", ", items.Cast<object?>().Select(i => i is not null && ConfigTypes.KindOf(i.GetType()) == ConfigKind.Record
                ? RecordModel.For(i.GetType()).ByName.TryGetValue("name", out var n) ? Show(n.Get(i)) : i.GetType().Name
                : Show(i))) + "]",
        _ when ConfigTypes.KindOf(value.GetType()) == ConfigKind.Scalar => ConfigWriter.Scalar(value),
        _ => "{…}",
    };

    static readonly ConcurrentDictionary<Assembly, IReadOnlyDictionary<string, string>> Docs = new();

    /// <summary>The first sentence of <paramref name="property"/>'s &lt;summary&gt;, tags turned into their text.</summary>
    public static string? Summary(PropertyInfo property)
    {
        var docs = Docs.GetOrAdd(property.DeclaringType!.Assembly, Load);
        string id = $"P:{property.DeclaringType!.FullName!.Replace('+', '.')}.{property.Name}";
        if (!docs.TryGetValue(id, out var text)) return null;
        var sentence = FirstSentence().Match(text);
        return sentence.Success ? sentence.Value.Trim() : text;
    }

    static IReadOnlyDictionary<string, string> Load(Assembly assembly)
    {
        var path = Path.ChangeExtension(assembly.Location, ".xml");
        if (string.IsNullOrEmpty(assembly.Location) || !File.Exists(path)) return new Dictionary<string, string>();
        var members = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var member in XDocument.Load(path).Descendants("member"))
        {
            if (member.Attribute("name")?.Value is not { } name || member.Element("summary") is not { } summary) continue;
            members[name] = Text(summary);
        }
        return members;
    }

    /// <summary>The text of a doc element: &lt;c&gt;x&lt;/c&gt; → x, &lt;see cref="T:A.B"/&gt; → B, white space collapsed.</summary>
    static string Text(XElement element)
    {
        var parts = element.Nodes().Select(n => n switch
        {
            XText t => t.Value,
            XElement e when e.Name == "see" || e.Name == "seealso" => e.Value.Length > 0 ? e.Value
                : (e.Attribute("cref")?.Value ?? e.Attribute("langword")?.Value ?? "").Split(':', '.').Last().Split('(')[0],
            XElement e when e.Name == "paramref" || e.Name == "typeparamref" => e.Attribute("name")?.Value ?? "",
            XElement e => Text(e),
            _ => "",
        });
        return Spaces().Replace(string.Concat(parts), " ").Trim();
    }

    [GeneratedRegex(@"^.*?\.(?=\s+[A-Z(]|$)")]
    private static partial Regex FirstSentence();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();
}

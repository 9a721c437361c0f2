using System.Text.Json;

namespace R1Sharp.Text.Tokenization;

/// <summary>A JSON value together with the file it came from and its JSON path, for precise error messages.</summary>
internal readonly record struct JsonNav(JsonElement Element, string File, string Path)
{
    public static JsonNav Parse(string json, string file, out JsonDocument document)
    {
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException e)
        {
            throw new TokenizerFormatException(file, $"line {(e.LineNumber ?? 0) + 1}, byte {(e.BytePositionInLine ?? 0) + 1}",
                "invalid JSON: " + e.Message, e);
        }
        return new JsonNav(document.RootElement, file, "$");
    }

    public JsonValueKind Kind => Element.ValueKind;

    public bool IsNull => Element.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined;

    public TokenizerFormatException Error(string problem) => new(File, Path, problem);

    /// <summary>The property, or null when absent. Throws when this value is not an object.</summary>
    public JsonNav? Optional(string name)
    {
        RequireKind(JsonValueKind.Object);
        return Element.TryGetProperty(name, out var value) ? new JsonNav(value, File, Path + "." + name) : null;
    }

    /// <summary>The property, or null when absent or JSON null.</summary>
    public JsonNav? OptionalNonNull(string name)
    {
        var v = Optional(name);
        return v is { IsNull: false } ? v : null;
    }

    public JsonNav Required(string name)
    {
        RequireKind(JsonValueKind.Object);
        if (!Element.TryGetProperty(name, out var value))
            throw Error($"missing required field '{name}'");
        return new JsonNav(value, File, Path + "." + name);
    }

    public JsonNav RequireKind(JsonValueKind kind)
    {
        if (Element.ValueKind != kind)
            throw Error($"expected {Describe(kind)}, found {Describe(Element.ValueKind)}");
        return this;
    }

    public string GetString()
    {
        RequireKind(JsonValueKind.String);
        return Element.GetString()!;
    }

    public bool GetBool()
    {
        if (Element.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            throw Error($"expected a boolean, found {Describe(Element.ValueKind)}");
        return Element.GetBoolean();
    }

    public int GetInt32()
    {
        if (Element.ValueKind != JsonValueKind.Number || !Element.TryGetInt32(out var v))
            throw Error($"expected a 32-bit integer, found {Describe(Element.ValueKind)} {Element.GetRawText()}");
        return v;
    }

    public string? StringOrNull(string name) => OptionalNonNull(name)?.GetString();

    public bool BoolOr(string name, bool fallback) => OptionalNonNull(name)?.GetBool() ?? fallback;

    public IEnumerable<JsonNav> Items()
    {
        RequireKind(JsonValueKind.Array);
        int i = 0;
        foreach (var item in Element.EnumerateArray())
            yield return new JsonNav(item, File, $"{Path}[{i++}]");
    }

    public IEnumerable<(string Name, JsonNav Value)> Properties()
    {
        RequireKind(JsonValueKind.Object);
        foreach (var p in Element.EnumerateObject())
            yield return (p.Name, new JsonNav(p.Value, File, $"{Path}[{JsonSerializer.Serialize(p.Name)}]"));
    }

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };
}

using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace R1Sharp.Data;

/// <summary>
/// How every JSON file R1Sharp writes looks: snake_case keys, text as Python's <c>json.dumps(ensure_ascii=False)</c> writes
/// it (no escaping of &lt;, &gt;, +, quotes or non-ASCII, so <c>&lt;think&gt;</c> stays greppable), and non-finite numbers
/// written as <c>null</c> (JSON has no NaN; a reader gets NaN back for a null double).
/// </summary>
public static class JsonFormat
{
    /// <summary>One line (JSONL rows).</summary>
    public static JsonSerializerOptions Compact { get; } = Create(indented: false);

    /// <summary>Indented (summary.json and other single-object files).</summary>
    public static JsonSerializerOptions Indented { get; } = Create(indented: true);

    static JsonSerializerOptions Create(bool indented)
    {
        var options = new JsonSerializerOptions
        {
            WriteIndented = indented,
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            DictionaryKeyPolicy = null,
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            Converters = { new FiniteDouble(), new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        };
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    /// <summary><paramref name="value"/> as indented JSON in these conventions.</summary>
    public static string Serialize<T>(T value, bool indented = true) => JsonSerializer.Serialize(value, indented ? Indented : Compact);

    /// <summary>Writes <paramref name="value"/> to <paramref name="path"/> whole or not at all.</summary>
    public static void Write<T>(string path, T value) => AtomicFile.WriteAllText(path, Serialize(value) + "\n");

    /// <summary>Reads a file written by <see cref="Write{T}"/>; an error names the file.</summary>
    public static T Read<T>(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(File.ReadAllText(path), Indented)
                   ?? throw new InvalidDataException($"{path}: expected a JSON object, got null");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a valid {typeof(T).Name} file ({e.Message}); delete it to start over", e);
        }
    }

    /// <summary>Doubles: non-finite values are written as null and null reads as NaN.</summary>
    sealed class FiniteDouble : JsonConverter<double>
    {
        public override bool HandleNull => true;

        public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.Null ? double.NaN : reader.GetDouble();

        public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options)
        {
            if (double.IsFinite(value)) writer.WriteNumberValue(value);
            else writer.WriteNullValue();
        }
    }
}

using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using R1Sharp.Data;

namespace R1Sharp.Text.Tokenization;

public sealed partial class HfTokenizer
{
    /// <summary>
    /// Writes <c>tokenizer.json</c> (Hugging Face format: vocabulary in id order, merges in rank order, the
    /// normalizer/pre-tokenizer/post-processor/decoder as loaded) and <c>tokenizer_config.json</c> (as loaded, or
    /// generated for trained tokenizers) into <paramref name="directory"/>. Each file is written to a temporary file
    /// first and then renamed over the target, so readers never see half a file.
    /// </summary>
    public void Save(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        Directory.CreateDirectory(directory);
        WriteAtomically(Path.Combine(directory, "tokenizer.json"), TokenizerJson());
        WriteAtomically(Path.Combine(directory, "tokenizer_config.json"), ConfigJson());
    }

    /// <summary>The tokenizer.json text that <see cref="Save"/> writes.</summary>
    public string ToTokenizerJson() => Encoding.UTF8.GetString(TokenizerJson());

    private static void WriteAtomically(string path, byte[] content) => AtomicFile.WriteBytes(path, stream => stream.Write(content));

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Indented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = false,
    };

    private byte[] TokenizerJson()
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("version", "1.0");
            w.WritePropertyName("truncation");
            w.WriteRawValue(_json.Truncation);
            w.WritePropertyName("padding");
            w.WriteRawValue(_json.Padding);
            w.WriteStartArray("added_tokens");
            foreach (var t in AddedTokens)
            {
                w.WriteStartObject();
                w.WriteNumber("id", t.Id);
                w.WriteString("content", t.Content);
                w.WriteBoolean("single_word", t.SingleWord);
                w.WriteBoolean("lstrip", t.LStrip);
                w.WriteBoolean("rstrip", t.RStrip);
                w.WriteBoolean("normalized", t.Normalized);
                w.WriteBoolean("special", t.Special);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            foreach (var (name, raw) in new[] { ("normalizer", _json.Normalizer), ("pre_tokenizer", _json.PreTokenizer),
                         ("post_processor", _json.PostProcessor), ("decoder", _json.Decoder) })
            {
                w.WritePropertyName(name);
                w.WriteRawValue(raw);
            }
            w.WriteStartObject("model");
            w.WritePropertyName("type");
            w.WriteRawValue(_json.ModelType);
            foreach (var (name, raw) in new[] { ("dropout", _json.Dropout), ("unk_token", _json.UnkToken),
                         ("continuing_subword_prefix", _json.ContinuingSubwordPrefix), ("end_of_word_suffix", _json.EndOfWordSuffix),
                         ("fuse_unk", _json.FuseUnk), ("byte_fallback", _json.ByteFallback) })
            {
                w.WritePropertyName(name);
                w.WriteRawValue(raw);
            }
            if (_json.IgnoreMerges is { } ignore) w.WriteBoolean("ignore_merges", ignore);
            w.WriteStartObject("vocab");
            foreach (var (token, id) in _model.Vocab.OrderBy(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal))
                w.WriteNumber(token, id);
            w.WriteEndObject();
            w.WriteStartArray("merges");
            bool pairs = _json.MergesAsPairs || _model.Merges.Any(m => m.Left.Contains(' ') || m.Right.Contains(' '));
            foreach (var (left, right) in _model.Merges)
            {
                if (pairs)
                {
                    w.WriteStartArray();
                    w.WriteStringValue(left);
                    w.WriteStringValue(right);
                    w.WriteEndArray();
                }
                else
                {
                    w.WriteStringValue(left + " " + right);
                }
            }
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return stream.ToArray();
    }

    private byte[] ConfigJson()
    {
        string? raw = _config.RawJson;
        if (raw is not null && (_config.ChatTemplate is null || raw.Contains("\"chat_template\"", StringComparison.Ordinal)))
            return Encoding.UTF8.GetBytes(raw);

        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, WriterOptions))
        {
            w.WriteStartObject();
            if (raw is not null)
            {
                // Loaded config whose chat template came from chat_template.jinja: keep every field, add the template.
                using var doc = JsonDocument.Parse(raw);
                foreach (var p in doc.RootElement.EnumerateObject()) p.WriteTo(w);
                w.WriteString("chat_template", ChatTemplate);
            }
            else
            {
                w.WriteBoolean("add_bos_token", _prefixIds.Length > 0 && BosTokenId is { } b && _prefixIds.Contains(b));
                w.WriteBoolean("add_eos_token", _suffixIds.Length > 0 && EosTokenId is { } e && _suffixIds.Contains(e));
                w.WriteStartObject("added_tokens_decoder");
                foreach (var t in AddedTokens)
                {
                    w.WriteStartObject(t.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    w.WriteString("content", t.Content);
                    w.WriteBoolean("lstrip", t.LStrip);
                    w.WriteBoolean("normalized", t.Normalized);
                    w.WriteBoolean("rstrip", t.RStrip);
                    w.WriteBoolean("single_word", t.SingleWord);
                    w.WriteBoolean("special", t.Special);
                    w.WriteEndObject();
                }
                w.WriteEndObject();
                WriteTokenOrNull(w, "bos_token", BosToken);
                WriteTokenOrNull(w, "eos_token", EosToken);
                WriteTokenOrNull(w, "pad_token", PadToken);
                WriteTokenOrNull(w, "unk_token", UnkToken);
                if (ChatTemplate is not null) w.WriteString("chat_template", ChatTemplate);
                w.WriteBoolean("clean_up_tokenization_spaces", CleanUpTokenizationSpaces);
                if (ModelMaxLength is { } max) w.WriteNumber("model_max_length", max);
                w.WriteString("tokenizer_class", "PreTrainedTokenizerFast");
            }
            w.WriteEndObject();
        }
        return stream.ToArray();
    }

    private static void WriteTokenOrNull(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null) w.WriteNull(name);
        else w.WriteString(name, value);
    }
}

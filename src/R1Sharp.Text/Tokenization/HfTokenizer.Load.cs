using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using R1Sharp.Data;
using R1Sharp.Text.Tokenization.Unicode;

namespace R1Sharp.Text.Tokenization;

public sealed partial class HfTokenizer
{
    /// <summary>Everything a tokenizer is made of (what the JSON loader and the trainer produce).</summary>
    internal sealed record Parts(
        BpeModel Model,
        TextNormalizer? Normalizer,
        PreTokenizer PreTokenizer,
        IReadOnlyList<AddedToken> AddedTokens,
        int[] PrefixIds,
        int[] SuffixIds,
        ConfigValues Config,
        SavedJson Json,
        bool Reference);

    /// <summary>tokenizer_config.json values that we use.</summary>
    internal sealed record ConfigValues(
        string? BosToken, string? EosToken, string? PadToken, string? UnkToken,
        bool? AddBosToken, bool? AddEosToken, long? ModelMaxLength, string? ChatTemplate,
        bool CleanUpTokenizationSpaces, string? RawJson);

    /// <summary>tokenizer.json parts that are written back verbatim by <see cref="Save"/>.</summary>
    internal sealed record SavedJson(
        string Normalizer, string PreTokenizer, string PostProcessor, string Decoder, string Truncation, string Padding,
        string ModelType, string Dropout, string UnkToken, string ContinuingSubwordPrefix, string EndOfWordSuffix,
        string FuseUnk, string ByteFallback, bool? IgnoreMerges, bool MergesAsPairs);

    private HfTokenizer(Parts parts)
    {
        _model = parts.Model;
        _normalizer = parts.Normalizer;
        _preTokenizer = parts.PreTokenizer;
        _reference = parts.Reference;
        AddedTokens = parts.AddedTokens.OrderBy(t => t.Id).ToArray();
        _addedById = [];
        _addedByContent = new Dictionary<string, int>(StringComparer.Ordinal);
        _specialIds = [];
        foreach (var token in AddedTokens)
        {
            _addedById[token.Id] = token;
            _addedByContent.TryAdd(token.Content, token.Id);
            if (token.Special) _specialIds.Add(token.Id);
        }
        _rawMatcher = new AddedTokenMatcher(AddedTokens.Where(t => !t.Normalized).Select(t => (t.Content, t)));
        var normalizedTokens = AddedTokens.Where(t => t.Normalized).ToArray();
        if (normalizedTokens.Length > 0)
        {
            _normalizedMatcher = new AddedTokenMatcher(normalizedTokens.Select(t =>
                (_normalizer is not null && _normalizer.Normalize(t.Content, out var n, out _, out _) ? n! : t.Content, t)));
        }
        _prefixIds = parts.PrefixIds;
        _suffixIds = parts.SuffixIds;
        var config = parts.Config;
        BosToken = config.BosToken;
        EosToken = config.EosToken;
        PadToken = config.PadToken;
        UnkToken = config.UnkToken ?? _model.UnkToken;
        ModelMaxLength = config.ModelMaxLength;
        ChatTemplate = config.ChatTemplate;
        CleanUpTokenizationSpaces = config.CleanUpTokenizationSpaces;
        _config = config;
        _json = parts.Json;

        int size = _model.IdToToken.Length;
        foreach (var token in AddedTokens) size = Math.Max(size, token.Id + 1);
        _known = new bool[size];
        _tokenByteStart = new int[size + 1];
        var bytes = new List<byte>(size * 6);
        for (int id = 0; id < size; id++)
        {
            _tokenByteStart[id] = bytes.Count;
            string? token = IdToToken(id);
            if (token is null) continue;
            _known[id] = true;
            AppendTokenBytes(token, bytes);
        }
        _tokenByteStart[size] = bytes.Count;
        _tokenBytes = bytes.ToArray();
    }

    private readonly ConfigValues _config;
    private readonly SavedJson _json;

    /// <summary>
    /// HF ByteLevel decoder per token: the bytes its characters stand for, or, when a character is outside the
    /// byte-level alphabet (e.g. "<c>｜</c>" in DeepSeek's special tokens), the token's own UTF-8.
    /// </summary>
    private static void AppendTokenBytes(string token, List<byte> output)
    {
        foreach (char c in token)
        {
            if (!ByteLevelAlphabet.TryGetByte(c, out _))
            {
                output.AddRange(Encoding.UTF8.GetBytes(token));
                return;
            }
        }
        foreach (char c in token)
        {
            ByteLevelAlphabet.TryGetByte(c, out var b);
            output.Add(b);
        }
    }

    /// <summary>
    /// Loads a tokenizer from a directory holding <c>tokenizer.json</c> (or <c>tokenizer.json.gz</c>) and optionally
    /// <c>tokenizer_config.json</c> and <c>chat_template.jinja</c>. A path to a tokenizer.json file also works.
    /// </summary>
    public static HfTokenizer Load(string directory) => LoadCore(directory, reference: false);

    /// <summary>
    /// The straightforward encoder the tests compare the fast one with: split regexes always run by the regex engine
    /// (no <see cref="GptSplitPattern"/>), no word cache, no direct walk over the matches, the general offsets path.
    /// Same ids and offsets as <see cref="Load"/>, several times slower.
    /// </summary>
    internal static HfTokenizer LoadReference(string directory) => LoadCore(directory, reference: true);

    private static HfTokenizer LoadCore(string directory, bool reference)
    {
        ArgumentNullException.ThrowIfNull(directory);
        string dir = ModelLocation.Resolve(directory);
        string? jsonPath = null;
        if (File.Exists(directory))
        {
            jsonPath = directory;
            dir = Path.GetDirectoryName(Path.GetFullPath(directory)) ?? ".";
        }
        else if (Directory.Exists(directory))
        {
            foreach (var name in new[] { "tokenizer.json", "tokenizer.json.gz" })
            {
                var candidate = Path.Combine(directory, name);
                if (File.Exists(candidate))
                {
                    jsonPath = candidate;
                    break;
                }
            }
            if (jsonPath is null)
                throw new FileNotFoundException($"{directory}: no tokenizer.json or tokenizer.json.gz in this directory",
                    Path.Combine(directory, "tokenizer.json"));
        }
        else
        {
            throw new DirectoryNotFoundException($"{directory}: no such directory or file");
        }

        string tokenizerJson = ReadText(jsonPath);
        string configPath = Path.Combine(dir, "tokenizer_config.json");
        string? configJson = File.Exists(configPath) ? File.ReadAllText(configPath) : null;
        string templatePath = Path.Combine(dir, "chat_template.jinja");
        string? templateFile = File.Exists(templatePath) ? File.ReadAllText(templatePath) : null;
        return Create(tokenizerJson, jsonPath, configJson, configPath, templateFile, reference);
    }

    /// <summary>Builds a tokenizer from the text of tokenizer.json and (optionally) tokenizer_config.json.</summary>
    public static HfTokenizer FromJson(string tokenizerJson, string? tokenizerConfigJson = null) =>
        FromJsonCore(tokenizerJson, tokenizerConfigJson, reference: false);

    /// <summary><see cref="FromJson"/> with the reference encoder (see <see cref="LoadReference"/>).</summary>
    internal static HfTokenizer FromJsonReference(string tokenizerJson, string? tokenizerConfigJson = null) =>
        FromJsonCore(tokenizerJson, tokenizerConfigJson, reference: true);

    private static HfTokenizer FromJsonCore(string tokenizerJson, string? tokenizerConfigJson, bool reference)
    {
        ArgumentNullException.ThrowIfNull(tokenizerJson);
        return Create(tokenizerJson, "tokenizer.json", tokenizerConfigJson, "tokenizer_config.json", null, reference);
    }

    private static string ReadText(string path)
    {
        if (!path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)) return File.ReadAllText(path);
        using var file = File.OpenRead(path);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var reader = new StreamReader(gzip, Encoding.UTF8);
        try
        {
            return reader.ReadToEnd();
        }
        catch (InvalidDataException e)
        {
            throw new TokenizerFormatException(path, "$", $"not a readable gzip file ({e.Message})", e);
        }
    }

    private static HfTokenizer Create(string tokenizerJson, string file, string? configJson, string configFile, string? templateFile,
        bool reference)
    {
        var root = JsonNav.Parse(tokenizerJson, file, out var document);
        using (document)
        {
            root.RequireKind(JsonValueKind.Object);
            var (model, savedModel) = ReadModel(root.Required("model"), reference);
            var normalizer = ReadNormalizer(root.Optional("normalizer"));
            var preTokenizer = ReadPreTokenizer(root.Optional("pre_tokenizer"), root, reference);
            var decoder = root.Optional("decoder");
            CheckDecoder(decoder, root);
            var added = ReadAddedTokens(root.Optional("added_tokens"));
            var config = ReadConfig(configJson, configFile, templateFile, out var extraAdded);
            foreach (var token in extraAdded)
                if (added.All(t => t.Id != token.Id)) added.Add(token);

            int? IdOf(string token) => added.FirstOrDefault(t => t.Content == token)?.Id ?? (model.Vocab.TryGetValue(token, out var v) ? v : null);
            var (prefix, suffix) = ReadPostProcessor(root.Optional("post_processor"), config, configFile, IdOf);

            static string Raw(JsonNav? n) => n is null ? "null" : n.Value.Element.GetRawText();
            var saved = savedModel with
            {
                Normalizer = Raw(root.Optional("normalizer")),
                PreTokenizer = Raw(root.Optional("pre_tokenizer")),
                PostProcessor = Raw(root.Optional("post_processor")),
                Decoder = Raw(decoder),
                Truncation = Raw(root.Optional("truncation")),
                Padding = Raw(root.Optional("padding")),
            };
            return new HfTokenizer(new Parts(model, normalizer, preTokenizer, added, prefix, suffix, config, saved, reference));
        }
    }

    private static (BpeModel, SavedJson) ReadModel(JsonNav model, bool reference)
    {
        model.RequireKind(JsonValueKind.Object);
        var typeNav = model.OptionalNonNull("type");
        string type = typeNav?.GetString() ?? (model.Optional("merges") is not null ? "BPE" : "");
        if (type != "BPE")
            throw (typeNav ?? model).Error($"unsupported model type '{type}': only byte-level BPE tokenizers are supported (not WordPiece, Unigram or WordLevel)");
        if (model.OptionalNonNull("dropout") is { } dropout && dropout.Element.ValueKind == JsonValueKind.Number && dropout.Element.GetDouble() > 0)
            throw dropout.Error("BPE dropout is not supported (it is a training-time regularizer; set it to null)");
        foreach (var name in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
            if (model.StringOrNull(name) is { Length: > 0 } value)
                throw model.Required(name).Error($"'{value}' is not supported: byte-level BPE has no subword prefix or suffix");
        if (model.BoolOr("byte_fallback", false))
            throw model.Required("byte_fallback").Error("byte_fallback is not supported (it belongs to SentencePiece-style BPE, not byte-level BPE)");

        var vocabNav = model.Required("vocab").RequireKind(JsonValueKind.Object);
        var vocab = new Dictionary<string, int>(vocabNav.Element.GetPropertyCount(), StringComparer.Ordinal);
        foreach (var property in vocabNav.Element.EnumerateObject())
        {
            if (property.Value.ValueKind != JsonValueKind.Number || !property.Value.TryGetInt32(out int id) || id < 0 || id > MaxTokenId)
                throw new JsonNav(property.Value, vocabNav.File, $"{vocabNav.Path}[{JsonSerializer.Serialize(property.Name)}]")
                    .Error($"expected a non-negative token id (at most {MaxTokenId}), found {property.Value.GetRawText()}");
            vocab[property.Name] = id;
        }

        var mergesNav = model.Required("merges").RequireKind(JsonValueKind.Array);
        var merges = new List<(string, string)>(mergesNav.Element.GetArrayLength());
        bool pairs = false;
        int index = 0;
        foreach (var item in mergesNav.Element.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.String)
            {
                string line = item.GetString()!;
                int space = line.IndexOf(' ');
                if (space <= 0 || space != line.LastIndexOf(' ') || space == line.Length - 1)
                    throw new TokenizerFormatException(mergesNav.File, $"{mergesNav.Path}[{index}]", $"merge \"{line}\" is not two tokens separated by one space");
                merges.Add((line[..space], line[(space + 1)..]));
            }
            else if (item.ValueKind == JsonValueKind.Array && item.GetArrayLength() == 2
                     && item[0].ValueKind == JsonValueKind.String && item[1].ValueKind == JsonValueKind.String)
            {
                pairs = true;
                merges.Add((item[0].GetString()!, item[1].GetString()!));
            }
            else
            {
                throw new TokenizerFormatException(mergesNav.File, $"{mergesNav.Path}[{index}]", "a merge must be \"a b\" or [\"a\", \"b\"]");
            }
            index++;
        }

        string? unk = model.StringOrNull("unk_token");
        var bpe = new BpeModel(vocab, merges, model.BoolOr("ignore_merges", false), unk, model.BoolOr("fuse_unk", false),
            (rank, problem) => new TokenizerFormatException(mergesNav.File, $"{mergesNav.Path}[{rank}]", problem), cache: !reference);
        for (int b = 0; b < 256; b++)
        {
            if (!vocab.ContainsKey(ByteLevelAlphabet.ByteToChar[b].ToString()) && unk is null)
                throw vocabNav.Error($"the vocabulary lacks the byte-level token '{ByteLevelAlphabet.ByteToChar[b]}' (byte 0x{b:X2}) and has no unk_token: not a byte-level BPE vocabulary");
        }

        static string Raw(JsonNav? n) => n is null ? "null" : n.Value.Element.GetRawText();
        var saved = new SavedJson("null", "null", "null", "null", "null", "null",
            "\"BPE\"", Raw(model.Optional("dropout")), Raw(model.Optional("unk_token")),
            Raw(model.Optional("continuing_subword_prefix")), Raw(model.Optional("end_of_word_suffix")),
            Raw(model.Optional("fuse_unk")), Raw(model.Optional("byte_fallback")),
            model.OptionalNonNull("ignore_merges")?.GetBool(), pairs);
        return (bpe, saved);
    }

    private static TextNormalizer? ReadNormalizer(JsonNav? nav)
    {
        var steps = new List<object>();
        void Read(JsonNav n)
        {
            if (n.IsNull) return;
            var typeNav = n.Required("type");
            string type = typeNav.GetString();
            switch (type)
            {
                case "NFC": steps.Add(TextNormalizer.Unicode(NormalizationKind.Nfc)); break;
                case "NFD": steps.Add(TextNormalizer.Unicode(NormalizationKind.Nfd)); break;
                case "NFKC": steps.Add(TextNormalizer.Unicode(NormalizationKind.Nfkc)); break;
                case "NFKD": steps.Add(TextNormalizer.Unicode(NormalizationKind.Nfkd)); break;
                case "Lowercase": steps.Add(TextNormalizer.Lowercase()); break;
                case "Sequence":
                    foreach (var item in n.Required("normalizers").Items()) Read(item);
                    break;
                default:
                    throw typeNav.Error($"unsupported normalizer type '{type}' (supported: NFC, NFD, NFKC, NFKD, Lowercase, Sequence)");
            }
        }
        if (nav is { } value) Read(value);
        return TextNormalizer.Create(steps);
    }

    private static PreTokenizer ReadPreTokenizer(JsonNav? nav, JsonNav root, bool reference)
    {
        if (nav is null || nav.Value.IsNull)
            throw (nav ?? root).Error("a byte-level BPE tokenizer needs a pre_tokenizer ending in ByteLevel; found none");
        var splits = new List<SplitStep>();
        (bool AddPrefixSpace, bool UseRegex, string Path)? byteLevel = null;

        void Read(JsonNav n)
        {
            var typeNav = n.Required("type");
            string type = typeNav.GetString();
            if (byteLevel is not null && type != "Sequence")
                throw n.Error($"'{type}' after ByteLevel is not supported: ByteLevel must be the last pre-tokenizer");
            switch (type)
            {
                case "Sequence":
                    foreach (var item in n.Required("pretokenizers").Items()) Read(item);
                    break;
                case "Split":
                {
                    var patternNav = n.Required("pattern").RequireKind(JsonValueKind.Object);
                    string pattern;
                    JsonNav where;
                    if (patternNav.OptionalNonNull("Regex") is { } regexNav)
                    {
                        pattern = regexNav.GetString();
                        where = regexNav;
                    }
                    else if (patternNav.OptionalNonNull("String") is { } stringNav)
                    {
                        pattern = Regex.Escape(stringNav.GetString());
                        where = stringNav;
                    }
                    else
                    {
                        throw patternNav.Error("a Split pattern must have a 'Regex' or a 'String' field");
                    }
                    var behaviorNav = n.Required("behavior");
                    var behavior = behaviorNav.GetString() switch
                    {
                        "Removed" => SplitBehavior.Removed,
                        "Isolated" => SplitBehavior.Isolated,
                        "MergedWithPrevious" => SplitBehavior.MergedWithPrevious,
                        "MergedWithNext" => SplitBehavior.MergedWithNext,
                        "Contiguous" => SplitBehavior.Contiguous,
                        var other => throw behaviorNav.Error($"unknown Split behavior '{other}'"),
                    };
                    splits.Add(new SplitStep(Compile(pattern, where, reference), behavior, n.BoolOr("invert", false)));
                    break;
                }
                case "Digits":
                    splits.Add(new SplitStep(Compile(n.BoolOr("individual_digits", false) ? @"\p{N}" : @"\p{N}+", n, reference), SplitBehavior.Isolated, false));
                    break;
                case "ByteLevel":
                    byteLevel = (n.BoolOr("add_prefix_space", true), n.BoolOr("use_regex", true), n.Path);
                    break;
                default:
                    throw typeNav.Error($"unsupported pre-tokenizer type '{type}' (supported: Sequence, Split, Digits, ByteLevel)");
            }
        }

        Read(nav.Value);
        if (byteLevel is null)
            throw nav.Value.Error("a byte-level BPE tokenizer needs a ByteLevel pre-tokenizer (Metaspace/SentencePiece-style BPE is not supported)");
        return new PreTokenizer(splits, byteLevel.Value.AddPrefixSpace, byteLevel.Value.UseRegex, reference);
    }

    private static ISplitPattern Compile(string pattern, JsonNav where, bool reference)
    {
        try
        {
            return reference ? new CodePointRegex(pattern) : SplitPatterns.Create(pattern);
        }
        catch (ArgumentException e)
        {
            throw where.Error($"regex not supported by .NET: {e.Message}");
        }
    }

    private static void CheckDecoder(JsonNav? nav, JsonNav root)
    {
        if (nav is null || nav.Value.IsNull)
            throw (nav ?? root).Error("a byte-level BPE tokenizer needs a ByteLevel decoder; found none");
        var n = nav.Value;
        var typeNav = n.Required("type");
        string type = typeNav.GetString();
        if (type == "ByteLevel") return;
        if (type == "Sequence")
        {
            var items = n.Required("decoders").Items().ToList();
            if (items.Count == 1) { CheckDecoder(items[0], root); return; }
        }
        throw typeNav.Error($"unsupported decoder type '{type}' (only ByteLevel is supported)");
    }

    /// <summary>The largest token id a file may use: ids index arrays, and a vocabulary of 16M tokens is already 60× the largest in use.</summary>
    private const int MaxTokenId = (1 << 24) - 1;

    private static int TokenId(JsonNav nav)
    {
        int id = nav.GetInt32();
        return id is >= 0 and <= MaxTokenId ? id : throw nav.Error($"expected a token id from 0 to {MaxTokenId}, found {id}");
    }

    private static List<AddedToken> ReadAddedTokens(JsonNav? nav)
    {
        var list = new List<AddedToken>();
        if (nav is null || nav.Value.IsNull) return list;
        foreach (var item in nav.Value.Items())
        {
            list.Add(new AddedToken(
                TokenId(item.Required("id")),
                item.Required("content").GetString(),
                item.BoolOr("special", false),
                item.BoolOr("single_word", false),
                item.BoolOr("lstrip", false),
                item.BoolOr("rstrip", false),
                item.BoolOr("normalized", !item.BoolOr("special", false))));
        }
        return list;
    }

    private static (int[] Prefix, int[] Suffix) ReadPostProcessor(JsonNav? nav, ConfigValues config, string configFile, Func<string, int?> idOf)
    {
        // LlamaTokenizerFast-style configs (add_bos_token / add_eos_token present) rebuild the template from the flags.
        if (config.AddBosToken is not null || config.AddEosToken is not null)
        {
            var prefix = new List<int>();
            var suffix = new List<int>();
            if (config.AddBosToken == true)
            {
                if (config.BosToken is null || idOf(config.BosToken) is not { } bos)
                    throw new TokenizerFormatException(configFile, "$.add_bos_token", "add_bos_token is true but bos_token is missing or not in the vocabulary");
                prefix.Add(bos);
            }
            if (config.AddEosToken == true)
            {
                if (config.EosToken is null || idOf(config.EosToken) is not { } eos)
                    throw new TokenizerFormatException(configFile, "$.add_eos_token", "add_eos_token is true but eos_token is missing or not in the vocabulary");
                suffix.Add(eos);
            }
            return (prefix.ToArray(), suffix.ToArray());
        }

        var pre = new List<int>();
        var post = new List<int>();
        void Read(JsonNav n)
        {
            if (n.IsNull) return;
            var typeNav = n.Required("type");
            string type = typeNav.GetString();
            switch (type)
            {
                case "ByteLevel":
                    break; // offsets only
                case "Sequence":
                    foreach (var item in n.Required("processors").Items()) Read(item);
                    break;
                case "TemplateProcessing":
                {
                    var specials = n.Required("special_tokens").RequireKind(JsonValueKind.Object);
                    bool seenSequence = false;
                    foreach (var piece in n.Required("single").Items())
                    {
                        if (piece.OptionalNonNull("Sequence") is not null)
                        {
                            seenSequence = true;
                            continue;
                        }
                        var special = piece.Required("SpecialToken");
                        string name = special.Required("id").GetString();
                        var entry = specials.Optional(name) ?? throw special.Error($"special token '{name}' is not listed in special_tokens");
                        foreach (var id in entry.Required("ids").Items()) (seenSequence ? post : pre).Add(id.GetInt32());
                    }
                    break;
                }
                default:
                    throw typeNav.Error($"unsupported post-processor type '{type}' (supported: ByteLevel, TemplateProcessing, Sequence)");
            }
        }
        if (nav is { } value) Read(value);
        return (pre.ToArray(), post.ToArray());
    }

    private static ConfigValues ReadConfig(string? json, string file, string? templateFile, out List<AddedToken> extraAdded)
    {
        extraAdded = [];
        if (json is null)
            return new ConfigValues(null, null, null, null, null, null, null, templateFile, false, null);
        var root = JsonNav.Parse(json, file, out var document);
        using (document)
        {
            root.RequireKind(JsonValueKind.Object);
            string? Token(string name)
            {
                var n = root.OptionalNonNull(name);
                if (n is null) return null;
                if (n.Value.Kind == JsonValueKind.String) return n.Value.GetString();
                if (n.Value.Kind == JsonValueKind.Object) return n.Value.Required("content").GetString();
                throw n.Value.Error("expected a string, null or an object with 'content'");
            }

            long? maxLength = null;
            if (root.OptionalNonNull("model_max_length") is { } m)
            {
                if (m.Kind != JsonValueKind.Number) throw m.Error("expected a number");
                double v = m.Element.GetDouble();
                maxLength = v >= 1e18 ? null : (long)v;
            }

            string? template = templateFile;
            if (root.OptionalNonNull("chat_template") is { } t)
            {
                if (t.Kind == JsonValueKind.String) template = t.GetString();
                else if (t.Kind == JsonValueKind.Array)
                {
                    // transformers: a list of {name, template}; "default" is used unless another is named.
                    var named = t.Items().Select(x => (Name: x.Required("name").GetString(), Template: x.Required("template").GetString())).ToList();
                    template = named.FirstOrDefault(x => x.Name == "default").Template ?? named.FirstOrDefault().Template;
                }
                else throw t.Error("expected a string or a list of {name, template}");
            }

            if (root.OptionalNonNull("added_tokens_decoder") is { } decoderNav)
            {
                foreach (var (name, value) in decoderNav.Properties())
                {
                    if (!int.TryParse(name, out int id) || id < 0 || id > MaxTokenId)
                        throw value.Error($"'{name}' is not a token id (an integer from 0 to {MaxTokenId})");
                    extraAdded.Add(new AddedToken(id, value.Required("content").GetString(), value.BoolOr("special", false),
                        value.BoolOr("single_word", false), value.BoolOr("lstrip", false), value.BoolOr("rstrip", false),
                        value.BoolOr("normalized", !value.BoolOr("special", false))));
                }
            }

            return new ConfigValues(Token("bos_token"), Token("eos_token"), Token("pad_token"), Token("unk_token"),
                root.OptionalNonNull("add_bos_token")?.GetBool(), root.OptionalNonNull("add_eos_token")?.GetBool(),
                maxLength, template, root.BoolOr("clean_up_tokenization_spaces", false), json);
        }
    }
}

using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using R1Sharp.Text.Tokenization.Unicode;

namespace R1Sharp.Text.Tokenization;

/// <summary>
/// Trains a byte-level BPE tokenizer (Sennrich et al. 2016, "Neural Machine Translation of Rare Words with Subword
/// Units"; GPT-2's byte-level variant) the way HF <c>tokenizers</c>' <c>BpeTrainer</c> does:
/// <list type="number">
/// <item>split special tokens out of each text, NFC-normalize, pre-tokenize with the split regex, count words;</item>
/// <item>start from special tokens (ids 0..k-1) and all 256 byte tokens (sorted by character);</item>
/// <item>repeatedly merge the most frequent adjacent pair (counts weighted by word frequency; ties go to the
/// pair with the smaller ids, as in HF), until the vocabulary is full or the best count is below MinFrequency.</item>
/// </list>
/// The result is deterministic for the same texts and options. It is written as a standard tokenizer.json
/// (Split + ByteLevel pre-tokenizer, BPE model with merges as pairs) and loaded back through
/// <see cref="HfTokenizer.FromJson"/>, so what <see cref="Train"/> returns is exactly what a saved copy loads as.
/// </summary>
public sealed class BpeTrainer
{
    private readonly BpeTrainerOptions _options;

    /// <summary>Special tokens, then the added tokens that are not special (duplicates dropped): ids 0, 1, ….</summary>
    private readonly List<(string Content, bool Special, bool LStrip)> _reserved;

    public BpeTrainer(BpeTrainerOptions? options = null)
    {
        _options = options ?? new BpeTrainerOptions();
        _reserved = [.. _options.SpecialTokens.Select(t => (t, true, false)).Concat(_options.AddedTokens.Select(t => (t.Content, false, t.LStrip)))
            .DistinctBy(t => t.Item1)];
        int minimum = 256 + _reserved.Count;
        if (_options.VocabSize < minimum)
            throw new ArgumentOutOfRangeException(nameof(options), $"VocabSize {_options.VocabSize} is below 256 byte tokens + {minimum - 256} special and added tokens");
        if (_options.MinFrequency < 1) throw new ArgumentOutOfRangeException(nameof(options), "MinFrequency must be at least 1");
        foreach (var (role, token) in new[] { ("BosToken", _options.BosToken), ("EosToken", _options.EosToken), ("PadToken", _options.PadToken) })
            if (token is not null && !_options.SpecialTokens.Contains(token))
                throw new ArgumentException($"{role} '{token}' is not one of SpecialTokens", nameof(options));
        if (_options.AddBosToken && _options.BosToken is null) throw new ArgumentException("AddBosToken needs BosToken", nameof(options));
    }

    /// <summary>Trains on <paramref name="texts"/> and returns the tokenizer.</summary>
    public HfTokenizer Train(IEnumerable<string> texts, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var words = CountWords(texts, cancellationToken);
        var (vocab, merges) = LearnMerges(words, cancellationToken);
        return HfTokenizer.FromJson(TokenizerJson(vocab, merges), ConfigJson(vocab));
    }

    private Dictionary<string, long> CountWords(IEnumerable<string> texts, CancellationToken cancellationToken)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        var lookup = counts.GetAlternateLookup<ReadOnlySpan<char>>();
        var regex = SplitPatterns.Create(_options.SplitPattern);
        var matcher = new AddedTokenMatcher(_reserved.Select((t, i) => (t.Content, new AddedToken(i, t.Content, t.Special, LStrip: t.LStrip))));
        var nfc = _options.NormalizeNfc ? UnicodeNormalizer.Get(NormalizationKind.Nfc) : null;
        var sections = new List<TextSection>();
        var matches = new List<(int Start, int End)>();
        foreach (var text in texts)
        {
            cancellationToken.ThrowIfCancellationRequested();
            sections.Clear();
            matcher.Split(text, 0, text.Length, sections);
            foreach (var section in sections)
            {
                if (section.TokenId >= 0 || section.End == section.Start) continue;
                string work = text;
                int start = section.Start, end = section.End;
                if (nfc is not null && nfc.Normalize(text.AsSpan(start, end - start), out var normalized, out _, out _))
                {
                    work = normalized!;
                    start = 0;
                    end = work.Length;
                }
                matches.Clear();
                var span = work.AsSpan(start, end - start);
                regex.Matches(span, matches);
                int previous = 0;
                void Count(ReadOnlySpan<char> word)
                {
                    if (word.IsEmpty) return;
                    if (lookup.TryGetValue(word, out var c)) lookup[word] = c + 1;
                    else lookup[word] = 1;
                }
                foreach (var (s, e) in matches)
                {
                    Count(span[previous..s]);
                    Count(span[s..e]);
                    previous = e;
                }
                Count(span[previous..]);
            }
        }
        return counts;
    }

    private (List<string> Vocab, List<(string, string)> Merges) LearnMerges(Dictionary<string, long> wordCounts, CancellationToken cancellationToken)
    {
        // Vocabulary: special tokens, then the 256 byte-level characters in character order.
        var vocab = new List<string>();
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        void Add(string token)
        {
            if (ids.TryAdd(token, vocab.Count)) vocab.Add(token);
        }
        foreach (var t in _reserved) Add(t.Content);
        foreach (char c in ByteLevelAlphabet.ByteToChar.OrderBy(c => c)) Add(c.ToString());
        var byteIds = ByteLevelAlphabet.ByteToChar.Select(c => ids[c.ToString()]).ToArray();
        var tokenBytes = vocab.Select(t => t.Length).ToList(); // byte length of each token (special tokens: unused)

        // Words as symbol sequences.
        var words = new List<int[]>(wordCounts.Count);
        var lengths = new List<int>(wordCounts.Count);
        var counts = new List<long>(wordCounts.Count);
        foreach (var (word, count) in wordCounts)
        {
            var bytes = Encoding.UTF8.GetBytes(word);
            words.Add(bytes.Select(b => byteIds[b]).ToArray());
            lengths.Add(bytes.Length);
            counts.Add(count);
        }

        // Pair statistics.
        var pairCounts = new Dictionary<long, long>();
        var pairWords = new Dictionary<long, List<int>>();
        void Change(long pair, long delta, int word)
        {
            pairCounts[pair] = pairCounts.GetValueOrDefault(pair) + delta;
            if (delta > 0)
            {
                if (!pairWords.TryGetValue(pair, out var list)) pairWords[pair] = list = [];
                if (list.Count == 0 || list[^1] != word) list.Add(word);
            }
        }
        for (int w = 0; w < words.Count; w++)
            for (int i = 0; i + 1 < lengths[w]; i++)
                Change(Key(words[w][i], words[w][i + 1]), counts[w], w);

        var queue = new PriorityQueue<long, (long Count, long Pair)>(Comparer<(long Count, long Pair)>.Create((x, y) =>
            x.Count != y.Count ? y.Count.CompareTo(x.Count) : x.Pair.CompareTo(y.Pair)));
        foreach (var (pair, count) in pairCounts)
            if (count > 0) queue.Enqueue(pair, (count, pair));

        var merges = new List<(string, string)>();
        var touched = new HashSet<long>();
        while (vocab.Count < _options.VocabSize && queue.TryDequeue(out long top, out var priority))
        {
            cancellationToken.ThrowIfCancellationRequested();
            long actual = pairCounts.GetValueOrDefault(top);
            if (actual != priority.Count)
            {
                if (actual > 0) queue.Enqueue(top, (actual, top));
                continue;
            }
            if (actual < _options.MinFrequency) break;
            int left = (int)(top >> 32), right = (int)(top & 0xFFFFFFFF);
            if (_options.MaxTokenLength is { } max && tokenBytes[left] + tokenBytes[right] > max)
            {
                pairCounts[top] = 0;
                continue;
            }
            string merged = vocab[left] + vocab[right];
            if (!ids.TryGetValue(merged, out int newId))
            {
                newId = vocab.Count;
                Add(merged);
                tokenBytes.Add(tokenBytes[left] + tokenBytes[right]);
            }
            merges.Add((vocab[left], vocab[right]));

            // Apply the merge in every word that had the pair (HF Word::merge), updating pair counts.
            touched.Clear();
            var containing = pairWords[top];
            pairWords.Remove(top);
            foreach (int w in containing)
            {
                var symbols = words[w];
                int n = lengths[w];
                long c = counts[w];
                int i = 0;
                while (i < n)
                {
                    if (i + 1 < n && symbols[i] == left && symbols[i + 1] == right)
                    {
                        if (i > 0)
                        {
                            Change(Key(symbols[i - 1], left), -c, w);
                            Change(Key(symbols[i - 1], newId), c, w);
                            touched.Add(Key(symbols[i - 1], newId));
                        }
                        symbols[i] = newId;
                        Array.Copy(symbols, i + 2, symbols, i + 1, n - i - 2);
                        n--;
                        if (i + 1 < n)
                        {
                            Change(Key(right, symbols[i + 1]), -c, w);
                            Change(Key(newId, symbols[i + 1]), c, w);
                            touched.Add(Key(newId, symbols[i + 1]));
                        }
                    }
                    i++;
                }
                lengths[w] = n;
            }
            pairCounts[top] = 0;
            foreach (long pair in touched)
            {
                long count = pairCounts[pair];
                if (count > 0) queue.Enqueue(pair, (count, pair));
            }
        }
        return (vocab, merges);
    }

    private static long Key(int left, int right) => ((long)left << 32) | (uint)right;

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Indented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>The trained tokenizer as Hugging Face tokenizer.json text.</summary>
    private string TokenizerJson(List<string> vocab, List<(string, string)> merges)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, WriterOptions))
        {
            void ByteLevel()
            {
                w.WriteStartObject();
                w.WriteString("type", "ByteLevel");
                w.WriteBoolean("add_prefix_space", false);
                w.WriteBoolean("trim_offsets", false);
                w.WriteBoolean("use_regex", false);
                w.WriteEndObject();
            }

            w.WriteStartObject();
            w.WriteString("version", "1.0");
            w.WriteNull("truncation");
            w.WriteNull("padding");
            w.WriteStartArray("added_tokens");
            for (int i = 0; i < vocab.Count && i < _reserved.Count; i++)
            {
                w.WriteStartObject();
                w.WriteNumber("id", i);
                w.WriteString("content", vocab[i]);
                w.WriteBoolean("single_word", false);
                w.WriteBoolean("lstrip", _reserved[i].LStrip);
                w.WriteBoolean("rstrip", false);
                w.WriteBoolean("normalized", false);
                w.WriteBoolean("special", _reserved[i].Special);
                w.WriteEndObject();
            }
            w.WriteEndArray();

            if (_options.NormalizeNfc)
            {
                w.WriteStartObject("normalizer");
                w.WriteString("type", "NFC");
                w.WriteEndObject();
            }
            else
            {
                w.WriteNull("normalizer");
            }

            w.WriteStartObject("pre_tokenizer");
            w.WriteString("type", "Sequence");
            w.WriteStartArray("pretokenizers");
            w.WriteStartObject();
            w.WriteString("type", "Split");
            w.WriteStartObject("pattern");
            w.WriteString("Regex", _options.SplitPattern);
            w.WriteEndObject();
            w.WriteString("behavior", "Isolated");
            w.WriteBoolean("invert", false);
            w.WriteEndObject();
            ByteLevel();
            w.WriteEndArray();
            w.WriteEndObject();

            w.WritePropertyName("post_processor");
            if (_options.AddBosToken)
            {
                string bos = _options.BosToken!;
                int bosId = vocab.IndexOf(bos);
                w.WriteStartObject();
                w.WriteString("type", "TemplateProcessing");
                foreach (var (name, sequences) in new[] { ("single", new[] { "A" }), ("pair", new[] { "A", "B" }) })
                {
                    w.WriteStartArray(name);
                    foreach (var sequence in sequences)
                    {
                        w.WriteStartObject();
                        w.WriteStartObject("SpecialToken");
                        w.WriteString("id", bos);
                        w.WriteNumber("type_id", 0);
                        w.WriteEndObject();
                        w.WriteEndObject();
                        w.WriteStartObject();
                        w.WriteStartObject("Sequence");
                        w.WriteString("id", sequence);
                        w.WriteNumber("type_id", sequence == "A" ? 0 : 1);
                        w.WriteEndObject();
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                }
                w.WriteStartObject("special_tokens");
                w.WriteStartObject(bos);
                w.WriteString("id", bos);
                w.WriteStartArray("ids");
                w.WriteNumberValue(bosId);
                w.WriteEndArray();
                w.WriteStartArray("tokens");
                w.WriteStringValue(bos);
                w.WriteEndArray();
                w.WriteEndObject();
                w.WriteEndObject();
                w.WriteEndObject();
            }
            else
            {
                ByteLevel();
            }
            w.WritePropertyName("decoder");
            ByteLevel();

            w.WriteStartObject("model");
            w.WriteString("type", "BPE");
            w.WriteNull("dropout");
            w.WriteNull("unk_token");
            w.WriteNull("continuing_subword_prefix");
            w.WriteNull("end_of_word_suffix");
            w.WriteBoolean("fuse_unk", false);
            w.WriteBoolean("byte_fallback", false);
            w.WriteBoolean("ignore_merges", false);
            w.WriteStartObject("vocab");
            for (int i = 0; i < vocab.Count; i++) w.WriteNumber(vocab[i], i);
            w.WriteEndObject();
            w.WriteStartArray("merges");
            foreach (var (a, b) in merges)
            {
                w.WriteStartArray();
                w.WriteStringValue(a);
                w.WriteStringValue(b);
                w.WriteEndArray();
            }
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>tokenizer_config.json for the trained tokenizer (transformers' PreTrainedTokenizerFast).</summary>
    private string ConfigJson(List<string> vocab)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, WriterOptions))
        {
            w.WriteStartObject();
            w.WriteBoolean("add_bos_token", _options.AddBosToken);
            w.WriteBoolean("add_eos_token", false);
            w.WriteStartObject("added_tokens_decoder");
            for (int i = 0; i < _reserved.Count && i < vocab.Count; i++)
            {
                w.WriteStartObject(i.ToString(System.Globalization.CultureInfo.InvariantCulture));
                w.WriteString("content", vocab[i]);
                w.WriteBoolean("lstrip", _reserved[i].LStrip);
                w.WriteBoolean("normalized", false);
                w.WriteBoolean("rstrip", false);
                w.WriteBoolean("single_word", false);
                w.WriteBoolean("special", _reserved[i].Special);
                w.WriteEndObject();
            }
            w.WriteEndObject();
            foreach (var (name, value) in new[] { ("bos_token", _options.BosToken), ("eos_token", _options.EosToken), ("pad_token", _options.PadToken) })
            {
                if (value is null) w.WriteNull(name);
                else w.WriteString(name, value);
            }
            w.WriteNull("unk_token");
            if (_options.ChatTemplate is not null) w.WriteString("chat_template", _options.ChatTemplate);
            w.WriteBoolean("clean_up_tokenization_spaces", false);
            if (_options.ModelMaxLength is { } max) w.WriteNumber("model_max_length", max);
            w.WriteString("tokenizer_class", "PreTrainedTokenizerFast");
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }
}

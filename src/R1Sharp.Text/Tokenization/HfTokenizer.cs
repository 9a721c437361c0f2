using System.Text;

namespace R1Sharp.Text.Tokenization;

/// <summary>
/// A Hugging Face <c>tokenizer.json</c> byte-level BPE tokenizer (Qwen2/Qwen2.5/Qwen3, Llama-3, DeepSeek-V3,
/// GPT-2 style) plus the parts of <c>tokenizer_config.json</c> that transformers reads (BOS/EOS/PAD/UNK,
/// add_bos_token/add_eos_token, model_max_length, chat_template, clean_up_tokenization_spaces).
/// <para>
/// Encoding follows HF <c>tokenizers</c>: added tokens are cut out of the raw text first (leftmost-longest,
/// honouring lstrip/rstrip/single_word/normalized), the rest is normalized, pre-tokenized (Split regexes,
/// then ByteLevel) and run through BPE; <c>addSpecialTokens</c> then applies the post-processor.
/// Ids equal those of HF for the Qwen3, DeepSeek-V3 and Llama-3 goldens in tests/fixtures/tokenizers.
/// Instances are immutable and thread-safe.
/// </para>
/// </summary>
public sealed partial class HfTokenizer
{
    private readonly BpeModel _model;
    private readonly TextNormalizer? _normalizer;
    private readonly PreTokenizer _preTokenizer;
    private readonly AddedTokenMatcher _rawMatcher;
    private readonly AddedTokenMatcher? _normalizedMatcher;
    private readonly Dictionary<int, AddedToken> _addedById;
    private readonly Dictionary<string, int> _addedByContent;
    private readonly int[] _prefixIds;
    private readonly int[] _suffixIds;
    private readonly HashSet<int> _specialIds;
    private readonly byte[] _tokenBytes;
    private readonly int[] _tokenByteStart; // bytes of id i: _tokenBytes[_tokenByteStart[i].._tokenByteStart[i+1]]
    private readonly bool[] _known;
    private readonly bool _reference;

    [ThreadStatic] private static Scratch? t_scratch;

    /// <summary>Number of ids: 1 + the largest id of the model vocabulary and the added tokens (transformers' <c>len(tokenizer)</c>).</summary>
    public int VocabSize => _known.Length;

    /// <summary>The id of a token string (added tokens first, then the model vocabulary), or null.</summary>
    public int? TokenToId(string token) =>
        _addedByContent.TryGetValue(token, out var id) ? id : _model.Vocab.TryGetValue(token, out id) ? id : null;

    /// <summary>The token string of an id (byte-level form for model tokens, e.g. "Ġthe"), or null.</summary>
    public string? IdToToken(int id) =>
        _addedById.TryGetValue(id, out var t) ? t.Content : id >= 0 && id < _model.IdToToken.Length ? _model.IdToToken[id] : null;

    /// <summary>The added tokens (special and not), ordered by id.</summary>
    public IReadOnlyList<AddedToken> AddedTokens { get; }

    /// <summary>Ids of the added tokens marked <c>special</c> (skipped by <c>Decode(..., skipSpecialTokens: true)</c>).</summary>
    public IReadOnlySet<int> SpecialTokenIds => _specialIds;

    public string? BosToken { get; }
    public string? EosToken { get; }
    public string? PadToken { get; }
    public string? UnkToken { get; }
    public int? BosTokenId => BosToken is null ? null : TokenToId(BosToken);
    public int? EosTokenId => EosToken is null ? null : TokenToId(EosToken);
    public int? PadTokenId => PadToken is null ? null : TokenToId(PadToken);
    public int? UnkTokenId => UnkToken is null ? null : TokenToId(UnkToken);

    /// <summary>Whether <c>Encode(text, addSpecialTokens: true)</c> starts with the BOS token.</summary>
    public bool AddBosToken => BosTokenId is { } bos && _prefixIds.Contains(bos);

    /// <summary>Whether <c>Encode(text, addSpecialTokens: true)</c> ends with the EOS token.</summary>
    public bool AddEosToken => EosTokenId is { } eos && _suffixIds.Contains(eos);

    /// <summary>tokenizer_config.json <c>model_max_length</c>; null when absent or transformers' "no limit" (≥ 1e18).</summary>
    public long? ModelMaxLength { get; }

    /// <summary>The raw Jinja chat template (tokenizer_config.json <c>chat_template</c>, or chat_template.jinja), or null.</summary>
    public string? ChatTemplate { get; }

    /// <summary>tokenizer_config.json <c>clean_up_tokenization_spaces</c>: <see cref="Decode"/> then removes the space before
    /// punctuation and English contractions, as transformers does (false when there is no config).</summary>
    public bool CleanUpTokenizationSpaces { get; }

    /// <summary>Encodes <paramref name="text"/> to ids. Added/special tokens written in the text are recognised.
    /// <paramref name="addSpecialTokens"/> adds what the post-processor or add_bos_token/add_eos_token say (e.g. BOS).</summary>
    public IReadOnlyList<int> Encode(string text, bool addSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 4);
        if (addSpecialTokens) ids.AddRange(_prefixIds);
        EncodeCore(text, ids, null);
        if (addSpecialTokens) ids.AddRange(_suffixIds);
        return ids;
    }

    /// <summary>Like <see cref="Encode"/>, with each token's UTF-16 range in <paramref name="text"/>.</summary>
    public TokenizedText EncodeWithOffsets(string text, bool addSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 4);
        var offsets = new List<(int, int)>(text.Length / 3 + 4);
        if (addSpecialTokens)
            foreach (int id in _prefixIds)
            {
                ids.Add(id);
                offsets.Add((0, 0));
            }
        EncodeCore(text, ids, offsets);
        if (addSpecialTokens)
            foreach (int id in _suffixIds)
            {
                ids.Add(id);
                offsets.Add((0, 0));
            }
        return new TokenizedText(ids, offsets);
    }

    /// <summary>
    /// Decodes ids to text (HF <c>decode</c>): each token's bytes (byte-level alphabet, or the token's own UTF-8
    /// when it has characters outside it, like "&lt;｜end▁of▁sentence｜&gt;"), concatenated and read as UTF-8 with
    /// U+FFFD for invalid bytes. Unknown ids are skipped, as in HF.
    /// </summary>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var bytes = new List<byte>(64);
        foreach (int id in ids)
        {
            if (!IsKnown(id) || (skipSpecialTokens && _specialIds.Contains(id))) continue;
            bytes.AddRange(TokenBytes(id));
        }
        string text = Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes));
        return CleanUpTokenizationSpaces ? CleanUp(text) : text;
    }

    /// <summary>A decoder for streaming generation (see <see cref="IncrementalDecoder"/>).</summary>
    public IncrementalDecoder CreateIncrementalDecoder(bool skipSpecialTokens = false) => new(this, skipSpecialTokens);

    internal bool IsKnown(int id) => id >= 0 && id < _known.Length && _known[id];

    internal bool IsSpecial(int id) => _specialIds.Contains(id);

    /// <summary>The bytes one token decodes to, before they are read as UTF-8 (none for an unknown id): a byte-level token
    /// can hold part of a character, which <see cref="Decode"/> of that token alone turns into U+FFFD.</summary>
    public byte[] DecodeBytes(int id) => IsKnown(id) ? TokenBytes(id).ToArray() : [];

    internal ReadOnlySpan<byte> TokenBytes(int id) => _tokenBytes.AsSpan(_tokenByteStart[id], _tokenByteStart[id + 1] - _tokenByteStart[id]);

    /// <summary>transformers' <c>clean_up_tokenization</c>: drops the space before . ? ! , and before English contractions.</summary>
    internal static string CleanUp(string text) => text
        .Replace(" .", ".").Replace(" ?", "?").Replace(" !", "!").Replace(" ,", ",")
        .Replace(" ' ", "'").Replace(" n't", "n't").Replace(" 'm", "'m").Replace(" 's", "'s")
        .Replace(" 've", "'ve").Replace(" 're", "'re");

    private void EncodeCore(string text, List<int> ids, List<(int, int)>? offsets)
    {
        var scratch = t_scratch ??= new Scratch();
        if (scratch.Busy) scratch = new Scratch(); // re-entrant use on one thread (never in practice)
        scratch.Busy = true;
        try
        {
            var sections = scratch.RawSections;
            sections.Clear();
            if (_rawMatcher.IsEmpty) sections.Add(new TextSection(0, text.Length, -1));
            else _rawMatcher.Split(text, 0, text.Length, sections);
            foreach (var section in sections)
            {
                if (section.TokenId >= 0)
                {
                    ids.Add(section.TokenId);
                    offsets?.Add((section.Start, section.End));
                }
                else if (section.End > section.Start)
                {
                    EncodeSection(text, section.Start, section.End, ids, offsets, scratch);
                }
            }
        }
        finally
        {
            scratch.Busy = false;
        }
    }

    private void EncodeSection(string text, int start, int end, List<int> ids, List<(int, int)>? offsets, Scratch scratch)
    {
        string work = text;
        int workStart = start, workEnd = end;
        int[]? starts = null, ends = null;
        if (_normalizer is not null && _normalizer.Normalize(text.AsSpan(start, end - start), out var normalized, out starts, out ends))
        {
            work = normalized!;
            workStart = 0;
            workEnd = work.Length;
        }

        // Maps a range of `work` to a range of `text`.
        (int, int) ToText(int s, int e)
        {
            if (starts is null) return (s, e);
            if (e <= s) return s < starts.Length ? (start + starts[s], start + starts[s]) : (end, end);
            return (start + starts[s], start + ends![e - 1]);
        }

        if (_normalizedMatcher is null)
        {
            EncodePlain(work, workStart, workEnd, ids, offsets, scratch, starts is null ? null : ToText);
            return;
        }
        var parts = new List<TextSection>();
        _normalizedMatcher.Split(work, workStart, workEnd, parts);
        foreach (var part in parts)
        {
            if (part.TokenId >= 0)
            {
                ids.Add(part.TokenId);
                offsets?.Add(ToText(part.Start, part.End));
            }
            else if (part.End > part.Start)
            {
                EncodePlain(work, part.Start, part.End, ids, offsets, scratch, starts is null ? null : ToText);
            }
        }
    }

    private void EncodePlain(string work, int start, int end, List<int> ids, List<(int, int)>? offsets, Scratch scratch,
        Func<int, int, (int, int)>? toText)
    {
        if (_preTokenizer.Direct is { } pattern)
        {
            var text = work.AsSpan(start, end - start);
            for (int i = 0, e; i < text.Length; i = e)
            {
                e = pattern.MatchAt(text, i);
                var span = text[i..e];
                int[] pieceIds = _model.Tokenize(span, prefix: false);
                if (pieceIds.Length == 1) ids.Add(pieceIds[0]);
                else ids.AddRange(pieceIds);
                if (offsets is not null) AddOffsets(span, new Piece(start + i, start + e, false), pieceIds, offsets, scratch, toText);
            }
            return;
        }

        var pieces = scratch.Pieces;
        pieces.Clear();
        _preTokenizer.Run(work, start, end, scratch.PreTokenizerBuffers, pieces);
        foreach (var piece in pieces)
        {
            var span = work.AsSpan(piece.Start, piece.End - piece.Start);
            int[] pieceIds = _model.Tokenize(span, piece.Prefix);
            if (pieceIds.Length == 1) ids.Add(pieceIds[0]);
            else ids.AddRange(pieceIds);
            if (offsets is not null) AddOffsets(span, piece, pieceIds, offsets, scratch, toText);
        }
    }

    /// <summary>Offsets of a piece's tokens: a token covering UTF-8 bytes [b0, b1) covers every character those bytes belong to.</summary>
    private void AddOffsets(ReadOnlySpan<char> span, Piece piece, int[] pieceIds, List<(int, int)> offsets, Scratch scratch,
        Func<int, int, (int, int)>? toText)
    {
        if (!_reference && !piece.Prefix && System.Text.Ascii.IsValid(span))
        {
            // One byte per character: a token's byte range is its character range.
            int at = piece.Start;
            foreach (int id in pieceIds)
            {
                int next = at + (_tokenByteStart[id + 1] - _tokenByteStart[id]);
                offsets.Add(toText is null ? (at, next) : toText(at, next));
                at = next;
            }
            return;
        }

        // charStart[b], charEnd[b]: UTF-16 range (relative to the piece) of the character that byte b belongs to.
        var charStart = scratch.ByteCharStart;
        var charEnd = scratch.ByteCharEnd;
        charStart.Clear();
        charEnd.Clear();
        if (piece.Prefix)
        {
            charStart.Add(0);
            charEnd.Add(0);
        }
        for (int i = 0; i < span.Length; i++)
        {
            int width = char.IsHighSurrogate(span[i]) && i + 1 < span.Length && char.IsLowSurrogate(span[i + 1]) ? 2 : 1;
            int cp = width == 2 ? char.ConvertToUtf32(span[i], span[i + 1]) : span[i];
            int byteCount = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
            for (int k = 0; k < byteCount; k++)
            {
                charStart.Add(i);
                charEnd.Add(i + width);
            }
            i += width - 1;
        }
        int b = 0;
        foreach (int id in pieceIds)
        {
            int length = Math.Max(1, _tokenByteStart[id + 1] - _tokenByteStart[id]);
            int b0 = Math.Min(b, charStart.Count - 1), b1 = Math.Min(b + length, charStart.Count) - 1;
            int s = piece.Start + charStart[b0], e = piece.Start + Math.Max(charEnd[b1], charStart[b0]);
            offsets.Add(toText is null ? (s, e) : toText(s, e));
            b += length;
        }
    }

    private sealed class Scratch
    {
        public bool Busy;
        public readonly List<TextSection> RawSections = [];
        public readonly List<Piece> Pieces = [];
        public readonly PreTokenizer.Buffers PreTokenizerBuffers = new();
        public readonly List<int> ByteCharStart = [];
        public readonly List<int> ByteCharEnd = [];
    }
}

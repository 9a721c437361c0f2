using System.Text;

namespace R1Sharp.Text.Tokenization;

/// <summary>
/// Decodes generated ids one at a time for streaming. <see cref="Add"/> returns the text completed by the new
/// token; the bytes of a character split across tokens (byte-level BPE often splits emoji and CJK characters)
/// are held back until the character is complete, and invalid bytes become U+FFFD exactly as in
/// <see cref="HfTokenizer.Decode"/>. The concatenation of all <see cref="Add"/> results and <see cref="Flush"/>
/// equals <c>Decode(ids)</c> (without clean_up_tokenization_spaces, which needs the whole text). Not thread-safe.
/// </summary>
public sealed class IncrementalDecoder
{
    private readonly HfTokenizer _tokenizer;
    private readonly bool _skipSpecialTokens;
    private readonly Decoder _utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false).GetDecoder();
    private char[] _chars = new char[64];

    public IncrementalDecoder(HfTokenizer tokenizer, bool skipSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        _tokenizer = tokenizer;
        _skipSpecialTokens = skipSpecialTokens;
    }

    /// <summary>Adds one id; returns the newly completed text (possibly empty). Unknown ids add nothing, as in Decode.</summary>
    public string Add(int id)
    {
        if (!_tokenizer.IsKnown(id) || (_skipSpecialTokens && _tokenizer.IsSpecial(id))) return "";
        return Convert(_tokenizer.TokenBytes(id), flush: false);
    }

    /// <summary>Ends the stream: returns U+FFFD for a trailing incomplete character (or "") and resets.</summary>
    public string Flush() => Convert([], flush: true);

    /// <summary>Forgets any held-back bytes.</summary>
    public void Reset() => _utf8.Reset();

    private string Convert(ReadOnlySpan<byte> bytes, bool flush)
    {
        int needed = _utf8.GetCharCount(bytes, flush: false) + 4;
        if (_chars.Length < needed) _chars = new char[Math.Max(needed, _chars.Length * 2)];
        int n = _utf8.GetChars(bytes, _chars, flush);
        return n == 0 ? "" : new string(_chars, 0, n);
    }
}

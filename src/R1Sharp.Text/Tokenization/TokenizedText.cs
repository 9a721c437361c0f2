namespace R1Sharp.Text.Tokenization;

/// <summary>
/// Token ids with, for each token, the UTF-16 range [Start, End) of the input text it covers. Tokens that hold
/// part of a character's UTF-8 bytes cover that whole character (so neighbouring tokens may overlap), tokens
/// inserted by the post-processor (BOS/EOS) have (0, 0), as in Hugging Face <c>offset_mapping</c>.
/// </summary>
public sealed record TokenizedText(IReadOnlyList<int> Ids, IReadOnlyList<(int Start, int End)> Offsets);

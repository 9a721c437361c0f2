namespace R1Sharp.Text.Tokenization;

/// <summary>Settings for <see cref="BpeTrainer"/>. Defaults give a Qwen2-style byte-level BPE.</summary>
public sealed record BpeTrainerOptions
{
    /// <summary>Qwen2/Qwen2.5/Qwen3's pre-tokenizer split regex (single digits, letters with one leading non-letter).</summary>
    public const string Qwen2SplitPattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>Final vocabulary size: special tokens + the 256 byte tokens + merges. At least 256 + special tokens.</summary>
    public int VocabSize { get; init; } = 4096;

    /// <summary>A pair is merged only if it occurs at least this often (weighted by word counts).</summary>
    public int MinFrequency { get; init; } = 2;

    /// <summary>Special tokens, given ids 0, 1, ... in this order; never split and never learned from the corpus.</summary>
    public IReadOnlyList<string> SpecialTokens { get; init; } = [];

    /// <summary>
    /// Added tokens that are not special (ids after <see cref="SpecialTokens"/>): never split, never learned from the
    /// corpus, and kept when decoding with special tokens skipped — as Qwen3's and DeepSeek-R1's <c>&lt;think&gt;</c> and
    /// <c>&lt;/think&gt;</c>, which stay one token whatever surrounds them.
    /// </summary>
    public IReadOnlyList<AddedTokenSpec> AddedTokens { get; init; } = [];

    /// <summary>The Split pre-tokenizer regex (Oniguruma/HF syntax; .NET-compatible).</summary>
    public string SplitPattern { get; init; } = Qwen2SplitPattern;

    /// <summary>Apply NFC normalization (as Qwen's tokenizers do).</summary>
    public bool NormalizeNfc { get; init; } = true;

    /// <summary>Longest token in bytes that a merge may create (null: no limit), as HF's max_token_length.</summary>
    public int? MaxTokenLength { get; init; }

    /// <summary>Special-token roles written to tokenizer_config.json (each must be in <see cref="SpecialTokens"/>).</summary>
    public string? BosToken { get; init; }
    public string? EosToken { get; init; }
    public string? PadToken { get; init; }

    /// <summary>Prepend <see cref="BosToken"/> when encoding with addSpecialTokens (a TemplateProcessing post-processor).</summary>
    public bool AddBosToken { get; init; }

    /// <summary>Optional Jinja chat template stored in tokenizer_config.json.</summary>
    public string? ChatTemplate { get; init; }

    /// <summary>Optional model_max_length for tokenizer_config.json.</summary>
    public long? ModelMaxLength { get; init; }
}

/// <summary>
/// An added token for <see cref="BpeTrainerOptions.AddedTokens"/>. <paramref name="LStrip"/> makes it swallow the
/// whitespace on its left, as HF's <c>lstrip</c>: then "Assistant: &lt;think&gt;" in training text and a prompt ending in
/// "Assistant:" followed by a generated "&lt;think&gt;" tokenize alike at the prompt's end.
/// </summary>
public sealed record AddedTokenSpec(string Content, bool LStrip = false)
{
    public static implicit operator AddedTokenSpec(string content) => new(content);
}

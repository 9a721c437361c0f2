using R1Sharp.Text.Tokenization;

namespace R1Sharp.Text.Templates;

/// <summary>
/// A conversation as SFT trains on it: the token ids of the rendered chat and, per token, whether it belongs to an
/// assistant turn (the tokens the loss is computed on). What transformers'
/// <c>apply_chat_template(messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)</c> returns.
/// </summary>
/// <remarks>
/// <para>The text is <see cref="ChatTemplate.RenderWithSpans"/>'s rendering; the ids are
/// <see cref="HfTokenizer.EncodeWithOffsets"/> of that text without added special tokens (the template writes BOS
/// itself where the model wants it, and transformers tokenizes chat renderings with <c>add_special_tokens=False</c>);
/// the mask is <see cref="TokenMask.FromSpans"/> of the assistant spans: a token is marked when any of its
/// characters lies in an assistant turn's generated text (its content, any reasoning the template shows, tool calls
/// and the end-of-turn token — never the role header).</para>
/// <para>A token that straddles a span boundary (a BPE merge across the header's last newline and the content's
/// first characters) is marked, as transformers marks it; the usual templates end headers with a special token or a
/// newline that the pre-tokenizer splits off, so this does not arise with them.</para>
/// </remarks>
/// <param name="Ids">Token ids of the rendered conversation.</param>
/// <param name="AssistantMask">One flag per token: true for tokens of assistant turns.</param>
/// <param name="Offsets">Each token's [Start, End) UTF-16 range in <see cref="ChatRendering.Text"/>.</param>
/// <param name="Rendering">The rendered text and its assistant spans.</param>
public sealed record ChatEncoding(
    IReadOnlyList<int> Ids,
    IReadOnlyList<bool> AssistantMask,
    IReadOnlyList<(int Start, int End)> Offsets,
    ChatRendering Rendering)
{
    /// <summary>The label value the cross-entropy loss ignores (PyTorch's and transformers' <c>-100</c>).</summary>
    public const int IgnoreIndex = -100;

    /// <summary>
    /// Renders <paramref name="messages"/> with <paramref name="template"/>, tokenizes the text with
    /// <paramref name="tokenizer"/>, and marks the assistant tokens.
    /// </summary>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="template">The model's chat template (e.g. <see cref="ChatTemplate.FromTokenizerConfig"/> of the same folder).</param>
    /// <param name="messages">The conversation.</param>
    /// <param name="addGenerationPrompt">End with the assistant header (for prompting); SFT examples end with the last turn.</param>
    /// <param name="extraContext">Template variables such as <c>enable_thinking</c> or <c>tools</c>.</param>
    /// <exception cref="TemplateException">The template failed, or an assistant turn could not be located.</exception>
    public static ChatEncoding Encode(HfTokenizer tokenizer, ChatTemplate template, IReadOnlyList<ChatMessage> messages,
        bool addGenerationPrompt = false, IReadOnlyDictionary<string, object?>? extraContext = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(template);
        var rendering = template.RenderWithSpans(messages, addGenerationPrompt, extraContext);
        var tokens = tokenizer.EncodeWithOffsets(rendering.Text, addSpecialTokens: false);
        var mask = TokenMask.FromSpans(tokens.Offsets, rendering.AssistantSpans);
        return new ChatEncoding(tokens.Ids, mask, tokens.Offsets, rendering);
    }

    /// <summary>How many tokens are trained on.</summary>
    public int AssistantTokenCount => AssistantMask.Count(m => m);

    /// <summary>
    /// Next-token labels aligned with <see cref="Ids"/> as transformers builds them for causal-LM SFT: the id where
    /// the mask is true, <see cref="IgnoreIndex"/> elsewhere (the model shifts them by one when computing the loss).
    /// </summary>
    public int[] Labels()
    {
        var labels = new int[Ids.Count];
        for (int t = 0; t < labels.Length; t++) labels[t] = AssistantMask[t] ? Ids[t] : IgnoreIndex;
        return labels;
    }
}

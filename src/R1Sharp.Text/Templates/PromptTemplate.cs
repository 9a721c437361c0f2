namespace R1Sharp.Text.Templates;

/// <summary>How a <see cref="PromptTemplate"/> turns a question into model input.</summary>
public enum PromptTemplateKind
{
    /// <summary>Plain text with a <c>{prompt}</c> placeholder, for base models without a chat format.</summary>
    Text,

    /// <summary>The tokenizer's chat template: [system?, user(question)] with add_generation_prompt=True.</summary>
    Chat,
}

/// <summary>
/// A named way to present a question to the model. Presets live in one registry (<see cref="Presets"/>):
/// <c>r1-zero</c> (DeepSeek-R1-Zero's template, verbatim from the paper), <c>plain</c>
/// ("Question: …\nAnswer:") and <c>chat</c> (the tokenizer's own chat template).
/// </summary>
/// <param name="Name">Registry name.</param>
/// <param name="Kind">Text or chat.</param>
/// <param name="Text">For <see cref="PromptTemplateKind.Text"/>: the template, with <see cref="Placeholder"/> where the question goes.</param>
/// <param name="Description">One line for help output.</param>
public sealed record PromptTemplate(string Name, PromptTemplateKind Kind, string? Text, string Description)
{
    /// <summary>Where the question goes in a text template (replaced literally; no other braces are special).</summary>
    public const string Placeholder = "{prompt}";

    /// <summary>
    /// DeepSeek-R1-Zero (DeepSeek-AI 2025, "DeepSeek-R1", Table 1), used for RL straight from a base model: the
    /// reward checks the <c>&lt;think&gt;</c>/<c>&lt;answer&gt;</c> format it asks for.
    /// </summary>
    public static PromptTemplate R1Zero { get; } = new(
        "r1-zero",
        PromptTemplateKind.Text,
        "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. The assistant first thinks about " +
        "the reasoning process in the mind and then provides the user with the answer. The reasoning process and answer are enclosed within " +
        "<think> </think> and <answer> </answer> tags, respectively, i.e., <think> reasoning process here </think> <answer> answer here " +
        "</answer>. User: {prompt}. Assistant:",
        "DeepSeek-R1-Zero's template (paper, Table 1): think in <think>, answer in <answer>");

    /// <summary>A minimal completion-style prompt for base models.</summary>
    public static PromptTemplate Plain { get; } = new(
        "plain", PromptTemplateKind.Text, "Question: {prompt}\nAnswer:", "\"Question: ...\\nAnswer:\" for base models");

    /// <summary>Use the tokenizer's chat template (instruct and reasoning models).</summary>
    public static PromptTemplate Chat { get; } = new(
        "chat", PromptTemplateKind.Chat, null, "the tokenizer's chat template, with the generation prompt");

    /// <summary>All presets by name.</summary>
    public static IReadOnlyDictionary<string, PromptTemplate> Presets { get; } =
        new[] { R1Zero, Plain, Chat }.ToDictionary(p => p.Name, StringComparer.Ordinal);

    /// <summary>The preset called <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">Unknown name (the message lists the known ones).</exception>
    public static PromptTemplate Get(string name) =>
        Presets.TryGetValue(name, out var p) ? p
            : throw new ArgumentException($"unknown prompt template '{name}'; known: {string.Join(", ", Presets.Keys)}", nameof(name));

    /// <summary>A custom text template; it must contain <see cref="Placeholder"/>.</summary>
    public static PromptTemplate FromText(string name, string text, string description = "custom text template")
    {
        if (!text.Contains(Placeholder, StringComparison.Ordinal))
            throw new ArgumentException($"prompt template '{name}' has no {Placeholder} placeholder", nameof(text));
        return new PromptTemplate(name, PromptTemplateKind.Text, text, description);
    }

    /// <summary>Fills a text template with the question.</summary>
    /// <exception cref="InvalidOperationException">For the chat kind, which needs a chat template (use <see cref="Render"/>).</exception>
    public string Format(string prompt)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        if (Kind != PromptTemplateKind.Text || Text is null)
            throw new InvalidOperationException($"prompt template '{Name}' renders through the tokenizer's chat template; call Render with one");
        return Text.Replace(Placeholder, prompt, StringComparison.Ordinal);
    }

    /// <summary>
    /// The model input for <paramref name="prompt"/>: a text template filled in, or for <c>chat</c> the chat
    /// template rendered on [system (if given), user] with add_generation_prompt=True.
    /// </summary>
    /// <param name="prompt">The question.</param>
    /// <param name="chatTemplate">Required for the chat kind.</param>
    /// <param name="systemPrompt">Chat kind only: an optional system message.</param>
    /// <param name="extraContext">Chat kind only: template variables such as enable_thinking.</param>
    public string Render(string prompt, ChatTemplate? chatTemplate = null, string? systemPrompt = null,
        IReadOnlyDictionary<string, object?>? extraContext = null)
    {
        if (Kind == PromptTemplateKind.Text)
        {
            if (systemPrompt is not null)
                throw new ArgumentException($"prompt template '{Name}' is plain text and has no system message", nameof(systemPrompt));
            return Format(prompt);
        }
        if (chatTemplate is null)
            throw new ArgumentNullException(nameof(chatTemplate), $"prompt template '{Name}' needs the tokenizer's chat template");
        var messages = new List<ChatMessage>(2);
        if (systemPrompt is not null) messages.Add(ChatMessage.System(systemPrompt));
        messages.Add(ChatMessage.User(prompt));
        return chatTemplate.Render(messages, addGenerationPrompt: true, extraContext);
    }
}

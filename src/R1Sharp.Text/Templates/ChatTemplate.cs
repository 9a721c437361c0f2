using System.Text.Json;
using R1Sharp.Data;
using R1Sharp.Text.Templates.Jinja;

namespace R1Sharp.Text.Templates;

/// <summary>
/// A Hugging Face chat template (the Jinja <c>chat_template</c> of tokenizer_config.json), rendered byte-identical
/// to <c>tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=...)</c> in transformers.
/// Parsing is cached per source text; instances are immutable and thread-safe.
/// </summary>
/// <remarks>
/// Context, as transformers builds it: the tokenizer's special tokens (<c>bos_token</c>, <c>eos_token</c>, ... from
/// <see cref="DefaultContext"/>), then the <c>extraContext</c> of the render call (<c>enable_thinking</c>,
/// <c>tools</c>, <c>documents</c>, anything else), then <c>messages</c> and <c>add_generation_prompt</c>.
/// <c>tools</c> and <c>documents</c> are None unless given.
/// </remarks>
public sealed class ChatTemplate
{
    private static readonly IReadOnlyDictionary<string, object?> NoContext = new Dictionary<string, object?>();

    private ChatTemplate(JinjaTemplate template, IReadOnlyDictionary<string, object?> defaults, TimeProvider clock)
    {
        Template = template;
        DefaultContext = defaults;
        Clock = clock;
        _defaults = defaults.ToDictionary(kv => kv.Key, kv => ClrValues.From(kv.Value), StringComparer.Ordinal);
    }

    private readonly Dictionary<string, object?> _defaults; // DefaultContext in the template value model

    /// <summary>The parsed Jinja template.</summary>
    public JinjaTemplate Template { get; }

    /// <summary>The Jinja source.</summary>
    public string Source => Template.Source;

    /// <summary>Variables every render starts from: the special tokens of the tokenizer config (empty after <see cref="Parse(string)"/>).</summary>
    public IReadOnlyDictionary<string, object?> DefaultContext { get; }

    /// <summary>The clock <c>strftime_now</c> reads (system clock unless replaced with <see cref="WithClock"/>).</summary>
    public TimeProvider Clock { get; }

    /// <summary>Parses a Jinja chat template; no special tokens are set (pass bos_token etc. in the render context).</summary>
    /// <exception cref="TemplateSyntaxException">Invalid or unsupported syntax, with line and column.</exception>
    public static ChatTemplate Parse(string jinjaSource) => new(JinjaTemplate.Parse(jinjaSource), NoContext, TimeProvider.System);

    /// <summary>As <see cref="Parse(string)"/>, for a template read from <paramref name="origin"/> (e.g. a chat_template.jinja), which syntax errors name.</summary>
    /// <exception cref="TemplateSyntaxException">Invalid or unsupported syntax: the origin, line and column.</exception>
    public static ChatTemplate Parse(string jinjaSource, string origin) =>
        new(ParseFrom(jinjaSource, origin), NoContext, TimeProvider.System);

    private static JinjaTemplate ParseFrom(string source, string origin)
    {
        try
        {
            return JinjaTemplate.Parse(source);
        }
        catch (TemplateSyntaxException e)
        {
            throw new TemplateSyntaxException(e.Detail, e.Line, e.Column, origin);
        }
    }

    /// <summary>
    /// Loads the chat template and special tokens of a tokenizer_config.json (or of the folder holding it). A
    /// <c>chat_template.jinja</c> file next to it (newer Hugging Face layout) takes priority over the config's
    /// <c>chat_template</c>, as in transformers.
    /// </summary>
    /// <param name="path">tokenizer_config.json, or a model folder.</param>
    /// <param name="templateName">For configs with several named templates (a list of {name, template}): which one; "default" if null.</param>
    public static ChatTemplate FromTokenizerConfig(string path, string? templateName = null)
    {
        path = ModelLocation.Resolve(path);
        string file = Directory.Exists(path) ? Path.Combine(path, "tokenizer_config.json") : path;
        if (!File.Exists(file)) throw new FileNotFoundException($"tokenizer config not found: {file}", file);
        string? sibling = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(file))!, "chat_template.jinja");
        return FromTokenizerConfigJson(File.ReadAllText(file), templateName, file, File.Exists(sibling) ? File.ReadAllText(sibling) : null, sibling);
    }

    /// <summary>
    /// ChatML (<c>&lt;|im_start|&gt;role\ncontent&lt;|im_end|&gt;\n</c> per message, <c>&lt;|im_start|&gt;assistant\n</c> as the generation
    /// prompt): the template used for conversations with a model that has none of its own. Assistant turns are marked as
    /// generation blocks, so SFT trains on their content and <c>&lt;|im_end|&gt;</c>. A vocabulary without the two markers
    /// encodes them as ordinary text.
    /// </summary>
    public const string ChatMLSource =
        "{%- for message in messages -%}" +
        "{{- '<|im_start|>' + message['role'] + '\\n' -}}" +
        "{%- if message['role'] == 'assistant' -%}" +
        "{% generation %}{{- message['content'] + '<|im_end|>' -}}{% endgeneration %}{{- '\\n' -}}" +
        "{%- else -%}{{- message['content'] + '<|im_end|>\\n' -}}{%- endif -%}" +
        "{%- endfor -%}" +
        "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}";

    /// <summary>
    /// The chat template for conversations with the model in <paramref name="modelDir"/>: <paramref name="templatePath"/> when
    /// given (a Jinja file, or a tokenizer_config.json), else the model's own (<c>chat_template.jinja</c>, or the config's
    /// <c>chat_template</c>), else <see cref="ChatMLSource"/>. The model's special tokens (bos_token, eos_token, …) are in the
    /// context either way. <paramref name="origin"/> says which template it is, for the run's log.
    /// </summary>
    /// <exception cref="FileNotFoundException"><paramref name="templatePath"/> does not exist.</exception>
    /// <exception cref="TemplateSyntaxException">A template that does not parse (the model's own is never replaced silently).</exception>
    public static ChatTemplate ForModel(string modelDir, string? templatePath, out string origin)
    {
        modelDir = ModelLocation.Resolve(modelDir);
        string config = Path.Combine(modelDir, "tokenizer_config.json");
        if (templatePath is { Length: > 0 })
        {
            if (!File.Exists(templatePath)) throw new FileNotFoundException($"chat_template_path: {templatePath}: no such file", templatePath);
            origin = templatePath;
            if (templatePath.EndsWith(".json", StringComparison.OrdinalIgnoreCase)) return FromTokenizerConfig(templatePath);
            return new ChatTemplate(ParseFrom(File.ReadAllText(templatePath), templatePath), SpecialTokensOf(config), TimeProvider.System);
        }
        if (File.Exists(Path.Combine(modelDir, "chat_template.jinja")) || HasTemplateField(config))
        {
            origin = $"the chat template of {modelDir}";
            return FromTokenizerConfig(File.Exists(config) ? config : modelDir);
        }
        origin = $"ChatML ({modelDir} has no chat template)";
        return new ChatTemplate(JinjaTemplate.Parse(ChatMLSource), SpecialTokensOf(config), TimeProvider.System);
    }

    private static bool HasTemplateField(string config)
    {
        if (!File.Exists(config)) return false;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(config));
            return doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("chat_template", out var t) && t.ValueKind != JsonValueKind.Null;
        }
        catch (JsonException e) { throw new FormatException($"{config}: invalid JSON at line {(e.LineNumber ?? 0) + 1}: {e.Message}", e); }
    }

    private static IReadOnlyDictionary<string, object?> SpecialTokensOf(string config)
    {
        if (!File.Exists(config)) return NoContext;
        using var doc = JsonDocument.Parse(File.ReadAllText(config));
        return doc.RootElement.ValueKind == JsonValueKind.Object ? SpecialTokens(doc.RootElement, config) : NoContext;
    }

    /// <summary>As <see cref="FromTokenizerConfig"/>, from the JSON text; <paramref name="sourceName"/> names it in errors.</summary>
    /// <param name="json">The tokenizer_config.json text.</param>
    /// <param name="templateName">Which of several named templates; "default" if null.</param>
    /// <param name="sourceName">Names the config in error messages.</param>
    /// <param name="chatTemplateJinja">Contents of a chat_template.jinja next to the config: the default template, ahead of the config's.</param>
    /// <param name="chatTemplateJinjaName">Names the chat_template.jinja in errors (syntax errors name the file the template came from).</param>
    public static ChatTemplate FromTokenizerConfigJson(string json, string? templateName = null, string sourceName = "tokenizer_config.json",
        string? chatTemplateJinja = null, string chatTemplateJinjaName = "chat_template.jinja")
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new FormatException($"{sourceName}: invalid JSON at line {(e.LineNumber ?? 0) + 1}: {e.Message}", e);
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new FormatException($"{sourceName}: expected a JSON object");
            bool fromJinja = chatTemplateJinja is not null && templateName is null or "default";
            string source = (fromJinja ? chatTemplateJinja : null)
                ?? SelectTemplate(root, templateName, sourceName)
                ?? throw new FormatException($"{sourceName}: no field 'chat_template' (and no chat_template.jinja next to it)");
            var template = ParseFrom(source, fromJinja ? chatTemplateJinjaName : $"{sourceName}, field 'chat_template'");
            return new ChatTemplate(template, SpecialTokens(root, sourceName), TimeProvider.System);
        }
    }

    private static string? SelectTemplate(JsonElement root, string? name, string sourceName)
    {
        if (!root.TryGetProperty("chat_template", out var t) || t.ValueKind == JsonValueKind.Null) return null;
        if (t.ValueKind == JsonValueKind.String) return t.GetString();
        if (t.ValueKind != JsonValueKind.Array)
            throw new FormatException($"{sourceName}: field 'chat_template' must be a string or a list of {{name, template}}");
        string want = name ?? "default";
        var names = new List<string>();
        foreach (var item in t.EnumerateArray())
        {
            string? n = item.TryGetProperty("name", out var nv) ? nv.GetString() : null;
            if (n is not null) names.Add(n);
            if (n == want && item.TryGetProperty("template", out var tv)) return tv.GetString();
        }
        throw new FormatException($"{sourceName}: field 'chat_template' has no template named '{want}' (has: {string.Join(", ", names)})");
    }

    /// <summary>What transformers' <c>special_tokens_map</c> holds: set special tokens as strings (AddedToken dicts by content).</summary>
    private static Dictionary<string, object?> SpecialTokens(JsonElement root, string sourceName)
    {
        var map = new Dictionary<string, object?>();
        foreach (string key in new[] { "bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token" })
        {
            if (!root.TryGetProperty(key, out var v)) continue;
            string? token = TokenContent(v, sourceName, key);
            if (token is not null) map[key] = token;
        }
        if (root.TryGetProperty("additional_special_tokens", out var extra) && extra.ValueKind == JsonValueKind.Array && extra.GetArrayLength() > 0)
            map["additional_special_tokens"] = extra.EnumerateArray().Select(e => (object?)TokenContent(e, sourceName, "additional_special_tokens")).ToList();
        return map;
    }

    private static string? TokenContent(JsonElement v, string sourceName, string field) => v.ValueKind switch
    {
        JsonValueKind.Null => null,
        JsonValueKind.String => v.GetString(),
        JsonValueKind.Object when v.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String => c.GetString(),
        _ => throw new FormatException($"{sourceName}: field '{field}' must be a string or an object with 'content'"),
    };

    /// <summary>A copy whose <c>strftime_now</c> reads <paramref name="clock"/> (for reproducible renders).</summary>
    public ChatTemplate WithClock(TimeProvider clock) => new(Template, DefaultContext, clock);

    /// <summary>Renders the conversation as <c>apply_chat_template(..., tokenize=False)</c> does.</summary>
    /// <exception cref="TemplateRaisedException">The template rejected the conversation (raise_exception).</exception>
    /// <exception cref="TemplateRuntimeException">Rendering failed as it would in Python (undefined value, type error).</exception>
    public string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt, IReadOnlyDictionary<string, object?>? extraContext = null) =>
        Template.RenderConverted(BuildContext(messages, addGenerationPrompt, extraContext), Clock, out _);

    internal string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt, IReadOnlyDictionary<string, object?>? extraContext,
        out IReadOnlyList<(int Start, int End)> generationSpans)
    {
        string text = Template.RenderConverted(BuildContext(messages, addGenerationPrompt, extraContext), Clock, out var spans);
        generationSpans = spans;
        return text;
    }

    private Dictionary<string, object?> BuildContext(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt,
        IReadOnlyDictionary<string, object?>? extraContext)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var context = new Dictionary<string, object?>(DefaultContext.Count + (extraContext?.Count ?? 0) + 4, StringComparer.Ordinal);
        foreach (var kv in _defaults) context[kv.Key] = kv.Value;
        context["tools"] = null;
        context["documents"] = null;
        if (extraContext is not null)
            foreach (var kv in extraContext)
            {
                if (kv.Key is "messages" or "add_generation_prompt")
                    throw new ArgumentException($"extraContext must not set '{kv.Key}'; it is an argument of Render", nameof(extraContext));
                context[kv.Key] = ClrValues.From(kv.Value);
            }
        var list = new List<object?>(messages.Count);
        for (int i = 0; i < messages.Count; i++)
        {
            var m = messages[i] ?? throw new ArgumentException($"messages[{i}] is null", nameof(messages));
            try
            {
                list.Add(m.ToTemplateValue());
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"messages[{i}]: {e.Message}", nameof(messages), e);
            }
        }
        context["messages"] = list;
        context["add_generation_prompt"] = addGenerationPrompt;
        return context;
    }

    /// <summary>
    /// Renders like <see cref="Render(IReadOnlyList{ChatMessage}, bool, IReadOnlyDictionary{string, object})"/> and also returns, for every assistant message, the character span of what
    /// the model generates in that turn: its content (with any reasoning the template shows), tool calls and its
    /// end-of-turn token, without the role header — the text SFT trains on.
    /// </summary>
    /// <remarks>
    /// Rule: templates with <c>{% generation %}</c> blocks give the spans directly (as transformers'
    /// return_assistant_tokens_mask uses them). Otherwise, for assistant message i, G = render(messages[..i],
    /// add_generation_prompt=True) and B = render(messages[..i+1], False); the turn is B without its prefix G and
    /// without trailing whitespace (the newline after an end-of-turn token is formatting the model never emits), and
    /// sits right after G in the full rendering. When the template renders the turn differently once later messages
    /// exist (Qwen3 drops the reasoning of turns before the last user message), the span is what the full rendering
    /// shows of the turn, from after its role header to its end-of-turn token (the content's end is traced by
    /// rendering again with a marker character in the content). If the generation prompt pre-fills text the turn lacks
    /// (Qwen3's empty think block with enable_thinking=false, for a message that has reasoning), the prompt is cut back
    /// to the role header. A turn that none of this locates raises <see cref="TemplateRuntimeException"/>.
    /// </remarks>
    /// <exception cref="TemplateException">The template failed, or an assistant turn could not be located.</exception>
    public ChatRendering RenderWithSpans(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt = false,
        IReadOnlyDictionary<string, object?>? extraContext = null) =>
        AssistantSpans.Compute(this, messages, addGenerationPrompt, extraContext);
}

/// <summary>A rendered conversation with the spans of its assistant turns.</summary>
/// <param name="Text">Exactly what <see cref="ChatTemplate.Render(IReadOnlyList{ChatMessage}, bool, IReadOnlyDictionary{string, object})"/> returns.</param>
/// <param name="AssistantSpans">[Start, End) character ranges of the assistant turns' generated text, in order.</param>
/// <param name="AssistantMessageIndices">For each span, the index of its message in the conversation.</param>
public sealed record ChatRendering(string Text, IReadOnlyList<(int Start, int End)> AssistantSpans, IReadOnlyList<int> AssistantMessageIndices)
{
    /// <summary>The text of each span (for inspection and tests).</summary>
    public IEnumerable<string> SpanTexts => AssistantSpans.Select(s => Text[s.Start..s.End]);
}

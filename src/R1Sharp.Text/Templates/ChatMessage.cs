using System.Text.Json;
using R1Sharp.Text.Templates.Jinja;

namespace R1Sharp.Text.Templates;

/// <summary>
/// One message of a conversation, as a chat template sees it: a dict with <c>role</c> and <c>content</c>, plus
/// <c>reasoning_content</c>, <c>tool_calls</c>, <c>name</c> and <c>tool_call_id</c> when set (absent keys are
/// undefined in the template, exactly as when the key is missing from a Python message dict).
/// </summary>
/// <param name="Role">"system", "user", "assistant" or "tool" (templates decide what they accept).</param>
/// <param name="Content">The message text.</param>
public sealed record ChatMessage(string Role, string Content)
{
    /// <summary>Reasoning kept apart from the answer (Qwen3 and DeepSeek-R1 style <c>reasoning_content</c>).</summary>
    public string? ReasoningContent { get; init; }

    /// <summary>
    /// The <c>tool_calls</c> list as JSON, in the OpenAI / Hugging Face shape:
    /// <c>[{"type": "function", "function": {"name": "f", "arguments": {...} or "json text"}}]</c>.
    /// </summary>
    public string? ToolCallsJson { get; init; }

    /// <summary>Optional <c>name</c> (some templates print it for tool or multi-user messages).</summary>
    public string? Name { get; init; }

    /// <summary>Optional <c>tool_call_id</c> of a tool message.</summary>
    public string? ToolCallId { get; init; }

    /// <summary>
    /// Any other keys, passed to the template as they are; a key here overrides the typed ones. A null value is
    /// Python's None — e.g. <c>{"content": null}</c> for DeepSeek's tool-call turns, whose template tests
    /// <c>message['content'] is none</c>.
    /// </summary>
    public IReadOnlyDictionary<string, object?>? Extra { get; init; }

    public static ChatMessage System(string content) => new("system", content);
    public static ChatMessage User(string content) => new("user", content);
    public static ChatMessage Assistant(string content, string? reasoningContent = null) => new("assistant", content) { ReasoningContent = reasoningContent };
    public static ChatMessage Tool(string content, string? toolCallId = null) => new("tool", content) { ToolCallId = toolCallId };

    /// <summary>The Python dict the template receives.</summary>
    internal PyDict ToTemplateValue()
    {
        var d = new PyDict();
        d.Set("role", Role);
        d.Set("content", Content);
        if (ReasoningContent is not null) d.Set("reasoning_content", ReasoningContent);
        if (ToolCallsJson is not null)
        {
            try
            {
                using var doc = JsonDocument.Parse(ToolCallsJson);
                d.Set("tool_calls", ClrValues.FromJson(doc.RootElement));
            }
            catch (JsonException e)
            {
                throw new ArgumentException($"ChatMessage.ToolCallsJson (role '{Role}') is not valid JSON: {e.Message}", nameof(ToolCallsJson), e);
            }
        }
        if (Name is not null) d.Set("name", Name);
        if (ToolCallId is not null) d.Set("tool_call_id", ToolCallId);
        if (Extra is not null)
            foreach (var kv in Extra) d.Set(kv.Key, ClrValues.From(kv.Value));
        return d;
    }
}

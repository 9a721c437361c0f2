using System.Text.Json;
using R1Sharp.Text.Templates;

namespace R1Sharp.Text.Tests.Templates;

/// <summary>
/// tests/fixtures/templates/chat_goldens.jsonl: real chat templates (Qwen3, DeepSeek-V3, Llama-3, Llama-3 instruct,
/// Qwen2.5) rendered by Python jinja2 the way transformers' apply_chat_template does (generate_goldens.py).
/// ChatTemplate must produce the same text byte for byte.
/// </summary>
public class ChatTemplateGoldenTests
{
    private const string Goldens = "tests/fixtures/templates/chat_goldens.jsonl";
    private static readonly string[] SpecialTokenKeys =
        ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token", "additional_special_tokens"];

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var c in TemplateFixtures.ReadJsonl(Goldens))
            data.Add(c.GetProperty("template").GetString()!, c.GetProperty("case").GetString()!);
        return data;
    }

    internal static JsonElement Case(string template, string name) =>
        TemplateFixtures.ReadJsonl(Goldens).Single(c => c.GetProperty("template").GetString() == template && c.GetProperty("case").GetString() == name);

    /// <summary>A message dict of the golden file as a ChatMessage (content None becomes Extra["content"] = null).</summary>
    internal static ChatMessage ToMessage(JsonElement m)
    {
        string role = m.GetProperty("role").GetString()!;
        var content = m.GetProperty("content");
        var extra = new Dictionary<string, object?>();
        if (content.ValueKind == JsonValueKind.Null) extra["content"] = null;
        string? Opt(string key) => m.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        foreach (var p in m.EnumerateObject())
            if (p.Name is not ("role" or "content" or "reasoning_content" or "tool_calls" or "name" or "tool_call_id"))
                extra[p.Name] = p.Value.Clone();
        return new ChatMessage(role, content.ValueKind == JsonValueKind.String ? content.GetString()! : "")
        {
            ReasoningContent = Opt("reasoning_content"),
            ToolCallsJson = m.TryGetProperty("tool_calls", out var tc) ? tc.GetRawText() : null,
            Name = Opt("name"),
            ToolCallId = Opt("tool_call_id"),
            Extra = extra.Count > 0 ? extra : null,
        };
    }

    internal static (ChatTemplate Template, List<ChatMessage> Messages, bool AddGenerationPrompt, Dictionary<string, object?> Extra) Load(JsonElement c)
    {
        var template = ChatTemplate.FromTokenizerConfig(TemplateFixtures.Path(c.GetProperty("config").GetString()!.Split('/')));
        var messages = c.GetProperty("messages").EnumerateArray().Select(ToMessage).ToList();
        var extra = c.GetProperty("context").EnumerateObject()
            .Where(p => !SpecialTokenKeys.Contains(p.Name))
            .ToDictionary(p => p.Name, p => (object?)p.Value.Clone());
        return (template, messages, c.GetProperty("add_generation_prompt").GetBoolean(), extra);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Renders_like_transformers(string template, string name)
    {
        var c = Case(template, name);
        var (chat, messages, gen, extra) = Load(c);
        if (c.TryGetProperty("error", out _))
        {
            Assert.ThrowsAny<TemplateException>(() => chat.Render(messages, gen, extra));
            return;
        }
        Assert.Equal(c.GetProperty("expected").GetString(), chat.Render(messages, gen, extra));
    }

    [Theory]
    [InlineData("qwen3")]
    [InlineData("deepseek-v3")]
    [InlineData("llama3")]
    [InlineData("qwen2_5")]
    public void Special_tokens_come_from_the_tokenizer_config(string template)
    {
        var c = TemplateFixtures.ReadJsonl(Goldens).First(x => x.GetProperty("template").GetString() == template);
        var chat = ChatTemplate.FromTokenizerConfig(TemplateFixtures.Path(c.GetProperty("config").GetString()!.Split('/')));
        var expected = c.GetProperty("context").EnumerateObject().Where(p => SpecialTokenKeys.Contains(p.Name)).ToList();
        Assert.Equal(expected.Select(p => p.Name).Order(), chat.DefaultContext.Keys.Order());
        foreach (var p in expected)
        {
            if (p.Value.ValueKind == JsonValueKind.String) Assert.Equal(p.Value.GetString(), chat.DefaultContext[p.Name]);
            else Assert.Equal(p.Value.EnumerateArray().Select(e => e.GetString()), ((IEnumerable<object?>)chat.DefaultContext[p.Name]!).Cast<string>());
        }
    }
}

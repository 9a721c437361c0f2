using System.Text.Json;
using R1Sharp.Text.Templates;

namespace R1Sharp.Text.Tests.Templates;

/// <summary>
/// RenderWithSpans on real templates; every expected rendering and span below was written out by hand from the
/// template source (and the renderings are also among the jinja2 goldens).
/// </summary>
public class AssistantSpanTests
{
    private static ChatTemplate Qwen3 => ChatTemplate.FromTokenizerConfig(TemplateFixtures.Path("tests", "fixtures", "tokenizers", "qwen3", "tokenizer_config.json"));
    private static ChatTemplate DeepSeekV3 => ChatTemplate.FromTokenizerConfig(TemplateFixtures.Path("tests", "fixtures", "tokenizers", "deepseek-v3", "tokenizer_config.json"));
    private static ChatTemplate Llama3Base => ChatTemplate.FromTokenizerConfig(TemplateFixtures.Path("tests", "fixtures", "templates", "llama3", "tokenizer_config.json"));
    private static ChatTemplate Llama3Instruct => ChatTemplate.FromTokenizerConfig(TemplateFixtures.Path("tests", "fixtures", "templates", "llama3_1", "tokenizer_config.json"));

    private static readonly ChatMessage User1 = ChatMessage.User("What is 12 * 7?");
    private static readonly ChatMessage User2 = ChatMessage.User("And 84 / 4?");

    /// <summary>Asserts the text, the span texts, and that each span starts right after <paramref name="header"/>.</summary>
    private static void AssertSpans(ChatRendering r, string expectedText, string header, params string[] expectedSpans)
    {
        Assert.Equal(expectedText, r.Text);
        Assert.Equal(expectedSpans, r.SpanTexts.ToArray());
        foreach (var (start, end) in r.AssistantSpans)
        {
            Assert.EndsWith(header, r.Text[..start], StringComparison.Ordinal);
            Assert.True(end <= r.Text.Length);
        }
        for (int k = 1; k < r.AssistantSpans.Count; k++)
            Assert.True(r.AssistantSpans[k].Start >= r.AssistantSpans[k - 1].End);
    }

    [Fact]
    public void Qwen3_single_turn_keeps_reasoning_and_end_of_turn_but_not_header_or_newline()
    {
        var messages = new[] { User1, ChatMessage.Assistant("<think>\n12 * 7 = 84\n</think>\n\nThe answer is 84.") };
        var r = Qwen3.RenderWithSpans(messages);
        AssertSpans(r,
            "<|im_start|>user\nWhat is 12 * 7?<|im_end|>\n<|im_start|>assistant\n<think>\n12 * 7 = 84\n</think>\n\nThe answer is 84.<|im_end|>\n",
            "<|im_start|>assistant\n",
            "<think>\n12 * 7 = 84\n</think>\n\nThe answer is 84.<|im_end|>");
        Assert.Equal([1], r.AssistantMessageIndices);
    }

    [Fact]
    public void Qwen3_history_turns_are_spanned_as_the_template_shows_them_without_reasoning()
    {
        var messages = new[]
        {
            ChatMessage.System("Be brief."), User1,
            ChatMessage.Assistant("<think>\n10*7 + 2*7\n</think>\n\n84."), User2,
            ChatMessage.Assistant("21.", reasoningContent: "84 / 4 = 21"),
        };
        var r = Qwen3.RenderWithSpans(messages, addGenerationPrompt: false);
        AssertSpans(r,
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 12 * 7?<|im_end|>\n<|im_start|>assistant\n84.<|im_end|>\n" +
            "<|im_start|>user\nAnd 84 / 4?<|im_end|>\n<|im_start|>assistant\n<think>\n84 / 4 = 21\n</think>\n\n21.<|im_end|>\n",
            "<|im_start|>assistant\n",
            "84.<|im_end|>",
            "<think>\n84 / 4 = 21\n</think>\n\n21.<|im_end|>");
        Assert.Equal([2, 4], r.AssistantMessageIndices);
    }

    [Fact]
    public void Qwen3_empty_think_block_is_prompt_when_thinking_is_off_and_generated_when_on()
    {
        var messages = new[] { User1, ChatMessage.Assistant("84.") };
        const string text = "<|im_start|>user\nWhat is 12 * 7?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n84.<|im_end|>\n";
        var off = Qwen3.RenderWithSpans(messages, false, new Dictionary<string, object?> { ["enable_thinking"] = false });
        AssertSpans(off, text, "<think>\n\n</think>\n\n", "84.<|im_end|>");
        var on = Qwen3.RenderWithSpans(messages, false);
        AssertSpans(on, text, "<|im_start|>assistant\n", "<think>\n\n</think>\n\n84.<|im_end|>");
    }

    [Fact]
    public void Qwen3_tool_call_turn_with_empty_content_is_the_call_and_end_of_turn()
    {
        var messages = new[]
        {
            User1,
            new ChatMessage("assistant", "")
            {
                ToolCallsJson = """[{"type": "function", "function": {"name": "calculator", "arguments": {"expression": "12 * 7"}}}]""",
            },
            ChatMessage.Tool("84"),
            ChatMessage.Assistant("It is 84."),
        };
        var r = Qwen3.RenderWithSpans(messages);
        AssertSpans(r,
            "<|im_start|>user\nWhat is 12 * 7?<|im_end|>\n<|im_start|>assistant\n<tool_call>\n" +
            "{\"name\": \"calculator\", \"arguments\": {\"expression\": \"12 * 7\"}}\n</tool_call><|im_end|>\n" +
            "<|im_start|>user\n<tool_response>\n84\n</tool_response><|im_end|>\n" +
            "<|im_start|>assistant\n<think>\n\n</think>\n\nIt is 84.<|im_end|>\n",
            "<|im_start|>assistant\n",
            "<tool_call>\n{\"name\": \"calculator\", \"arguments\": {\"expression\": \"12 * 7\"}}\n</tool_call><|im_end|>",
            "<think>\n\n</think>\n\nIt is 84.<|im_end|>");
    }

    [Fact]
    public void Deepseek_v3_turns_end_with_end_of_sentence()
    {
        var messages = new[] { ChatMessage.System("Be brief."), User1, ChatMessage.Assistant("84."), User2, ChatMessage.Assistant("21.") };
        var r = DeepSeekV3.RenderWithSpans(messages, addGenerationPrompt: true);
        AssertSpans(r,
            "<｜begin▁of▁sentence｜>Be brief.<｜User｜>What is 12 * 7?<｜Assistant｜>84.<｜end▁of▁sentence｜>" +
            "<｜User｜>And 84 / 4?<｜Assistant｜>21.<｜end▁of▁sentence｜><｜Assistant｜>",
            "<｜Assistant｜>",
            "84.<｜end▁of▁sentence｜>", "21.<｜end▁of▁sentence｜>");
    }

    [Fact]
    public void Deepseek_v3_tool_call_turn_with_none_content()
    {
        var messages = new[]
        {
            User1,
            new ChatMessage("assistant", "")
            {
                ToolCallsJson = """[{"type": "function", "function": {"name": "calculator", "arguments": "{\"expression\": \"12 * 7\"}"}}]""",
                Extra = new Dictionary<string, object?> { ["content"] = null },
            },
            ChatMessage.Tool("84"),
            ChatMessage.Assistant("It is 84."),
        };
        var r = DeepSeekV3.RenderWithSpans(messages);
        AssertSpans(r,
            "<｜begin▁of▁sentence｜><｜User｜>What is 12 * 7?<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>calculator\n" +
            "```json\n{\"expression\": \"12 * 7\"}\n```<｜tool▁call▁end｜><｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>84<｜tool▁output▁end｜>" +
            "<｜tool▁outputs▁end｜>It is 84.<｜end▁of▁sentence｜>",
            "",
            "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>calculator\n```json\n{\"expression\": \"12 * 7\"}\n```<｜tool▁call▁end｜>",
            "It is 84.<｜end▁of▁sentence｜>");
        Assert.EndsWith("<｜Assistant｜>", r.Text[..r.AssistantSpans[0].Start]);
        Assert.EndsWith("<｜tool▁outputs▁end｜>", r.Text[..r.AssistantSpans[1].Start]);
    }

    [Fact]
    public void Llama3_base_config_always_appends_the_header_which_is_not_part_of_the_turn()
    {
        // Meta-Llama-3-8B's config ignores add_generation_prompt and always ends with the assistant header.
        var messages = new[] { User1, ChatMessage.Assistant(" 84. ") };
        var r = Llama3Base.RenderWithSpans(messages);
        AssertSpans(r,
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWhat is 12 * 7?<|eot_id|>" +
            "<|start_header_id|>assistant<|end_header_id|>\n\n84.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
            "<|start_header_id|>assistant<|end_header_id|>\n\n",
            "84.<|eot_id|>");
    }

    [Fact]
    public void Llama3_instruct_multi_turn()
    {
        var messages = new[] { ChatMessage.System("Be brief."), User1, ChatMessage.Assistant("84."), User2, ChatMessage.Assistant("21.") };
        var r = Llama3Instruct.RenderWithSpans(messages);
        AssertSpans(r,
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>" +
            "<|start_header_id|>user<|end_header_id|>\n\nWhat is 12 * 7?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n84.<|eot_id|>" +
            "<|start_header_id|>user<|end_header_id|>\n\nAnd 84 / 4?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n21.<|eot_id|>",
            "<|start_header_id|>assistant<|end_header_id|>\n\n",
            "84.<|eot_id|>", "21.<|eot_id|>");
    }

    [Fact]
    public void Generation_blocks_define_the_spans_when_present()
    {
        var t = ChatTemplate.Parse(
            "{% for m in messages %}{% if m.role == 'assistant' %}<a>{% generation %}{{ m.content }}</s>{% endgeneration %}\n" +
            "{% else %}<u>{{ m.content }}\n{% endif %}{% endfor %}");
        var r = t.RenderWithSpans([ChatMessage.User("q"), ChatMessage.Assistant("ans"), ChatMessage.User("q2"), ChatMessage.Assistant("ans2")]);
        AssertSpans(r, "<u>q\n<a>ans</s><u>q2\n<a>ans2</s>", "<a>", "ans</s>", "ans2</s>");
    }

    [Fact]
    public void A_turn_that_cannot_be_located_fails_naming_the_message()
    {
        // Every rendering starts with the message count, so no prefix rendering is a prefix of another.
        var t = ChatTemplate.Parse("{{ messages|length }}{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}");
        var ex = Assert.Throws<TemplateRuntimeException>(() => t.RenderWithSpans([ChatMessage.User("q"), ChatMessage.Assistant("a")]));
        Assert.Contains("assistant message 1", ex.Message);
    }

    [Fact]
    public void Spans_feed_token_mask()
    {
        var r = Llama3Instruct.RenderWithSpans([User1, ChatMessage.Assistant("84.")]);
        // A toy tokenizer: one token per character.
        var offsets = Enumerable.Range(0, r.Text.Length).Select(i => (i, i + 1)).ToList();
        var mask = TokenMask.FromSpans(offsets, r.AssistantSpans);
        Assert.Equal("84.<|eot_id|>", string.Concat(r.Text.Where((_, i) => mask[i])));
    }

    /// <summary>Role headers and end-of-turn tokens, as written in each template's source.</summary>
    private static readonly Dictionary<string, (string[] Headers, string[] Ends)> TurnMarkup = new()
    {
        ["qwen3"] = (["<|im_start|>assistant\n"], ["<|im_end|>"]),
        ["qwen2_5"] = (["<|im_start|>assistant\n"], ["<|im_end|>"]),
        ["llama3"] = (["<|start_header_id|>assistant<|end_header_id|>\n\n"], ["<|eot_id|>"]),
        ["llama3_1"] = (["<|start_header_id|>assistant<|end_header_id|>\n\n"], ["<|eot_id|>"]),
        ["deepseek-v3"] = (["<｜Assistant｜>", "<｜tool▁outputs▁end｜>"], ["<｜end▁of▁sentence｜>", "<｜tool▁call▁end｜>"]),
    };

    /// <summary>
    /// Over all golden conversations (hand-written and seeded-random ones): the text is the golden, there is one
    /// span per assistant message, and each span starts right after an assistant header (or Qwen3's pre-filled empty
    /// think block when enable_thinking=false) and ends with the template's end-of-turn token.
    /// </summary>
    [Fact]
    public void Golden_conversations_get_one_well_formed_span_per_assistant_message()
    {
        foreach (var c in TemplateFixtures.ReadJsonl("tests/fixtures/templates/chat_goldens.jsonl"))
        {
            if (c.TryGetProperty("error", out _)) continue;
            string name = c.GetProperty("template").GetString()!;
            var (chat, messages, gen, extra) = ChatTemplateGoldenTests.Load(c);
            var r = chat.RenderWithSpans(messages, gen, extra);
            Assert.Equal(c.GetProperty("expected").GetString(), r.Text);
            Assert.Equal(messages.Count(m => m.Role == "assistant"), r.AssistantSpans.Count);
            var (headers, ends) = TurnMarkup[name];
            bool thinkingOff = extra.TryGetValue("enable_thinking", out var et) && et is JsonElement { ValueKind: JsonValueKind.False };
            int previous = 0;
            foreach (var (start, end) in r.AssistantSpans)
            {
                string before = r.Text[..start], span = r.Text[start..end];
                bool afterHeader = headers.Any(h => before.EndsWith(h, StringComparison.Ordinal))
                                   || (thinkingOff && before.EndsWith("<|im_start|>assistant\n<think>\n\n</think>\n\n", StringComparison.Ordinal));
                Assert.True(afterHeader, $"{name} {c.GetProperty("case")}: span [{span}] follows [{before[Math.Max(0, before.Length - 30)..]}]");
                Assert.True(ends.Any(e => span.EndsWith(e, StringComparison.Ordinal)), $"{name} {c.GetProperty("case")}: span [{span}]");
                Assert.True(start >= previous);
                previous = end;
            }
        }
    }
}

using R1Sharp.Text.Templates;
using R1Sharp.Text.Tests.Tokenization;
using R1Sharp.Text.Tokenization;

namespace R1Sharp.Text.Tests.Templates;

/// <summary>
/// ChatEncoding on the real Qwen3 and Llama-3 tokenizers and templates: the ids are the tokenizer's encoding of the
/// rendered text (which is jinja2's rendering, chat_goldens.jsonl), and the masked tokens decode to exactly the
/// assistant turns as the template writes them, end-of-turn token included. Expected turn texts are written out by
/// hand from the template sources.
/// </summary>
public class ChatEncodingTests(TokenizerFixture tokenizers) : IClassFixture<TokenizerFixture>
{
    private static ChatTemplate Qwen3Template => ChatTemplate.FromTokenizerConfig(TokenizerFixture.Dir("qwen3"));
    private static ChatTemplate Llama3BaseTemplate => ChatTemplate.FromTokenizerConfig(TokenizerFixture.Dir("llama3"));
    private static ChatTemplate Llama3InstructTemplate => ChatTemplate.FromTokenizerConfig(TemplateFixtures.Path("tests", "fixtures", "templates", "llama3_1", "tokenizer_config.json"));

    private static readonly ChatMessage[] TwoTurns =
    [
        ChatMessage.System("Be brief."),
        ChatMessage.User("What is 12 * 7?"),
        ChatMessage.Assistant("<think>\n10*7 + 2*7\n</think>\n\n84."),
        ChatMessage.User("And 84 / 4?"),
        ChatMessage.Assistant("21.", reasoningContent: "84 / 4 = 21"),
    ];

    /// <summary>The maximal runs of masked tokens, as (first token, end token) pairs.</summary>
    private static List<(int From, int To)> Runs(IReadOnlyList<bool> mask)
    {
        var runs = new List<(int, int)>();
        for (int t = 0; t < mask.Count; t++)
        {
            if (!mask[t]) continue;
            int start = t;
            while (t < mask.Count && mask[t]) t++;
            runs.Add((start, t));
        }
        return runs;
    }

    private static string[] MaskedTexts(HfTokenizer tokenizer, ChatEncoding e) =>
        Runs(e.AssistantMask).Select(r => tokenizer.Decode(e.Ids.Skip(r.From).Take(r.To - r.From))).ToArray();

    [Fact]
    public void Qwen3_masks_exactly_the_assistant_turns_and_their_end_of_turn_tokens()
    {
        var e = ChatEncoding.Encode(tokenizers.Qwen3, Qwen3Template, TwoTurns);
        const string text =
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 12 * 7?<|im_end|>\n<|im_start|>assistant\n84.<|im_end|>\n" +
            "<|im_start|>user\nAnd 84 / 4?<|im_end|>\n<|im_start|>assistant\n<think>\n84 / 4 = 21\n</think>\n\n21.<|im_end|>\n";
        Assert.Equal(text, e.Rendering.Text);
        Assert.Equal(tokenizers.Qwen3.Encode(text), e.Ids);
        Assert.Equal(["84.<|im_end|>", "<think>\n84 / 4 = 21\n</think>\n\n21.<|im_end|>"], MaskedTexts(tokenizers.Qwen3, e));
        // The token after each turn is the template's newline, not trained on; the last token is that newline.
        int imEnd = tokenizers.Qwen3.TokenToId("<|im_end|>")!.Value;
        foreach (var (_, to) in Runs(e.AssistantMask))
        {
            Assert.Equal(imEnd, e.Ids[to - 1]);
            Assert.Equal("\n", tokenizers.Qwen3.Decode([e.Ids[to]]));
        }
        Assert.Equal(e.AssistantMask.Count(m => m), e.AssistantTokenCount);
        Assert.Equal(e.Ids.Count, e.AssistantMask.Count);
        Assert.Equal(e.Ids.Count, e.Offsets.Count);
    }

    [Fact]
    public void Labels_keep_assistant_ids_and_ignore_the_rest()
    {
        var e = ChatEncoding.Encode(tokenizers.Qwen3, Qwen3Template, TwoTurns);
        var labels = e.Labels();
        for (int t = 0; t < labels.Length; t++)
            Assert.Equal(e.AssistantMask[t] ? e.Ids[t] : -100, labels[t]);
        Assert.Equal(ChatEncoding.IgnoreIndex, labels[0]);
    }

    [Fact]
    public void Llama3_instruct_masks_content_and_eot_and_never_bos_or_headers()
    {
        var e = ChatEncoding.Encode(tokenizers.Llama3, Llama3InstructTemplate, TwoTurns);
        const string text =
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>" +
            "<|start_header_id|>user<|end_header_id|>\n\nWhat is 12 * 7?<|eot_id|>" +
            "<|start_header_id|>assistant<|end_header_id|>\n\n<think>\n10*7 + 2*7\n</think>\n\n84.<|eot_id|>" +
            "<|start_header_id|>user<|end_header_id|>\n\nAnd 84 / 4?<|eot_id|>" +
            "<|start_header_id|>assistant<|end_header_id|>\n\n21.<|eot_id|>";
        Assert.Equal(text, e.Rendering.Text);
        Assert.Equal(tokenizers.Llama3.Encode(text), e.Ids);
        Assert.Equal(128000, e.Ids[0]);   // <|begin_of_text|>, written by the template, not trained on
        Assert.False(e.AssistantMask[0]);
        Assert.Equal(["<think>\n10*7 + 2*7\n</think>\n\n84.<|eot_id|>", "21.<|eot_id|>"], MaskedTexts(tokenizers.Llama3, e));
        Assert.True(e.AssistantMask[^1]);   // the conversation ends with the last turn's <|eot_id|>
    }

    [Fact]
    public void Llama3_base_template_leaves_its_unconditional_assistant_header_unmasked()
    {
        var e = ChatEncoding.Encode(tokenizers.Llama3, Llama3BaseTemplate, TwoTurns[..3]);
        Assert.EndsWith("84.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", e.Rendering.Text, StringComparison.Ordinal);
        Assert.Equal(tokenizers.Llama3.Encode(e.Rendering.Text), e.Ids);
        Assert.Equal(["<think>\n10*7 + 2*7\n</think>\n\n84.<|eot_id|>"], MaskedTexts(tokenizers.Llama3, e));
        Assert.False(e.AssistantMask[^1]);
    }

    /// <summary>Every jinja2 golden rendering of Qwen3 and Llama-3 (both templates) with assistant turns.</summary>
    public static TheoryData<string, string> GoldenCases()
    {
        var data = new TheoryData<string, string>();
        foreach (var c in TemplateFixtures.ReadJsonl("tests/fixtures/templates/chat_goldens.jsonl"))
        {
            string template = c.GetProperty("template").GetString()!;
            if (template is not ("qwen3" or "llama3" or "llama3_1") || c.TryGetProperty("error", out _)) continue;
            if (!c.GetProperty("messages").EnumerateArray().Any(m => m.GetProperty("role").GetString() == "assistant")) continue;
            data.Add(template, c.GetProperty("case").GetString()!);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(GoldenCases))]
    public void Golden_conversations_encode_as_their_jinja2_rendering_with_one_masked_run_per_turn(string template, string name)
    {
        var c = ChatTemplateGoldenTests.Case(template, name);
        var (chat, messages, gen, extra) = ChatTemplateGoldenTests.Load(c);
        var tokenizer = template == "qwen3" ? tokenizers.Qwen3 : tokenizers.Llama3;
        string endOfTurn = template == "qwen3" ? "<|im_end|>" : "<|eot_id|>";
        var e = ChatEncoding.Encode(tokenizer, chat, messages, gen, extra);

        string expected = c.GetProperty("expected").GetString()!;
        Assert.Equal(expected, e.Rendering.Text);
        Assert.Equal(tokenizer.Encode(expected), e.Ids);
        // Each turn is one run of tokens ending with the end-of-turn token, and nothing outside the turns is marked.
        // Token boundaries fall on the span boundaries, except where the content starts with whitespace that the
        // pre-tokenizer merges with the header's newline (fuzzed contents like "\n{}"): that token straddles the
        // start and is marked, as transformers marks it.
        var runs = Runs(e.AssistantMask);
        var spans = e.Rendering.AssistantSpans.Where(s => s.End > s.Start).ToList();
        Assert.Equal(spans.Count, runs.Count);
        for (int k = 0; k < runs.Count; k++)
        {
            var first = e.Offsets[runs[k].From];
            if (char.IsWhiteSpace(e.Rendering.Text[spans[k].Start]))
                Assert.InRange(spans[k].Start, first.Start, first.End - 1);
            else
                Assert.Equal(spans[k].Start, first.Start);
            if (runs[k].From > 0) Assert.True(e.Offsets[runs[k].From - 1].End <= spans[k].Start);
            Assert.Equal(spans[k].End, e.Offsets[runs[k].To - 1].End);
            Assert.EndsWith(endOfTurn, e.Rendering.Text[spans[k].Start..spans[k].End], StringComparison.Ordinal);
            Assert.Equal(tokenizer.TokenToId(endOfTurn), e.Ids[runs[k].To - 1]);
            if (template == "qwen3" && first.Start == spans[k].Start)   // Llama-3's decode cleans up " ." and " ?" (clean_up_tokenization_spaces)
                Assert.Equal(e.Rendering.Text[spans[k].Start..spans[k].End], tokenizer.Decode(e.Ids.Skip(runs[k].From).Take(runs[k].To - runs[k].From)));
        }
    }
}

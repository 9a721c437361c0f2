using System.Diagnostics;
using System.Text.Json;
using R1Sharp.Text.Templates;
using Xunit.Abstractions;

namespace R1Sharp.Text.Tests.Templates;

/// <summary>Timing runs alone (no parallel tests), so the measurement is not of the other tests.</summary>
[CollectionDefinition("timing", DisableParallelization = true)]
public class TimingCollection;

[Collection("timing")]
public class ChatTemplateApiTests(ITestOutputHelper output)
{
    private static readonly ChatTemplate Dump = ChatTemplate.Parse("{% for m in messages %}{{ m|tojson }}\n{% endfor %}{{ tools }}|{{ documents }}|{{ add_generation_prompt }}");

    [Fact]
    public void Messages_become_dicts_with_only_the_set_keys()
    {
        var messages = new[]
        {
            ChatMessage.User("hi"),
            new ChatMessage("assistant", "ok")
            {
                ReasoningContent = "r",
                ToolCallsJson = """[{"type": "function", "function": {"name": "f", "arguments": {"n": 1, "x": 1.5}}}]""",
                Name = "bot",
            },
            ChatMessage.Tool("42", toolCallId: "call_1"),
            new ChatMessage("assistant", "") { Extra = new Dictionary<string, object?> { ["content"] = null, ["weight"] = 0.5, ["tags"] = new[] { "a", "b" } } },
        };
        Assert.Equal(
            "{\"role\": \"user\", \"content\": \"hi\"}\n" +
            "{\"role\": \"assistant\", \"content\": \"ok\", \"reasoning_content\": \"r\", \"tool_calls\": [{\"type\": \"function\", \"function\": {\"name\": \"f\", \"arguments\": {\"n\": 1, \"x\": 1.5}}}], \"name\": \"bot\"}\n" +
            "{\"role\": \"tool\", \"content\": \"42\", \"tool_call_id\": \"call_1\"}\n" +
            "{\"role\": \"assistant\", \"content\": null, \"weight\": 0.5, \"tags\": [\"a\", \"b\"]}\n" +
            "None|None|True",
            Dump.Render(messages, addGenerationPrompt: true));
    }

    [Fact]
    public void Extra_context_accepts_clr_and_json_values()
    {
        var t = ChatTemplate.Parse("{{ enable_thinking }} {{ tools|length }} {{ tools[0].function.name }} {{ n + 1 }} {{ d.k }} {{ j.a[1] }}");
        var extra = new Dictionary<string, object?>
        {
            ["enable_thinking"] = false,
            ["tools"] = JsonDocument.Parse("""[{"type": "function", "function": {"name": "get_weather"}}]""").RootElement,
            ["n"] = 41,
            ["d"] = new Dictionary<string, object?> { ["k"] = "v" },
            ["j"] = System.Text.Json.Nodes.JsonNode.Parse("""{"a": [1, 2]}"""),
        };
        Assert.Equal("False 1 get_weather 42 v 2", t.Render([], false, extra));
    }

    [Fact]
    public void Strftime_now_reads_the_templates_clock()
    {
        var t = ChatTemplate.Parse("{{ strftime_now('%d %B %Y') }}").WithClock(JinjaGoldenTests.GoldenClock);
        Assert.Equal("26 July 2024", t.Render([], false));
    }

    [Fact]
    public void Parse_is_cached_per_source()
    {
        const string source = "{{ messages|length }} cached";
        Assert.Same(ChatTemplate.Parse(source).Template, ChatTemplate.Parse(source).Template);
    }

    /// <summary>
    /// Speed: a 10-turn conversation (system + 10 user/assistant pairs, R1-style reasoning in the answers) must
    /// render well under a millisecond once parsed. The best batch average is reported, as the machine is shared.
    /// </summary>
    [Fact]
    public void Ten_turn_conversation_renders_well_under_a_millisecond()
    {
        var messages = new List<ChatMessage> { ChatMessage.System("You are a helpful assistant. Answer concisely.") };
        for (int i = 0; i < 10; i++)
        {
            messages.Add(ChatMessage.User($"Question {i}: what is {i} + {i}?"));
            messages.Add(ChatMessage.Assistant($"<think>\nAdd {i} and {i}.\n</think>\n\n{i} + {i} = {2 * i}."));
        }
        foreach (var (name, parts) in new[]
                 {
                     ("qwen3", new[] { "tests", "fixtures", "tokenizers", "qwen3", "tokenizer_config.json" }),
                     ("deepseek-v3", new[] { "tests", "fixtures", "tokenizers", "deepseek-v3", "tokenizer_config.json" }),
                     ("llama3", new[] { "tests", "fixtures", "templates", "llama3_1", "tokenizer_config.json" }),
                 })
        {
            var t = ChatTemplate.FromTokenizerConfig(TemplateFixtures.Path(parts));
            var warm = Stopwatch.StartNew();
            while (warm.ElapsedMilliseconds < 1500) t.Render(messages, true); // past tier-0 JIT
            double best = double.MaxValue;
            for (int batch = 0; batch < 20; batch++)
            {
                var sw = Stopwatch.StartNew();
                for (int k = 0; k < 50; k++) t.Render(messages, true);
                best = Math.Min(best, sw.Elapsed.TotalMicroseconds / 50);
            }
            output.WriteLine($"{name}: {best:F0} us per render of 21 messages");
            Assert.True(best < 1000, $"{name}: {best:F0} us per render");
        }
    }
}

using Parquet.Serialization;
using R1Sharp.Data;
using R1Sharp.Recipes.Common;
using R1Sharp.Recipes.RewardModel;
using R1Sharp.Recipes.Config;
using R1Sharp.Recipes.Sft;
using R1Sharp.Tasks;
using R1Sharp.Tests;
using R1Sharp.Text.Templates;
using R1Sharp.Text.Tokenization;
using R1Sharp.Training.Batching;
using R1Sharp.Training.Runs;

namespace R1Sharp.Recipes.Tests;

/// <summary>SFT and preference data: loading, errors, templates and masks, packing.</summary>
public class SftDataTests
{
    static readonly Lazy<HfTokenizer> Qwen3 = new(() => HfTokenizer.Load(Qwen3Dir));
    static string Qwen3Dir => RepoPaths.Fixture("tokenizers", "qwen3");

    // ---- packing ----

    [Fact]
    public void Best_fit_decreasing_puts_each_sequence_in_the_tightest_row()
    {
        // Sorted 5, 4, 3, 3, 2, 1 into rows of 8: 5 → new row A (3 free); 4 → new row B (4 free); 3 → A (exact fit,
        // 0 free); 3 → B (1 free); 2 → fits nowhere, new row C (6 free); 1 → B, the tightest row that holds it.
        var rows = SequencePacking.BestFitDecreasing([5, 4, 3, 3, 2, 1], 8);
        Assert.Equal([[0, 2], [1, 3, 5], [4]], rows.Select(r => r.ToArray()).ToArray());
        Assert.Throws<ArgumentException>(() => SequencePacking.BestFitDecreasing([9], 8));
    }

    [Fact]
    public void Packed_rows_have_block_diagonal_masks_positions_from_zero_and_targets_within_each_sequence()
    {
        var a = new TokenSequence([10, 11, 12], [false, true, true]);
        var b = new TokenSequence([20, 21], [false, true]);
        var batch = TokenBatch.Packed([[a, b]], 6, TorchSharp.torch.CPU);
        Assert.Equal([0L, 1, 2, 0, 1, 0], batch.Positions.data<long>().ToArray());
        // Positions 0 and 1 predict a's targets 11 and 12; position 2 (last of a) predicts nothing: token 3 is b's first
        // token, not a's continuation; position 3 predicts b's 21.
        Assert.Equal([true, true, false, true, false, false], batch.LossMask.data<bool>().ToArray());
        Assert.Equal([0L, 1, 3], batch.TargetIndex.data<long>().ToArray());
        Assert.Equal([11L, 12, 21], batch.TargetIds.data<long>().ToArray());
        Assert.Equal(3, batch.TargetTokens);
        Assert.Equal(5, batch.Tokens);
        var mask = batch.AttentionMask!.data<bool>().ToArray(); // (1, 1, 6, 6)
        bool Sees(int q, int k) => mask[q * 6 + k];
        Assert.True(Sees(2, 0) && Sees(2, 2) && !Sees(2, 3));
        Assert.True(Sees(4, 3) && !Sees(4, 2) && !Sees(3, 4));
        Assert.True(Sees(5, 5) && !Sees(5, 4)); // padding attends only to itself
    }

    // ---- templates and masks ----

    [Fact]
    public void Plain_template_trains_on_the_completion_and_eos_only()
    {
        var tokenizer = Qwen3.Value;
        var s = new SftEncoder(tokenizer, SftEncoder.Plain).Encode(SftRecord.FromPair("User: What is 2 + 2?\nAssistant:", " <think>\n2 + 2 = 4\n</think>\n4"));
        int prompt = tokenizer.Encode("User: What is 2 + 2?\nAssistant:").Count;
        var completion = tokenizer.Encode(" <think>\n2 + 2 = 4\n</think>\n4");
        Assert.Equal(prompt + completion.Count + 1, s.Length);
        Assert.Equal(tokenizer.TokenToId("<|im_end|>"), s.Ids[^1]); // the tokenizer's EOS
        Assert.All(s.Targets.Take(prompt), t => Assert.False(t));
        Assert.All(s.Targets.Skip(prompt), t => Assert.True(t));
        Assert.Equal("<think>\n2 + 2 = 4\n</think>\n4<|im_end|>", tokenizer.Decode(s.Ids.Where((_, i) => s.Targets[i])).TrimStart());
    }

    [Fact]
    public void R1_zero_preset_fills_the_prompt_into_the_papers_template()
    {
        var tokenizer = Qwen3.Value;
        var s = new SftEncoder(tokenizer, "r1-zero").Encode(SftRecord.FromPair("What is 2 + 2?", " <think> 4 </think> <answer> 4 </answer>"));
        string text = tokenizer.Decode(s.Ids);
        Assert.StartsWith("A conversation between User and Assistant.", text);
        Assert.Contains("User: What is 2 + 2?. Assistant: <think>", text);
        Assert.Equal(" <think> 4 </think> <answer> 4 </answer><|im_end|>", tokenizer.Decode(s.Ids.Where((_, i) => s.Targets[i])));
    }

    /// <summary>The masked tokens of each contiguous run, decoded.</summary>
    static string[] Runs(HfTokenizer tokenizer, TokenSequence s)
    {
        var runs = new List<string>();
        var current = new List<int>();
        for (int i = 0; i <= s.Length; i++)
        {
            if (i < s.Length && s.Targets[i]) { current.Add(s.Ids[i]); continue; }
            if (current.Count > 0) runs.Add(tokenizer.Decode(current));
            current.Clear();
        }
        return [.. runs];
    }

    [Fact]
    public void Chat_template_trains_only_the_assistant_turns_of_the_qwen3_template()
    {
        // Expected text written out from the Qwen3 template: the history turn is shown without a think block, the final
        // turn (after the last user message) with an empty one; role headers and the newline after <|im_end|> are not targets.
        var tokenizer = Qwen3.Value;
        var encoder = SftEncoder.Create(tokenizer, SftEncoder.Chat, Qwen3Dir);
        var messages = new[]
        {
            ChatMessage.System("Be brief."), ChatMessage.User("What is 12 * 7?"), ChatMessage.Assistant("84."),
            ChatMessage.User("And 84 / 4?"), ChatMessage.Assistant("21."),
        };
        var s = encoder.Encode(SftRecord.FromMessages(messages));
        Assert.Equal("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 12 * 7?<|im_end|>\n<|im_start|>assistant\n84.<|im_end|>\n" +
                     "<|im_start|>user\nAnd 84 / 4?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n21.<|im_end|>\n", tokenizer.Decode(s.Ids));
        Assert.Equal(["84.<|im_end|>", "<think>\n\n</think>\n\n21.<|im_end|>"], Runs(tokenizer, s));

        // A conversational prompt/completion row trains only the completion's turns.
        var tail = encoder.Encode(new SftRecord { Messages = messages, TrainFrom = 3 });
        Assert.Equal(["<think>\n\n</think>\n\n21.<|im_end|>"], Runs(tokenizer, tail));
        // A plain pair through the chat template: [user, assistant].
        var pair = encoder.Encode(SftRecord.FromPair("Hi", "Hello!"));
        Assert.Equal(["<think>\n\n</think>\n\nHello!<|im_end|>"], Runs(tokenizer, pair));
    }

    [Fact]
    public void A_conversation_without_a_chat_template_names_its_row_and_unknown_templates_are_named()
    {
        var tokenizer = Qwen3.Value;
        var e = Assert.Throws<InvalidDataException>(() => new SftEncoder(tokenizer, SftEncoder.Plain)
            .Encode(SftRecord.FromMessages([ChatMessage.User("a"), ChatMessage.Assistant("b")], "data.jsonl:4")));
        Assert.Contains("data.jsonl:4", e.Message);
        Assert.Contains("'alpaca' (plain, chat, or a text preset: r1-zero", Assert.Throws<ArgumentException>(() => new SftEncoder(tokenizer, "alpaca")).Message);
    }

    // ---- files ----

    static string Write(TempDir tmp, string name, params string[] lines)
    {
        var path = tmp.Sub(name);
        File.WriteAllLines(path, lines);
        return path;
    }

    [Fact]
    public void Sft_rows_load_from_jsonl_in_both_shapes()
    {
        using var tmp = new TempDir();
        var path = Write(tmp, "sft.jsonl",
            """{"prompt": "2 + 2 =", "completion": " 4"}""",
            "",
            """{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello", "reasoning_content": "greet"}]}""",
            """{"prompt": [{"role": "user", "content": "Hi"}], "completion": [{"role": "assistant", "content": "Hey"}]}""");
        var records = SftData.Load(path);
        Assert.Equal(3, records.Count);
        Assert.Equal((" 4", $"{path}:1"), (records[0].Completion, records[0].Source));
        Assert.Equal("greet", records[1].Messages![1].ReasoningContent);
        Assert.Equal($"{path}:3", records[1].Source);
        Assert.Equal((2, 1), (records[2].Messages!.Count, records[2].TrainFrom));
    }

    [Fact]
    public void ShareGPT_conversations_and_text_parts_load_as_messages()
    {
        // ShareGPT's {from, value} turns under "conversations", with a "system" column (the shape of open R1 distillation
        // sets such as OpenThoughts and Bespoke-Stratos), and OpenAI's content parts [{"type": "text", "text"}].
        using var tmp = new TempDir();
        var path = Write(tmp, "sharegpt.jsonl",
            """{"system": "Think first.", "conversations": [{"from": "human", "value": "2 + 2?"}, {"from": "gpt", "value": "4"}]}""",
            """{"conversations": [{"from": "user", "value": "Hi"}, {"from": "assistant", "value": "Hey"}]}""",
            """{"messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": " there"}]}, {"role": "assistant", "content": [{"type": "text", "text": "Hey"}]}]}""");
        var records = SftData.Load(path);
        Assert.Equal([("system", "Think first."), ("user", "2 + 2?"), ("assistant", "4")], records[0].Messages!.Select(m => (m.Role, m.Content)));
        Assert.Equal([("user", "Hi"), ("assistant", "Hey")], records[1].Messages!.Select(m => (m.Role, m.Content)));
        Assert.Equal([("user", "Hi there"), ("assistant", "Hey")], records[2].Messages!.Select(m => (m.Role, m.Content)));
    }

    [Theory]
    [InlineData("""{"messages": "hi"}""", "messages", "expected a list of messages, got a string")]
    [InlineData("""{"prompt": "a", "completion": 7}""", "completion", "expected a string or a list of messages, got a number")]
    [InlineData("""{"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": "x"}]}]}""", "messages[0].content[0]", "only text parts")]
    [InlineData("""{"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]}""", "messages[0].content[0].text", "got a number")]
    [InlineData("""{"conversations": [{"from": "wizard", "value": "x"}]}""", "conversations[0].from", "'wizard'")]
    [InlineData("""{"conversations": [{"from": "human", "value": "x"}], "system": 3}""", "system", "got a number")]
    [InlineData("""{"instruction": "x", "output": "y"}""", null, "fields present: instruction, output); other columns are read with messages_field, prompt_field")]
    public void Malformed_messages_say_what_was_expected(string row, string? field, string says)
    {
        using var tmp = new TempDir();
        var path = Write(tmp, "bad.jsonl", row);
        var e = Assert.Throws<DatasetFormatException>(() => SftData.Load(path));
        Assert.Equal((1L, field), (e.Line, e.Field));
        Assert.Contains(says, e.Message);
    }

    [Theory]
    [InlineData("""{"prompt": "a"}""", "completion")]
    [InlineData("""{"prompt": "a", "completion": 7}""", "completion")]
    [InlineData("""{"messages": [{"role": "user", "content": "x"}, {"role": "assistant"}]}""", "messages[1].content")]
    [InlineData("""{"messages": [{"role": "user", "content": "x"}]}""", "messages")]
    [InlineData("""{"body": "no known field"}""", null)]
    [InlineData("{\"prompt\": \"a\", \"completion\": \"b\"", null)]
    public void MalformedSftRowNamesFileLineAndField(string row, string? field)
    {
        using var tmp = new TempDir();
        var path = Write(tmp, "bad.jsonl", """{"prompt": "ok", "completion": "fine"}""", "", row);
        var e = Assert.Throws<DatasetFormatException>(() => SftData.Load(path));
        Assert.Equal((path, 3L, field), (e.File, e.Line, e.Field));
        Assert.StartsWith($"{path}:3", e.Message);
    }

    [Fact]
    public void Bad_data_stops_the_recipe_before_any_output_is_written()
    {
        using var tmp = new TempDir();
        var path = Write(tmp, "bad.jsonl", """{"prompt": "ok", "completion": "fine"}""", """{"prompt": "no completion"}""");
        var e = Assert.Throws<DatasetFormatException>(() => SftRecipe.Run(new SftOptions { Data = path }, TinyModels.Path, tmp.Sub("out"), RunSettings.Quiet(_ => { })));
        Assert.Equal((2L, "completion"), (e.Line, e.Field));
        Assert.False(Directory.Exists(tmp.Sub("out")));
        var o = Assert.Throws<ConfigException>(() => SftRecipe.Run(new SftOptions { Data = path, GradientAccumulationSteps = 0 }, TinyModels.Path, tmp.Sub("out"), RunSettings.Quiet(_ => { })));
        Assert.Contains("sft.gradient_accumulation_steps", o.Message);
        Assert.False(Directory.Exists(tmp.Sub("out")));
    }

    public sealed class PairRow
    {
        public string? Question { get; set; }
        public string? Good { get; set; }
        public string? Bad { get; set; }
        public double? Margin { get; set; }
    }

    public sealed class SftRow
    {
        public string? Question { get; set; }
        public string? Answer { get; set; }
    }

    [Fact]
    public async Task Parquet_rows_load_with_mapped_fields_and_errors_name_the_row()
    {
        using var tmp = new TempDir();
        var sft = tmp.Sub("sft.parquet");
        await ParquetSerializer.SerializeAsync(new[] { new SftRow { Question = "2 + 3 =", Answer = " 5" }, new SftRow { Question = "1 + 1 =", Answer = " 2" } }, sft);
        var records = SftData.Load(sft, new SftFields("Question", "Answer"));
        Assert.Equal(["2 + 3 =", "1 + 1 ="], records.Select(r => r.Prompt));
        Assert.Equal($"{sft}:2", records[1].Source);

        var pairs = tmp.Sub("pairs.parquet");
        await ParquetSerializer.SerializeAsync(new[]
        {
            new PairRow { Question = "q1", Good = "yes", Bad = "no", Margin = 1.5 },
            new PairRow { Question = "q2", Good = "fine", Bad = "bad" },
            new PairRow { Question = "q3", Good = null, Bad = "bad" },
        }, pairs);
        var fields = new PreferenceFields("Question", "Good", "Bad", "Margin");
        var e = Assert.Throws<DatasetFormatException>(() => PreferenceData.Load(pairs, fields));
        Assert.Equal((3L, "Good"), (e.Line, e.Field));
        await ParquetSerializer.SerializeAsync(new[] { new PairRow { Question = "q1", Good = "yes", Bad = "no", Margin = 1.5 }, new PairRow { Question = "q2", Good = "fine", Bad = "bad" } }, pairs);
        var loaded = PreferenceData.Load(pairs, fields);
        Assert.Equal([1.5, null], loaded.Select(p => p.Margin));
        Assert.Equal("yes", loaded[0].Chosen);
    }

    [Theory]
    [InlineData("""{"prompt": "p", "chosen": "a", "rejected": 5}""", "rejected")]
    [InlineData("""{"prompt": "p", "chosen": "a"}""", "rejected")]
    [InlineData("""{"prompt": "p", "chosen": "", "rejected": "b"}""", "chosen")]
    [InlineData("""{"prompt": "p", "chosen": "a", "rejected": "b", "margin": "big"}""", "margin")]
    public void Malformed_preference_row_names_file_line_and_field(string row, string field)
    {
        using var tmp = new TempDir();
        var path = Write(tmp, "pairs.jsonl", """{"prompt": "p", "chosen": "a", "rejected": "b", "margin": 0.5}""", row);
        var e = Assert.Throws<DatasetFormatException>(() => PreferenceData.Load(path));
        Assert.Equal((path, 2L, field), (e.File, e.Line, e.Field));
    }
}

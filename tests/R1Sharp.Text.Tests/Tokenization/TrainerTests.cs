using System.IO.Compression;
using System.Text.Json;
using R1Sharp.Text.Tokenization;

namespace R1Sharp.Text.Tests.Tokenization;

/// <summary>
/// BpeTrainer. tests/fixtures/tokenizers/trained-bpe4k holds a tokenizer trained with <see cref="Options"/> on
/// <see cref="Corpus"/> and the ids that the JS port of HF tokenizers (@lenml/tokenizers 3.7.2) produced with it:
/// proof that the saved file is a valid HF tokenizer.json that HF-compatible code tokenizes as we do.
/// </summary>
public sealed class TrainerTests
{
    private static readonly BpeTrainerOptions Options = new()
    {
        VocabSize = 4096,
        SpecialTokens = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        EosToken = "<|im_end|>",
        PadToken = "<|endoftext|>",
    };

    private static readonly Lazy<List<string>> LazyCorpus = new(() =>
    {
        var texts = new List<string>();
        string data = Path.Combine(Path.GetDirectoryName(TokenizerFixture.FixturesRoot)!, "..", "data", "benchmarks");
        foreach (var line in File.ReadLines(Path.Combine(data, "gsm8k_test.jsonl")))
        {
            using var doc = JsonDocument.Parse(line);
            texts.Add(doc.RootElement.GetProperty("question").GetString()!);
            texts.Add(doc.RootElement.GetProperty("answer").GetString()!);
        }
        foreach (var line in File.ReadLines(Path.Combine(data, "math500_test.jsonl")))
        {
            using var doc = JsonDocument.Parse(line);
            texts.Add(doc.RootElement.GetProperty("problem").GetString()!);
            texts.Add(doc.RootElement.GetProperty("solution").GetString()!);
        }
        return texts;
    });

    private static readonly Lazy<HfTokenizer> LazyTrained = new(() => new BpeTrainer(Options).Train(Corpus));

    /// <summary>GSM8K test questions and answers, then MATH-500 problems and solutions (about 1 MB).</summary>
    private static List<string> Corpus => LazyCorpus.Value;

    [Fact]
    public void Training_reproduces_the_committed_tokenizer_exactly()
    {
        string committed;
        using (var gz = new GZipStream(File.OpenRead(Path.Combine(TokenizerFixture.Dir("trained-bpe4k"), "tokenizer.json.gz")), CompressionMode.Decompress))
        using (var reader = new StreamReader(gz))
            committed = reader.ReadToEnd();
        Assert.Equal(committed, LazyTrained.Value.ToTokenizerJson());
    }

    [Fact]
    public void Training_is_deterministic()
    {
        var again = new BpeTrainer(Options).Train(Corpus);
        Assert.Equal(LazyTrained.Value.ToTokenizerJson(), again.ToTokenizerJson());
    }

    [Fact]
    public void Trained_tokenizer_tokenizes_like_the_js_port_of_hf_tokenizers()
    {
        var tokenizer = HfTokenizer.Load(TokenizerFixture.Dir("trained-bpe4k"));
        foreach (var row in TokenizerFixture.Golden("trained-bpe4k"))
        {
            Assert.Equal(row.Ids, tokenizer.Encode(row.Text));
            Assert.Equal(row.Decoded, tokenizer.Decode(row.Ids));
        }
        Assert.Equal(181, TokenizerFixture.Golden("trained-bpe4k").Length);
    }

    [Fact]
    public void Vocabulary_has_specials_then_bytes_then_merges()
    {
        var tokenizer = LazyTrained.Value;
        Assert.Equal(4096, tokenizer.VocabSize);
        Assert.Equal(0, tokenizer.TokenToId("<|endoftext|>"));
        Assert.Equal(2, tokenizer.EosTokenId);
        Assert.Equal(0, tokenizer.PadTokenId);
        Assert.Equal([0, 1, 2], tokenizer.SpecialTokenIds.Order());
        Assert.Equal(3, tokenizer.TokenToId("!")); // byte tokens in character order: '!' (0x21) is the first
        Assert.Equal(258, tokenizer.TokenToId("\u0143")); // and U+0143 (byte 0xAD) the last of the 256
        Assert.Equal([1], tokenizer.Encode("<|im_start|>"));
    }

    [Fact]
    public void Save_then_load_gives_identical_ids()
    {
        var dir = Directory.CreateTempSubdirectory("r1sharp-tok-");
        try
        {
            LazyTrained.Value.Save(dir.FullName);
            var loaded = HfTokenizer.Load(dir.FullName);
            foreach (var text in Corpus.Take(300)) Assert.Equal(LazyTrained.Value.Encode(text), loaded.Encode(text));
            Assert.Equal(LazyTrained.Value.EosTokenId, loaded.EosTokenId);
            Assert.Empty(Directory.GetFiles(dir.FullName, "*.tmp"));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Min_frequency_stops_training_early()
    {
        var tokenizer = new BpeTrainer(new BpeTrainerOptions { VocabSize = 5000, MinFrequency = 3 })
            .Train(["ab ab ab cd cd"]);
        // Pairs: "a b" x3, "Ġ a" x2, "Ġ c" x1, "c d" x2 → only "ab" occurs at least 3 times.
        Assert.Equal(257, tokenizer.VocabSize);
        Assert.Equal(256, tokenizer.TokenToId("ab"));
    }

    [Fact]
    public void Ties_go_to_the_pair_with_smaller_ids()
    {
        // "xy" and "ab" both occur twice; ('a','b') has smaller ids than ('x','y'), so it is merged first.
        var tokenizer = new BpeTrainer(new BpeTrainerOptions { VocabSize = 257, MinFrequency = 1 }).Train(["xy xy ab ab"]);
        Assert.Equal(256, tokenizer.TokenToId("ab"));
        Assert.Null(tokenizer.TokenToId("xy"));
    }

    [Fact]
    public void Add_bos_token_writes_a_template_post_processor()
    {
        var tokenizer = new BpeTrainer(new BpeTrainerOptions
        {
            VocabSize = 300,
            SpecialTokens = ["<s>", "</s>"],
            BosToken = "<s>",
            EosToken = "</s>",
            AddBosToken = true,
        }).Train(["hello world, hello there"]);
        Assert.True(tokenizer.AddBosToken);
        var plain = tokenizer.Encode("hello");
        Assert.Equal([0, .. plain], tokenizer.Encode("hello", addSpecialTokens: true));
        Assert.Contains("TemplateProcessing", tokenizer.ToTokenizerJson());
    }

    [Fact]
    public void Added_tokens_are_one_token_anywhere_and_survive_skipping_special_tokens()
    {
        var tokenizer = new BpeTrainer(new BpeTrainerOptions
        {
            VocabSize = 400, MinFrequency = 1, SpecialTokens = ["<|eos|>"], EosToken = "<|eos|>", AddedTokens = ["<think>", "</think>"],
        }).Train(Enumerable.Repeat("Assistant: <think> First, 7 + 8 = 15. </think> done<|eos|>", 50));
        Assert.Equal(1, tokenizer.TokenToId("<think>"));
        Assert.Equal(2, tokenizer.TokenToId("</think>"));
        foreach (var text in new[] { "<think>\nx\n</think>\n", "a<think>b</think>c", " <think> y </think> " })
        {
            var ids = tokenizer.Encode(text);
            Assert.Equal(1, ids.Count(i => i == 1));
            Assert.Equal(1, ids.Count(i => i == 2));
            Assert.Equal(text, tokenizer.Decode(ids, skipSpecialTokens: true)); // not special: kept
        }
        Assert.Equal("<think> x", tokenizer.Decode(tokenizer.Encode("<think> x<|eos|>"), skipSpecialTokens: true));
        // Written as Hugging Face writes Qwen3's <think>: an added token that is not special.
        using var json = JsonDocument.Parse(tokenizer.ToTokenizerJson());
        var added = json.RootElement.GetProperty("added_tokens").EnumerateArray().ToList();
        Assert.Equal(["<|eos|>", "<think>", "</think>"], added.Select(a => a.GetProperty("content").GetString()));
        Assert.Equal([true, false, false], added.Select(a => a.GetProperty("special").GetBoolean()));
        string dir = Directory.CreateTempSubdirectory("r1sharp-tok-").FullName;
        try
        {
            tokenizer.Save(dir);
            Assert.Equal(tokenizer.Encode("a<think>b</think>c"), HfTokenizer.Load(dir).Encode("a<think>b</think>c"));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void An_lstrip_added_token_tokenizes_a_prompt_end_as_in_the_training_text()
    {
        var options = new BpeTrainerOptions
        {
            VocabSize = 400, MinFrequency = 1, AddedTokens = [new AddedTokenSpec("<think>", LStrip: true), "</think>"],
            SplitPattern = @"[^<]+",
        };
        var tokenizer = new BpeTrainer(options).Train(Enumerable.Repeat("User: hi. Assistant: <think> ok </think>", 50));
        var whole = tokenizer.Encode("User: hi. Assistant: <think> ok </think>");
        var prompt = tokenizer.Encode("User: hi. Assistant:");
        Assert.Equal(prompt, whole.Take(prompt.Count));                      // the prompt's tokens are a prefix of the document's
        Assert.Equal(tokenizer.TokenToId("<think>"), whole[prompt.Count]);    // the space went into <think>
        using var json = JsonDocument.Parse(tokenizer.ToTokenizerJson());
        Assert.True(json.RootElement.GetProperty("added_tokens")[0].GetProperty("lstrip").GetBoolean());
        var plain = new BpeTrainer(options with { AddedTokens = ["<think>", "</think>"] }).Train(Enumerable.Repeat("User: hi. Assistant: <think> ok </think>", 50));
        var plainPrompt = plain.Encode("User: hi. Assistant:");
        Assert.NotEqual(plainPrompt, plain.Encode("User: hi. Assistant: <think> ok </think>").Take(plainPrompt.Count)); // why lstrip is needed
    }

    [Fact]
    public void Special_tokens_in_the_corpus_are_not_learned()
    {
        var tokenizer = new BpeTrainer(new BpeTrainerOptions { VocabSize = 400, MinFrequency = 1, SpecialTokens = ["<|x|>"] })
            .Train(Enumerable.Repeat("<|x|><|x|><|x|> hi", 50));
        Assert.Null(tokenizer.TokenToId("<|"));
        Assert.Equal([0, 0], tokenizer.Encode("<|x|><|x|>"));
    }

    [Fact]
    public void Bad_options_are_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new BpeTrainer(new BpeTrainerOptions { VocabSize = 100 }));
        Assert.Throws<ArgumentException>(() => new BpeTrainer(new BpeTrainerOptions { EosToken = "</s>" }));
    }
}

using System.Text.Json.Nodes;
using R1Sharp.Tasks.Arithmetic;
using R1Sharp.Text.Tokenization;

namespace R1Sharp.Cli.Tests;

public class TokenizerTrainTests
{
    [Fact]
    public void Trains_the_tokenizer_the_library_trains_and_tokenize_reads_it()
    {
        string dir = Directory.CreateTempSubdirectory("r1sharp-tok-").FullName;
        try
        {
            var texts = EmbeddedTask.PretrainingCorpus(new PretrainingCorpusOptions(Documents: 200, Seed: 3));
            string corpus = Path.Combine(dir, "corpus.jsonl");
            File.WriteAllLines(corpus, texts.Select(t => new JsonObject { ["text"] = t }.ToJsonString()));
            string output = Path.Combine(dir, "tok");
            CliRunner.Ok("tokenizer", "train", "--input", corpus, "--output", output, "--vocab-size", "400",
                "--special", "<|endoftext|>", "--added", "<think>", "--added", "</think>");

            var expected = new BpeTrainer(new BpeTrainerOptions
            {
                VocabSize = 400, SpecialTokens = ["<|endoftext|>"], EosToken = "<|endoftext|>", PadToken = "<|endoftext|>",
                AddedTokens = ["<think>", "</think>"],
            }).Train(texts);
            var trained = HfTokenizer.Load(output);
            Assert.Equal(expected.ToTokenizerJson(), trained.ToTokenizerJson());
            Assert.Equal(400, trained.VocabSize);

            string text = texts[0];
            var ids = CliRunner.Ok("tokenize", "--tokenizer", output, "--text", text).Json().GetProperty("ids")
                .EnumerateArray().Select(i => i.GetInt32()).ToArray();
            Assert.Equal(expected.Encode(text), ids);
            Assert.Equal(text, expected.Decode(ids));

            Assert.Contains("no such file", CliRunner.Fails("tokenizer", "train", "--input", Path.Combine(dir, "missing.txt"), "--output", output));
        }
        finally { Directory.Delete(dir, true); }
    }
}

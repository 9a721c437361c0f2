using R1Sharp.Engine;
using R1Sharp.Engine.Generation;
using R1Sharp.Tests;
using R1Sharp.Text.Templates;

namespace R1Sharp.Engine.Tests;

/// <summary>The local backend on the tiny checkpoint: reference outputs, per-request limits, stop strings, streaming.</summary>
public sealed class LocalBackendTests : IDisposable
{
    private readonly LocalGenerationBackend _backend = LocalGenerationBackend.Load(TinyModel.Directory);

    public void Dispose() => _backend.Dispose();

    private static GenerationOptions Greedy(int max) => new() { MaxNewTokens = max, Temperature = 0 };

    [Fact]
    public void TokenPromptGreedy_IsThePyTorchReferenceContinuation()
    {
        var (prompt, continuation) = TinyModel.Reference();
        var result = _backend.GenerateAll([new GenerationRequest(GenerationPrompt.FromTokens(prompt), Greedy(continuation.Length))])[0];
        Assert.Equal(continuation, result.Samples[0].TokenIds);
        Assert.Equal(prompt.Length, result.PromptTokens);
        Assert.Equal(FinishReason.Length, result.Samples[0].FinishReason);
        Assert.Equal(_backend.Model.Tokenizer!.Decode(continuation, skipSpecialTokens: true), result.Samples[0].Text);
    }

    [Fact]
    public void TextAndChatPrompts_AreEncodedWithTheTokenizerAndTemplate()
    {
        var tokenizer = _backend.Model.Tokenizer!;
        var text = _backend.GenerateAll([new GenerationRequest(GenerationPrompt.FromText("Janet has 3 apples."), Greedy(10))])[0];
        Assert.Equal(tokenizer.Encode("Janet has 3 apples.", addSpecialTokens: true), text.PromptTokenIds);

        var chat = _backend.GenerateAll([new GenerationRequest(GenerationPrompt.User("How many apples?"), Greedy(10))])[0];
        Assert.Equal(tokenizer.Encode("<|im_start|>user\nHow many apples?<|im_end|>\n<|im_start|>assistant\n"), chat.PromptTokenIds);
        Assert.Equal(1, chat.PromptTokenIds![0]); // <|im_start|> is one special token
    }

    [Fact]
    public void RequestsOfDifferentLengthsLimitsAndN_InOneCall_EqualEachAlone()
    {
        string[] prompts = ["A", "Natalia sold clips to 48 of her friends in April", "Weng earns $12 an hour for babysitting."];
        var requests = new List<GenerationRequest>();
        for (int i = 0; i < prompts.Length; i++)
            requests.Add(new GenerationRequest(GenerationPrompt.FromText(prompts[i]), Greedy(5 + 7 * i), N: i + 1));
        var together = _backend.GenerateAll(requests);
        for (int i = 0; i < prompts.Length; i++)
        {
            Assert.Equal(i + 1, together[i].Samples.Count);
            var alone = _backend.GenerateAll([requests[i] with { N = 1 }])[0].Samples[0];
            foreach (var s in together[i].Samples)
            {
                Assert.Equal(alone.TokenIds, s.TokenIds);
                Assert.Equal(alone.Text, s.Text);
                Assert.True(s.CompletionTokens <= 5 + 7 * i);
                for (int t = 0; t < s.LogProbs!.Count; t++) Assert.Equal(alone.LogProbs![t], s.LogProbs[t], 1e-3);
            }
        }
    }

    [Fact]
    public void StopString_CutsTheTextBeforeIt_AndEndsTheSample()
    {
        var prompt = GenerationPrompt.FromText("Betty is saving money for a new wallet");
        var free = _backend.GenerateAll([new GenerationRequest(prompt, Greedy(60))])[0].Samples[0];
        Assert.True(free.Text.Length > 12, $"greedy text too short to pick a stop string: '{free.Text}'");
        string stop = free.Text.Substring(free.Text.Length / 2, 3);
        int at = free.Text.IndexOf(stop, StringComparison.Ordinal);

        var stopped = _backend.GenerateAll([new GenerationRequest(prompt, Greedy(60) with { Stop = ["\u0001never", stop] })])[0].Samples[0];
        Assert.Equal(free.Text[..at], stopped.Text);
        Assert.Equal(stop, stopped.StopString);
        Assert.Equal(FinishReason.Stop, stopped.FinishReason);
        Assert.True(stopped.CompletionTokens < free.CompletionTokens);
        Assert.Equal(free.TokenIds!.Take(stopped.CompletionTokens), stopped.TokenIds);
    }

    [Fact]
    public async Task Streaming_PiecesAddUpToTheFinalText_WhichEqualsTheBatchResult()
    {
        var prompt = GenerationPrompt.FromChat([ChatMessage.User("Tom has 5 apples and eats 2.")]);
        var options = Greedy(40);
        var batch = _backend.GenerateAll([new GenerationRequest(prompt, options)])[0].Samples[0];
        string stop = batch.Text.Length > 8 ? batch.Text.Substring(batch.Text.Length - 4, 4) : "zzzz";

        foreach (var o in new[] { options, options with { Stop = [stop] } })
        {
            var pieces = new List<string>();
            GenerationSample? final = null;
            await foreach (var d in _backend.StreamAsync(new GenerationRequest(prompt, o)))
            {
                pieces.Add(d.Text);
                final ??= d.Final;
            }
            Assert.NotNull(final);
            Assert.Equal(final!.Text, string.Concat(pieces));
            var expected = _backend.GenerateAll([new GenerationRequest(prompt, o)])[0].Samples[0];
            Assert.Equal(expected.Text, final.Text);
            Assert.Equal(expected.TokenIds, final.TokenIds);
        }
    }

    [Fact]
    public void ContextLimits_PromptMustFit_CompletionIsCutAtTheContext()
    {
        int context = _backend.Model.ContextLength;
        var tooLong = GenerationPrompt.FromTokens(Enumerable.Repeat(100, context).ToArray());
        var e = Assert.Throws<ArgumentException>(() => _backend.GenerateAll([new GenerationRequest(tooLong, Greedy(1)) { Id = "long-one" }]));
        Assert.Contains("long-one", e.Message);
        Assert.Contains($"{context}", e.Message);

        var nearlyFull = GenerationPrompt.FromTokens(Enumerable.Repeat(100, context - 3).ToArray());
        var s = _backend.GenerateAll([new GenerationRequest(nearlyFull, Greedy(50) with { Stop = [] })])[0].Samples[0];
        Assert.True(s.CompletionTokens <= 3);
    }

    [Fact]
    public void SampledTokensAreReproducibleWithASeed()
    {
        var request = new GenerationRequest(GenerationPrompt.FromText("Seeds:"), new GenerationOptions { MaxNewTokens = 20, Temperature = 1, Seed = 11 }, N: 4);
        var a = _backend.GenerateAll([request])[0];
        var b = _backend.GenerateAll([request])[0];
        Assert.Equal(a.Samples.Select(s => s.TokenIds), b.Samples.Select(s => s.TokenIds));
        Assert.True(a.Samples.Select(s => string.Join(",", s.TokenIds!)).Distinct().Count() > 1, "four samples are not all the same");
    }
}

using System.Net;
using System.Text.Json.Nodes;
using R1Sharp.Engine.Generation;
using R1Sharp.Tests;

namespace R1Sharp.Server.Tests;

/// <summary>The OpenAI API over real loopback HTTP: shapes, reference outputs, streaming, log-probabilities.</summary>
public sealed class ServerApiTests(ServerFixture f) : IClassFixture<ServerFixture>
{
    private GenerationSample Local(GenerationPrompt prompt, GenerationOptions options)
    {
        using var backend = new LocalGenerationBackend(f.Model);
        return backend.GenerateAll([new GenerationRequest(prompt, options)])[0].Samples[0];
    }

    [Fact]
    public async Task Models_ListsTheServedModel()
    {
        var body = JsonNode.Parse(await f.Http.GetStringAsync(f.Url("v1/models")))!;
        Assert.Equal("list", (string)body["object"]!);
        Assert.Equal("tiny", (string)body["data"]![0]!["id"]!);
        Assert.Equal(4096, (int)body["data"]![0]!["max_model_len"]!);
    }

    [Fact]
    public async Task Stats_KeysAreSnakeCase_AsEveryOtherField()
    {
        var body = JsonNode.Parse(await f.Http.GetStringAsync(f.Url("stats")))!.AsObject();
        Assert.Equal(["requests", "batches", "rows", "largest_batch", "rejected", "waiting", "failed", "completion_tokens"], body.Select(p => p.Key));
    }

    [Fact]
    public async Task Models_RetrievesOneModelById_As_OpenAI_Does()
    {
        // GET /v1/models/{model} (the OpenAI client's models.retrieve): the model object, or 404 model_not_found.
        var body = JsonNode.Parse(await f.Http.GetStringAsync(f.Url("v1/models/tiny")))!;
        Assert.Equal(("tiny", "model"), ((string)body["id"]!, (string)body["object"]!));
        using var missing = await f.Http.GetAsync(f.Url("v1/models/gpt-9"));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        var error = JsonNode.Parse(await missing.Content.ReadAsStringAsync())!["error"]!;
        Assert.Equal(("model_not_found", "not_found_error"), ((string)error["code"]!, (string)error["type"]!));
    }

    [Fact]
    public async Task StopTokenIds_StopReasonIsTheTokenId_AsVllmReportsIt()
    {
        // vLLM: a choice ended by one of the request's stop_token_ids has that id (an integer) as stop_reason; by a stop
        // string, the string; by EOS or the length, null.
        var greedy = new JsonObject { ["model"] = "tiny", ["prompt"] = "hi", ["max_tokens"] = 6, ["temperature"] = 0, ["return_token_ids"] = true };
        var (_, free) = await f.Post("v1/completions", greedy);
        var ids = free["choices"]![0]!["token_ids"]!.AsArray().Select(i => (int)i!).ToList();
        Assert.Null(free["choices"]![0]!["stop_reason"]);
        int third = ids[2];
        var stopped = greedy.DeepClone().AsObject();
        stopped["stop_token_ids"] = new JsonArray(third);
        var (_, body) = await f.Post("v1/completions", stopped);
        var choice = body["choices"]![0]!;
        Assert.Equal("stop", (string)choice["finish_reason"]!);
        Assert.Equal(third, (int)choice["stop_reason"]!);
        Assert.Equal(ids.IndexOf(third) + 1, choice["token_ids"]!.AsArray().Count);
        stopped["stream"] = true;
        var last = (await f.Stream("v1/completions", stopped)).SkipLast(1).Select(l => JsonNode.Parse(l)!).Last(c => c["choices"]!.AsArray().Count > 0);
        Assert.Equal(third, (int)last["choices"]![0]!["stop_reason"]!);
    }

    [Theory]
    [InlineData("v1/completions", """{"model": "tiny", "prompt": ["hi", "yo"], "max_tokens": 3, "n": 2, "stream": true, "stream_options": {"include_usage": true}}""")]
    [InlineData("v1/chat/completions", """{"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3, "stream": true, "stream_options": {"include_usage": true}}""")]
    public async Task StreamWithIncludeUsage_EveryChunkHasUsage_NullBeforeTheLast(string path, string json)
    {
        // OpenAI: "All other chunks will also include a usage field, but with a null value."
        var lines = await f.Stream(path, JsonNode.Parse(json)!.AsObject());
        Assert.Equal("[DONE]", lines[^1]);
        var chunks = lines.SkipLast(1).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.All(chunks.SkipLast(1), c => Assert.True(c.ContainsKey("usage") && c["usage"] is null, c.ToJsonString()));
        Assert.Empty(chunks[^1]["choices"]!.AsArray());
        Assert.True((int)chunks[^1]["usage"]!["total_tokens"]! > 0);
    }

    [Fact]
    public async Task ChatLogProbs_Bytes_AreTheTokensOwnBytes_EvenWhenTheyArePartOfACharacter()
    {
        // OpenAI: "bytes" is the token's UTF-8 bytes, so that tokens that each hold part of a character can be put together
        // again. A byte-level token such as 0xC3 decodes to U+FFFD on its own; its bytes are [195], not U+FFFD's [239, 191, 189].
        var (status, body) = await f.Post("v1/chat/completions", new JsonObject
        {
            ["model"] = "tiny", ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Écris ½ × 3 €" }),
            ["max_tokens"] = 48, ["temperature"] = 1.5, ["seed"] = 3, ["n"] = 6, ["logprobs"] = true, ["top_logprobs"] = 5,
        });
        Assert.Equal(HttpStatusCode.OK, status);
        var entries = body["choices"]!.AsArray()
            .SelectMany(c => c!["logprobs"]!["content"]!.AsArray())
            .SelectMany(e => new[] { e! }.Concat(e!["top_logprobs"]!.AsArray().Select(a => a!)))
            .Select(e => ((string)e["token"]!, e["bytes"]!.AsArray().Select(b => (byte)(int)b!).ToArray()))
            .ToList();
        var partial = entries.Where(e => e.Item1 == "\uFFFD").ToList();
        Assert.NotEmpty(partial); // the sampled tokens include bytes of multi-byte characters
        Assert.All(partial, e => Assert.False(e.Item2.SequenceEqual(new byte[] { 0xEF, 0xBF, 0xBD }), "U+FFFD's bytes instead of the token's"));
        Assert.All(entries, e => Assert.Equal(e.Item1, System.Text.Encoding.UTF8.GetString(e.Item2))); // the text is what the bytes decode to
    }

    [Fact]
    public async Task Completions_TokenPromptGreedy_IsThePyTorchReference()
    {
        var (prompt, continuation) = TinyModel.Reference();
        var (status, body) = await f.Post("v1/completions", new JsonObject
        {
            ["model"] = "tiny",
            ["prompt"] = new JsonArray([.. prompt.Select(i => (JsonNode)i)]),
            ["max_tokens"] = continuation.Length,
            ["temperature"] = 0,
            ["return_token_ids"] = true,
        });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("text_completion", (string)body["object"]!);
        var choice = body["choices"]![0]!;
        Assert.Equal(continuation, choice["token_ids"]!.AsArray().Select(n => (int)n!));
        Assert.Equal(prompt, choice["prompt_token_ids"]!.AsArray().Select(n => (int)n!));
        Assert.Equal("length", (string)choice["finish_reason"]!);
        Assert.Equal(f.Model.Tokenizer!.Decode(continuation, skipSpecialTokens: true), (string)choice["text"]!);
        Assert.Equal(prompt.Length, (int)body["usage"]!["prompt_tokens"]!);
        Assert.Equal(continuation.Length, (int)body["usage"]!["completion_tokens"]!);
        Assert.Equal(prompt.Length + continuation.Length, (int)body["usage"]!["total_tokens"]!);
    }

    [Fact]
    public async Task Chat_GreedyEqualsTheLocalBackend_StreamedOrNot()
    {
        var local = Local(GenerationPrompt.User("Tom has 5 apples."), new GenerationOptions { MaxNewTokens = 30, Temperature = 0 });
        JsonObject Body(bool stream) => new()
        {
            ["model"] = "tiny",
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Tom has 5 apples." }),
            ["max_completion_tokens"] = 30,
            ["temperature"] = 0,
            ["stream"] = stream,
        };
        var (status, body) = await f.Post("v1/chat/completions", Body(false));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("chat.completion", (string)body["object"]!);
        Assert.Equal("assistant", (string)body["choices"]![0]!["message"]!["role"]!);
        Assert.Equal(local.Text, (string)body["choices"]![0]!["message"]!["content"]!);
        Assert.Equal(local.FinishReasonText, (string)body["choices"]![0]!["finish_reason"]!);

        var body2 = Body(true);
        body2["stream_options"] = new JsonObject { ["include_usage"] = true };
        var lines = await f.Stream("v1/chat/completions", body2);
        Assert.Equal("[DONE]", lines[^1]);
        var chunks = lines.SkipLast(1).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", (string)c["object"]!));
        Assert.Equal("assistant", (string)chunks[0]["choices"]![0]!["delta"]!["role"]!);
        string streamed = string.Concat(chunks.Where(c => c["choices"]!.AsArray().Count > 0)
            .Select(c => (string?)c["choices"]![0]!["delta"]!["content"] ?? ""));
        Assert.Equal(local.Text, streamed);
        var last = chunks[^2]["choices"]![0]!;
        Assert.Equal(local.FinishReasonText, (string)last["finish_reason"]!);
        var usage = chunks[^1];
        Assert.Empty(usage["choices"]!.AsArray());
        Assert.Equal(local.CompletionTokens, (int)usage["usage"]!["completion_tokens"]!);
    }

    [Fact]
    public async Task Completions_StreamWithStopStringsAndNSamples()
    {
        var prompt = GenerationPrompt.FromText("Natalia sold clips");
        var free = Local(prompt, new GenerationOptions { MaxNewTokens = 40, Temperature = 0 });
        string stop = free.Text.Substring(free.Text.Length / 2, 2);
        var lines = await f.Stream("v1/completions", new JsonObject
        {
            ["model"] = "tiny", ["prompt"] = "Natalia sold clips", ["max_tokens"] = 40, ["temperature"] = 0, ["n"] = 2,
            ["stop"] = stop, ["stream"] = true,
        });
        Assert.Equal("[DONE]", lines[^1]);
        var chunks = lines.SkipLast(1).Select(l => JsonNode.Parse(l)!["choices"]![0]!).ToList();
        string expected = free.Text[..free.Text.IndexOf(stop, StringComparison.Ordinal)];
        for (int i = 0; i < 2; i++)
        {
            var mine = chunks.Where(c => (int)c["index"]! == i).ToList();
            Assert.Equal(expected, string.Concat(mine.Select(c => (string)c["text"]!)));
            Assert.Equal("stop", (string)mine[^1]["finish_reason"]!);
            Assert.Equal(stop, (string)mine[^1]["stop_reason"]!);
            Assert.All(mine.SkipLast(1), c => Assert.Null(c["finish_reason"]));
        }
    }

    [Fact]
    public async Task LogProbs_AreTheLocalOnes_WithTopAlternatives()
    {
        var local = Local(GenerationPrompt.FromText("Weng earns"), new GenerationOptions { MaxNewTokens = 8, Temperature = 0 });
        var (_, body) = await f.Post("v1/completions", new JsonObject
        {
            ["model"] = "tiny", ["prompt"] = "Weng earns", ["max_tokens"] = 8, ["temperature"] = 0, ["logprobs"] = 3,
        });
        var lp = body["choices"]![0]!["logprobs"]!;
        var values = lp["token_logprobs"]!.AsArray().Select(n => (double)n!).ToList();
        Assert.Equal(local.LogProbs!.Count, values.Count);
        for (int i = 0; i < values.Count; i++) Assert.Equal(local.LogProbs[i], values[i], 1e-3);
        Assert.Equal(local.TokenIds!.Select(f.Model.TokenText), lp["tokens"]!.AsArray().Select(n => (string)n!));
        foreach (var (top, i) in lp["top_logprobs"]!.AsArray().Select((t, i) => (t!.AsObject(), i)))
        {
            Assert.InRange(top.Count, 1, 3); // distinct token strings (byte pieces may decode alike)
            Assert.Equal(values[i], top.Max(p => (double)p.Value!), 4); // greedy: the sampled token is the most probable
        }

        var (_, chat) = await f.Post("v1/chat/completions", new JsonObject
        {
            ["model"] = "tiny", ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "hi" }),
            ["max_tokens"] = 5, ["temperature"] = 0, ["logprobs"] = true, ["top_logprobs"] = 2,
        });
        var content = chat["choices"]![0]!["logprobs"]!["content"]!.AsArray();
        Assert.Equal((int)chat["usage"]!["completion_tokens"]!, content.Count);
        Assert.All(content, t =>
        {
            Assert.Equal(2, t!["top_logprobs"]!.AsArray().Count);
            Assert.Equal((double)t["logprob"]!, (double)t["top_logprobs"]![0]!["logprob"]!, 4);
        });
    }

    [Fact]
    public async Task ListPrompts_GiveOneChoicePerPromptAndSample()
    {
        var (status, body) = await f.Post("v1/completions", new JsonObject
        {
            ["model"] = "tiny", ["prompt"] = new JsonArray("One", "Two", new JsonArray(5, 6, 7)), ["max_tokens"] = 3,
            ["n"] = 2, ["seed"] = 5, ["temperature"] = 0.8,
        });
        Assert.Equal(HttpStatusCode.OK, status);
        var choices = body["choices"]!.AsArray();
        Assert.Equal(6, choices.Count);
        Assert.Equal([0, 1, 2, 3, 4, 5], choices.Select(c => (int)c!["index"]!));
        var tokenizer = f.Model.Tokenizer!;
        Assert.Equal(tokenizer.Encode("One", true).Count + tokenizer.Encode("Two", true).Count + 3, (int)body["usage"]!["prompt_tokens"]!);
    }

    [Fact]
    public async Task Completions_WithoutMaxTokens_GenerateAtMost16()
    {
        var (_, body) = await f.Post("v1/completions", """{"model": "tiny", "prompt": "Hello", "temperature": 0}""");
        int tokens = (int)body["usage"]!["completion_tokens"]!;
        Assert.True((string)body["choices"]![0]!["finish_reason"]! == "stop" ? tokens <= 16 : tokens == 16);
    }
}

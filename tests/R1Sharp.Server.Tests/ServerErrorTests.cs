using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace R1Sharp.Server.Tests;

/// <summary>Bad input gets a 400 (or 404/413) with an OpenAI-style error body naming the field.</summary>
public sealed class ServerErrorTests(ServerErrorTests.Fixture f) : IClassFixture<ServerErrorTests.Fixture>
{
    public sealed class Fixture : ServerFixture
    {
        protected override ServerOptions Options => new() { Port = 0, ServedModelName = "tiny", MaxN = 4, MaxTokens = 100, MaxPromptTokens = 200, MaxRequestBytes = 100_000 };
    }

    private async Task<JsonNode> Error(string path, string body, HttpStatusCode expected, string? param)
    {
        var (status, json) = await f.Post(path, body);
        Assert.Equal(expected, status);
        var error = json["error"]!;
        Assert.False(string.IsNullOrWhiteSpace((string)error["message"]!));
        Assert.Equal(expected == HttpStatusCode.NotFound ? "not_found_error" : "invalid_request_error", (string)error["type"]!);
        Assert.Equal(param, (string?)error["param"]);
        return error;
    }

    [Theory]
    [InlineData("""{"model": "tiny", "prompt": "hi", """, null)]                          // malformed JSON
    [InlineData("""[1, 2]""", null)]                                                       // not an object
    [InlineData("""{"prompt": "hi"}""", "model")]
    [InlineData("""{"model": "tiny"}""", "prompt")]
    [InlineData("""{"model": "tiny", "prompt": 5}""", "prompt")]
    [InlineData("""{"model": "tiny", "prompt": ""}""", "prompt")]
    [InlineData("""{"model": "tiny", "prompt": [1, -2]}""", "prompt")]
    [InlineData("""{"model": "tiny", "prompt": [1, 99999]}""", "prompt")]                // outside the vocabulary
    [InlineData("""{"model": "tiny", "prompt": "hi", "temperature": "hot"}""", "temperature")]
    [InlineData("""{"model": "tiny", "prompt": "hi", "temperature": -1}""", "temperature")]
    [InlineData("""{"model": "tiny", "prompt": "hi", "top_p": 0}""", "top_p")]
    [InlineData("""{"model": "tiny", "prompt": "hi", "n": 1.5}""", "n")]
    [InlineData("""{"model": "tiny", "prompt": "hi", "n": 5}""", "n")]                    // over MaxN = 4
    [InlineData("""{"model": "tiny", "prompt": "hi", "n": 0}""", "n")]
    [InlineData("""{"model": "tiny", "prompt": "hi", "max_tokens": 101}""", "max_tokens")] // over MaxTokens = 100
    [InlineData("""{"model": "tiny", "prompt": "hi", "max_tokens": 0}""", "max_tokens")]
    [InlineData("""{"model": "tiny", "prompt": "hi", "stop": [1]}""", "stop")]
    [InlineData("""{"model": "tiny", "prompt": "hi", "stream": "yes"}""", "stream")]
    [InlineData("""{"model": "tiny", "prompt": "hi", "stream_options": {"include_usage": true}}""", "stream_options")]
    [InlineData("""{"model": "tiny", "prompt": "hi", "logprobs": 21}""", "logprobs")]
    [InlineData("""{"model": "tiny", "prompt": "hi", "frobnicate": 1}""", "frobnicate")]  // unknown field
    [InlineData("""{"model": "tiny", "prompt": "hi", "echo": true}""", "echo")]           // known, not supported
    [InlineData("""{"model": "tiny", "prompt": "hi", "presence_penalty": 0.5}""", "presence_penalty")]
    [InlineData("""{"model": "tiny", "prompt": "hi", "stop_token_ids": [5000]}""", "stop_token_ids")]
    public Task Completions_BadInput(string body, string? param) => Error("v1/completions", body, HttpStatusCode.BadRequest, param);

    [Theory]
    [InlineData("""{"model": "tiny", "messages": []}""", "messages")]
    [InlineData("""{"model": "tiny", "messages": "hi"}""", "messages")]
    [InlineData("""{"model": "tiny", "messages": [{"content": "hi"}]}""", "messages[0].role")]
    [InlineData("""{"model": "tiny", "messages": [{"role": "wizard", "content": "hi"}]}""", "messages[0].role")]
    [InlineData("""{"model": "tiny", "messages": [{"role": "user", "content": [{"type": "image_url"}]}]}""", "messages[0].content")]
    [InlineData("""{"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "logprobs": 1}""", "logprobs")]
    [InlineData("""{"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "top_logprobs": 2}""", "top_logprobs")]
    [InlineData("""{"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "tools": [{"type": "function"}]}""", "tools")]
    [InlineData("""{"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "prompt": "x"}""", "prompt")]
    public Task Chat_BadInput(string body, string? param) => Error("v1/chat/completions", body, HttpStatusCode.BadRequest, param);

    [Fact]
    public async Task UnknownModel_Is404()
    {
        var error = await Error("v1/completions", """{"model": "gpt-9", "prompt": "hi"}""", HttpStatusCode.NotFound, "model");
        Assert.Equal("model_not_found", (string)error["code"]!);
    }

    [Fact]
    public async Task OversizedPrompt_AndPromptPlusMaxTokensOverTheContext_Are400()
    {
        string longPrompt = "[" + string.Join(",", Enumerable.Repeat(7, 201)) + "]";
        var error = await Error("v1/completions", $$"""{"model": "tiny", "prompt": {{longPrompt}}}""", HttpStatusCode.BadRequest, "prompt");
        Assert.Equal("context_length_exceeded", (string)error["code"]!);
        Assert.Contains("201", (string)error["message"]!);
    }

    [Fact]
    public async Task OversizedBody_Is413()
    {
        string body = $$"""{"model": "tiny", "prompt": "{{new string('x', 200_000)}}"}""";
        using var response = await f.Http.PostAsync(f.Url("v1/completions"), new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("invalid_request_error", (string)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!["type"]!);
    }

    [Fact]
    public async Task AfterBadRequests_TheServerStillServes()
    {
        await Completions_BadInput("""{"model": "tiny", "prompt": "hi", """, null);
        var (status, body) = await f.Post("v1/completions", """{"model": "tiny", "prompt": "hi", "max_tokens": 3}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.InRange((int)body["usage"]!["completion_tokens"]!, 1, 3);
    }
}

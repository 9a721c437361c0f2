using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using R1Sharp.Engine.Generation;
using R1Sharp.Tests;
using R1Sharp.Text.Tokenization;
using static TorchSharp.torch;

namespace R1Sharp.Server.Tests;

/// <summary>The API key: only the exact key passes, whatever its length, case of scheme aside.</summary>
public sealed class ApiKeyTests(ApiKeyTests.Fixture f) : IClassFixture<ApiKeyTests.Fixture>
{
    /// <summary>Non-ASCII on purpose: the comparison is over UTF-8 bytes, not characters.</summary>
    public const string Key = "sk-tëst-ключ-42";

    public sealed class Fixture : ServerFixture
    {
        protected override ServerOptions Options => new() { Port = 0, ServedModelName = "tiny", ApiKey = Key };
    }

    /// <summary>A completion with this Authorization header (UTF-8 on the wire, as Kestrel reads header values), over a raw socket.</summary>
    private Task<RawHttp.Response> Send(string? authorization)
    {
        byte[] body = Encoding.UTF8.GetBytes("""{"model": "tiny", "prompt": "hi", "max_tokens": 1}""");
        var headers = new List<string> { "Content-Type: application/json", $"Content-Length: {body.Length}" };
        if (authorization is not null) headers.Add($"Authorization: {authorization}");
        return RawHttp.SendAsync(f.Server.BaseAddress, RawHttp.Request("POST", "/v1/completions", headers, body));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("Bearer")]
    [InlineData("Bearer ")]
    [InlineData("Bearer sk-tëst-ключ-43")]          // same length, last character wrong
    [InlineData("Bearer xk-tëst-ключ-42")]          // same length, first character wrong
    [InlineData("Bearer sk-tëst-ключ-4")]           // a prefix of the key
    [InlineData("Bearer sk-tëst-ключ-420")]         // the key and more
    [InlineData("Bearer sk-test-ключ-42")]          // ë → e: one UTF-8 byte fewer
    [InlineData("Bearer sk-tëst-ключ-42, Bearer x")]
    [InlineData("Basic sk-tëst-ключ-42")]
    [InlineData("sk-tëst-ключ-42")]
    public async Task WrongOrMissingKey_Is401(string? authorization)
    {
        var response = await Send(authorization);
        Assert.Equal(401, response.Status);
        var error = response.Json["error"]!;
        Assert.Equal("authentication_error", (string)error["type"]!);
        Assert.Equal("invalid_api_key", (string)error["code"]!);
        Assert.DoesNotContain(Key, response.Body);
        // RFC 9110 section 15.5.2: a 401 names the scheme it takes.
        Assert.Equal("Bearer", response.Headers.GetValueOrDefault("www-authenticate"));
    }

    [Theory]
    [InlineData("Bearer")]
    [InlineData("bearer")]
    [InlineData("BEARER")]
    public async Task TheKey_Passes_WithTheSchemeInAnyCase(string scheme)
    {
        var response = await Send($"{scheme} {Key}");
        Assert.True(response.Status == 200, response.Body);
    }

    [Fact]
    public async Task TheKey_Passes_AfterSeveralSpaces()
    {
        // RFC 9110 section 11.4: credentials = auth-scheme [ 1*SP token68 ].
        var response = await Send($"Bearer   {Key}");
        Assert.True(response.Status == 200, response.Body);
    }

    [Fact]
    public async Task TheKeyIsCheckedBeforeTheBodyIsRead()
    {
        // A wrong key with a body that is not even JSON: 401, not 400.
        var response = await RawHttp.SendAsync(f.Server.BaseAddress, RawHttp.Request("POST", "/v1/completions",
            ["Authorization: Bearer nope", "Content-Type: application/json", "Content-Length: 3"], [0xFF, 0xFE, 0xFD]));
        Assert.Equal(401, response.Status);
    }

    [Fact]
    public void Matches_ComparesBytes_NotJustLengthsOrPrefixes()
    {
        var key = new ApiKey("abc");
        Assert.True(key.Matches("Bearer abc"));
        Assert.False(key.Matches("Bearer abd"));
        Assert.False(key.Matches("Bearer ab"));
        Assert.False(key.Matches("Bearer abcd"));
        Assert.False(key.Matches("Bearer ab\0"));     // zero padding of a shorter token must not pass
        Assert.False(key.Matches("Bearer "));
        Assert.False(key.Matches(null));
        Assert.True(new ApiKey("a\0").Matches("Bearer a\0"));
        Assert.False(new ApiKey("a\0").Matches("Bearer a"));
        Assert.Throws<ArgumentException>(() => new ApiKey(""));
    }
}

/// <summary>A failure inside generation (here a real libtorch error) is a 500 that says nothing of it; the log has it.</summary>
public sealed class InternalErrorTests : IAsyncLifetime
{
    private readonly ConcurrentQueue<string> _log = new();
    private LocalModel _model = null!;
    private OpenAiServer _server = null!;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(60) };

    public async Task InitializeAsync()
    {
        _model = LocalModel.Load(TinyModel.Directory);
        _server = await OpenAiServer.StartAsync(_model, new ServerOptions { Port = 0, ServedModelName = "tiny", Log = _log.Enqueue });
        // Break the model: an embedding of 2 rows, so any token id ≥ 2 fails inside libtorch's index_select.
        var embedding = _model.Model.model.embed_tokens;
        embedding.weight = new TorchSharp.Modules.Parameter(zeros(2, _model.Model.Config.HiddenSize));
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _model.Dispose();
        _http.Dispose();
    }

    [Fact]
    public async Task GenerationFailure_Is500_WithAGenericMessage_AndTheServerGoesOn()
    {
        using var response = await _http.PostAsync(new Uri(_server.BaseAddress, "v1/completions"),
            new StringContent("""{"model": "tiny", "prompt": [5, 6, 7], "max_tokens": 3}""", Encoding.UTF8, "application/json"));
        string body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var error = JsonNode.Parse(body)!["error"]!;
        Assert.Equal("server_error", (string)error["type"]!);
        Assert.Equal("internal_error", (string)error["code"]!);
        Assert.Contains("generation failed", (string)error["message"]!);
        HostileRequestTests.AssertNoInternals(body);
        Assert.DoesNotContain("index", body);
        // The server's log has what the client does not.
        Assert.Contains(_log, line => line.Contains("failed") && line.Contains("index", StringComparison.OrdinalIgnoreCase));

        // Streaming: the headers are out when the batch fails, so the stream ends with the error and [DONE].
        using var stream = await _http.PostAsync(new Uri(_server.BaseAddress, "v1/completions"),
            new StringContent("""{"model": "tiny", "prompt": [5, 6, 7], "max_tokens": 3, "stream": true}""", Encoding.UTF8, "application/json"));
        string events = await stream.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        var data = events.Split('\n').Where(l => l.StartsWith("data: ")).Select(l => l["data: ".Length..]).ToList();
        Assert.Equal("[DONE]", data[^1]);
        Assert.Equal("internal_error", (string)JsonNode.Parse(data[^2])!["error"]!["code"]!);
        HostileRequestTests.AssertNoInternals(events);

        using var models = await _http.GetAsync(new Uri(_server.BaseAddress, "v1/models"));
        Assert.Equal(HttpStatusCode.OK, models.StatusCode);
    }
}

/// <summary>
/// A tokenizer larger than the model's embedding (the trained 4k-token BPE fixture on the 320-token qwen2-tiny
/// model): text that encodes to an id the model does not have is a 400 naming the id and the vocabulary size.
/// </summary>
public sealed class TokenizerLargerThanModelTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("r1sharp-vocab-").FullName;
    private readonly ConcurrentQueue<string> _log = new();
    private LocalModel _model = null!;
    private OpenAiServer _server = null!;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(60) };

    public async Task InitializeAsync()
    {
        string model = R1Sharp.Tests.RepoPaths.Fixture("hf-tiny", "qwen2-tiny");
        string tokenizer = R1Sharp.Tests.RepoPaths.Fixture("tokenizers", "trained-bpe4k");
        foreach (var file in new[] { "config.json", "model.safetensors" }) File.Copy(Path.Combine(model, file), Path.Combine(_dir, file));
        foreach (var file in new[] { "tokenizer.json.gz", "tokenizer_config.json" }) File.Copy(Path.Combine(tokenizer, file), Path.Combine(_dir, file));
        _model = LocalModel.Load(_dir);
        _server = await OpenAiServer.StartAsync(_model, new ServerOptions { Port = 0, ServedModelName = "tiny", Log = _log.Enqueue });
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _model.Dispose();
        _http.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task TextThatEncodesPastTheModelsVocabulary_Is400_NamingTheIdAndTheSize()
    {
        const string text = "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May.";
        var tokenizer = HfTokenizer.Load(_dir);
        Assert.True(tokenizer.VocabSize > 320, $"the fixture tokenizer has {tokenizer.VocabSize} tokens");
        int first = tokenizer.Encode(text, addSpecialTokens: true).First(id => id >= 320);

        using var response = await _http.PostAsync(new Uri(_server.BaseAddress, "v1/completions"),
            new StringContent(new JsonObject { ["model"] = "tiny", ["prompt"] = text, ["max_tokens"] = 2 }.ToJsonString(), Encoding.UTF8, "application/json"));
        string body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = JsonNode.Parse(body)!["error"]!;
        Assert.Equal("prompt", (string)error["param"]!);
        Assert.Equal("token_out_of_vocabulary", (string)error["code"]!);
        Assert.Contains($"token id {first}", (string)error["message"]!);
        Assert.Contains("size 320", (string)error["message"]!);
        Assert.Contains(_log, l => l.Contains("warning") && l.Contains($"{tokenizer.VocabSize} tokens"));

        // Text made of the first 320 ids only still works: bytes of the alphabet, no merges beyond the model.
        var ids = tokenizer.Encode("a", addSpecialTokens: true);
        Assert.All(ids, id => Assert.InRange(id, 0, 319));
        using var ok = await _http.PostAsync(new Uri(_server.BaseAddress, "v1/completions"),
            new StringContent("""{"model": "tiny", "prompt": "a", "max_tokens": 2}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }
}

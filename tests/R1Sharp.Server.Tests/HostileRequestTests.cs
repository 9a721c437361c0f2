using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace R1Sharp.Server.Tests;

/// <summary>
/// Hostile and malformed requests, sent as raw HTTP over a socket (HttpClient cannot send most of them): each gets
/// its 4xx with an OpenAI-style error body (type, message, param), never a 500, and the server answers the next
/// valid request.
/// </summary>
public sealed class HostileRequestTests(HostileRequestTests.Fixture f) : IClassFixture<HostileRequestTests.Fixture>
{
    public sealed class Fixture : ServerFixture
    {
        public ConcurrentQueue<string> Log { get; } = new();

        protected override ServerOptions Options => new() { Port = 0, ServedModelName = "tiny", MaxN = 8, Log = Log.Enqueue };
    }

    /// <summary>The tiny checkpoint's context (TinyCheckpoint) and vocabulary (qwen2-tiny's config).</summary>
    private const int Context = 4096, Vocab = 320;

    private static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    /// <summary>Status, the error body's shape, its param, and that the message says what <paramref name="says"/> says.</summary>
    private JsonNode AssertError(RawHttp.Response response, int status, string? param, params string[] says)
    {
        Assert.True(response.Status == status, $"expected HTTP {status}, got {response.Status}: {response.Body}\nserver log: {string.Join("\n", f.Log.TakeLast(3))}");
        Assert.StartsWith("application/json", response.Headers["content-type"]);
        var error = response.Json["error"] ?? throw new Xunit.Sdk.XunitException($"no 'error' object: {response.Body}");
        string message = (string)error["message"]!;
        Assert.Equal(status switch { 401 => "authentication_error", 404 => "not_found_error", 429 => "rate_limit_error", < 500 => "invalid_request_error", _ => "server_error" },
            (string)error["type"]!);
        Assert.Equal(param, (string?)error["param"]);
        foreach (var part in says)
            Assert.True(message.Contains(part, StringComparison.OrdinalIgnoreCase), $"'{part}' is not in the message: {message}");
        AssertNoInternals(response.Body);
        return error;
    }

    /// <summary>Nothing of the server's insides: no stack frame, no source path, no libtorch text.</summary>
    internal static void AssertNoInternals(string body)
    {
        foreach (var leak in new[] { "   at ", ".cs:line", "Exception", "c10", "libtorch", "tensor", "/src/", "/work/" })
            Assert.DoesNotContain(leak, body, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>A valid completion on a fresh connection.</summary>
    private async Task AssertStillServes()
    {
        var (status, body) = await f.Post("v1/completions", """{"model": "tiny", "prompt": "Tom has 3 apples.", "max_tokens": 2, "temperature": 0}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.InRange((int)body["usage"]!["completion_tokens"]!, 1, 2);
    }

    // ---- framing and encoding: bytes HttpClient will not send ----

    [Theory]
    [InlineData(new byte[] { 0xFF, 0xFE }, 0)]                  // bytes that never occur in UTF-8
    [InlineData(new byte[] { 0xC0, 0xAF }, 0)]                  // an overlong encoding of '/'
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 }, 0)]            // a surrogate (U+D800) encoded as UTF-8
    [InlineData(new byte[] { 0x61, 0xE2, 0x82 }, 1)]            // a sequence cut short
    public async Task InvalidUtf8Body_Is400_NamingTheByte(byte[] bad, int firstBad)
    {
        byte[] prefix = Utf8("""{"model": "tiny", "prompt": "x""");
        byte[] body = [.. prefix, .. bad, .. Utf8("\"}")];
        int offset = prefix.Length + firstBad;
        var response = await RawHttp.SendAsync(f.Server.BaseAddress, RawHttp.Post("/v1/completions", body));
        var error = AssertError(response, 400, null, "not valid UTF-8", $"byte {offset}");
        Assert.Equal("invalid_encoding", (string)error["code"]!);
        await AssertStillServes();
    }

    [Theory]
    [InlineData("""{"model": "tiny", "prompt": "a\ud800b"}""", "$.prompt")]                        // a lone high surrogate
    [InlineData("""{"model": "tiny", "prompt": ["ok", "\udc00"]}""", "$.prompt[1]")]               // a lone low surrogate
    [InlineData("""{"model": "tiny", "prompt": "\udc00\ud800"}""", "$.prompt")]                    // a pair in the wrong order
    [InlineData("""{"model": "tiny", "messages": [{"role": "user", "content": "\ud83d"}]}""", "$.messages[0].content")]
    [InlineData("""{"model": "tiny", "prompt": "hi", "\ud800": 1}""", "the JSON object at $")]     // in a key
    public async Task LoneSurrogateEscape_Is400_NamingTheString(string json, string where)
    {
        string path = json.Contains("messages") ? "/v1/chat/completions" : "/v1/completions";
        var response = await RawHttp.SendAsync(f.Server.BaseAddress, RawHttp.Post(path, Utf8(json)));
        var error = AssertError(response, 400, null, where, "not valid Unicode", "surrogate");
        Assert.Equal("invalid_encoding", (string)error["code"]!);
        await AssertStillServes();
    }

    [Theory]
    [InlineData("zz\r\n{}\r\n0\r\n\r\n")]                                 // a chunk size that is not hex
    [InlineData("5\r\n{\"model\"\r\n0\r\n\r\n")]                          // a chunk longer than its size says
    [InlineData("-1\r\n{}\r\n0\r\n\r\n")]                                 // a negative size
    [InlineData("FFFFFFFFFFFFFFFFFF\r\n{}\r\n0\r\n\r\n")]                 // a size that overflows
    public async Task MalformedChunkedBody_Is400(string chunked)
    {
        var request = RawHttp.Request("POST", "/v1/completions", ["Content-Type: application/json", "Transfer-Encoding: chunked"], Utf8(chunked));
        var response = await RawHttp.SendAsync(f.Server.BaseAddress, request);
        var error = AssertError(response, 400, null, "chunked request body is malformed");
        Assert.Equal("malformed_body", (string)error["code"]!);
        await AssertStillServes();
    }

    [Fact]
    public async Task BodyCutShort_ThenSilence_Is400_WhenTheBodyStopsArriving()
    {
        // The connection stays open and nothing more comes: Kestrel's minimum body data rate (240 B/s after a 5 s
        // grace period) ends the wait, and the client gets a 400 rather than a hung request or a 500. Both framings
        // at once: a body shorter than its Content-Length, and a chunk that announces 0x40 bytes and sends 10.
        byte[] body = Utf8("""{"model": "tiny", """);
        var sized = RawHttp.SendAsync(f.Server.BaseAddress,
            RawHttp.Request("POST", "/v1/completions", ["Content-Type: application/json", "Content-Length: 100"], body), timeout: TimeSpan.FromSeconds(30));
        var chunked = RawHttp.SendAsync(f.Server.BaseAddress,
            RawHttp.Request("POST", "/v1/completions", ["Content-Type: application/json", "Transfer-Encoding: chunked"], Utf8("40\r\n{\"model\": ")), timeout: TimeSpan.FromSeconds(30));
        var error = AssertError(await sized, 400, null, $"after {body.Length} of the 100 bytes its Content-Length announced");
        Assert.Equal("malformed_body", (string)error["code"]!);
        error = AssertError(await chunked, 400, null, "chunked request body is malformed or incomplete after 10 bytes");
        Assert.Equal("malformed_body", (string)error["code"]!);
        await AssertStillServes();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task BodyCutShort_ThenClosedByTheClient_IsNoServerError(bool chunked)
    {
        // The client sends part of the body and shuts its side of the connection. Kestrel takes the end of the stream
        // for the end of the connection and resets it, so no answer can reach the client; what matters is that the
        // server neither fails (no 500, nothing logged as a failure) nor stops serving.
        byte[] body = Utf8("""{"model": "tiny", "prompt": "hi"}""");
        var request = chunked
            ? RawHttp.Request("POST", "/v1/completions", ["Content-Type: application/json", "Transfer-Encoding: chunked"], [.. Utf8("40\r\n"), .. body])
            : RawHttp.Request("POST", "/v1/completions", ["Content-Type: application/json", $"Content-Length: {body.Length + 50}"], body);
        int logged = f.Log.Count;
        var response = await RawHttp.TrySendAsync(f.Server.BaseAddress, request, halfClose: true);
        if (response is not null) AssertError(response, 400, null, "after");
        await AssertStillServes();
        Assert.DoesNotContain(f.Log.Skip(logged), line => line.Contains("failed", StringComparison.Ordinal));
    }

    // ---- the corpus ----

    /// <summary>One hostile request and what it must get.</summary>
    /// <param name="Path">The endpoint.</param>
    /// <param name="Body">The body bytes.</param>
    /// <param name="Status">The status it must get.</param>
    /// <param name="Param">The error's param (null when the request as a whole is at fault).</param>
    /// <param name="Says">Phrases the message must hold.</param>
    public sealed record Case(string Path, byte[] Body, int Status, string? Param, string[] Says)
    {
        public string? ContentType { get; init; } = "application/json";
        public string Method { get; init; } = "POST";
    }

    private static Case C(string json, int status, string? param, params string[] says) => new("/v1/completions", Utf8(json), status, param, says);

    private static Case Chat(string json, int status, string? param, params string[] says) => new("/v1/chat/completions", Utf8(json), status, param, says);

    private static string Hi(string extra) => $$"""{"model": "tiny", "prompt": "hi", {{extra}}}""";

    private static string ChatHi(string extra) => $$"""{"model": "tiny", "messages": [{"role": "user", "content": "hi"}], {{extra}}}""";

    public static readonly IReadOnlyDictionary<string, Case> Cases = new Dictionary<string, Case>
    {
        // bodies that are not a JSON object
        ["empty body"] = C("", 400, null, "empty"),
        ["whitespace body"] = C(" \r\n\t ", 400, null, "empty"),
        ["null"] = C("null", 400, null, "must be a JSON object"),
        ["a string"] = C("\"hi\"", 400, null, "must be a JSON object"),
        ["a list"] = C("[{\"model\": \"tiny\"}]", 400, null, "must be a JSON object"),
        ["truncated JSON"] = C("{\"model\": \"tiny\", \"prompt\":", 400, null, "not valid JSON"),
        ["trailing garbage"] = C("{\"model\": \"tiny\", \"prompt\": \"hi\"} {}", 400, null, "not valid JSON"),
        ["single quotes"] = C("{'model': 'tiny'}", 400, null, "not valid JSON"),
        ["a comment"] = C("{\"model\": \"tiny\", /* x */ \"prompt\": \"hi\"}", 400, null, "not valid JSON"),
        ["NaN literal"] = C(Hi("\"temperature\": NaN"), 400, null, "not valid JSON"),
        ["Infinity literal"] = C(Hi("\"top_p\": Infinity"), 400, null, "not valid JSON"),
        ["-Infinity literal"] = C(Hi("\"min_p\": -Infinity"), 400, null, "not valid JSON"),
        ["array depth bomb"] = C("{\"model\": \"tiny\", \"prompt\": " + new string('[', 100_000) + "1" + new string(']', 100_000) + "}", 400, null, "not valid JSON", "depth"),
        ["object depth bomb"] = C(string.Concat(Enumerable.Repeat("{\"a\": ", 1000)) + "1" + new string('}', 1000), 400, null, "not valid JSON", "depth"),
        ["duplicate key"] = C("{\"model\": \"tiny\", \"prompt\": \"hi\", \"model\": \"other\"}", 400, null, "key 'model' twice"),
        // content types
        ["text/plain"] = C(Hi("\"n\": 1"), 415, null, "text/plain", "application/json") with { ContentType = "text/plain" },
        ["form encoded (curl -d)"] = C(Hi("\"n\": 1"), 415, null, "application/x-www-form-urlencoded") with { ContentType = "application/x-www-form-urlencoded" },
        ["UTF-16 charset"] = C(Hi("\"n\": 1"), 415, null, "charset", "utf-16") with { ContentType = "application/json; charset=utf-16" },
        ["unparsable content type"] = C(Hi("\"n\": 1"), 415, null, "cannot be parsed") with { ContentType = "/;;;" },
        // endpoints and methods
        ["unknown endpoint"] = new("/v1/embeddings", Utf8(Hi("\"n\": 1")), 404, null, ["no such endpoint", "/v1/embeddings"]),
        ["GET a POST endpoint"] = new("/v1/completions", [], 405, null, ["GET is not allowed"]) { Method = "GET", ContentType = null },
        // model
        ["unknown model"] = C("{\"model\": \"gpt-9\", \"prompt\": \"hi\"}", 404, "model", "'gpt-9' does not exist"),
        ["model of the wrong type"] = C("{\"model\": 5, \"prompt\": \"hi\"}", 400, "model", "must be a string"),
        ["model missing"] = C("{\"prompt\": \"hi\"}", 400, "model", "required"),
        // numbers out of range or of the wrong type
        ["temperature as a string"] = C(Hi("\"temperature\": \"0.5\""), 400, "temperature", "must be a number"),
        ["temperature as a boolean"] = C(Hi("\"temperature\": true"), 400, "temperature", "must be a number"),
        ["temperature negative"] = C(Hi("\"temperature\": -0.1"), 400, "temperature", "at least 0"),
        ["temperature past double"] = C(Hi("\"temperature\": 1e400"), 400, "temperature", "not a finite number"),
        ["top_p past double"] = C(Hi("\"top_p\": -1e999"), 400, "top_p", "not a finite number"),
        ["top_p zero"] = C(Hi("\"top_p\": 0"), 400, "top_p", "in (0, 1]"),
        ["top_p over one"] = C(Hi("\"top_p\": 1.0000001"), 400, "top_p", "in (0, 1]"),
        ["min_p over one"] = C(Hi("\"min_p\": 2"), 400, "min_p", "in [0, 1]"),
        ["n zero"] = C(Hi("\"n\": 0"), 400, "n", "in [1, 8]"),
        ["n huge"] = C(Hi("\"n\": 2147483648"), 400, "n", "in [1, 8]"),
        ["n past long"] = C(Hi("\"n\": 1e30"), 400, "n", "out of range", "in [1, 8]"),
        ["n fractional"] = C(Hi("\"n\": 2.5"), 400, "n", "not an integer"),
        ["max_tokens int.MaxValue"] = C(Hi("\"max_tokens\": 2147483647"), 400, "max_tokens", "2147483647", $"in [1, {Context - 1}]", $"context is {Context} tokens"),
        ["max_tokens past long"] = C(Hi("\"max_tokens\": 99999999999999999999999"), 400, "max_tokens", "out of range", $"in [1, {Context - 1}]"),
        ["max_completion_tokens huge"] = C(Hi("\"max_completion_tokens\": 4096"), 400, "max_completion_tokens", $"in [1, {Context - 1}]"),
        ["max_tokens negative"] = C(Hi("\"max_tokens\": -1"), 400, "max_tokens", $"in [1, {Context - 1}]"),
        ["max_tokens of the wrong type beside max_completion_tokens"] = C(Hi("\"max_tokens\": \"abc\", \"max_completion_tokens\": 5"), 400, "max_tokens", "must be an integer"),
        ["seed past long"] = C(Hi("\"seed\": " + new string('9', 400)), 400, "seed", "out of range"),
        ["logprobs over 20"] = C(Hi("\"logprobs\": 21"), 400, "logprobs", "in [0, 20]"),
        ["stream as a string"] = C(Hi("\"stream\": \"yes\""), 400, "stream", "must be a boolean"),
        // prompts
        ["prompt an object"] = C("{\"model\": \"tiny\", \"prompt\": {\"text\": \"hi\"}}", 400, "prompt", "is an object"),
        ["prompt a nested list"] = C("{\"model\": \"tiny\", \"prompt\": [[[1]]]}", 400, "prompt", "not a token id"),
        ["prompt mixed ids and text"] = C("{\"model\": \"tiny\", \"prompt\": [1, \"a\"]}", 400, "prompt", "not a token id"),
        ["prompt id past int"] = C("{\"model\": \"tiny\", \"prompt\": [1, 2147483648]}", 400, "prompt", "2147483648", "not a token id"),
        ["prompt id = vocabulary size"] = C($"{{\"model\": \"tiny\", \"prompt\": [1, {Vocab}]}}", 400, "prompt", $"token id {Vocab}", $"size {Vocab}"),
        ["prompt ids over the context"] = C("{\"model\": \"tiny\", \"prompt\": [" + string.Join(",", Enumerable.Repeat(7, Context)) + "]}", 400, "prompt", $"{Context} tokens"),
        ["65 prompts"] = C("{\"model\": \"tiny\", \"prompt\": [" + string.Join(",", Enumerable.Repeat("\"hi\"", 65)) + "]}", 400, "prompt", "65 prompts", "at most 64"),
        ["empty prompt in a list"] = C("{\"model\": \"tiny\", \"prompt\": [\"hi\", \"\"]}", 400, "prompt", "'prompt[1]' is empty"),
        ["empty token list in a list"] = C("{\"model\": \"tiny\", \"prompt\": [[1], []]}", 400, "prompt", "'prompt[1]' is an empty list"),
        ["stop 17 strings"] = C(Hi("\"stop\": [" + string.Join(",", Enumerable.Range(0, 17).Select(i => $"\"s{i}\"")) + "]"), 400, "stop", "17 strings"),
        ["stop a huge list"] = C(Hi("\"stop\": [" + string.Join(",", Enumerable.Repeat("\"s\"", 200_000)) + "]"), 400, "stop", "200000 strings"),
        ["stop_token_ids a huge list"] = C(Hi("\"stop_token_ids\": [" + string.Join(",", Enumerable.Repeat("5", 100_000)) + "]"), 400, "stop_token_ids", "100000 ids"),
        ["unknown field"] = C(Hi("\"frobnicate\": {\"deep\": [1, 2, 3]}"), 400, "frobnicate", "Unrecognized request argument"),
        ["logit_bias not empty"] = C(Hi("\"logit_bias\": {\"5\": 100}"), 400, "logit_bias", "not supported"),
        // chat
        ["messages a string"] = Chat("{\"model\": \"tiny\", \"messages\": \"hi\"}", 400, "messages", "must be a list"),
        ["message content a number"] = Chat("{\"model\": \"tiny\", \"messages\": [{\"role\": \"user\", \"content\": 5}]}", 400, "messages[0].content", "string or a list of parts"),
        ["text part without text"] = Chat("{\"model\": \"tiny\", \"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"text\"}]}]}", 400, "messages[0].content.text", "required"),
        ["message role unknown"] = Chat("{\"model\": \"tiny\", \"messages\": [{\"role\": \"root\", \"content\": \"hi\"}]}", 400, "messages[0].role", "'root'"),
        ["more messages than prompt tokens"] = Chat("{\"model\": \"tiny\", \"messages\": [" + string.Join(",", Enumerable.Repeat("{\"role\": \"user\"}", Context)) + "]}",
            400, "messages", $"{Context} messages"),
        ["chat_template_kwargs overriding messages"] = Chat(ChatHi("\"chat_template_kwargs\": {\"messages\": []}"), 400, "chat_template_kwargs", "set by the request itself"),
        ["chat_template_kwargs nested"] = Chat(ChatHi("\"chat_template_kwargs\": {\"x\": {\"y\": 1}}"), 400, "chat_template_kwargs", "string, number, boolean or null"),
        ["top_logprobs over 20"] = Chat(ChatHi("\"logprobs\": true, \"top_logprobs\": 21"), 400, "top_logprobs", "in [0, 20]"),
        ["completion field in chat"] = Chat(ChatHi("\"prompt\": \"x\""), 400, "prompt", "Unrecognized request argument"),
    };

    public static TheoryData<string> CaseNames => new(Cases.Keys);

    [Fact]
    public void TheCorpusHoldsAtLeast40Requests() => Assert.True(Cases.Count >= 40, $"{Cases.Count} cases");

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task Corpus(string name)
    {
        var c = Cases[name];
        var headers = new List<string>();
        if (c.ContentType is not null) headers.Add($"Content-Type: {c.ContentType}");
        if (c.Method != "GET") headers.Add($"Content-Length: {c.Body.Length}");
        var response = await RawHttp.SendAsync(f.Server.BaseAddress, RawHttp.Request(c.Method, c.Path, headers, c.Body));
        AssertError(response, c.Status, c.Param, c.Says);
        await AssertStillServes();
    }

    // ---- sizes, numbers and the cheap-before-expensive order ----

    [Fact]
    public async Task SevenMegabytePrompt_IsRefusedByItsLength_BeforeTokenisation()
    {
        // 7 MB is under the 8 MB body limit; the prompt limit is 64 characters per token of the 4095-token prompt.
        string text = new('7', 7 << 20);
        var response = await RawHttp.SendAsync(f.Server.BaseAddress, RawHttp.Post("/v1/completions", Utf8($$"""{"model": "tiny", "prompt": "{{text}}"}""")));
        var error = AssertError(response, 400, "prompt", $"{7 << 20} characters", $"at most {64 * (Context - 1)} characters");
        Assert.Equal("prompt_too_long", (string)error["code"]!);

        var chat = await RawHttp.SendAsync(f.Server.BaseAddress, RawHttp.Post("/v1/chat/completions",
            Utf8($$"""{"model": "tiny", "messages": [{"role": "system", "content": "{{text[..200_000]}}"}, {"role": "user", "content": "{{text[..200_000]}}"}]}""")));
        AssertError(chat, 400, "messages", "400000 characters");
        await AssertStillServes();
    }

    [Fact]
    public async Task MaxTokensThatFitsAlone_ButNotWithThePrompt_ReportsTheTrueSum()
    {
        string prompt = "[" + string.Join(",", Enumerable.Repeat(7, 100)) + "]";
        var response = await RawHttp.SendAsync(f.Server.BaseAddress, RawHttp.Post("/v1/completions", Utf8($$"""{"model": "tiny", "prompt": {{prompt}}, "max_tokens": {{Context - 1}}}""")));
        var error = AssertError(response, 400, "max_tokens", $"you requested {100 + Context - 1} tokens (100 in the prompt, {Context - 1} for the completion)");
        Assert.Equal("context_length_exceeded", (string)error["code"]!);
    }

    [Theory]
    [InlineData(1e-45)]           // rounds to the smallest float32 denormal: logits / T overflow
    [InlineData(5e-324)]          // the smallest double
    [InlineData(9.99e-6)]         // just under vLLM's greedy threshold
    public async Task TinyTemperature_IsGreedy(double temperature)
    {
        string t = temperature.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        var greedy = await f.Post("v1/completions", """{"model": "tiny", "prompt": "Tom has 3 apples and buys", "max_tokens": 12, "temperature": 0, "return_token_ids": true}""");
        var tiny = await f.Post("v1/completions", $$"""{"model": "tiny", "prompt": "Tom has 3 apples and buys", "max_tokens": 12, "temperature": {{t}}, "n": 3, "return_token_ids": true}""");
        Assert.Equal(HttpStatusCode.OK, tiny.Status);
        var expected = greedy.Body["choices"]![0]!["token_ids"]!.ToJsonString();
        Assert.All(tiny.Body["choices"]!.AsArray(), c => Assert.Equal(expected, c!["token_ids"]!.ToJsonString()));
    }

    [Theory]
    [InlineData(5e-324)]          // rounds to 0 in float32: every token would be dropped
    [InlineData(1e-45)]
    [InlineData(1e-7)]
    public async Task TinyTopP_KeepsOnlyTheMostProbableToken(double topP)
    {
        // Nucleus sampling with top_p below the top token's probability keeps that token alone: at any temperature
        // every sample is the greedy continuation.
        string p = topP.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        var greedy = await f.Post("v1/completions", """{"model": "tiny", "prompt": "Sara reads 4 books", "max_tokens": 12, "temperature": 0, "return_token_ids": true}""");
        var sampled = await f.Post("v1/completions", $$"""{"model": "tiny", "prompt": "Sara reads 4 books", "max_tokens": 12, "temperature": 1.5, "top_p": {{p}}, "n": 4, "return_token_ids": true, "logprobs": 1}""");
        Assert.Equal(HttpStatusCode.OK, sampled.Status);
        var expected = greedy.Body["choices"]![0]!["token_ids"]!.ToJsonString();
        Assert.All(sampled.Body["choices"]!.AsArray(), c => Assert.Equal(expected, c!["token_ids"]!.ToJsonString()));
        // Log-probabilities are still those of the temperature-1.5 distribution: finite and negative.
        Assert.All(sampled.Body["choices"]![0]!["logprobs"]!["token_logprobs"]!.AsArray(), v => Assert.InRange((double)v!, -1e6, 0));
    }

    [Theory]
    [InlineData(1e-5)]            // the threshold itself: sampled, logits / 1e-5 stays finite
    [InlineData(1e6)]
    [InlineData(1.7e308)]         // float32 infinity: every token equally likely
    public async Task ExtremeButValidTemperatures_Sample(double temperature)
    {
        string t = temperature.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        var (status, body) = await f.Post("v1/completions", $$"""{"model": "tiny", "prompt": "hi", "max_tokens": 8, "temperature": {{t}}, "seed": 1}""");
        Assert.True(status == HttpStatusCode.OK, body.ToJsonString());
        Assert.InRange((int)body["usage"]!["completion_tokens"]!, 1, 8);
    }

    [Theory]
    [InlineData("/v1/completions", """{"model": "tiny", "prompt": "hi", "max_tokens": 3.0, "n": 2.0, "seed": 7.0, "logprobs": 1.0}""")]
    [InlineData("/v1/completions", """{"model": "tiny", "prompt": "hi", "max_tokens": 3e0, "top_k": 5.0}""")]
    [InlineData("/v1/chat/completions", """{"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "max_completion_tokens": 3.0, "logprobs": true, "top_logprobs": 2.0}""")]
    [InlineData("/generate", """{"text": "hi", "sampling_params": {"max_new_tokens": 3.0, "n": 1.0, "sampling_seed": 2.0}}""")]
    public async Task IntegersWrittenWithAFraction_AreTheIntegers(string path, string json)
    {
        // Python's json.dumps writes a float 3.0 as "3.0"; vLLM's and SGLang's fields take it as the integer 3.
        var response = await RawHttp.SendAsync(f.Server.BaseAddress, RawHttp.Post(path, Utf8(json)));
        Assert.True(response.Status == 200, $"HTTP {response.Status}: {response.Body}");
        var usage = path == "/generate" ? response.Json["meta_info"]!["completion_tokens"]! : response.Json["usage"]!["completion_tokens"]!;
        Assert.InRange((int)usage, 1, path == "/v1/completions" && json.Contains("\"n\": 2.0") ? 6 : 3);
    }

    [Theory]
    [InlineData("\"max_tokens\": 2.5", "max_tokens", "2.5", "not an integer")]
    [InlineData("\"max_tokens\": 4096.0", "max_tokens", "4096", $"in [1, 4095]")]
    [InlineData("\"seed\": 1e30", "seed", "1e30", "out of range")]
    public async Task IntegerFields_SayWhetherTheNumberIsFractionalOrOutOfRange(string field, string param, string value, string says)
    {
        var response = await RawHttp.SendAsync(f.Server.BaseAddress, RawHttp.Post("/v1/completions", Utf8(Hi(field))));
        AssertError(response, 400, param, value, says);
    }

    [Theory]
    [InlineData("/health")]
    [InlineData("/v1/models")]
    [InlineData("/stats")]
    public async Task Head_OnAGetEndpoint_IsItsGetWithoutTheBody(string path)
    {
        // RFC 9110 section 9.3.2: HEAD is GET without the content (load balancers probe /health with it).
        using var head = await f.Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, f.Url(path.TrimStart('/'))));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
        await AssertStillServes();
    }

    [Theory]
    [InlineData("gzip", true)]
    [InlineData("br", false)]          // labelled compressed, sent plain: still not what the label says
    [InlineData("gzip, identity", true)]
    public async Task CompressedBody_Is415_NotAnEncodingErrorOrAGuess(string coding, bool compress)
    {
        // RFC 9110 section 8.4: a content coding the server does not decode gets 415, with Accept-Encoding saying what it takes.
        byte[] json = Utf8("""{"model": "tiny", "prompt": "hi", "max_tokens": 1}""");
        byte[] body = json;
        if (compress)
        {
            using var packed = new MemoryStream();
            using (var gzip = new System.IO.Compression.GZipStream(packed, System.IO.Compression.CompressionLevel.Fastest)) gzip.Write(json);
            body = packed.ToArray();
        }
        var response = await RawHttp.SendAsync(f.Server.BaseAddress, RawHttp.Request("POST", "/v1/completions",
            ["Content-Type: application/json", $"Content-Encoding: {coding}", $"Content-Length: {body.Length}"], body));
        var error = AssertError(response, 415, null, "Content-Encoding", coding);
        Assert.Equal("unsupported_media_type", (string)error["code"]!);
        Assert.Equal("identity", response.Headers.GetValueOrDefault("accept-encoding"));
        await AssertStillServes();
    }

    [Fact]
    public async Task IdentityContentEncoding_IsThePlainBody()
    {
        byte[] body = Utf8("""{"model": "tiny", "prompt": "hi", "max_tokens": 1}""");
        var response = await RawHttp.SendAsync(f.Server.BaseAddress, RawHttp.Request("POST", "/v1/completions",
            ["Content-Type: application/json", "Content-Encoding: identity", $"Content-Length: {body.Length}"], body));
        Assert.True(response.Status == 200, response.Body);
    }

    [Theory]
    [InlineData("""{"text": ""}""", "text", null, "'text' is empty")]
    [InlineData("""{"text": ["a", ""]}""", "text", null, "is empty")]
    [InlineData("""{"text": "hi", "top_logprobs_num": 3}""", "top_logprobs_num", "unsupported_parameter", "must be 0")]
    [InlineData("""{"text": "hi", "logprob_start_len": 0}""", "logprob_start_len", "unsupported_parameter", "must be -1")]
    [InlineData("""{"text": "hi", "top_logprobs_num": -1}""", "top_logprobs_num", null, "at least 0")]
    public async Task Generate_BadInput_NamesItsOwnField(string json, string param, string? code, string says)
    {
        var error = AssertError(await RawHttp.SendAsync(f.Server.BaseAddress, RawHttp.Post("/generate", Utf8(json))), 400, param, says);
        Assert.Equal(code, (string?)error["code"]);
    }

    [Theory]
    [InlineData("/v1/completions", "POST")]
    [InlineData("/v1/chat/completions", "POST")]
    [InlineData("/v1/models", "GET")]
    [InlineData("/v1/models/tiny", "GET")]
    [InlineData("/health", "HEAD")]
    public async Task Options_SaysWhichMethodsTheRouteTakes(string path, string method)
    {
        // RFC 9110 section 9.3.7: OPTIONS on a route answers with its methods (also what a browser's CORS preflight sends first).
        using var options = await f.Http.SendAsync(new HttpRequestMessage(HttpMethod.Options, f.Url(path.TrimStart('/'))));
        Assert.Equal(HttpStatusCode.NoContent, options.StatusCode);
        Assert.Contains(method, options.Content.Headers.Allow);
        Assert.Contains("OPTIONS", options.Content.Headers.Allow);
        using var unknown = await f.Http.SendAsync(new HttpRequestMessage(HttpMethod.Options, f.Url("v1/nothing")));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Theory]
    [InlineData("\"service_tier\": \"auto\", \"prompt_cache_key\": \"k\", \"safety_identifier\": \"u1\", \"modalities\": [\"text\"]")]
    [InlineData("\"reasoning_effort\": null, \"verbosity\": null, \"audio\": null, \"prediction\": null, \"web_search_options\": null, \"functions\": [], \"function_call\": \"auto\"")]
    public async Task OpenAIChatFields_WithoutEffectOrNeutral_AreAccepted(string fields)
    {
        var response = await RawHttp.SendAsync(f.Server.BaseAddress, RawHttp.Post("/v1/chat/completions", Utf8(ChatHi("\"max_tokens\": 1, " + fields))));
        Assert.True(response.Status == 200, response.Body);
    }

    [Theory]
    [InlineData("\"reasoning_effort\": \"low\"", "reasoning_effort")]
    [InlineData("\"verbosity\": \"high\"", "verbosity")]
    [InlineData("\"modalities\": [\"text\", \"audio\"]", "modalities")]
    [InlineData("\"audio\": {\"voice\": \"alloy\", \"format\": \"wav\"}", "audio")]
    [InlineData("\"prediction\": {\"type\": \"content\", \"content\": \"x\"}", "prediction")]
    [InlineData("\"web_search_options\": {}", "web_search_options")]
    [InlineData("\"functions\": [{\"name\": \"f\"}]", "functions")]
    [InlineData("\"function_call\": {\"name\": \"f\"}", "function_call")]
    public async Task OpenAIChatFields_ThisServerDoesNotImplement_AreUnsupportedNotUnknown(string field, string param)
    {
        var response = await RawHttp.SendAsync(f.Server.BaseAddress, RawHttp.Post("/v1/chat/completions", Utf8(ChatHi(field))));
        var error = AssertError(response, 400, param, "not supported");
        Assert.Equal("unsupported_parameter", (string)error["code"]!);
    }
}

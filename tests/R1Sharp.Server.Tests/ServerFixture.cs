using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using R1Sharp.Engine.Generation;
using R1Sharp.Tests;

namespace R1Sharp.Server.Tests;

/// <summary>A server on a free loopback port for one test class, and a local backend on the same weights for reference.</summary>
public class ServerFixture : IAsyncLifetime
{
    public LocalModel Model { get; private set; } = null!;
    public OpenAiServer Server { get; private set; } = null!;
    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(60) };
    public string Name => Server.ModelName;

    protected virtual ServerOptions Options => new() { Port = 0, ServedModelName = "tiny" };

    public async Task InitializeAsync()
    {
        Model = LocalModel.Load(TinyModel.Directory);
        Server = await OpenAiServer.StartAsync(Model, Options);
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        Model.Dispose();
        Http.Dispose();
    }

    public Uri Url(string path) => new(Server.BaseAddress, path);

    public async Task<(HttpStatusCode Status, JsonNode Body)> Post(string path, string json, CancellationToken ct = default)
    {
        using var response = await Http.PostAsync(Url(path), new StringContent(json, Encoding.UTF8, "application/json"), ct);
        string text = await response.Content.ReadAsStringAsync(ct);
        return (response.StatusCode, JsonNode.Parse(text)!);
    }

    public Task<(HttpStatusCode Status, JsonNode Body)> Post(string path, JsonObject body) => Post(path, body.ToJsonString());

    /// <summary>The data lines of a streamed response, [DONE] included.</summary>
    public async Task<List<string>> Stream(string path, JsonObject body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Url(path)) { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
        using var response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var lines = new List<string>();
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.Length == 0) continue;
            Assert.StartsWith("data: ", line);
            lines.Add(line["data: ".Length..]);
        }
        return lines;
    }
}

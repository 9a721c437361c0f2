using System.CommandLine;
using System.Text.Json.Nodes;
using R1Sharp.Engine.Generation;

namespace R1Sharp.Cli.Commands;

/// <summary>
/// The options that choose where text is generated — a local checkpoint (<c>--model</c>) or OpenAI-compatible
/// servers (<c>--endpoint</c>, repeatable, with <c>--served-model</c>) — shared by <c>eval</c> and <c>chat</c>.
/// </summary>
public sealed class BackendOptions
{
    public Option<string?> Model { get; } = new("--model", "-m") { Description = "Checkpoint folder to generate with in this process (Hugging Face layout)." };

    public Option<string[]> Endpoint { get; } = new("--endpoint")
    {
        Description = "OpenAI-compatible server, e.g. http://gpu1:8000/v1 (vLLM, SGLang, TGI, llama.cpp, r1sharp serve). " +
                      "Repeat it, or separate with commas, for a fleet: requests go round-robin with retries.",
        AllowMultipleArgumentsPerToken = false,
    };

    public Option<string?> ServedModel { get; } = new("--served-model") { Description = "The model name the server serves (default: the only model its /v1/models lists)." };

    public Option<string?> ApiKey { get; } = new("--api-key") { Description = "Bearer token for the endpoints (default: $OPENAI_API_KEY)." };

    public Option<int> Concurrency { get; } = new("--concurrency") { Description = "Requests in flight at once over all endpoints.", DefaultValueFactory = _ => 32 };

    public Option<int> BatchSize { get; } = new("--batch-size") { Description = "Local model: rows (prompts × samples) decoded together.", DefaultValueFactory = _ => 64 };

    public Option<string?> Adapter { get; } = Shared.Adapter();

    public Option<string?> DType { get; } = Shared.DType();

    public Option<string> Device { get; } = Shared.Device();

    public Option<int?> Threads { get; } = Shared.Threads();

    public IEnumerable<Option> All => [Model, Adapter, Endpoint, ServedModel, ApiKey, Concurrency, BatchSize, DType, Device, Threads];

    /// <summary>The backend the options describe, and the model's name (folder path, or served name).</summary>
    public (IStreamingGenerationBackend Backend, string ModelName) Create(ParseResult r)
    {
        string? dir = r.GetValue(Model);
        var endpoints = (r.GetValue(Endpoint) ?? []).SelectMany(e => e.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
        if ((dir is null) == (endpoints.Count == 0)) throw new UserError("give exactly one of --model and --endpoint");
        if (dir is null && r.GetValue(Adapter) is not null) throw new UserError("--adapter goes with --model (a server applies its own adapters)");
        if (dir is not null)
        {
            if (r.GetValue(ServedModel) is not null) throw new UserError("--served-model goes with --endpoint, not --model");
            Shared.SetThreads(r.GetValue(Threads));
            var model = LocalModel.Load(dir, r.GetValue(DType) is { } d ? R1Sharp.Model.Precision.Parse(d) : null, Shared.ParseDevice(r.GetValue(Device)!),
                adapter: r.GetValue(Adapter));
            return (new LocalGenerationBackend(model, ownsModel: true) { MaxBatchRows = r.GetValue(BatchSize) }, Path.GetFullPath(dir));
        }
        var uris = endpoints.Select(e => Uri.TryCreate(e, UriKind.Absolute, out var u) && u.Scheme is "http" or "https"
            ? u : throw new UserError($"--endpoint: '{e}' is not an http(s) URL")).ToList();
        string? key = r.GetValue(ApiKey) ?? Environment.GetEnvironmentVariable("OPENAI_API_KEY");
        string served = r.GetValue(ServedModel) ?? OnlyServedModel(uris[0], key);
        var remote = new RemoteGenerationBackend(new RemoteBackendOptions
        {
            Endpoints = uris,
            Model = served,
            ApiKey = key,
            MaxConcurrency = r.GetValue(Concurrency),
        });
        return (remote, served);
    }

    /// <summary>The model a server lists at /v1/models, when it lists exactly one.</summary>
    private static string OnlyServedModel(Uri endpoint, string? apiKey)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(RemoteBackendOptions.NormalizeEndpoint(endpoint), "models"));
        if (apiKey is not null) request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", apiKey);
        List<string> names;
        try
        {
            using var response = http.Send(request);
            response.EnsureSuccessStatusCode();
            var body = JsonNode.Parse(response.Content.ReadAsStringAsync().GetAwaiter().GetResult());
            names = [.. (body?["data"]?.AsArray() ?? []).Select(m => (string?)m?["id"]).OfType<string>()];
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException or InvalidOperationException)
        {
            throw new UserError($"could not list the models of {endpoint} ({e.Message}); pass --served-model");
        }
        return names.Count == 1 ? names[0]
            : throw new UserError($"{endpoint} serves {(names.Count == 0 ? "no model" : string.Join(", ", names))}; pass --served-model");
    }
}

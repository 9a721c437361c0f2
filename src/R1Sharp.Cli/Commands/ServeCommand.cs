using System.CommandLine;
using R1Sharp.Engine.Generation;
using R1Sharp.Model;
using R1Sharp.Server;
using R1Sharp.Text.Templates;

namespace R1Sharp.Cli.Commands;

/// <summary>
/// <c>r1sharp serve --model DIR [--host 127.0.0.1] [--port 8000] [--enable-weight-updates]</c>: an OpenAI-compatible server
/// (<c>/v1/models</c>, <c>/v1/completions</c>, <c>/v1/chat/completions</c>, SGLang's <c>/generate</c>) with dynamic batching,
/// and with <c>--enable-weight-updates</c> a rollout server for GRPO fleets (docs/distributed.md). Runs until
/// Ctrl+C or SIGTERM. Prints <c>listening on http://HOST:PORT/v1 …</c> on stdout once the port is bound.
/// </summary>
public static class ServeCommand
{
    public static Command Create()
    {
        var model = Shared.Model();
        var adapter = Shared.Adapter();
        var host = new Option<string>("--host") { Description = "Address to listen on (127.0.0.1; 0.0.0.0 for every interface).", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "Port (0 picks a free one). No short form: -p is the prompt in every command.", DefaultValueFactory = _ => 8000 };
        var name = new Option<string?>("--served-model") { Description = "The model name clients send (default: the folder's name)." };
        var maxBatch = new Option<int>("--max-batch") { Description = "Rows (prompts × n) decoded together.", DefaultValueFactory = _ => 64 };
        var maxQueue = new Option<int>("--max-queue") { Description = "Requests that may wait; beyond it clients get 429.", DefaultValueFactory = _ => 256 };
        var maxTokens = new Option<int?>("--max-tokens") { Description = "Largest max_tokens a request may ask (default: the context length)." };
        var maxN = new Option<int>("--max-n") { Description = "Largest n a request may ask.", DefaultValueFactory = _ => 64 };
        var maxPromptChars = new Option<int?>("--max-prompt-chars")
        {
            Description = $"Largest prompt in characters, refused before it is tokenised (default: {RequestParser.CharactersPerPromptToken} per token of the context).",
        };
        var apiKey = new Option<string?>("--api-key") { Description = "Require Authorization: Bearer KEY." };
        var quiet = new Option<bool>("--quiet") { Description = "Print only the listening line and errors." };
        var weightUpdates = new Option<bool>("--enable-weight-updates")
        {
            Description = "Serve SGLang's and vLLM's weight-update routes (/update_weights_from_disk, /start_weight_update, …) so that a GRPO " +
                          "trainer keeps the weights equal to its policy (docs/distributed.md), and vLLM's /v1/load_lora_adapter and /v1/unload_lora_adapter " +
                          "(one LoRA adapter served at a time; docs/lora.md). They load any checkpoint or adapter folder the server can read.",
        };
        var weightVersion = new Option<string>("--weight-version") { Description = "The name of the weights served at start.", DefaultValueFactory = _ => "default" };
        var dtype = Shared.DType();
        var device = Shared.Device();
        var threads = Shared.Threads();
        var command = new Command("serve", "Serve a checkpoint over the OpenAI API (completions, chat completions, streaming) with dynamic batching.")
        { model, adapter, host, port, name, maxBatch, maxQueue, maxTokens, maxN, maxPromptChars, apiKey, quiet, weightUpdates, weightVersion, dtype, device, threads };
        command.SetAction((r, ct) => Task.FromResult(Run(r, ct)));
        return command;

        int Run(ParseResult r, CancellationToken ct)
        {
            string dir = r.GetValue(model)!;
            if (r.GetValue(adapter) is not null && r.GetValue(weightUpdates))
                throw new UserError("--adapter and --enable-weight-updates do not go together: weight updates are whole merged checkpoints (serve the merged model: r1sharp merge)");
            Shared.SetThreads(r.GetValue(threads));
            using var local = Load(dir, r.GetValue(dtype) is { } d ? Precision.Parse(d) : null, Shared.ParseDevice(r.GetValue(device)!), r.GetValue(adapter));
            bool verbose = !r.GetValue(quiet);
            var options = new ServerOptions
            {
                Host = r.GetValue(host)!,
                Port = r.GetValue(port),
                ServedModelName = r.GetValue(name),
                MaxBatchRows = r.GetValue(maxBatch),
                MaxQueuedRequests = r.GetValue(maxQueue),
                MaxTokens = r.GetValue(maxTokens),
                MaxN = r.GetValue(maxN),
                MaxPromptCharacters = r.GetValue(maxPromptChars),
                ApiKey = r.GetValue(apiKey),
                EnableWeightUpdates = r.GetValue(weightUpdates),
                WeightVersion = r.GetValue(weightVersion)!,
                Log = verbose ? line => Console.Error.WriteLine($"[serve] {line}") : line => { if (line.Contains("failed")) Console.Error.WriteLine($"[serve] {line}"); },
            };
            OpenAiServer server;
            try
            {
                server = OpenAiServer.StartAsync(local, options, ct).GetAwaiter().GetResult();
            }
            catch (IOException e)
            {
                throw new UserError($"cannot listen on {options.Host}:{options.Port}: {e.Message}");
            }
            Console.WriteLine($"listening on {server.BaseAddress}v1 (model '{server.ModelName}', context {local.ContextLength}, " +
                              $"{(local.Tokenizer is null ? "no tokenizer: token-id prompts only" : local.ChatTemplate is null ? "no chat template" : "chat template")})");
            Console.Out.Flush();
            try
            {
                server.WaitForShutdownAsync(ct).GetAwaiter().GetResult();
            }
            catch (OperationCanceledException)
            {
            }
            var stats = server.Stats;
            server.DisposeAsync().AsTask().GetAwaiter().GetResult();
            if (verbose)
                Console.Error.WriteLine($"[serve] stopped: {stats.Requests} requests in {stats.Batches} batches (largest {stats.LargestBatch} rows), " +
                                        $"{stats.CompletionTokens} tokens generated, {stats.Rejected} refused (queue full)");
            return 0;
        }
    }

    /// <summary>
    /// The checkpoint; a chat template that does not parse stops the server before it starts (rather than serving
    /// completions with chat requests failing), with the file that holds the template and where it fails.
    /// </summary>
    internal static LocalModel Load(string dir, TorchSharp.torch.ScalarType? dtype, TorchSharp.torch.Device device, string? adapter = null)
    {
        try
        {
            return LocalModel.Load(dir, dtype, device, adapter: adapter);
        }
        catch (TemplateException e)
        {
            throw new UserError($"the chat template does not parse: {e.Message}");
        }
    }
}

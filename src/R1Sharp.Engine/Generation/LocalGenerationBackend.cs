using System.Runtime.CompilerServices;
using System.Threading.Channels;
using static TorchSharp.torch;

namespace R1Sharp.Engine.Generation;

/// <summary>
/// Generates on a model in this process: requests are grouped by sampling settings (<see cref="BatchGenerator.BatchKey"/>),
/// sorted by prompt length within a group (less padding), and decoded in batches of up to
/// <see cref="MaxBatchRows"/> rows (prompts × samples); each batch's results are yielded as soon as it ends.
/// One batch runs at a time.
/// </summary>
public sealed class LocalGenerationBackend : IStreamingGenerationBackend
{
    private readonly LocalModel _model;
    private readonly bool _ownsModel;
    private readonly SemaphoreSlim _gate = new(1, 1);

    public LocalGenerationBackend(LocalModel model, bool ownsModel = false)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _ownsModel = ownsModel;
    }

    /// <summary>Loads a checkpoint folder (see <see cref="LocalModel.Load"/>) into a backend that owns it.</summary>
    public static LocalGenerationBackend Load(string directory, ScalarType? dtype = null, Device? device = null) =>
        new(LocalModel.Load(directory, dtype, device), ownsModel: true);

    /// <summary>Rows decoded together.</summary>
    public int MaxBatchRows { get; init; } = 64;

    public LocalModel Model => _model;

    public string Description => $"local model '{_model.Name}' ({_model.Model.Config.Architecture}, {_model.Model.Device.type}, " +
                                 $"context {_model.ContextLength})";

    public async IAsyncEnumerable<IndexedResult> GenerateAsync(IReadOnlyList<GenerationRequest> requests,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var generator = new BatchGenerator(_model) { MaxBatchRows = MaxBatchRows };
        var encoded = new EncodedRequest[requests.Count];
        for (int i = 0; i < requests.Count; i++)
        {
            try
            {
                encoded[i] = generator.Encode(requests[i]);
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"request {requests[i].Id ?? i.ToString(System.Globalization.CultureInfo.InvariantCulture)}: {e.Message}", e);
            }
        }

        foreach (var chunk in Chunks(encoded))
        {
            var batch = chunk.Select(i => encoded[i]).ToArray();
            await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            IReadOnlyList<GenerationResult> results;
            try
            {
                results = await Task.Run(() => generator.Run(batch, null, cancellationToken), cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _gate.Release();
            }
            for (int k = 0; k < chunk.Length; k++) yield return new IndexedResult(chunk[k], results[k]);
        }
    }

    /// <summary>Request indices per batch: same settings, similar prompt lengths, at most <see cref="MaxBatchRows"/> rows (a request with more samples goes alone).</summary>
    private IEnumerable<int[]> Chunks(EncodedRequest[] encoded)
    {
        var groups = Enumerable.Range(0, encoded.Length)
            .GroupBy(i => BatchGenerator.KeyOf(encoded[i].Options))
            .Select(g => g.OrderBy(i => encoded[i].PromptIds.Length).ThenBy(i => i).ToList());
        foreach (var group in groups)
        {
            var chunk = new List<int>();
            int rows = 0;
            foreach (var i in group)
            {
                if (chunk.Count > 0 && rows + encoded[i].N > MaxBatchRows)
                {
                    yield return [.. chunk];
                    chunk.Clear();
                    rows = 0;
                }
                chunk.Add(i);
                rows += encoded[i].N;
            }
            if (chunk.Count > 0) yield return [.. chunk];
        }
    }

    public async IAsyncEnumerable<GenerationDelta> StreamAsync(GenerationRequest request,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var generator = new BatchGenerator(_model) { MaxBatchRows = MaxBatchRows };
        var encoded = generator.Encode(request with { N = 1 });
        var channel = Channel.CreateUnbounded<GenerationDelta>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var run = Task.Run(async () =>
        {
            try
            {
                await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException e)
            {
                channel.Writer.TryComplete(e);
                return;
            }
            try
            {
                var result = generator.Run([encoded], new ChannelObserver(channel.Writer), cancellationToken);
                channel.Writer.TryWrite(new GenerationDelta("", result[0].Samples[0]));
                channel.Writer.TryComplete();
            }
            catch (Exception e)
            {
                channel.Writer.TryComplete(e);
            }
            finally
            {
                _gate.Release();
            }
        }, CancellationToken.None);
        await foreach (var delta in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            yield return delta;
        await run.ConfigureAwait(false);
    }

    private sealed class ChannelObserver(ChannelWriter<GenerationDelta> writer) : IBatchObserver
    {
        public bool IsCancelled(int request) => false;

        public void OnToken(int request, int sample, in StreamedToken token)
        {
            if (token.Text.Length > 0) writer.TryWrite(new GenerationDelta(token.Text));
        }
    }

    public void Dispose()
    {
        if (_ownsModel) _model.Dispose();
        _gate.Dispose();
    }
}

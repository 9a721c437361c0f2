using System.Text;
using R1Sharp.Text.Tokenization;

namespace R1Sharp.Engine.Generation;

/// <summary>A request ready for the sampler: prompt ids (already checked against the context), settings, sample count.</summary>
public sealed record EncodedRequest(int[] PromptIds, GenerationOptions Options, int N)
{
    /// <summary>The request's <see cref="GenerationRequest.SampleKey"/>.</summary>
    public long? SampleKey { get; init; }
}

/// <summary>One generated token of one sample, with the text it completed.</summary>
/// <param name="Text">New text. Text that could be the start of a stop string is held back until it is known not to be.</param>
/// <param name="TokenId">The token.</param>
/// <param name="LogProb">Its log-probability.</param>
/// <param name="TopLogProbs">The most probable alternatives, when requested.</param>
/// <param name="Finish">Set on the sample's last token.</param>
/// <param name="StopString">The stop string that ended the sample, on its last token.</param>
public readonly record struct StreamedToken(string Text, int TokenId, float LogProb, IReadOnlyList<TokenLogProb>? TopLogProbs,
    FinishReason? Finish, string? StopString);

/// <summary>Watches a batch as it decodes (streaming) and can end requests whose client went away.</summary>
public interface IBatchObserver
{
    /// <summary>True when request <paramref name="request"/> no longer needs output: its samples end at their next token.</summary>
    bool IsCancelled(int request);

    /// <summary>A new token of sample <paramref name="sample"/> of request <paramref name="request"/>.</summary>
    void OnToken(int request, int sample, in StreamedToken token);
}

/// <summary>
/// Decodes a batch of requests that share their sampling distribution (temperature, top-p, top-k, min-p, seed:
/// see <see cref="BatchKey"/>) in one <see cref="Sampler"/> run. Everything else may differ per request and is
/// enforced per row through the sampler's observer: prompt length (left padding), max tokens, stop strings,
/// extra stop tokens, n, top log-probs. Text is decoded incrementally, so streamed text and the final text agree.
/// </summary>
/// <remarks>
/// Why not per-row temperatures: the sampler filters and samples the whole (B, V) batch with one setting; batching
/// only requests with equal settings keeps that path as fast as it is, and a serving or evaluation workload
/// mostly sends one setting anyway.
/// </remarks>
public sealed class BatchGenerator(LocalModel model)
{
    /// <summary>Rows (prompts × samples) decoded together; more are split into several sampler batches.</summary>
    public int MaxBatchRows { get; init; } = 64;

    /// <summary>The settings requests must share to be decoded in one batch.</summary>
    public readonly record struct BatchKey(double Temperature, double TopP, int TopK, double MinP, long? Seed);

    public static BatchKey KeyOf(GenerationOptions o) => new(o.Temperature, o.TopP, o.TopK, o.MinP, o.Seed);

    public LocalModel Model => model;

    /// <summary>
    /// Encodes a request and fits it to the context: the prompt must leave room for one new token, and
    /// max new tokens is lowered to what the context leaves (a local model cannot go past it).
    /// </summary>
    /// <exception cref="ArgumentException">Invalid settings, an empty or too long prompt, stop strings without a tokenizer.</exception>
    public EncodedRequest Encode(GenerationRequest request)
    {
        request.Options.Validate();
        if (request.N < 1) throw new ArgumentException($"n must be ≥ 1 (got {request.N})");
        if (request.Options.Stop.Count > 0 && model.Tokenizer is null)
            throw new ArgumentException($"model '{model.Name}' has no tokenizer, so stop strings cannot be matched");
        var ids = model.Encode(request.Prompt);
        if (ids.Length >= model.ContextLength)
            throw new ArgumentException($"the prompt has {ids.Length} tokens; model '{model.Name}' takes {model.ContextLength} (prompt + completion)");
        int room = model.ContextLength - ids.Length;
        var options = request.Options.MaxNewTokens <= room ? request.Options : request.Options with { MaxNewTokens = room };
        return new EncodedRequest(ids, options, request.N) { SampleKey = request.SampleKey };
    }

    /// <summary>Generates all <paramref name="requests"/> (which must share a <see cref="BatchKey"/>); results in request order.</summary>
    public IReadOnlyList<GenerationResult> Run(IReadOnlyList<EncodedRequest> requests, IBatchObserver? observer = null,
        CancellationToken cancellationToken = default)
    {
        if (requests.Count == 0) return [];
        var key = KeyOf(requests[0].Options);
        if (requests.Any(r => KeyOf(r.Options) != key))
            throw new ArgumentException("requests in one batch must share temperature, top-p, top-k, min-p and seed");

        // Rows: with one n for all, each prompt is prefilled once and its cache copied n times; otherwise one row per sample.
        int n = requests[0].N;
        bool sameN = requests.All(r => r.N == n);
        var prompts = new List<IReadOnlyList<int>>();
        var rows = new List<Row>();
        for (int i = 0; i < requests.Count; i++)
        {
            if (sameN) prompts.Add(requests[i].PromptIds);
            for (int s = 0; s < requests[i].N; s++)
            {
                if (!sameN) prompts.Add(requests[i].PromptIds);
                rows.Add(new Row(i, s, requests[i].Options, model.Tokenizer));
            }
        }

        var first = requests[0].Options;
        var sampling = new GenerationOptions
        {
            MaxNewTokens = requests.Max(r => r.Options.MaxNewTokens),
            Temperature = first.Temperature,
            TopP = first.TopP,
            TopK = first.TopK,
            MinP = first.MinP,
            Seed = first.Seed,
            StopTokenIds = model.StopTokenIds,
            TopLogProbs = requests.Max(r => r.Options.TopLogProbs),
        };
        var sampler = new Sampler(model.LanguageModel) { MaxBatchSize = Math.Max(1, MaxBatchRows) };
        // Keyed requests: each sample's draws depend on its request's key (and its sample index), not on the batch.
        List<long>? keys = null;
        if (requests.All(r => r.SampleKey is not null))
            keys = sameN ? [.. requests.Select(r => r.SampleKey!.Value)]
                : [.. rows.Select(row => requests[row.Request].SampleKey!.Value * 1_000_003 + row.Sample)];
        var completions = sampler.Generate(prompts, sampling, sameN ? n : 1, cancellationToken,
            (in SampledToken t) => Observe(rows[t.Row], t, observer), keys);

        var results = new GenerationResult[requests.Count];
        var samples = requests.Select(r => new GenerationSample[r.N]).ToArray();
        for (int r = 0; r < rows.Count; r++)
        {
            var row = rows[r];
            var c = completions[r];
            samples[row.Request][row.Sample] = new GenerationSample(row.Text.ToString(), c.Tokens, c.LogProbs, c.FinishReason, c.Tokens.Length, row.StopString)
            {
                TopLogProbs = row.Top,
            };
        }
        for (int i = 0; i < requests.Count; i++)
            results[i] = new GenerationResult(requests[i].PromptIds.Length, samples[i], requests[i].PromptIds);
        return results;
    }

    private FinishReason? Observe(Row row, in SampledToken t, IBatchObserver? observer)
    {
        if (row.Finish is not null) return row.Finish;
        row.Count++;
        FinishReason? own = null;
        if (row.Decoder is not null)
        {
            int before = row.Text.Length;
            row.Text.Append(row.Decoder.Add(t.Token));
            if (FindStop(row, before)) own = FinishReason.Stop;
        }
        if (own is null && row.Options.StopTokenIds.Contains(t.Token)) own = FinishReason.Stop;
        if (own is null && row.Count >= row.Options.MaxNewTokens) own = FinishReason.Length;
        if (own is null && observer is not null && observer.IsCancelled(row.Request)) own = FinishReason.Stop;
        FinishReason? finish = t.Finish == FinishReason.Stop || own == FinishReason.Stop ? FinishReason.Stop : own ?? t.Finish;
        if (finish is not null && row.StopString is null && row.Decoder is not null)
        {
            int before = row.Text.Length;
            row.Text.Append(row.Decoder.Flush());
            if (FindStop(row, before)) finish = FinishReason.Stop;
        }
        row.Finish = finish;

        IReadOnlyList<TokenLogProb>? top = null;
        if (row.Options.TopLogProbs > 0 && t.TopTokens is { } ids)
        {
            var list = new TokenLogProb[Math.Min(row.Options.TopLogProbs, ids.Length)];
            for (int k = 0; k < list.Length; k++) list[k] = new TokenLogProb(ids[k], model.TokenText(ids[k]), t.TopLogProbs![k]);
            (row.Top ??= []).Add(list);
            top = list;
        }
        if (observer is not null)
        {
            int safe = finish is not null ? row.Text.Length : Math.Max(row.Emitted, row.Text.Length - row.HoldBack);
            string delta = safe > row.Emitted ? row.Text.ToString(row.Emitted, safe - row.Emitted) : "";
            row.Emitted = safe;
            observer.OnToken(row.Request, row.Sample, new StreamedToken(delta, t.Token, t.LogProb, top, finish, row.StopString));
        }
        return finish;
    }

    /// <summary>Looks for a stop string ending in the text added after <paramref name="before"/>; cuts the text before it.</summary>
    private static bool FindStop(Row row, int before)
    {
        var stops = row.Options.Stop;
        if (stops.Count == 0 || row.Text.Length == before) return false;
        int from = Math.Max(0, before - row.HoldBack);
        string tail = row.Text.ToString(from, row.Text.Length - from);
        int best = -1;
        string? which = null;
        foreach (var stop in stops)
        {
            int at = tail.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (best < 0 || at < best)) (best, which) = (at, stop);
        }
        if (best < 0) return false;
        row.Text.Length = from + best;
        row.StopString = which;
        return true;
    }

    private sealed class Row(int request, int sample, GenerationOptions options, HfTokenizer? tokenizer)
    {
        public readonly int Request = request;
        public readonly int Sample = sample;
        public readonly GenerationOptions Options = options;
        public readonly IncrementalDecoder? Decoder = tokenizer?.CreateIncrementalDecoder(options.SkipSpecialTokens);
        public readonly StringBuilder Text = new();
        /// <summary>Characters kept back from streaming: a stop string could still complete over them.</summary>
        public readonly int HoldBack = options.Stop.Count == 0 ? 0 : options.Stop.Max(s => s.Length) - 1;
        public int Emitted;
        public int Count;
        public FinishReason? Finish;
        public string? StopString;
        public List<IReadOnlyList<TokenLogProb>>? Top;
    }
}

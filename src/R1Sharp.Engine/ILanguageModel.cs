using R1Sharp.Model;
using static TorchSharp.torch;

namespace R1Sharp.Engine;

/// <summary>What the sampler needs from a model: start a batch, then feed tokens and read next-token logits.</summary>
public interface ILanguageModel
{
    int VocabSize { get; }
    Device Device { get; }

    /// <summary>Starts decoding a batch whose sequences will grow up to <paramref name="capacity"/> tokens.</summary>
    IDecodingBatch Start(int batchSize, int capacity);
}

/// <summary>One batch being decoded (it owns the KV cache).</summary>
public interface IDecodingBatch : IDisposable
{
    /// <summary>Feeds left-padded prompts (B, T) with their validity mask (B, T); returns last-position logits (B, V), float32.</summary>
    Tensor Prefill(Tensor ids, Tensor valid);

    /// <summary>Feeds one token per row (B, 1); returns logits (B, V), float32.</summary>
    Tensor Step(Tensor ids);

    /// <summary>Keeps only the given rows, in the given order (rows may repeat: that is how one prompt becomes n samples).</summary>
    void KeepRows(Tensor rows);

    /// <summary>
    /// Adds the rows of <paramref name="other"/> (a prefilled batch of the same model) after this batch's rows, and disposes
    /// it: continuous batching, where waiting prompts take the places of finished rows. The next <see cref="Step"/> feeds
    /// one token to every row, old and new.
    /// </summary>
    void Append(IDecodingBatch other);
}

/// <summary>
/// The transformer as a language model: a KV cache, left padding handled with masks and per-row positions. Decode steps of at
/// most <c>vectorRows</c> rows (default <see cref="VectorDecoder.MaxRows"/>) go through <see cref="VectorDecoder"/> where it
/// covers the model (0: never).
/// </summary>
public sealed class CausalLMLanguageModel : ILanguageModel
{
    readonly CausalLM model;
    readonly VectorDecoder? vector;
    readonly int vectorRows;

    public CausalLMLanguageModel(CausalLM model, int? vectorRows = null)
    {
        this.model = model;
        vector = vectorRows is 0 ? null : VectorDecoder.For(model);
        this.vectorRows = vector is null ? 0 : vectorRows ?? vector.MaxRows;
    }

    public int VocabSize => model.Config.VocabSize;
    public Device Device => model.Device;

    public IDecodingBatch Start(int batchSize, int capacity) => new Batch(model, model.NewCache(batchSize, capacity), capacity, vector, vectorRows);

    // While VectorDecoder's team decodes, libtorch's own threads must stay asleep: an OpenMP worker woken by the sampler's
    // small operations spins for milliseconds on a core the team needs (a batch-1 step went from 2 to 6 ms). So libtorch runs
    // on the decoding thread alone between VectorDecoder steps, and gets its threads back for the next prefill or libtorch
    // step, or when the batch ends. OpenMP's thread count is the calling thread's own, and Sampler.Generate decodes on one.
    [ThreadStatic] static int savedThreads;

    static void NarrowLibtorch()
    {
        if (savedThreads > 0) return;
        savedThreads = get_num_threads();
        if (savedThreads > 1) set_num_threads(1);
    }

    static void WidenLibtorch()
    {
        if (savedThreads > 1) set_num_threads(savedThreads);
        savedThreads = 0;
    }

    sealed class Batch(CausalLM model, KvCache cache, int capacity, VectorDecoder? vector, int vectorRows) : IDecodingBatch
    {
        readonly CausalLM model = model;
        readonly KvCache cache = cache;
        Tensor keyValid = null!;  // (B, capacity) bool: false on left padding
        Tensor nextPosition = null!; // (B,) int64: RoPE position of the next token per row

        public Tensor Prefill(Tensor ids, Tensor valid)
        {
            WidenLibtorch();
            long b = ids.shape[0], t = ids.shape[1];
            var validLong = valid.to(ScalarType.Int64);
            var positions = (validLong.cumsum(1) - 1).clamp_min(0);                        // (B, T)
            var causal = ones(t, t, dtype: ScalarType.Bool, device: ids.device).tril();   // (T, T)
            var diagonal = eye(t, dtype: ScalarType.Bool, device: ids.device);
            // Padded query rows attend only to themselves (finite output, never read).
            var mask = ((causal.unsqueeze(0) & valid.unsqueeze(1)) | diagonal.unsqueeze(0)).unsqueeze(1); // (B, 1, T, T)
            var logits = model.Forward(ids, positions, mask, cache, lastTokens: 1).squeeze(1);     // (B, V)

            keyValid = ones(b, capacity, dtype: ScalarType.Bool, device: ids.device).DetachFromDisposeScope();
            keyValid.narrow(1, 0, t).copy_(valid);
            nextPosition = validLong.sum(1).DetachFromDisposeScope();
            return logits;
        }

        public Tensor Step(Tensor ids)
        {
            int s = cache.Length + 1;
            cache.Reserve(s);
            if (keyValid.shape[1] < s) // rows that joined late outgrow the first capacity: later positions are valid
                Replace(ref keyValid, cat([keyValid, ones(keyValid.shape[0], cache.Capacity - keyValid.shape[1], dtype: ScalarType.Bool, device: keyValid.device)], 1));
            Tensor? logits = null;
            if (ids.shape[0] <= vectorRows)
            {
                NarrowLibtorch();
                logits = vector!.Step(ids, nextPosition, keyValid, cache);
            }
            if (logits is null)
            {
                WidenLibtorch();
                var mask = keyValid.narrow(1, 0, s).unsqueeze(1).unsqueeze(1);                    // (B, 1, 1, S)
                logits = model.Forward(ids, nextPosition.unsqueeze(1), mask, cache).squeeze(1);   // (B, V)
            }
            nextPosition.add_(TorchSharpScalars.One, TorchSharpScalars.One); // every token: no new Scalars (TorchSharpScalars.One)
            return logits;
        }

        public void KeepRows(Tensor rows)
        {
            cache.KeepRows(rows);
            Replace(ref keyValid, keyValid.index_select(0, rows));
            Replace(ref nextPosition, nextPosition.index_select(0, rows));
        }

        // The joining rows' filled positions are aligned on the right with this batch's (their positions before are masked),
        // so every row writes its next key at the same column; RoPE positions stay per row. A joining batch longer than this
        // one first gets this batch empty columns in front.
        public void Append(IDecodingBatch other)
        {
            var joining = other as Batch ?? throw new ArgumentException("a batch of another model", nameof(other));
            if (joining.model != model) throw new ArgumentException("a batch of another model", nameof(other));
            using (var scope = NewDisposeScope())
            {
                long b = keyValid.shape[0], bj = joining.keyValid.shape[0];
                if (joining.cache.Length > cache.Length)
                {
                    int pad = joining.cache.Length - cache.Length;
                    cache.PadLeft(pad);
                    Replace(ref keyValid, cat([zeros(b, pad, dtype: ScalarType.Bool, device: keyValid.device), keyValid], 1));
                }
                int length = cache.Length, offset = length - joining.cache.Length;
                long width = keyValid.shape[1];
                var valid = cat([zeros(bj, offset, dtype: ScalarType.Bool, device: keyValid.device), joining.keyValid.narrow(1, 0, joining.cache.Length),
                                 ones(bj, width - length, dtype: ScalarType.Bool, device: keyValid.device)], 1);
                cache.AppendRows(joining.cache);
                Replace(ref keyValid, cat([keyValid, valid], 0));
                Replace(ref nextPosition, cat([nextPosition, joining.nextPosition], 0));
            }
            joining.Dispose();
        }

        static void Replace(ref Tensor field, Tensor value)
        {
            var old = field;
            field = value.DetachFromDisposeScope();
            old.Dispose();
        }

        public void Dispose()
        {
            WidenLibtorch();
            cache.Dispose();
            keyValid?.Dispose();
            nextPosition?.Dispose();
        }
    }
}

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
}

/// <summary>The transformer as a language model: a KV cache, left padding handled with masks and per-row positions.</summary>
public sealed class CausalLMLanguageModel(CausalLM model) : ILanguageModel
{
    public int VocabSize => model.Config.VocabSize;
    public Device Device => model.Device;

    public IDecodingBatch Start(int batchSize, int capacity) => new Batch(model, model.NewCache(batchSize, capacity), capacity);

    sealed class Batch(CausalLM model, KvCache cache, int capacity) : IDecodingBatch
    {
        Tensor keyValid = null!;  // (B, capacity) bool: false on left padding
        Tensor nextPosition = null!; // (B,) int64: RoPE position of the next token per row

        public Tensor Prefill(Tensor ids, Tensor valid)
        {
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
            var mask = keyValid.narrow(1, 0, s).unsqueeze(1).unsqueeze(1);                        // (B, 1, 1, S)
            var logits = model.Forward(ids, nextPosition.unsqueeze(1), mask, cache).squeeze(1);   // (B, V)
            nextPosition.add_(1);
            return logits;
        }

        public void KeepRows(Tensor rows)
        {
            cache.KeepRows(rows);
            Replace(ref keyValid, keyValid.index_select(0, rows));
            Replace(ref nextPosition, nextPosition.index_select(0, rows));
        }

        static void Replace(ref Tensor field, Tensor value)
        {
            var old = field;
            field = value.DetachFromDisposeScope();
            old.Dispose();
        }

        public void Dispose()
        {
            cache.Dispose();
            keyValid?.Dispose();
            nextPosition?.Dispose();
        }
    }
}

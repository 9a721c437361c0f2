using R1Sharp.Engine;
using static TorchSharp.torch;

namespace R1Sharp.Engine.Tests;

/// <summary>
/// A model whose next-token distribution is fixed (<paramref name="probabilities"/>), or, when
/// <paramref name="counting"/> is set, puts (almost) all mass on (previous token + 1) mod V.
/// </summary>
public sealed class FakeModel(float[] probabilities, bool counting = false) : ILanguageModel
{
    public static FakeModel Uniform(int vocab) => new(Enumerable.Repeat(1f / vocab, vocab).ToArray());
    public static FakeModel Counting(int vocab) => new(new float[vocab], counting: true);

    readonly float[] probabilities = probabilities;
    readonly bool counting = counting;

    public int VocabSize => probabilities.Length;
    public Device Device => CPU;
    public int Prefills { get; private set; }
    public List<long> BatchSizes { get; } = [];
    public int Appends { get; private set; }

    public IDecodingBatch Start(int batchSize, int capacity) => new Batch(this);

    sealed class Batch(FakeModel m) : IDecodingBatch
    {
        public Tensor Prefill(Tensor ids, Tensor valid)
        {
            m.Prefills++;
            return Logits(ids.narrow(1, ids.shape[1] - 1, 1).squeeze(1));
        }

        public Tensor Step(Tensor ids)
        {
            m.BatchSizes.Add(ids.shape[0]);
            return Logits(ids.squeeze(1));
        }

        public void KeepRows(Tensor rows) { }

        public void Append(IDecodingBatch other) => m.Appends++;

        Tensor Logits(Tensor last) // (B,) -> (B, V)
        {
            long v = m.VocabSize;
            if (!m.counting) return tensor(m.probabilities).log().unsqueeze(0).expand(last.shape[0], v).contiguous();
            var logits = full(last.shape[0], v, -30f);
            return logits.scatter(1, ((last + 1) % v).unsqueeze(1), full(last.shape[0], 1, 30f));
        }

        public void Dispose() { }
    }
}

/// <summary>Byte-level "tokenizer": token i is the byte i.</summary>
public static class ByteTokens
{
    public static int[] Encode(string s) => System.Text.Encoding.UTF8.GetBytes(s).Select(b => (int)b).ToArray();
    public static string Decode(IReadOnlyList<int> ids) => System.Text.Encoding.UTF8.GetString(ids.Select(i => (byte)i).ToArray());
}

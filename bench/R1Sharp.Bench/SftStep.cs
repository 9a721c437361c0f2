// The SFT training step, measured against the in-process GEMM rate:
//   dotnet run --project bench/R1Sharp.Bench -c Release -- sft [--quick] [--row-length N]
//
// The step SftRecipe runs, on the bench model (d_model 512, 8 layers, vocab 4096): 4,096 tokens a step in rows of 512
// (8 rows; --row-length 2048: 2 rows) packed best-fit-decreasing from examples of 48–512 tokens (the first ~30% of each a
// prompt, masked out of the loss), block-diagonal attention, the head on target positions only, loss, backward, clipping
// and the AdamW update. Each packed batch runs twice: attended sequence by sequence (Attention.PerSegmentAttention, the
// default) and with the block-diagonal mask over the whole row.
// Useful work counts what the step needs: 6 × (linear parameters) per real token, 6 × (head) per target token, and
// causal attention within each example (2·L²·d per layer forward, ×3 with backward); padding counts as waste.
// Target ≥ 50% of the GEMM rate. Interleaved with a plain causal step (no mask, loss everywhere) as a yardstick
// that sees the same machine load, and with ~1 s of sustained GEMM before and after each step (the share against
// those is the robust figure on a shared machine; the best short GEMM run is the bench's usual denominator).
// Also prints the resident set after each step.
using System.Diagnostics;
using R1Sharp.Model;
using R1Sharp.Training.Batching;
using R1Sharp.Training.Losses;
using R1Sharp.Training.Optim;
using static TorchSharp.torch;

static class SftStep
{
    public static void Run(CausalLM model, Func<double> gemmGflops, bool quick, int rowLength = 512)
    {
        int rowsPerBatch = Math.Max(1, 8 * 512 / rowLength);
        var c = model.Config;
        var rng = new Random(11);

        // Examples until best-fit decreasing fills 8 rows (leftovers wait for the next batch, as in the recipe's later rows).
        List<TokenSequence[]> PackedRows()
        {
            var examples = new List<TokenSequence>();
            while (true)
            {
                int length = rng.Next(48, 513), prompt = (int)(length * 0.3);
                examples.Add(new TokenSequence(Enumerable.Range(0, length).Select(_ => rng.Next(c.VocabSize)).ToArray(),
                                               Enumerable.Range(0, length).Select(i => i >= prompt).ToArray()));
                var rows = SequencePacking.BestFitDecreasing(examples.Select(e => e.Length).ToList(), rowLength);
                if (rows.Count > rowsPerBatch)
                    return rows.Take(rowsPerBatch).Select(r => r.Select(i => examples[i]).ToArray()).ToList();
            }
        }

        var optimizer = Optimizers.AdamW(model, 1e-5);
        long h = c.HiddenSize, kv = (long)c.NumKvHeads * c.HeadDim;
        long linear = c.NumLayers * (2 * h * h + 2 * h * kv + 3 * h * c.IntermediateSize);

        // The SFT step on packed rows, attended sequence by sequence or with the mask over the whole row.
        (double Seconds, double Flops, long Tokens, long Targets) Sft(List<TokenSequence[]> rows, bool perSequence)
        {
            Attention.PerSegmentAttention = perSequence;
            long tokens = rows.Sum(r => r.Sum(s => (long)s.Length));
            long targets = rows.Sum(r => r.Sum(s => (long)s.TargetCount));
            double attention = rows.Sum(r => r.Sum(s => 2.0 * s.Length * s.Length * h)) * c.NumLayers;
            double flops = 3 * (2.0 * linear * tokens + 2.0 * c.VocabSize * h * targets + attention);
            var sw = Stopwatch.StartNew();
            using (var scope = NewDisposeScope())
            {
                var batch = TokenBatch.Packed(rows, rowLength, CPU);
                var nll = -TokenLosses.TargetLogProbs(batch.TargetLogits(model), batch.TargetIds).sum();
                (nll / (double)targets).backward();
                Optimizers.ClipGradients(model, 1.0);
                optimizer.step();
                optimizer.zero_grad();
            }
            double seconds = sw.Elapsed.TotalSeconds;
            Attention.PerSegmentAttention = true;
            Console.WriteLine($"  SFT step{(perSequence ? "" : " (mask over the whole row)")}: {seconds:F2} s, {tokens} tokens ({tokens * 100.0 / (rowsPerBatch * rowLength):F0}% of the rows), {targets} targets, " +
                              $"{rows.Sum(r => r.Length)} examples; resident {Process.GetCurrentProcess().WorkingSet64 / 1e6:F0} MB");
            return (seconds, flops, tokens, targets);
        }

        // For comparison under the same machine load: one unmasked causal row per sequence, loss on every token.
        (double Seconds, double Flops) Plain()
        {
            double flops = 3 * (2.0 * (linear + (long)c.VocabSize * h) * rowsPerBatch * rowLength + 2.0 * rowLength * rowLength * h * c.NumLayers * rowsPerBatch);
            var sw = Stopwatch.StartNew();
            using (var scope = NewDisposeScope())
            {
                var ids = randint(0, c.VocabSize, [rowsPerBatch, rowLength + 1]);
                var logits = model.Forward(ids.narrow(1, 0, rowLength));
                nn.functional.cross_entropy(logits.reshape(-1, c.VocabSize), ids.narrow(1, 1, rowLength).reshape(-1)).backward();
                Optimizers.ClipGradients(model, 1.0);
                optimizer.step();
                optimizer.zero_grad();
            }
            double seconds = sw.Elapsed.TotalSeconds;
            Console.WriteLine($"  plain causal step: {seconds:F2} s");
            return (seconds, flops);
        }

        // GEMM rate sustained over ~1 s right around each step, so a share compares like with like on a busy machine.
        double Sustained()
        {
            using var scope = NewDisposeScope();
            var a = randn(4096, 512);
            var b = randn(512, 1408);
            int n = 0;
            var sw = Stopwatch.StartNew();
            while (sw.Elapsed.TotalSeconds < 1.0) { a.matmul(b).Dispose(); n++; }
            return 2.0 * 4096 * 512 * 1408 * n / sw.Elapsed.TotalSeconds / 1e9;
        }

        int rounds = quick ? 2 : 4;
        var sft = new List<(double Seconds, double Flops, long Tokens, long Targets, double Gemm)>();
        var wholeRow = new List<(double Seconds, double Flops)>();
        var plain = new List<(double Seconds, double Flops, double Gemm)>();
        for (int round = 0; round < rounds; round++) // interleaved, so machine noise hits all alike; round 0 warms up
        {
            var rows = PackedRows();
            double g0 = Sustained();
            var s = Sft(rows, perSequence: true);
            double g1 = Sustained();
            var w = Sft(rows, perSequence: false);
            var p = Plain();
            double g2 = Sustained();
            Console.WriteLine($"  sustained GEMM around them: {g0:F0} / {g1:F0} / {g2:F0} GFLOP/s");
            if (round > 0) { sft.Add((s.Seconds, s.Flops, s.Tokens, s.Targets, (g0 + g1) / 2)); wholeRow.Add((w.Seconds, w.Flops)); plain.Add((p.Seconds, p.Flops, (g1 + g2) / 2)); }
        }
        double gemm = gemmGflops();
        var best = sft.MaxBy(x => x.Flops / x.Seconds);
        var bestPlain = plain.MaxBy(x => x.Flops / x.Seconds);
        double rate = best.Flops / best.Seconds / 1e9, plainRate = bestPlain.Flops / bestPlain.Seconds / 1e9;
        static double Median(IEnumerable<double> xs) { var v = xs.Order().ToArray(); return (v[(v.Length - 1) / 2] + v[v.Length / 2]) / 2; }
        Console.WriteLine($"GEMM rate, best of short runs before / after the steps: {gemm:F1} GFLOP/s");
        var bestWhole = wholeRow.MaxBy(x => x.Flops / x.Seconds);
        Console.WriteLine($"SFT step ({rowsPerBatch} × {rowLength} packed, {best.Targets} target tokens, fwd+bwd+clip+AdamW fp32): {best.Seconds:F2} s = {rate:F1} GFLOP/s " +
                          $"of useful work = {rate / gemm:P0} of the best GEMM rate (target ≥ 50%)   [{best.Tokens / best.Seconds:F0} tokens/s]");
        Console.WriteLine($"the same packed rows with the mask over the whole row: best {bestWhole.Seconds:F2} s = {bestWhole.Flops / bestWhole.Seconds / 1e9 / gemm:P0} of the best GEMM rate; " +
                          $"sequence by sequence / whole row, step time, median of {sft.Count} pairs: {Median(sft.Zip(wholeRow, (a, b) => a.Seconds / b.Seconds)):F2}");
        Console.WriteLine($"plain causal step, same model and optimiser: {bestPlain.Seconds:F2} s = {plainRate:F1} GFLOP/s = {plainRate / gemm:P0} of the best GEMM rate; " +
                          $"SFT / plain = {rate / plainRate:P0}");
        Console.WriteLine($"against the GEMM rate sustained around each step (median of {sft.Count}): SFT {Median(sft.Select(x => x.Flops / x.Seconds / 1e9 / x.Gemm)):P0}, " +
                          $"plain {Median(plain.Select(x => x.Flops / x.Seconds / 1e9 / x.Gemm)):P0}");
    }
}

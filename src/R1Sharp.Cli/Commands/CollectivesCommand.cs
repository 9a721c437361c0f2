// mpiexec -n 2 r1sharp collectives --output runs/collectives
// r1sharp collectives --output runs/collectives --elements 100000 --bucket-bytes 4096
using System.CommandLine;
using System.Diagnostics;
using System.Text.Json.Nodes;
using R1Sharp.Data;
using R1Sharp.Training.Distributed;
using static TorchSharp.torch;

namespace R1Sharp.Cli.Commands;

/// <summary>
/// <c>r1sharp collectives</c>: a launch check for data-parallel runs (docs/distributed.md). Every rank reduces,
/// broadcasts and gathers values it can compute from its rank alone, writes what it received to
/// <c>OUTPUT/rank-R.json</c>, and checks it; rank 0 prints one line (ranks, backend, all-reduce bandwidth). Exits 1 when a
/// value is wrong. Rank r's tensors: <c>a[i] = (r + 1)·i</c> (float32, <c>--elements</c> long), <c>b = r + 0.5</c>
/// (bfloat16, 3×5), <c>c[i] = 1000·r + i</c> (float32, 7 elements, broadcast from the last rank).
/// </summary>
public static class CollectivesCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--output") { Description = "Folder for rank-R.json, one file per rank.", Required = true };
        var elements = new Option<int>("--elements") { Description = "Length of the float32 tensor that is all-reduced.", DefaultValueFactory = _ => 1000 };
        var bucketBytes = new Option<long>("--bucket-bytes") { Description = "All-reduce bucket size in bytes (small values split tensors across buckets).", DefaultValueFactory = _ => Collectives.DefaultBucketBytes };
        var command = new Command("collectives", "Check the collectives of a data-parallel launch (run it under mpiexec -n N): all-reduce, broadcast, all-gather, barrier.")
        {
            output, elements, bucketBytes,
        };
        command.SetAction(parse =>
        {
            int n = parse.GetValue(elements);
            long bucket = parse.GetValue(bucketBytes);
            if (n < 1) throw new UserError($"--elements {n}: must be at least 1");
            if (bucket < 4) throw new UserError($"--bucket-bytes {bucket}: must be at least 4 (one float)");
            var c = Collectives.Current;
            c.BucketBytes = bucket;
            int r = c.Rank, size = c.Size;
            using var scope = NewDisposeScope();

            var sum = arange(n, dtype: ScalarType.Float32) * (r + 1);
            var average = sum.clone();
            var half = full(3, 5, r + 0.5, dtype: ScalarType.BFloat16);
            c.AllReduce([sum, half]);
            c.AllReduce([average], ReduceOp.Average);
            double[] doubles = [r + 1, -r];
            c.AllReduce(doubles, ReduceOp.Max);
            var broadcast = arange(7, dtype: ScalarType.Float32) + 1000 * r;
            c.Broadcast([broadcast], root: size - 1);
            var settings = c.BroadcastObject(new Dictionary<string, string> { ["from"] = $"rank {r}" }, root: 0);
            var gathered = c.AllGather($"rank {r} of {size}");
            c.Barrier();

            // Bandwidth of one all-reduce of the tensor (after a warm-up above).
            var watch = Stopwatch.StartNew();
            c.AllReduce([sum.clone()]);
            double seconds = watch.Elapsed.TotalSeconds;

            var result = new JsonObject
            {
                ["rank"] = r, ["size"] = size, ["local_rank"] = c.LocalRank, ["backend"] = c.Backend,
                ["sum"] = Array(sum), ["average"] = Array(average), ["bfloat16_sum"] = Array(half.to(ScalarType.Float32)),
                ["max"] = new JsonArray(doubles.Select(d => (JsonNode)d).ToArray()), ["broadcast"] = Array(broadcast),
                ["broadcast_object"] = settings["from"], ["gathered"] = new JsonArray(gathered.Select(g => (JsonNode)g!).ToArray()),
            };
            Directory.CreateDirectory(parse.GetValue(output)!);
            AtomicFile.WriteAllText(Path.Combine(parse.GetValue(output)!, $"rank-{r}.json"), result.ToJsonString() + "\n");

            var wrong = new List<string>();
            double s = size * (size + 1) / 2.0;
            var got = sum.data<float>().ToArray();
            if (Enumerable.Range(0, n).Any(i => got[i] != (float)(s * i))) wrong.Add("sum");
            var avg = average.data<float>().ToArray();
            if (Enumerable.Range(0, n).Any(i => Math.Abs(avg[i] - s * i / size) > 1e-5 * Math.Max(1, s * i / size))) wrong.Add("average");
            if (half.to(ScalarType.Float32).data<float>().ToArray().Any(v => v != (float)(size * size / 2.0))) wrong.Add("bfloat16 sum");
            if (doubles[0] != size || doubles[1] != 0) wrong.Add("max");
            if (!broadcast.data<float>().ToArray().SequenceEqual(Enumerable.Range(0, 7).Select(i => (float)(1000 * (size - 1) + i)))) wrong.Add("broadcast");
            if (settings["from"] != "rank 0") wrong.Add("broadcast of an object");
            if (!gathered.SequenceEqual(Enumerable.Range(0, size).Select(k => $"rank {k} of {size}"))) wrong.Add("all-gather");
            var failures = c.AllGather(wrong);
            if (r == 0)
            {
                var bad = failures.Select((f, k) => (f, k)).Where(x => x.f.Count > 0).Select(x => $"rank {x.k}: {string.Join(", ", x.f)}").ToList();
                Console.WriteLine(bad.Count == 0
                    ? $"collectives: {size} rank(s), backend {c.Backend}: all-reduce, broadcast, all-gather and barrier correct; " +
                      $"all-reduce of {n * 4.0 / (1 << 20):F2} MiB in {seconds * 1000:F2} ms"
                    : $"collectives: wrong results on {string.Join("; ", bad)}");
            }
            return failures.Any(f => f.Count > 0) ? 1 : 0;
        });
        return command;
    }

    static JsonArray Array(Tensor t) => new(t.data<float>().ToArray().Select(v => (JsonNode)v).ToArray());
}

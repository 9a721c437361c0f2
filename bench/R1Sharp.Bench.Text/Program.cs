// Tokenizer throughput on GSM8K test (questions + answers), single-threaded, R1Sharp's HfTokenizer against
// Microsoft.ML.Tokenizers' BpeTokenizer built from the same vocabulary, merges and split regex, in one process:
//   dotnet run -c Release --project bench/R1Sharp.Bench.Text [-- --family qwen3|deepseek-v3|llama3] [--rounds 9] [--passes 2]
// After 3 untimed passes each (so tiered JIT has finished and both word caches are full), the two encoders
// alternate (ours, theirs, ours, theirs ...) for --rounds rounds of --passes passes over all texts, so a
// shared, loaded machine slows both alike; the figures are medians over the rounds, and the ratio is the median
// of the per-round ratios. Ids are compared text by text first. Also printed: load time, the cold first pass,
// EncodeWithOffsets and Decode (ours only), and the load average from /proc/loadavg at the start and the end.
using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;
using R1Sharp.Text.Tokenization;

string root = FindRepoRoot();
string family = ArgValue("--family") ?? "qwen3";
int rounds = int.Parse(ArgValue("--rounds") ?? "9");
int passes = int.Parse(ArgValue("--passes") ?? "2");

var texts = new List<string>();
foreach (var line in File.ReadLines(Path.Combine(root, "data", "benchmarks", "gsm8k_test.jsonl")))
{
    using var doc = JsonDocument.Parse(line);
    texts.Add(doc.RootElement.GetProperty("question").GetString()!);
    texts.Add(doc.RootElement.GetProperty("answer").GetString()!);
}
long chars = texts.Sum(t => (long)t.Length);
Console.WriteLine($"GSM8K test: {texts.Count} texts, {chars:N0} characters; tokenizer {family}; {rounds} rounds x {passes} passes; 1 thread");
Console.WriteLine($"load average at start: {LoadAverage()}; {Environment.ProcessorCount} cores");

string dir = Path.Combine(root, "tests", "fixtures", "tokenizers", family);
var sw = Stopwatch.StartNew();
var ours = HfTokenizer.Load(dir);
Console.WriteLine($"R1Sharp HfTokenizer.Load: {sw.Elapsed.TotalMilliseconds:F0} ms");
sw.Restart();
var theirs = CreateMicrosoftMl(dir);
Console.WriteLine($"Microsoft.ML.Tokenizers BpeTokenizer.Create (parse + build): {sw.Elapsed.TotalMilliseconds:F0} ms");
if (theirs is null) return 1;

// Cold first pass (empty word caches, JIT not yet tiered up).
double oursCold = Rate(chars, Time(() => { foreach (var t in texts) ours.Encode(t); }));
double theirsCold = Rate(chars, Time(() => { foreach (var t in texts) theirs.EncodeToIds(t); }));
Console.WriteLine($"first pass (cold): R1Sharp {oursCold:F2} M chars/s, Microsoft.ML.Tokenizers {theirsCold:F2} M chars/s");

int same = 0;
long tokens = 0;
foreach (var t in texts)
{
    var a = ours.Encode(t);
    tokens += a.Count;
    if (a.SequenceEqual(theirs.EncodeToIds(t))) same++;
}
Console.WriteLine($"identical ids on {same}/{texts.Count} texts; {tokens:N0} tokens, {chars / (double)tokens:F2} chars/token");

for (int r = 0; r < 3; r++)
    foreach (var t in texts)
    {
        ours.Encode(t);
        theirs.EncodeToIds(t);
        ours.EncodeWithOffsets(t);
    }

var encoded = texts.Select(t => ours.Encode(t)).ToList();
var oursRates = new List<double>();
var theirsRates = new List<double>();
var ratios = new List<double>();
var offsetRates = new List<double>();
var decodeRates = new List<double>();
for (int r = 0; r < rounds; r++)
{
    double o = Rate(chars * passes, Time(() =>
    {
        for (int p = 0; p < passes; p++)
            foreach (var t in texts) ours.Encode(t);
    }));
    double m = Rate(chars * passes, Time(() =>
    {
        for (int p = 0; p < passes; p++)
            foreach (var t in texts) theirs.EncodeToIds(t);
    }));
    double w = Rate(chars * passes, Time(() =>
    {
        for (int p = 0; p < passes; p++)
            foreach (var t in texts) ours.EncodeWithOffsets(t);
    }));
    double d = Rate(chars * passes, Time(() =>
    {
        for (int p = 0; p < passes; p++)
            foreach (var ids in encoded) ours.Decode(ids);
    }));
    oursRates.Add(o);
    theirsRates.Add(m);
    ratios.Add(o / m);
    offsetRates.Add(w);
    decodeRates.Add(d);
    Console.WriteLine($"  round {r + 1}: R1Sharp Encode {o:F2}, Microsoft.ML.Tokenizers EncodeToIds {m:F2} M chars/s (ratio {o / m:F2}); " +
                      $"R1Sharp EncodeWithOffsets {w:F2}, Decode {d:F2}");
}
Console.WriteLine($"warm, median of {rounds} rounds:");
Console.WriteLine($"  R1Sharp HfTokenizer.Encode:              {Median(oursRates):F2} M chars/s");
Console.WriteLine($"  Microsoft.ML.Tokenizers EncodeToIds:     {Median(theirsRates):F2} M chars/s");
Console.WriteLine($"  ratio R1Sharp / Microsoft.ML.Tokenizers: {Median(ratios):F2} (median of per-round ratios; range {ratios.Min():F2}..{ratios.Max():F2})");
Console.WriteLine($"  R1Sharp EncodeWithOffsets:               {Median(offsetRates):F2} M chars/s");
Console.WriteLine($"  R1Sharp Decode:                          {Median(decodeRates):F2} M chars/s (of decoded text)");
Console.WriteLine($"load average at end: {LoadAverage()}");
return same == texts.Count ? 0 : 2;

static TimeSpan Time(Action action)
{
    var sw = Stopwatch.StartNew();
    action();
    return sw.Elapsed;
}

static double Rate(long chars, TimeSpan elapsed) => chars / elapsed.TotalSeconds / 1e6;

static double Median(List<double> values)
{
    var sorted = values.Order().ToArray();
    return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
}

static string LoadAverage() =>
    File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

// The library has no tokenizer.json loader, so it gets the model's vocabulary, merges and Split regex (what it
// can represent: byte-level BPE behind one regex pre-tokenizer; no normalizer, no added tokens in the text).
static Tokenizer? CreateMicrosoftMl(string dir)
{
    using var stream = new System.IO.Compression.GZipStream(File.OpenRead(Path.Combine(dir, "tokenizer.json.gz")),
        System.IO.Compression.CompressionMode.Decompress);
    using var doc = JsonDocument.Parse(stream);
    var model = doc.RootElement.GetProperty("model");
    var vocab = model.GetProperty("vocab").EnumerateObject().Select(p => new KeyValuePair<string, int>(p.Name, p.Value.GetInt32())).ToList();
    var merges = model.GetProperty("merges").EnumerateArray()
        .Select(m => m.ValueKind == JsonValueKind.String ? m.GetString()! : m[0].GetString() + " " + m[1].GetString()).ToList();
    var splits = doc.RootElement.GetProperty("pre_tokenizer").GetProperty("pretokenizers").EnumerateArray()
        .Where(p => p.GetProperty("type").GetString() == "Split").ToList();
    if (splits.Count != 1)
    {
        Console.WriteLine("Microsoft.ML.Tokenizers comparison: skipped (needs exactly one Split regex)");
        return null;
    }
    var regex = new Regex(splits[0].GetProperty("pattern").GetProperty("Regex").GetString()!, RegexOptions.Compiled);
    return BpeTokenizer.Create(new BpeOptions(vocab)
    {
        Merges = merges,
        ByteLevel = true,
        PreTokenizer = new RegexPreTokenizer(regex, null),
    });
}

string? ArgValue(string name)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

static string FindRepoRoot()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        if (File.Exists(Path.Combine(dir.FullName, "R1Sharp.slnx"))) return dir.FullName;
    throw new DirectoryNotFoundException("R1Sharp.slnx not found above " + AppContext.BaseDirectory);
}

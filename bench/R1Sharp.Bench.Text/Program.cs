// Tokenizer throughput on GSM8K (questions + answers), single-threaded.
//   dotnet run -c Release --project bench/R1Sharp.Bench.Text [-- --repeat 5] [-- --family qwen3|deepseek-v3|llama3]
// Prints characters per second for: loading, the first (cold-cache, JIT-cold) pass, warm passes (after 3 untimed
// passes so tiered JIT has finished), EncodeWithOffsets, Decode,
// and for comparison Microsoft.ML.Tokenizers 2.0.1 BpeTokenizer built from the same vocabulary and merges
// (same split regex, no added-token handling) on the same texts.
using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using R1Sharp.Text.Tokenization;

string root = FindRepoRoot();
string family = ArgValue("--family") ?? "qwen3";
int repeat = int.Parse(ArgValue("--repeat") ?? "5");

var texts = new List<string>();
foreach (var line in File.ReadLines(Path.Combine(root, "data", "benchmarks", "gsm8k_test.jsonl")))
{
    using var doc = JsonDocument.Parse(line);
    texts.Add(doc.RootElement.GetProperty("question").GetString()!);
    texts.Add(doc.RootElement.GetProperty("answer").GetString()!);
}
long chars = texts.Sum(t => (long)t.Length);
Console.WriteLine($"GSM8K test: {texts.Count} texts, {chars:N0} characters; tokenizer {family}; {repeat} warm passes; 1 thread");

var sw = Stopwatch.StartNew();
var tokenizer = HfTokenizer.Load(Path.Combine(root, "tests", "fixtures", "tokenizers", family));
Console.WriteLine($"load (gzip'd tokenizer.json): {sw.Elapsed.TotalMilliseconds:F0} ms");

sw.Restart();
long tokens = 0;
foreach (var t in texts) tokens += tokenizer.Encode(t).Count;
Report("Encode, first pass (cold word cache)", chars, sw.Elapsed);
Console.WriteLine($"  {tokens:N0} tokens, {chars / (double)tokens:F2} chars/token");

// Steady state: let tiered JIT finish (it recompiles hot loops after the first passes) before timing.
for (int r = 0; r < 3; r++)
    foreach (var t in texts) tokenizer.Encode(t);
sw.Restart();
for (int r = 0; r < repeat; r++)
    foreach (var t in texts) tokenizer.Encode(t);
Report("Encode, warm", chars * repeat, sw.Elapsed);

for (int r = 0; r < 3; r++)
    foreach (var t in texts) tokenizer.EncodeWithOffsets(t);
sw.Restart();
for (int r = 0; r < repeat; r++)
    foreach (var t in texts) tokenizer.EncodeWithOffsets(t);
Report("EncodeWithOffsets, warm", chars * repeat, sw.Elapsed);

var encoded = texts.Select(t => tokenizer.Encode(t)).ToList();
for (int r = 0; r < 3; r++)
    foreach (var ids in encoded) tokenizer.Decode(ids);
sw.Restart();
for (int r = 0; r < repeat; r++)
    foreach (var ids in encoded) tokenizer.Decode(ids);
Report("Decode", chars * repeat, sw.Elapsed);

CompareWithMicrosoftMl(tokenizer, family, root, texts, chars, repeat);

static void Report(string what, long chars, TimeSpan elapsed) =>
    Console.WriteLine($"{what}: {chars / elapsed.TotalSeconds / 1e6:F2} M chars/s ({elapsed.TotalMilliseconds:F0} ms)");

static void CompareWithMicrosoftMl(HfTokenizer ours, string family, string root, List<string> texts, long chars, int repeat)
{
    // Same vocabulary, merges and split regex; Microsoft.ML.Tokenizers does the byte-level BPE.
    using var stream = new System.IO.Compression.GZipStream(
        File.OpenRead(Path.Combine(root, "tests", "fixtures", "tokenizers", family, "tokenizer.json.gz")),
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
        return;
    }
    var regex = new Regex(splits[0].GetProperty("pattern").GetProperty("Regex").GetString()!, RegexOptions.Compiled);
    var sw = Stopwatch.StartNew();
    var ml = Microsoft.ML.Tokenizers.BpeTokenizer.Create(new Microsoft.ML.Tokenizers.BpeOptions(vocab)
    {
        Merges = merges,
        ByteLevel = true,
        PreTokenizer = new Microsoft.ML.Tokenizers.RegexPreTokenizer(regex, null),
    });
    Console.WriteLine($"Microsoft.ML.Tokenizers BpeTokenizer.Create: {sw.Elapsed.TotalMilliseconds:F0} ms");
    sw.Restart();
    foreach (var t in texts) ml.EncodeToIds(t);
    Report("Microsoft.ML.Tokenizers EncodeToIds, first pass", chars, sw.Elapsed);
    for (int r = 0; r < 3; r++)
        foreach (var t in texts) ml.EncodeToIds(t);
    sw.Restart();
    for (int r = 0; r < repeat; r++)
        foreach (var t in texts) ml.EncodeToIds(t);
    Report("Microsoft.ML.Tokenizers EncodeToIds, warm", chars * repeat, sw.Elapsed);
    int same = texts.Count(t => ml.EncodeToIds(t).SequenceEqual(ours.Encode(t)));
    Console.WriteLine($"  identical ids on {same}/{texts.Count} texts");
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

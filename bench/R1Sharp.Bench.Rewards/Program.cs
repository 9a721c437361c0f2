// dotnet run -c Release --project bench/R1Sharp.Bench.Rewards -- [all|math500|gsm8k|swap|speed|probe GOLD PRED|extract TEXT]
// Prints the acceptance figures for the math verifier (MATH-500 and GSM8K reference solutions graded against
// their answers, false accepts on swapped answers) and its single-core throughput.
using System.Diagnostics;
using System.Text.Json;
using R1Sharp.Rewards.Verification;

var mode = args.Length > 0 ? args[0] : "all";
var root = FindRoot();
var math500 = File.ReadLines(Path.Combine(root, "data/benchmarks/math500_test.jsonl"))
    .Select(l => JsonDocument.Parse(l).RootElement)
    .Select(e => (Solution: e.GetProperty("solution").GetString()!, Answer: e.GetProperty("answer").GetString()!))
    .ToList();
var gsm8k = File.ReadLines(Path.Combine(root, "data/benchmarks/gsm8k_test.jsonl"))
    .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("answer").GetString()!)
    .ToList();

switch (mode)
{
    case "probe":
        Console.WriteLine($"gold  : {MathVerifier.Normalize(args[1])}");
        Console.WriteLine($"pred  : {MathVerifier.Normalize(args[2])}");
        Console.WriteLine($"verify: {MathVerifier.Verify(args[1], args[2])}");
        return;
    case "table":
        Table(args[1]);
        return;
    case "extract":
        Console.WriteLine(AnswerExtractor.Extract(args[1]));
        return;
}
if (mode is "all" or "math500") Math500();
if (mode is "all" or "gsm8k") Gsm8k();
if (mode is "all" or "swap") Swap();
if (mode is "all" or "speed") Speed();

void Math500()
{
    var ok = 0;
    foreach (var (solution, answer) in math500)
    {
        var r = MathVerifier.Grade(answer, solution);
        if (r.Correct == true) ok++;
        else Console.WriteLine($"  MATH-500 miss: gold={answer} | extracted={r.Prediction} ({r.Rule}) | gold-normal={r.GoldNormalized}");
    }
    Console.WriteLine($"MATH-500 reference solutions graded correct: {ok}/{math500.Count}");
}

void Gsm8k()
{
    var ok = 0;
    var okNoMarker = 0;
    var shown = 0;
    foreach (var answer in gsm8k)
    {
        var gold = answer[(answer.LastIndexOf("####", StringComparison.Ordinal) + 4)..].Trim();
        var r = MathVerifier.Grade(gold, answer);
        if (r.Correct == true) ok++;
        else Console.WriteLine($"  GSM8K miss: gold={gold} | extracted={r.Prediction} ({r.Rule})");
        var body = answer[..answer.LastIndexOf("####", StringComparison.Ordinal)];
        var r2 = MathVerifier.Grade(gold, body);
        if (r2.Correct == true) okNoMarker++;
        else if (args.Contains("--show") && shown++ < 40) Console.WriteLine($"  fallback miss: gold={gold} | extracted={r2.Prediction} ({r2.Rule}) | tail={body[^Math.Min(90, body.Length)..].Replace('\n', ' ')}");
    }
    Console.WriteLine($"GSM8K reference solutions graded correct (full text, #### line): {ok}/{gsm8k.Count}");
    Console.WriteLine($"GSM8K reference solutions without the #### line (last-number fallback): {okNoMarker}/{gsm8k.Count}");
}

void Swap()
{
    var answers = math500.Select(m => m.Answer).ToList();
    var normal = answers.Select(a => MathVerifier.Normalize(a) ?? a.Replace(" ", "")).ToList();
    long pairs = 0, accepted = 0;
    var examples = new List<string>();
    for (var i = 0; i < answers.Count; i++)
    for (var j = 0; j < answers.Count; j++)
    {
        if (i == j || normal[i] == normal[j]) continue;
        pairs++;
        if (MathVerifier.Verify(answers[i], answers[j]))
        {
            accepted++;
            if (examples.Count < 40) examples.Add($"  accepted: gold={answers[i]} pred={answers[j]}");
        }
    }
    foreach (var e in examples) Console.WriteLine(e);
    Console.WriteLine($"Swapped answers judged correct (false accepts): {accepted}/{pairs} = {100.0 * accepted / pairs:F3}%");
}

void Speed()
{
    var answers = math500.Select(m => m.Answer).ToList();
    var rng = new Random(1);
    var pairs = new (string, string)[200_000];
    for (var k = 0; k < pairs.Length; k++)
    {
        var i = rng.Next(answers.Count);
        var j = rng.Next(2) == 0 ? i : rng.Next(answers.Count);
        pairs[k] = (answers[i], answers[j]);
    }
    foreach (var (g, p) in pairs.Take(20000)) MathVerifier.Verify(g, p); // warm-up (JIT, gold cache)
    // Best of three runs: the figure is per core, so other load on the machine should not count against it.
    var best = 0.0;
    for (var run = 0; run < 3; run++)
    {
        var sw = Stopwatch.StartNew();
        foreach (var (g, p) in pairs) MathVerifier.Verify(g, p);
        sw.Stop();
        best = Math.Max(best, pairs.Length / sw.Elapsed.TotalSeconds);
    }
    Console.WriteLine($"Throughput (one thread, MATH-500 answers, half same-problem pairs, best of 3): {best:F0} pairs/s");
    var different = pairs.Select(t => (t.Item1, answers[(answers.IndexOf(t.Item1) + 1 + rng.Next(answers.Count - 1)) % answers.Count])).ToArray();
    var sw2 = Stopwatch.StartNew();
    foreach (var (g, p) in different) MathVerifier.Verify(g, p);
    Console.WriteLine($"Throughput (one thread, prediction always another problem's answer): {different.Length / sw2.Elapsed.TotalSeconds:F0} pairs/s");
}

// A JSON array of {gold, pred, expected|result, precision?, strict?, allow_set_relation_comp?} cases from another
// grader's test suite (kept outside the repository): prints the agreement and the disagreements.
static void Table(string path)
{
    var cases = JsonDocument.Parse(File.ReadAllText(path)).RootElement.EnumerateArray().ToList();
    var agree = 0;
    foreach (var c in cases)
    {
        var gold = c.GetProperty("gold").GetString()!;
        var pred = c.GetProperty("pred").GetString()!;
        var expected = (c.TryGetProperty("expected", out var e) ? e : c.GetProperty("result")).GetInt32() == 1;
        var options = new VerifyOptions
        {
            FloatRounding = c.TryGetProperty("precision", out var pr) ? pr.GetInt32() : 6,
            StrictVariables = !c.TryGetProperty("strict", out var st) || st.GetBoolean(),
            AllowSetRelationComparison = c.TryGetProperty("allow_set_relation_comp", out var a) && a.GetBoolean(),
        };
        var got = MathVerifier.Verify(gold, pred, options);
        if (got == expected) agree++;
        else Console.WriteLine($"  DISAGREE expected={expected} [{c.GetProperty("test").GetString()}] gold={Short(gold)} | pred={Short(pred)}");
    }
    Console.WriteLine($"Agreement: {agree}/{cases.Count} = {100.0 * agree / cases.Count:F1}%");
}

static string Short(string s) => s.Length <= 160 ? s.Replace("\n", " ") : s[..70].Replace("\n", " ") + " … " + s[^80..].Replace("\n", " ");

static string FindRoot()
{
    var dir = AppContext.BaseDirectory;
    while (dir is not null && !File.Exists(Path.Combine(dir, "R1Sharp.slnx"))) dir = Path.GetDirectoryName(dir);
    return dir ?? throw new InvalidOperationException("R1Sharp.slnx not found above " + AppContext.BaseDirectory);
}

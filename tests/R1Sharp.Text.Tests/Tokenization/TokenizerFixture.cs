using System.Text.Json;
using R1Sharp.Text.Tokenization;

namespace R1Sharp.Text.Tests.Tokenization;

/// <summary>The reference tokenizers in tests/fixtures/tokenizers, each loaded once per test run.</summary>
public sealed class TokenizerFixture
{
    private static readonly Lazy<HfTokenizer> LazyQwen3 = new(() => HfTokenizer.Load(Dir("qwen3")));
    private static readonly Lazy<HfTokenizer> LazyDeepSeek = new(() => HfTokenizer.Load(Dir("deepseek-v3")));
    private static readonly Lazy<HfTokenizer> LazyLlama3 = new(() => HfTokenizer.Load(Dir("llama3")));

    public HfTokenizer Qwen3 => LazyQwen3.Value;
    public HfTokenizer DeepSeek => LazyDeepSeek.Value;
    public HfTokenizer Llama3 => LazyLlama3.Value;

    public HfTokenizer Get(string family) => family switch
    {
        "qwen3" => Qwen3,
        "deepseek-v3" => DeepSeek,
        "llama3" => Llama3,
        _ => throw new ArgumentException(family),
    };

    public static string Dir(string family) => Path.Combine(FixturesRoot, "tokenizers", family);

    /// <summary>tests/fixtures, found by walking up from the test binaries.</summary>
    public static string FixturesRoot { get; } = FindFixtures();

    private static string FindFixtures()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "fixtures");
            if (Directory.Exists(Path.Combine(candidate, "tokenizers"))) return candidate;
        }
        throw new DirectoryNotFoundException("tests/fixtures not found above " + AppContext.BaseDirectory);
    }

    /// <summary>A row of golden.jsonl: text, the reference ids (add_special_tokens=false), and whether decoding gives the text back.</summary>
    public sealed record GoldenRow(int Line, string Text, int[] Ids, bool DecodedEqual, string? Decoded);

    private static readonly Dictionary<string, GoldenRow[]> GoldenCache = [];

    public static GoldenRow[] Golden(string family)
    {
        lock (GoldenCache)
        {
            if (GoldenCache.TryGetValue(family, out var rows)) return rows;
            var list = new List<GoldenRow>();
            int line = 0;
            foreach (var text in File.ReadLines(Path.Combine(Dir(family), "golden.jsonl")))
            {
                line++;
                if (text.Length == 0) continue;
                using var doc = JsonDocument.Parse(text);
                var root = doc.RootElement;
                list.Add(new GoldenRow(line, root.GetProperty("text").GetString()!,
                    root.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()).ToArray(),
                    root.GetProperty("decoded_equal").GetBoolean(),
                    root.TryGetProperty("decoded", out var d) ? d.GetString() : null));
            }
            return GoldenCache[family] = list.ToArray();
        }
    }
}

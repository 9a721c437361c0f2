using System.IO.Compression;
using System.Text.Json;
using R1Sharp.Text.Tokenization.Unicode;

namespace R1Sharp.Text.Tests.Tokenization;

/// <summary>Our UAX #15 implementation against Python's unicodedata (tests/fixtures/unicode, 20k cases).</summary>
public sealed class UnicodeNormalizerTests
{
    [Fact]
    public void All_four_forms_match_python_unicodedata()
    {
        var path = Path.Combine(TokenizerFixture.FixturesRoot, "unicode", "normalization_golden.jsonl.gz");
        using var reader = new StreamReader(new GZipStream(File.OpenRead(path), CompressionMode.Decompress));
        var failures = new List<string>();
        int lines = 0;
        while (reader.ReadLine() is { } line)
        {
            lines++;
            using var doc = JsonDocument.Parse(line);
            string text = doc.RootElement.GetProperty("text").GetString()!;
            foreach (var (kind, field) in new[] { (NormalizationKind.Nfc, "nfc"), (NormalizationKind.Nfd, "nfd"), (NormalizationKind.Nfkc, "nfkc"), (NormalizationKind.Nfkd, "nfkd") })
            {
                string expected = doc.RootElement.GetProperty(field).GetString()!;
                string actual = UnicodeNormalizer.Get(kind).Normalize(text);
                if (actual != expected && failures.Count < 20)
                    failures.Add($"line {lines} {field}: {Hex(text)} -> {Hex(actual)}, expected {Hex(expected)}");
            }
        }
        Assert.True(lines > 20000);
        Assert.Empty(failures);
    }

    [Fact]
    public void Offsets_point_to_the_source_segment()
    {
        // "e" + U+0301 composes to "é": the one output character comes from input [1, 3).
        Assert.True(UnicodeNormalizer.Get(NormalizationKind.Nfc).Normalize("xe\u0301y", out var result, out var starts, out var ends));
        Assert.Equal("x\u00E9y", result);
        Assert.Equal([0, 1, 3], starts!);
        Assert.Equal([1, 3, 4], ends!);
    }

    [Fact]
    public void Already_normalized_text_is_reported_unchanged()
    {
        Assert.False(UnicodeNormalizer.Get(NormalizationKind.Nfc).Normalize("Plain ASCII, café, 中文, 😀", out var result, out _, out _));
        Assert.Null(result);
    }

    private static string Hex(string s) => string.Join(" ", s.EnumerateRunes().Select(r => r.Value.ToString("X4")));
}

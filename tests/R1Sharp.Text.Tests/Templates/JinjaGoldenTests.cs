using System.Text.Json;
using R1Sharp.Text.Templates;
using R1Sharp.Text.Templates.Jinja;

namespace R1Sharp.Text.Tests.Templates;

/// <summary>
/// Each case of tests/fixtures/templates/jinja_goldens.jsonl is a small template rendered by Python jinja2 3.1.6
/// in transformers' chat-template environment (generate_goldens.py); the interpreter must produce the same
/// bytes, or fail where jinja2 failed.
/// </summary>
public class JinjaGoldenTests
{
    /// <summary>The fixed clock generate_goldens.py gives strftime_now: 2024-07-26 13:05:09 local time.</summary>
    internal static readonly TimeProvider GoldenClock = new FixedClock(new DateTime(2024, 7, 26, 13, 5, 9));

    public static TheoryData<string> CaseNames()
    {
        var data = new TheoryData<string>();
        foreach (var c in TemplateFixtures.ReadJsonl("tests/fixtures/templates/jinja_goldens.jsonl"))
            data.Add(c.GetProperty("name").GetString()!);
        return data;
    }

    private static JsonElement Case(string name) =>
        TemplateFixtures.ReadJsonl("tests/fixtures/templates/jinja_goldens.jsonl").Single(c => c.GetProperty("name").GetString() == name);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Matches_jinja2(string name)
    {
        var c = Case(name);
        string source = c.GetProperty("template").GetString()!;
        var context = c.GetProperty("context").EnumerateObject().ToDictionary(p => p.Name, p => (object?)p.Value.Clone());
        if (c.TryGetProperty("error", out var error))
        {
            var ex = Assert.ThrowsAny<TemplateException>(() => JinjaTemplate.Parse(source).Render(context, GoldenClock));
            if (error.GetString() == "TemplateError")
            {
                var raised = Assert.IsType<TemplateRaisedException>(ex);
                Assert.Equal(c.GetProperty("message").GetString(), raised.Message);
            }
            return;
        }
        string text = JinjaTemplate.Parse(source).Render(context, out var spans, GoldenClock);
        Assert.Equal(c.GetProperty("expected").GetString(), text);
        if (c.TryGetProperty("generation_spans", out var expectedSpans))
        {
            var expected = expectedSpans.EnumerateArray().Select(s => (s[0].GetInt32(), s[1].GetInt32())).ToList();
            Assert.Equal(expected, spans.ToList());
        }
    }

    private sealed class FixedClock(DateTime local) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => new DateTimeOffset(local, TimeSpan.Zero);
        public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;
    }
}

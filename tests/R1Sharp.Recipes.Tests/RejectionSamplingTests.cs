using System.Text.Json.Nodes;
using Parquet.Serialization;
using R1Sharp.Data;
using R1Sharp.Recipes.Common;
using R1Sharp.Recipes.Config;
using R1Sharp.Recipes.Sampling;
using R1Sharp.Recipes.Sft;
using R1Sharp.Training.Runs;

namespace R1Sharp.Recipes.Tests;

/// <summary>Rejection sampling: each filter on hand-written completions, the data file's provenance and formats, a run on a 2-layer model.</summary>
public class RejectionSamplingTests
{
    const string Good = "<think>\nFirst, 7 + 8 = 15.\nThen 15 - 6 = 9.\nSo the answer is 9.\n</think>\nThe answer is \\boxed{9}.";

    static SampleCandidate Sample(string completion, int index = 0, double? accuracy = 1.0, double? format = 1.0, bool truncated = false) =>
        new(index, completion, new Dictionary<string, double?> { ["accuracy"] = accuracy, ["cold_start_format"] = format }, truncated, 20);

    /// <summary>Only the rule under test is on.</summary>
    static readonly RejectionFilter Off = new(DropTruncated: false, CorrectnessReward: null, FormatReward: null, MinLanguageConsistency: 0,
        MaxParagraphChars: 0, DropCodeBlocks: false, MinRepetitionPenalty: 0, Dedupe: false, MaxPerPrompt: 0);

    [Fact]
    public void Default_filters_keep_a_readable_correct_chain()
    {
        Assert.Null(new RejectionFilter().Reject(Sample(Good), "en"));
        Assert.Equal([null], new RejectionFilter().Judge([Sample(Good)], "en"));
    }

    [Fact]
    public void Truncated_samples_are_dropped()
    {
        Assert.Equal(DropReasons.Truncated, (Off with { DropTruncated = true }).Reject(Sample(Good, truncated: true), "en"));
        Assert.Null((Off with { DropTruncated = true }).Reject(Sample(Good), "en"));
    }

    [Fact]
    public void Only_verified_correct_samples_pass()
    {
        var f = Off with { CorrectnessReward = "accuracy" };
        Assert.Null(f.Reject(Sample(Good, accuracy: 1.0), "en"));
        Assert.Equal(DropReasons.Incorrect, f.Reject(Sample(Good, accuracy: 0.0), "en"));
        Assert.Equal(DropReasons.Unverifiable, f.Reject(Sample(Good, accuracy: null), "en")); // "cannot judge" is not "correct"
        Assert.Equal(DropReasons.Incorrect, (f with { CorrectThreshold = 0.5 }).Reject(Sample(Good, accuracy: 0.4), "en"));
    }

    [Fact]
    public void The_format_reward_must_be_one()
    {
        var f = Off with { FormatReward = "cold_start_format" };
        Assert.Equal(DropReasons.Format, f.Reject(Sample(Good, format: 0.0), "en"));
        Assert.Equal(DropReasons.Format, f.Reject(Sample(Good, format: null), "en"));
        Assert.Null(f.Reject(Sample(Good, format: 1.0), "en"));
    }

    [Fact]
    public void Chains_that_mix_languages_are_dropped()
    {
        // The chain of thought switches to French; the summary's language does not count (R1's reward reads the CoT).
        const string mixed = "<think>\nFirst, 7 + 8 = 15.\nEnsuite, 15 - 6 = 9.\nLa réponse est donc 9.\n</think>\nThe answer is \\boxed{9}.";
        Assert.True(RejectionFilter.LanguageConsistency(mixed, "en") < 0.99);
        Assert.Equal(1.0, RejectionFilter.LanguageConsistency(Good, "en"));
        var f = Off with { MinLanguageConsistency = 0.99 };
        Assert.Equal(DropReasons.MixedLanguage, f.Reject(Sample(mixed), "en"));
        Assert.Null(f.Reject(Sample(Good), "en"));
        const string french = "<think>\nD'abord, 7 + 8 = 15.\nEnsuite, 15 - 6 = 9.\nLa réponse est donc 9.\n</think>\nLa réponse est \\boxed{9}.";
        Assert.Null(f.Reject(Sample(french), "fr"));
        Assert.Equal(DropReasons.MixedLanguage, f.Reject(Sample(french), "en"));
        // A chain with no countable word (only numbers) cannot be mixed: kept.
        Assert.Null(f.Reject(Sample("<think>\n7 + 8 = 15\n</think>\n\\boxed{15}"), "en"));
    }

    [Fact]
    public void Code_blocks_are_dropped()
    {
        const string code = "<think>\nLet me compute it.\n```python\nprint(7 + 8 - 6)\n```\n</think>\nThe answer is \\boxed{9}.";
        Assert.True(RejectionFilter.HasCodeBlock(code));
        Assert.False(RejectionFilter.HasCodeBlock(Good));
        Assert.Equal(DropReasons.CodeBlock, (Off with { DropCodeBlocks = true }).Reject(Sample(code), "en"));
    }

    [Fact]
    public void Over_long_paragraphs_are_dropped()
    {
        string forty = new('a', 40), sixty = new('b', 60);
        Assert.Equal(40, RejectionFilter.LongestParagraph($"{forty}\n\n{forty}"));
        Assert.Equal(81, RejectionFilter.LongestParagraph($"{forty}\n{forty}"));        // a single newline does not end a paragraph
        Assert.Equal(60, RejectionFilter.LongestParagraph($"  {forty}\n \t\n{sixty}\n")); // whitespace-only lines are blank; parts trimmed
        var f = Off with { MaxParagraphChars = 50 };
        Assert.Null(f.Reject(Sample($"{forty}\n\n{forty}"), "en"));
        Assert.Equal(DropReasons.LongParagraph, f.Reject(Sample($"{forty}\n\n{sixty}"), "en"));
    }

    [Fact]
    public void Repetitive_samples_are_dropped()
    {
        // 9 words, 7 trigrams, 3 distinct: penalty = −(1 − 3/7) = −4/7 (open-r1's repetition_penalty_reward).
        Assert.Equal(-4.0 / 7.0, RejectionFilter.RepetitionPenalty("a b c a b c a b c", "en"), 12);
        // Good: 23 words, 21 trigrams; "the answer is" comes twice (words are lower-cased), so 20 distinct: −1/21.
        Assert.Equal(-1.0 / 21.0, RejectionFilter.RepetitionPenalty(Good, "en"), 12);
        var f = Off with { MinRepetitionPenalty = -0.3 };
        Assert.Equal(DropReasons.Repetition, f.Reject(Sample("<think>\n15 = 15 = 15 = 15 = 15 = 15 = 15\n</think>\n\\boxed{15}"), "en"));
        Assert.Null(f.Reject(Sample(Good), "en"));
    }

    [Fact]
    public void Identical_completions_of_a_prompt_are_kept_once()
    {
        var verdicts = (Off with { Dedupe = true }).Judge([Sample(Good, 0), Sample(Good + "\n", 1), Sample(Good.Replace("9", "8"), 2)], "en");
        Assert.Equal([null, DropReasons.Duplicate, null], verdicts);
    }

    [Fact]
    public void At_most_max_per_prompt_are_kept_in_sample_order()
    {
        var samples = new[] { Sample(Good + " c", 2), Sample(Good + " a", 0), Sample(Good + " b", 1) };
        Assert.Equal([DropReasons.PerPromptCap, null, null], (Off with { MaxPerPrompt = 2 }).Judge(samples, "en"));
        Assert.Equal([null, null, null], Off.Judge(samples, "en")); // 0: no cap
    }

    [Fact]
    public void A_sample_is_counted_under_the_first_rule_that_rejects_it()
    {
        var f = new RejectionFilter(MaxPerPrompt: 1);
        var samples = new[]
        {
            Sample(Good + "\n```x```", 0, accuracy: 0.0),   // wrong and has code: counted as incorrect
            Sample(Good, 1, format: 0.0),
            Sample(Good, 2),
            Sample(Good, 3),                                 // duplicate of 2 (dedupe runs before the cap)
            Sample(Good.Replace("9", "8"), 4),               // passes everything but the cap
        };
        Assert.Equal([DropReasons.Incorrect, DropReasons.Format, null, DropReasons.Duplicate, DropReasons.PerPromptCap], f.Judge(samples, "en"));
    }

    static SampledRow Row(int i, double? accuracy, string? language) => new($"User: q{i}\nAssistant:", $"<think>\nstep {i}\n</think>\nanswer {i}",
        "reasoning-rl", $"p-{i}", i % 3, new Dictionary<string, double?> { ["accuracy"] = accuracy, ["language"] = 0.5 }, language,
        i == 2 ? SampledRow.General : SampledRow.Reasoning, $"q{i}");

    [Theory]
    [InlineData("jsonl")]
    [InlineData("parquet")]
    public async Task Data_files_keep_provenance_and_load_as_sft_data(string format)
    {
        using var dir = new TempDir();
        string path = dir.Sub("data." + format);
        var rows = new[] { Row(0, 1.0, "en"), Row(1, null, "fr"), Row(2, 1.0, null) };
        SampledRows.Write(path, rows, ["accuracy", "language"]);
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp")); // written atomically, nothing left behind

        var sft = SftData.Load(path);
        Assert.Equal(rows.Select(r => (r.Prompt, r.Completion)), sft.Select(r => (r.Prompt!, r.Completion!)));

        var read = DataRows.Read(path).Select(x => x.Fields).ToList();
        for (int i = 0; i < rows.Length; i++)
        {
            var r = read[i];
            Assert.Equal("reasoning-rl", (string)r["source_stage"]!);
            Assert.Equal($"p-{i}", (string)r["prompt_id"]!);
            Assert.Equal(i % 3, r["sample_index"]!.GetValue<int>());
            Assert.Equal(rows[i].Kind, (string)r["kind"]!);
            Assert.Equal($"q{i}", (string)r["question"]!);
            Assert.Equal(rows[i].Language, (string?)r["language"]);
            var rewards = r["rewards"]!.AsObject();
            Assert.Equal(rows[i].Rewards["accuracy"], rewards["accuracy"]?.GetValue<double>());
            Assert.Equal(0.5, rewards["language"]!.GetValue<double>());
        }
        if (format != "parquet") return;

        // Another Parquet implementation (Parquet.Net) reads the same columns and the rewards struct.
        await using var file = File.OpenRead(path);
        var other = (await ParquetSerializer.DeserializeUntypedAsync(file)).Data;
        Assert.Equal(rows.Select(r => r.Completion), other.Select(r => (string)r["completion"]));
        Assert.Equal(rows.Select(r => r.Rewards["accuracy"]), other.Select(r => ((IDictionary<string, object>)r["rewards"]).TryGetValue("accuracy", out var v) ? (double?)v : null));
    }

    static RejectionSamplingOptions Tiny => new()
    {
        Prompts = 6, Samples = 3, Sampling = new() { MaxNewTokens = 12, Temperature = 1.0, TopP = 1.0 }, GeneralExamples = 3, Seed = 5, LogEvery = 2,
    };

    /// <summary>Every rule off but dedupe: a random model's samples are kept unless identical.</summary>
    static RejectionSamplingOptions Permissive => Tiny with
    {
        RequireCorrect = false, RequireFormat = false, MinLanguageConsistency = 0, MaxParagraphChars = 0, DropCodeBlocks = false,
        MinRepetitionPenalty = 0, DropTruncated = false, MaxPerPrompt = 0, GeneralExamples = 0,
    };

    static int Lines(string path) => File.ReadAllLines(path).Count(l => l.Length > 0);

    [Fact]
    public void Run_on_a_tiny_model_counts_every_sample_once_and_writes_provenance()
    {
        using var dir = new TempDir();
        var messages = new List<string>();
        var result = RejectionSampling.Run(Tiny, TinyModels.Path, dir.Sub("strict"), RunSettings.Quiet(messages.Add));
        Assert.Equal(6, result.Prompts);
        Assert.Equal(18, result.Generated);
        Assert.Equal(result.Generated, result.Kept + result.DroppedBy.Values.Sum());
        Assert.Equal(DropReasons.All.Order(), result.DroppedBy.Keys.Order());
        Assert.True(result.DroppedBy[DropReasons.Truncated] + result.DroppedBy[DropReasons.Incorrect] > 0); // a random model's garbage is rejected
        Assert.Equal(3, result.General);
        Assert.Equal(result.Kept + result.General, SftData.Load(result.DataPath).Count);
        Assert.Equal(6, Lines(Path.Combine(dir.Sub("strict"), "candidates.jsonl")));
        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(dir.Sub("strict"), "summary.json")))!;
        Assert.Equal(result.Kept, summary["kept"]!.GetValue<int>());
        Assert.Equal("sample", summary["recipe"]!.GetValue<string>());
        Assert.Contains(messages, m => m.StartsWith("done: kept", StringComparison.Ordinal));

        var permissive = RejectionSampling.Run(Permissive, TinyModels.Path, dir.Sub("all"), RunSettings.Quiet());
        Assert.Equal(permissive.Generated, permissive.Kept + permissive.DroppedBy[DropReasons.Duplicate]);
        Assert.True(permissive.Kept > 0);
        var rows = DataRows.Read(permissive.DataPath).Select(x => x.Fields).ToList();
        Assert.Equal(permissive.Kept, rows.Count);
        var prompts = RejectionSampling.Prompts(Permissive).Examples.ToDictionary(e => e.Id);
        foreach (var row in rows)
        {
            var example = prompts[(string)row["prompt_id"]!];
            Assert.Equal(example.Prompt, (string)row["prompt"]!);
            Assert.StartsWith("User: ", example.Prompt);                    // plain style
            Assert.Equal(example.Question, (string)row["question"]!);
            Assert.Equal(example.Field("language"), (string?)row["language"]);
            Assert.Equal("reasoning-rl", (string)row["source_stage"]!);
            Assert.Equal(SampledRow.Reasoning, (string)row["kind"]!);
            Assert.InRange(row["sample_index"]!.GetValue<int>(), 0, 2);
            Assert.Equal(["accuracy", "cold_start_format", "language"], row["rewards"]!.AsObject().Select(kv => kv.Key));
        }
    }

    [Fact]
    public void Resume_reuses_samples_and_reapplies_the_filters()
    {
        using var dir = new TempDir();
        string output = dir.Sub("run");
        var first = RejectionSampling.Run(Permissive, TinyModels.Path, output, RunSettings.Quiet());
        string candidates = Path.Combine(output, "candidates.jsonl");
        var lines = File.ReadAllLines(candidates);

        // Finished with the same settings: returned as it is.
        var again = RejectionSampling.Run(Permissive, TinyModels.Path, output, RunSettings.Quiet(resume: true));
        Assert.Equal((first.Kept, first.DataPath), (again.Kept, again.DataPath));

        // Interrupted after two prompts, the third line half written: the two are kept, the rest sampled again.
        File.WriteAllLines(candidates, [lines[0], lines[1], lines[2][..(lines[2].Length / 2)]]);
        File.Delete(Path.Combine(output, "summary.json"));
        var messages = new List<string>();
        var resumed = RejectionSampling.Run(Permissive, TinyModels.Path, output, RunSettings.Quiet(messages.Add, resume: true));
        Assert.Contains(messages, m => m.Contains("2 prompts already sampled", StringComparison.Ordinal));
        Assert.Equal(first.Generated, resumed.Kept + resumed.DroppedBy.Values.Sum());
        var after = File.ReadAllLines(candidates);
        Assert.Equal(6, after.Length);
        Assert.Contains(lines[0], after);
        Assert.Contains(lines[1], after);
        var again2 = RejectionSampling.Run(Permissive, TinyModels.Path, output, RunSettings.Quiet(resume: true)); // the file stays readable
        Assert.Equal(resumed.Kept, again2.Kept);

        // New thresholds, same generation settings: re-filtered without sampling again.
        var capped = RejectionSampling.Run(Permissive with { MaxPerPrompt = 1 }, TinyModels.Path, output, RunSettings.Quiet(messages.Add, resume: true));
        Assert.Equal(6, capped.Kept);
        Assert.Contains(messages, m => m.Contains("6 prompts already sampled", StringComparison.Ordinal));

        // Other generation settings in the same folder: refused.
        var error = Assert.Throws<InvalidDataException>(() =>
            RejectionSampling.Run(Permissive with { Sampling = Permissive.Sampling with { Temperature = 0.5 } }, TinyModels.Path, output, RunSettings.Quiet(resume: true)));
        Assert.Contains("other settings", error.Message);
    }

    [Theory]
    [InlineData("{\"generation\": ")]   // cut short
    [InlineData("[1, 2]")]               // not an object
    public void Resume_with_a_damaged_settings_file_is_refused_naming_it(string content)
    {
        using var dir = new TempDir();
        string output = dir.Sub("run");
        RejectionSampling.Run(Permissive, TinyModels.Path, output, RunSettings.Quiet());
        string settings = Path.Combine(output, "sampling.json");
        File.WriteAllText(settings, content);
        File.Delete(Path.Combine(output, "summary.json"));
        var error = Assert.Throws<InvalidDataException>(() => RejectionSampling.Run(Permissive, TinyModels.Path, output, RunSettings.Quiet(resume: true)));
        Assert.Contains(settings, error.Message);
        Assert.Equal(content, File.ReadAllText(settings));
    }

    [Fact]
    public void Options_are_checked_by_name()
    {
        static string Problems(RejectionSamplingOptions o) => string.Join("\n", ConfigBinder.Validate(o, "sample"));
        Assert.Contains("sample.samples", Problems(Tiny with { Samples = 0 }));
        Assert.Contains("sample.format", Problems(Tiny with { Format = "csv" }));
        Assert.Contains("sample.served_model", Problems(Tiny with { Endpoint = "http://x:8000/v1" }));
        Assert.Contains("sample.sampling.top_p", Problems(Tiny with { Sampling = Tiny.Sampling with { TopP = 2 } }));
        Assert.Contains("sample.sampling.temperature: must be a finite number", Problems(Tiny with { Sampling = Tiny.Sampling with { Temperature = double.NaN } }));
        Assert.Equal(Tasks.PromptStyle.R1Zero, ConfigBinder.LoadYaml(Tiny, "prompt_style: r1_zero", "s.yaml").PromptStyle);
        Assert.Contains("chatml", Assert.Throws<ConfigException>(() => ConfigBinder.LoadYaml(Tiny, "prompt_style: chatml", "s.yaml")).Message);
    }
}

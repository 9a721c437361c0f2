using System.Text.RegularExpressions;
using R1Sharp.Rewards.Rules;

namespace R1Sharp.Recipes.Sampling;

/// <summary>One generated sample of a prompt, with what the filters read.</summary>
/// <param name="Index">Its position among the prompt's N samples (0-based).</param>
/// <param name="Completion">The generated text (special tokens left out, cut before a stop string).</param>
/// <param name="Rewards">Each scored reward's value by name; null where the reward could not judge.</param>
/// <param name="Truncated">Generation stopped at the token limit, not at EOS or a stop string.</param>
/// <param name="Tokens">Generated tokens.</param>
public sealed record SampleCandidate(int Index, string Completion, IReadOnlyDictionary<string, double?> Rewards, bool Truncated, int Tokens);

/// <summary>
/// The names under which rejected samples are counted (keys of <see cref="RejectionSamplingResult.DroppedBy"/>), in the
/// order the filters run. A sample is counted once, under the first filter that rejects it, so kept + Σ dropped = generated.
/// </summary>
public static class DropReasons
{
    public const string Truncated = "truncated", Unverifiable = "unverifiable", Incorrect = "incorrect", Format = "format",
        MixedLanguage = "mixed_language", CodeBlock = "code_block", LongParagraph = "long_paragraph", Repetition = "repetition",
        Duplicate = "duplicate", PerPromptCap = "per_prompt_cap";

    public static IReadOnlyList<string> All { get; } =
        [Truncated, Unverifiable, Incorrect, Format, MixedLanguage, CodeBlock, LongParagraph, Repetition, Duplicate, PerPromptCap];
}

/// <summary>
/// DeepSeek-R1's rejection-sampling filters (paper §2.3.3, "Rejection Sampling and Supervised Fine-Tuning"): keep only
/// correct responses, and drop chains of thought with mixed languages, long paragraphs or code blocks; then dedupe and
/// cap the responses kept per prompt. Each rule is a pure function of the text (and the scored rewards), so it can be
/// checked on hand-written completions. Thresholds of 0 (or null reward names) switch a rule off.
/// </summary>
/// <param name="DropTruncated">Drop samples cut off by the token limit (an unfinished chain is not a worked example).</param>
/// <param name="CorrectnessReward">The reward that verifies the answer (null: keep wrong answers too).</param>
/// <param name="CorrectThreshold">Correct when that reward is at least this; a null value ("cannot judge") is unverifiable.</param>
/// <param name="FormatReward">The reward that checks the layout, which must score 1 (null: no format rule).</param>
/// <param name="MinLanguageConsistency">Drop when the chain of thought's share of target-language words is below this
/// (<see cref="LanguageConsistencyReward.Share"/>); a chain without countable words is kept.</param>
/// <param name="MaxParagraphChars">Drop when a paragraph (text between blank lines) is longer than this many characters.</param>
/// <param name="DropCodeBlocks">Drop completions containing a fenced code block (<c>```</c>).</param>
/// <param name="MinRepetitionPenalty">Drop when open-r1's n-gram repetition penalty (in [−1, 0]) is below this.</param>
/// <param name="RepetitionNgram">n of that penalty.</param>
/// <param name="Dedupe">Drop a completion identical (surrounding whitespace aside) to one already kept for the prompt.</param>
/// <param name="MaxPerPrompt">Keep at most this many per prompt, the first by sample index (0: no cap).</param>
public sealed record RejectionFilter(
    bool DropTruncated = true,
    string? CorrectnessReward = "accuracy",
    double CorrectThreshold = 1.0,
    string? FormatReward = "cold_start_format",
    double MinLanguageConsistency = 0.99,
    int MaxParagraphChars = 2000,
    bool DropCodeBlocks = true,
    double MinRepetitionPenalty = -0.3,
    int RepetitionNgram = 3,
    bool Dedupe = true,
    int MaxPerPrompt = 1)
{
    static readonly Regex BlankLine = new(@"\n[ \t\r]*\n", RegexOptions.CultureInvariant);

    /// <summary>
    /// The verdict on each sample of one prompt, in order: null when kept, else the <see cref="DropReasons"/> name of the
    /// first rule that rejects it. <paramref name="language"/> is the prompt's language (reference field <c>language</c>).
    /// </summary>
    public IReadOnlyList<string?> Judge(IReadOnlyList<SampleCandidate> samples, string language)
    {
        var verdicts = new string?[samples.Count];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        int kept = 0;
        foreach (int i in Enumerable.Range(0, samples.Count).OrderBy(i => samples[i].Index))
        {
            var reason = Reject(samples[i], language);
            if (reason is null && Dedupe && !seen.Add(DedupeKey(samples[i].Completion))) reason = DropReasons.Duplicate;
            if (reason is null && MaxPerPrompt > 0 && kept >= MaxPerPrompt) reason = DropReasons.PerPromptCap;
            if (reason is null) kept++;
            verdicts[i] = reason;
        }
        return verdicts;
    }

    /// <summary>The first per-sample rule that rejects <paramref name="s"/> (null: it passes them all).</summary>
    public string? Reject(SampleCandidate s, string language)
    {
        if (DropTruncated && s.Truncated) return DropReasons.Truncated;
        if (CorrectnessReward is not null)
        {
            double? score = s.Rewards.GetValueOrDefault(CorrectnessReward);
            if (score is null || double.IsNaN(score.Value)) return DropReasons.Unverifiable;
            if (score < CorrectThreshold) return DropReasons.Incorrect;
        }
        if (FormatReward is not null && s.Rewards.GetValueOrDefault(FormatReward) is not >= 1.0) return DropReasons.Format;
        if (MinLanguageConsistency > 0 && LanguageConsistency(s.Completion, language) is double share && share < MinLanguageConsistency)
            return DropReasons.MixedLanguage;
        if (DropCodeBlocks && HasCodeBlock(s.Completion)) return DropReasons.CodeBlock;
        if (MaxParagraphChars > 0 && LongestParagraph(s.Completion) > MaxParagraphChars) return DropReasons.LongParagraph;
        if (MinRepetitionPenalty < 0 && RepetitionPenalty(s.Completion, language, RepetitionNgram) < MinRepetitionPenalty)
            return DropReasons.Repetition;
        return null;
    }

    /// <summary>Share of the chain of thought's words in <paramref name="language"/>, as the <c>language</c> reward computes it; null when no word counts.</summary>
    public static double? LanguageConsistency(string completion, string language) =>
        LanguageConsistencyReward.Share(CompletionText.ChainOfThought(completion), language);

    /// <summary>True when the text contains a Markdown code fence (<c>```</c>).</summary>
    public static bool HasCodeBlock(string completion) => completion.Contains("```", StringComparison.Ordinal);

    /// <summary>Characters of the longest paragraph: the text is split at blank lines, each part trimmed.</summary>
    public static int LongestParagraph(string completion) =>
        BlankLine.Split(completion).Select(p => p.Trim().Length).DefaultIfEmpty(0).Max();

    /// <summary>open-r1's n-gram repetition penalty of the whole completion: (1 − unique n-grams / n-grams) · (−1).</summary>
    public static double RepetitionPenalty(string completion, string language, int ngram = 3) =>
        new RepetitionPenaltyReward(ngram, -1.0, language).ScoreOne(completion, language);

    /// <summary>What makes two completions "identical": the text without surrounding whitespace.</summary>
    public static string DedupeKey(string completion) => completion.Trim();
}

using System.Globalization;
using System.Text.RegularExpressions;
using R1Sharp.Rewards.Rules;

namespace R1Sharp.Tasks.Arithmetic;

/// <summary>
/// The embedded arithmetic task: the task the CPU demo trains a tiny model on, from scratch, through the whole
/// DeepSeek-R1 pipeline. Short arithmetic chains in English and French ("Compute 37 + 48 - 19", "Tom has 37
/// apples…"), whose answer a tiny model cannot produce in one shot but can reach one step at a time.
/// </summary>
/// <remarks>
/// Data for each stage (docs/pipeline.md):
/// <list type="number">
/// <item>Base model: <see cref="PretrainingCorpus(PretrainingCorpusOptions?)"/>.</item>
/// <item>R1-Zero: <see cref="RlTask"/> (R1-Zero template) with <see cref="R1ZeroRewards"/>; evaluation on <see cref="EvalTask"/>.</item>
/// <item>Cold start: <see cref="ColdStartExamples"/> (<c>&lt;think&gt;\n…\n&lt;/think&gt;\n{summary}</c>).</item>
/// <item>Reasoning RL: <see cref="RlTask"/> with <see cref="ReasoningRewards"/> (accuracy + readable format + language).</item>
/// <item>Rejection sampling + SFT: samples of stage 3 plus <see cref="GeneralSftExamples"/>.</item>
/// <item>Final RL: <see cref="RlTask"/> plus <see cref="GeneralTask"/>; reward model trained on <see cref="PreferencePairs"/>.</item>
/// </list>
/// Every reasoning example carries reference fields <c>answer</c> (integer), <c>language</c> (en/fr),
/// <c>solution</c> (worked solution) and <c>expression</c>. Held-out prompts (<see cref="EvalTask"/>) are disjoint
/// from all training data by construction (<see cref="ArithmeticGenerator"/>).
/// </remarks>
public static class EmbeddedTask
{
    /// <summary>The task's name in configs.</summary>
    public const string Name = "arithmetic";

    /// <summary>
    /// The CPU demo's problems: chains of 2–3 operations on single-digit operands written as bare expressions
    /// ("Compute 7 + 8 - 6" / "Calcule …"), running results up to 30. Each step is one of a few hundred facts a model
    /// of a few million parameters memorises within minutes, while the whole chain in one shot stays hard for it —
    /// the gap R1-Zero's reinforcement learning exploits. Two-digit operands and word problems need a larger budget.
    /// </summary>
    public static ArithmeticDifficulty DemoDifficulty { get; } = new(MaxOperand: 9, MaxFactor: 3, MaxResult: 30, Wording: WordingStyle.Expression);

    /// <summary>
    /// The hard evaluation split: chains of exactly four operations on the demo's single-digit operands. Every step is a
    /// fact of the pretraining corpus and the working is the same line per step; the pipeline's corpus works chains this
    /// long only in textbook solutions (outside the template), so the base rarely solves them, and a model that learned to
    /// work one step at a time can. No chain of it is in the standard split or in any training data.
    /// </summary>
    public static ArithmeticDifficulty HardDifficulty { get; } = DemoDifficulty with { MinOperations = 4, MaxOperations = 4 };

    /// <summary>R1-Zero stage rewards: accuracy + the R1-Zero template's format (DeepSeek-R1, §2.2).</summary>
    public static IReadOnlyList<RewardSpec> R1ZeroRewards { get; } = [new("accuracy"), new("r1_zero_format")];

    /// <summary>Reasoning-RL stage rewards: accuracy + cold-start format + language consistency (DeepSeek-R1, §2.3.2).</summary>
    public static IReadOnlyList<RewardSpec> ReasoningRewards { get; } = [new("accuracy"), new("cold_start_format"), new("language")];

    /// <summary>Problems of one split (see <see cref="ArithmeticGenerator.Generate"/>).</summary>
    public static IReadOnlyList<ArithmeticProblem> Problems(ArithmeticSplit split, int count, int seed = 0, ArithmeticDifficulty? difficulty = null) =>
        ArithmeticGenerator.Generate(split, count, seed, difficulty);

    /// <summary>Training prompts, rendered in <paramref name="style"/> (R1-Zero template by default).</summary>
    public static TaskDefinition RlTask(int count, int seed = 0, ArithmeticDifficulty? difficulty = null, PromptStyle style = PromptStyle.R1Zero) =>
        Task($"{Name}_train", ArithmeticSplit.Train, count, seed, difficulty, style);

    /// <summary>Held-out evaluation prompts, disjoint from every training chain.</summary>
    public static TaskDefinition EvalTask(int count, int seed = 0, ArithmeticDifficulty? difficulty = null, PromptStyle style = PromptStyle.R1Zero) =>
        Task($"{Name}_heldout", ArithmeticSplit.HeldOut, count, seed, difficulty, style);

    /// <summary>
    /// A plain multi-turn transcript, the layout <c>r1sharp chat</c> sends a model without a chat template: each earlier
    /// turn as <c>User: {question}\nAssistant: {reply}\n</c> (the reply as chat keeps it: the summary, without the
    /// thinking), then <c>User: {question}\nAssistant:</c>. With no history it is the plain single-turn prompt.
    /// </summary>
    public static string ConversationPrompt(IEnumerable<(string Question, string Reply)> history, string question)
    {
        var sb = new System.Text.StringBuilder();
        foreach (var (q, r) in history) sb.Append("User: ").Append(q).Append("\nAssistant: ").Append(r.Trim()).Append('\n');
        return sb.Append(PromptTemplates.RenderPlain(question)).ToString();
    }

    /// <summary>The reply a conversation keeps for an answered problem: its summary (<c>The answer is \boxed{N}.</c>) in its language.</summary>
    public static string ConversationReply(ArithmeticProblem p) => ArithmeticText.Summary(p.Answer, p.Language);

    /// <summary>
    /// Turn <paramref name="turn"/> of <paramref name="conversations"/> held-out conversations of <paramref name="turns"/>
    /// problems each: the prompt holds the conversation's first turn−1 problems, answered, then asks problem
    /// <paramref name="turn"/> (graded as usual). The same conversations for every turn, so turn k differs from turn 1
    /// only in its history.
    /// </summary>
    public static TaskDefinition ConversationTurnTask(int conversations, int turns, int turn, int seed = 0, ArithmeticDifficulty? difficulty = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(turn, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(turn, turns);
        var problems = Problems(ArithmeticSplit.HeldOut, conversations * turns, unchecked(seed + 7_000_000), difficulty);
        return new($"{Name}_turn{turn}",
            [.. Enumerable.Range(0, conversations).Select(c =>
            {
                var conversation = problems.Skip(c * turns).Take(turns).ToList();
                var target = conversation[turn - 1];
                return new TaskExample(string.Create(CultureInfo.InvariantCulture, $"conversation-{seed}-{c:D4}-turn{turn}"), target.Question,
                    ConversationPrompt(conversation.Take(turn - 1).Select(p => (p.Question, ConversationReply(p))), target.Question), Reference(target));
            })],
            ReasoningRewards,
            new EvaluationMetric("accuracy"),
            $"Held-out conversations, turn {turn} of {turns}.")
        { Grader = Grade };
    }

    /// <summary>The pretraining corpus as plain documents.</summary>
    public static IReadOnlyList<string> PretrainingCorpus(PretrainingCorpusOptions? options = null) =>
        [.. Arithmetic.PretrainingCorpus.Build(options).Select(d => d.Text)];

    /// <summary>The pretraining corpus with each document's kind.</summary>
    public static IReadOnlyList<CorpusDocument> PretrainingDocuments(PretrainingCorpusOptions? options = null) =>
        Arithmetic.PretrainingCorpus.Build(options);

    /// <summary>
    /// Cold-start examples: training problems with the readable completion
    /// <c>&lt;think&gt;\n{one line per step}\n&lt;/think&gt;\n{summary with \boxed{answer}}</c>, all in the problem's
    /// language. The prompt is rendered in <paramref name="style"/> (plain transcript by default: the readable format
    /// does not use the R1-Zero template's answer tags).
    /// </summary>
    public static IReadOnlyList<SftExample> ColdStartExamples(int count, int seed = 0, ArithmeticDifficulty? difficulty = null, PromptStyle style = PromptStyle.Plain) =>
        [.. Problems(ArithmeticSplit.Train, count, unchecked(seed * 104729 + 7), difficulty)
            .Select(p => new SftExample(p.Id, p.Question, PromptTemplates.Render(p.Question, style), EmbeddedCompletions.ColdStart(p), Reference(p)))];

    /// <summary>Preference pairs on general prompts; <paramref name="harmlessShare"/> of them are harmlessness pairs.</summary>
    public static IReadOnlyList<PreferencePair> PreferencePairs(int count, int seed = 0, double harmlessShare = 0.3, PromptStyle style = PromptStyle.Plain) =>
        [.. GeneralData.Exchanges(count, seed, harmlessShare).Select((e, i) => new PreferencePair(
            string.Create(CultureInfo.InvariantCulture, $"pref-{seed}-{i:D5}"), e.Question, PromptTemplates.Render(e.Question, style), e.Good, e.Bad, e.Category, e.Language))];

    /// <summary>
    /// Preference pairs from the held-out side of the general data (<see cref="GeneralData.IsHeldOut"/>): what the
    /// pipeline's judges learn from, disjoint from every pair and prompt the final RL trains on.
    /// </summary>
    public static IReadOnlyList<PreferencePair> HeldOutPreferencePairs(int count, int seed = 0, double harmlessShare = 0.3, PromptStyle style = PromptStyle.Plain) =>
        [.. GeneralData.Exchanges(count, seed, harmlessShare, ArithmeticSplit.HeldOut).Select((e, i) => new PreferencePair(
            string.Create(CultureInfo.InvariantCulture, $"pref-heldout-{seed}-{i:D5}"), e.Question, PromptTemplates.Render(e.Question, style), e.Good, e.Bad, e.Category, e.Language))];

    /// <summary>
    /// Held-out general prompts (the held-out side of the general data), for scoring helpfulness and harmlessness: each
    /// carries <c>category</c>, <c>language</c>, <c>response</c> (the good reply) and <c>rejected</c> (the bad one).
    /// </summary>
    public static TaskDefinition HeldOutGeneralTask(int count, int seed = 0, double harmlessShare = 0.3, PromptStyle style = PromptStyle.Plain) =>
        new($"{Name}_general_heldout",
            [.. GeneralData.Exchanges(count, unchecked(seed + 5_000_000), harmlessShare, ArithmeticSplit.HeldOut).Select((e, i) => new TaskExample(
                string.Create(CultureInfo.InvariantCulture, $"general-heldout-{seed}-{i:D5}"), e.Question, PromptTemplates.Render(e.Question, style),
                new Dictionary<string, string>(GeneralReference(e), StringComparer.Ordinal) { ["rejected"] = e.Bad }))],
            [new RewardSpec("language")],
            new EvaluationMetric("language", 1.0),
            "Held-out general prompts: words, names, colours, requests, outside questions and number pairs no training data uses.")
        { Grader = Grade };

    /// <summary>General (non-reasoning) SFT examples: the good reply as the completion, without a think block.</summary>
    public static IReadOnlyList<SftExample> GeneralSftExamples(int count, int seed = 0, double harmlessShare = 0.2, PromptStyle style = PromptStyle.Plain) =>
        [.. GeneralData.Exchanges(count, unchecked(seed + 1_000_000), harmlessShare).Select((e, i) => new SftExample(
            string.Create(CultureInfo.InvariantCulture, $"general-{seed}-{i:D5}"), e.Question, PromptTemplates.Render(e.Question, style), e.Good, GeneralReference(e)))];

    /// <summary>General prompts for the final RL stage (judged by reward models), with the reference reply as <c>response</c>.</summary>
    public static TaskDefinition GeneralTask(int count, int seed = 0, double harmlessShare = 0.3, PromptStyle style = PromptStyle.Plain) =>
        new($"{Name}_general",
            [.. GeneralData.Exchanges(count, unchecked(seed + 2_000_000), harmlessShare).Select((e, i) => new TaskExample(
                string.Create(CultureInfo.InvariantCulture, $"general-rl-{seed}-{i:D5}"), e.Question, PromptTemplates.Render(e.Question, style), GeneralReference(e)))],
            [new RewardSpec("language")],
            new EvaluationMetric("language", 1.0),
            "General (non-reasoning) prompts: translate, greet, compare, name a colour, and mild requests to refuse.")
        { Grader = Grade };

    /// <summary>
    /// A grader for this task (usable as the accuracy grader): the completion's final answer is the content of its
    /// last <c>&lt;answer&gt;</c> block, else of its last <c>\boxed{…}</c>; it is correct when it is exactly an
    /// integer (surrounding spaces and one final period allowed) equal to the gold. Null when the gold is not an
    /// integer; false when no answer is found.
    /// </summary>
    public static bool? Grade(string gold, string completion)
    {
        if (!int.TryParse(gold.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int expected)) return null;
        string? answer = CompletionText.LastAnswer(completion) ?? LastBoxed(completion);
        if (answer is null) return false;
        string text = answer.Trim();
        if (text.EndsWith('.')) text = text[..^1].TrimEnd();
        return int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value) && value == expected;
    }

    private static readonly Regex Boxed = new(@"\\boxed\{([^{}]*)\}", RegexOptions.CultureInvariant | RegexOptions.RightToLeft);

    private static string? LastBoxed(string completion)
    {
        var match = Boxed.Match(completion);
        return match.Success ? match.Groups[1].Value : null;
    }

    private static TaskDefinition Task(string name, ArithmeticSplit split, int count, int seed, ArithmeticDifficulty? difficulty, PromptStyle style) =>
        new(name,
            [.. Problems(split, count, seed, difficulty).Select(p => new TaskExample(p.Id, p.Question, PromptTemplates.Render(p.Question, style), Reference(p)))],
            style == PromptStyle.R1Zero ? R1ZeroRewards : ReasoningRewards,
            new EvaluationMetric("accuracy"),
            $"Embedded arithmetic ({split}), {count} problems, seed {seed}.")
        { Grader = Grade };

    internal static Dictionary<string, string> Reference(ArithmeticProblem p) => new(StringComparer.Ordinal)
    {
        ["answer"] = p.Answer.ToString(CultureInfo.InvariantCulture),
        ["language"] = p.Language,
        ["solution"] = p.WorkedSolution,
        ["expression"] = p.Expression,
    };

    private static Dictionary<string, string> GeneralReference(GeneralData.Exchange e) => new(StringComparer.Ordinal)
    {
        ["language"] = e.Language,
        ["category"] = e.Category,
        ["kind"] = e.Kind,
        ["response"] = e.Good,
    };
}

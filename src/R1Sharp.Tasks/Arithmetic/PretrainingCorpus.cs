using R1Sharp.Data;
namespace R1Sharp.Tasks.Arithmetic;

/// <summary>What a pretraining document teaches.</summary>
public enum CorpusDocumentKind
{
    /// <summary>(a) Single-operation facts, one per line, symbolic or in words.</summary>
    Facts,
    /// <summary>(b) A problem answered at once, without working (sometimes wrongly).</summary>
    DirectAnswer,
    /// <summary>(c) A problem worked step by step in the R1-Zero format.</summary>
    WorkedExample,
    /// <summary>(f) A general exchange: a question and a good reply (translate, greet, compare, colours, polite refusals).</summary>
    General,
    /// <summary>(e) A problem worked step by step as in a textbook: the question, the solution lines, and the answer
    /// boxed as in MATH solutions — no template, no think tags.</summary>
    Textbook,
}

/// <summary>One pretraining document and what it is (so tests and reports can check the mix).</summary>
/// <param name="Kind">What the document teaches.</param>
/// <param name="Text">The document text.</param>
/// <param name="Language">The language of the problem or facts (en/fr).</param>
/// <param name="Answer">The answer the document gives (null for facts).</param>
/// <param name="IsWrong">A direct answer that is deliberately wrong.</param>
/// <param name="R1ZeroFormat">Written as prompt + <c>&lt;think&gt; … &lt;/think&gt; &lt;answer&gt; … &lt;/answer&gt;</c>.</param>
/// <param name="WorkingLanguage">The language of the working or one-word thought, when there is one.</param>
/// <param name="Problem">The problem, for (b) and (c).</param>
public sealed record CorpusDocument(
    CorpusDocumentKind Kind,
    string Text,
    string Language,
    int? Answer = null,
    bool IsWrong = false,
    bool R1ZeroFormat = false,
    string? WorkingLanguage = null,
    ArithmeticProblem? Problem = null)
{
    /// <summary>Working written in the other language than the problem (the mixing R1-Zero inherits).</summary>
    public bool MixesLanguages => WorkingLanguage is not null && WorkingLanguage != Language;
}

/// <summary>
/// Settings of the synthetic pretraining corpus. The intent is a base model that is "imperfect on purpose" in the
/// way DeepSeek-V3-Base is for R1-Zero: it knows every single step (facts), usually answers at once without
/// thinking (direct answers, some of them wrong, as a careless writer would), has seen step-by-step working only
/// rarely (worked examples), and has seen working in the wrong language (mixing). RL then has something to find
/// (working pays), something to fix (wrong direct answers), and the language reward something to correct.
/// </summary>
/// <param name="Documents">Number of documents.</param>
/// <param name="Seed">Seed; the same options give the same corpus.</param>
/// <param name="FactShare">(a) Share of fact documents.</param>
/// <param name="DirectShare">(b) Share of direct-answer documents.</param>
/// <param name="WorkedShare">(c) Share of worked examples in the R1-Zero format.</param>
/// <param name="TextbookShare">(e) Share of textbook solutions: worked problems outside the R1-Zero format. They teach
/// the copying that working needs (operands from the question, each running result from the line before) without
/// making the base model work more often when prompted with the R1-Zero template.</param>
/// <param name="GeneralShare">(f) Share of general exchanges (<see cref="GeneralData"/>): the words of the general prompts
/// and replies, which later stages fine-tune on and reward models judge. The five shares must sum to 1.</param>
/// <param name="WrongDirectShare">Share of direct answers that are wrong (off by 1, 2 or 10).</param>
/// <param name="R1ZeroShareOfDirect">Share of direct answers written in the R1-Zero format (the rest as "Answer: n").</param>
/// <param name="EmptyThinkShare">Share of R1-Zero direct answers whose think is empty (the rest think one word).</param>
/// <param name="MixedLanguageShare">(d) Share of worked examples, and of one-word thoughts, in the other language.</param>
/// <param name="FactsPerDocument">Lines per fact document.</param>
/// <param name="FactsInWordsShare">Share of fact lines written in words ("37 plus 48 is 85.") rather than symbols.</param>
/// <param name="Difficulty">Problem difficulty; facts cover the same operand and result ranges.</param>
/// <param name="PromptStyle">How problem documents render the question before the R1-Zero completion: the R1-Zero
/// template (default, what the R1-Zero stage prompts with) or a shorter form such as <see cref="Tasks.PromptStyle.Plain"/>.</param>
/// <param name="TextbookMaxOperations">Longest chain of the textbook solutions; 0 (default) = the difficulty's. Longer than
/// the difficulty's, the textbook solutions have 2…N operations (the rest of the corpus keeps the difficulty's): the base
/// has seen working that long, but only outside the template, and never answers such a chain directly.</param>
public sealed record PretrainingCorpusOptions(
    int Documents = 20_000,
    int Seed = 0,
    double FactShare = 0.45,
    double DirectShare = 0.45,
    double WorkedShare = 0.10,
    double WrongDirectShare = 0.3,
    double R1ZeroShareOfDirect = 0.8,
    double EmptyThinkShare = 0.5,
    double MixedLanguageShare = 0.3,
    int FactsPerDocument = 8,
    double FactsInWordsShare = 0.5,
    ArithmeticDifficulty? Difficulty = null,
    PromptStyle PromptStyle = PromptStyle.R1Zero,
    double TextbookShare = 0.0,
    double GeneralShare = 0.0,
    int TextbookMaxOperations = 0)
{
    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (Documents < 0) throw new ArgumentException($"Documents ({Documents}) must not be negative.");
        if (FactsPerDocument < 1) throw new ArgumentException($"FactsPerDocument ({FactsPerDocument}) must be at least 1.");
        foreach (var (name, value) in new[]
                 {
                     (nameof(FactShare), FactShare), (nameof(DirectShare), DirectShare), (nameof(WorkedShare), WorkedShare),
                     (nameof(TextbookShare), TextbookShare), (nameof(GeneralShare), GeneralShare),
                     (nameof(WrongDirectShare), WrongDirectShare), (nameof(R1ZeroShareOfDirect), R1ZeroShareOfDirect),
                     (nameof(EmptyThinkShare), EmptyThinkShare), (nameof(MixedLanguageShare), MixedLanguageShare),
                     (nameof(FactsInWordsShare), FactsInWordsShare),
                 })
            if (value is < 0 or > 1 || double.IsNaN(value)) throw new ArgumentException($"{name} ({value}) must be in [0, 1].");
        double sum = FactShare + DirectShare + WorkedShare + TextbookShare + GeneralShare;
        if (Math.Abs(sum - 1) > 1e-9)
            throw new ArgumentException($"FactShare + DirectShare + WorkedShare + TextbookShare + GeneralShare must be 1, got {sum}.");
        (Difficulty ?? new ArithmeticDifficulty()).Validate();
        if (TextbookMaxOperations != 0) TextbookDifficulty(Difficulty ?? new ArithmeticDifficulty()).Validate();
    }

    /// <summary>The textbook solutions' problems: the difficulty, up to <see cref="TextbookMaxOperations"/> operations when that is longer.</summary>
    public ArithmeticDifficulty TextbookDifficulty(ArithmeticDifficulty d) =>
        TextbookMaxOperations > d.MaxOperations ? d with { MaxOperations = TextbookMaxOperations } : d;
}

/// <summary>Builds the pretraining corpus (see <see cref="PretrainingCorpusOptions"/> for the intent).</summary>
/// <remarks>
/// Counts are exact, not sampled: of N documents, round(N·FactShare) are facts, round(N·WorkedShare) worked,
/// round(N·TextbookShare) textbook solutions, round(N·GeneralShare) general exchanges, the rest direct; within direct answers round(n·WrongDirectShare) are wrong and round(n·R1ZeroShareOfDirect) in the
/// R1-Zero format; within worked examples round(n·MixedLanguageShare) mix languages. The order is then shuffled.
/// Problems come from the training split only (<see cref="ArithmeticGenerator"/>), so held-out chains never appear.
/// </remarks>
public static class PretrainingCorpus
{
    /// <summary>The documents with their kinds.</summary>
    public static IReadOnlyList<CorpusDocument> Build(PretrainingCorpusOptions? options = null)
    {
        var o = options ?? new PretrainingCorpusOptions();
        o.Validate();
        var d = o.Difficulty ?? new ArithmeticDifficulty();
        var rng = new DeterministicRandom(o.Seed, "arith-corpus");

        int facts = (int)Math.Round(o.Documents * o.FactShare);
        int worked = Math.Min(o.Documents - facts, (int)Math.Round(o.Documents * o.WorkedShare));
        int textbook = Math.Min(o.Documents - facts - worked, (int)Math.Round(o.Documents * o.TextbookShare));
        int general = Math.Min(o.Documents - facts - worked - textbook, (int)Math.Round(o.Documents * o.GeneralShare));
        int direct = o.Documents - facts - worked - textbook - general;

        // Distinct training problems for the problem documents (seed offset keeps them apart from RL prompt seeds).
        var td = o.TextbookDifficulty(d);
        var problems = ArithmeticGenerator.Generate(ArithmeticSplit.Train, direct + worked + (td == d ? textbook : 0), unchecked(o.Seed * 7919 + 1_000_003), d);
        if (td != d) // longer textbook chains: their own draw, after the others (the shorter documents stay as they were)
            problems = [.. problems, .. ArithmeticGenerator.Generate(ArithmeticSplit.Train, textbook, unchecked(o.Seed * 7919 + 2_000_003), td)];
        var documents = new List<CorpusDocument>(o.Documents);

        for (int i = 0; i < facts; i++) documents.Add(FactDocument(rng, d, o));

        bool[] wrong = Flags(direct, o.WrongDirectShare, rng);
        bool[] r1Zero = Flags(direct, o.R1ZeroShareOfDirect, rng);
        for (int i = 0; i < direct; i++) documents.Add(DirectDocument(problems[i], wrong[i], r1Zero[i], rng, o));

        bool[] mixed = Flags(worked, o.MixedLanguageShare, rng);
        for (int i = 0; i < worked; i++) documents.Add(WorkedDocument(problems[direct + i], mixed[i], o));

        for (int i = 0; i < textbook; i++)
        {
            var p = problems[direct + worked + i];
            documents.Add(new CorpusDocument(CorpusDocumentKind.Textbook, EmbeddedCompletions.Textbook(p), p.Language, p.Answer,
                WorkingLanguage: p.Language, Problem: p));
        }

        // General exchanges from their own seed range (apart from the SFT, preference and RL draws of GeneralData).
        foreach (var e in GeneralData.Exchanges(general, unchecked(o.Seed + 3_000_000), harmlessShare: 0.2))
            documents.Add(new CorpusDocument(CorpusDocumentKind.General, e.Question + "\n" + e.Good, e.Language));

        rng.Shuffle(documents);
        return documents;
    }

    /// <summary>Exactly round(n·share) true flags in random positions.</summary>
    private static bool[] Flags(int n, double share, DeterministicRandom rng)
    {
        var flags = new bool[n];
        int on = (int)Math.Round(n * share);
        for (int i = 0; i < on; i++) flags[i] = true;
        rng.Shuffle(flags);
        return flags;
    }

    private static CorpusDocument FactDocument(DeterministicRandom rng, ArithmeticDifficulty d, PretrainingCorpusOptions o)
    {
        string language = rng.Chance(d.FrenchShare) ? "fr" : "en";
        var lines = new List<string>(o.FactsPerDocument);
        for (int k = 0; k < o.FactsPerDocument; k++)
        {
            // Half the facts are steps of random chains (the exact distribution RL will need), half uniform.
            var step = rng.Chance(0.5) ? rng.Pick(ArithmeticGenerator.RandomChain(rng, d)) : UniformFact(rng, d);
            lines.Add(ArithmeticText.Fact(step, language, rng.Chance(o.FactsInWordsShare)));
        }
        return new CorpusDocument(CorpusDocumentKind.Facts, string.Join("\n", lines), language);
    }

    private static ArithmeticStep UniformFact(DeterministicRandom rng, ArithmeticDifficulty d)
    {
        while (true)
        {
            int left = rng.Next(0, d.MaxResult);
            int which = rng.Next(0, d.Multiplication ? 2 : 1);
            if (which == 0 && left + d.MinOperand <= d.MaxResult)
            {
                int right = rng.Next(d.MinOperand, Math.Min(d.MaxOperand, d.MaxResult - left));
                return new ArithmeticStep(left, ArithmeticOperator.Add, right, left + right);
            }
            if (which == 1 && left >= d.MinOperand)
            {
                int right = rng.Next(d.MinOperand, Math.Min(d.MaxOperand, left));
                return new ArithmeticStep(left, ArithmeticOperator.Subtract, right, left - right);
            }
            if (which == 2 && left >= 1 && left * 2 <= d.MaxResult)
            {
                int right = rng.Next(2, Math.Min(d.MaxFactor, d.MaxResult / left));
                return new ArithmeticStep(left, ArithmeticOperator.Multiply, right, left * right);
            }
        }
    }

    private static CorpusDocument DirectDocument(ArithmeticProblem p, bool wrong, bool r1Zero, DeterministicRandom rng, PretrainingCorpusOptions o)
    {
        int answer = wrong ? CarelessAnswer(p.Answer, rng) : p.Answer;
        if (!r1Zero)
            return new CorpusDocument(CorpusDocumentKind.DirectAnswer, p.Question + "\n" + ArithmeticText.PlainAnswer(answer, p.Language),
                p.Language, answer, wrong, false, null, p);
        string? thought = null, thoughtLanguage = null;
        if (!rng.Chance(o.EmptyThinkShare))
        {
            thoughtLanguage = rng.Chance(o.MixedLanguageShare) ? ArithmeticText.Other(p.Language) : p.Language;
            thought = rng.Pick(ArithmeticText.OneWordThoughts(thoughtLanguage));
        }
        string text = PromptTemplates.Render(p.Question, o.PromptStyle) + " " + EmbeddedCompletions.R1ZeroDirect(answer, thought);
        return new CorpusDocument(CorpusDocumentKind.DirectAnswer, text, p.Language, answer, wrong, true, thoughtLanguage, p);
    }

    private static CorpusDocument WorkedDocument(ArithmeticProblem p, bool mixed, PretrainingCorpusOptions o)
    {
        string working = mixed ? ArithmeticText.Other(p.Language) : p.Language;
        string text = PromptTemplates.Render(p.Question, o.PromptStyle) + " " + EmbeddedCompletions.R1ZeroWorked(p, working);
        return new CorpusDocument(CorpusDocumentKind.WorkedExample, text, p.Language, p.Answer, false, true, working, p);
    }

    /// <summary>A careless writer's answer: off by 1, 2 or 10, never negative, never right.</summary>
    internal static int CarelessAnswer(int answer, DeterministicRandom rng)
    {
        int[] deltas = [-10, -2, -1, 1, 2, 10];
        while (true)
        {
            int candidate = answer + rng.Pick(deltas);
            if (candidate >= 0 && candidate != answer) return candidate;
        }
    }
}

/// <summary>The completion layouts the embedded task writes.</summary>
public static class EmbeddedCompletions
{
    /// <summary>R1-Zero, worked: <c>&lt;think&gt; First, 37 + 48 = 85.\nThen 85 - 19 = 66.\nSo the answer is 66. &lt;/think&gt; &lt;answer&gt; 66 &lt;/answer&gt;</c>, working in <paramref name="workingLanguage"/>.</summary>
    public static string R1ZeroWorked(ArithmeticProblem problem, string workingLanguage) =>
        $"<think> {ArithmeticText.WorkedSolution(problem.Steps, workingLanguage)} </think> <answer> {problem.Answer} </answer>";

    /// <summary>R1-Zero, direct: <c>&lt;think&gt; &lt;/think&gt; &lt;answer&gt; 66 &lt;/answer&gt;</c>, or with a one-word thought.</summary>
    public static string R1ZeroDirect(int answer, string? thought) =>
        thought is null ? $"<think> </think> <answer> {answer} </answer>" : $"<think> {thought} </think> <answer> {answer} </answer>";

    /// <summary>Textbook: <c>{question}\n{step lines}\nThe answer is \boxed{66}.</c> in the problem's language.</summary>
    public static string Textbook(ArithmeticProblem problem) =>
        problem.Question + "\n" + string.Join("\n", ArithmeticText.StepLines(problem.Steps, problem.Language)) + "\n"
        + ArithmeticText.Summary(problem.Answer, problem.Language);

    /// <summary>Cold start (readable): <c>&lt;think&gt;\n{step lines}\n&lt;/think&gt;\n{summary}</c> in the problem's language.</summary>
    public static string ColdStart(ArithmeticProblem problem) =>
        "<think>\n" + string.Join("\n", ArithmeticText.StepLines(problem.Steps, problem.Language)) + "\n</think>\n"
        + ArithmeticText.Summary(problem.Answer, problem.Language);
}

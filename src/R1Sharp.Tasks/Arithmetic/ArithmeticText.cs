using System.Globalization;
using System.Text;
using R1Sharp.Data;

namespace R1Sharp.Tasks.Arithmetic;

/// <summary>
/// The English and French wording of the embedded task: questions, worked solutions, single-operation facts,
/// direct answers and summaries. Everything a generator writes in natural language comes from here.
/// </summary>
public static class ArithmeticText
{
    /// <summary>The languages of the embedded task.</summary>
    public static IReadOnlyList<string> Languages { get; } = ["en", "fr"];

    internal sealed record Person(string Name, bool Female);

    internal static readonly Person[] EnglishPeople = [new("Tom", false), new("Anna", true), new("Sam", false), new("Lucy", true), new("Ben", false), new("Emma", true)];
    internal static readonly Person[] FrenchPeople = [new("Paul", false), new("Léa", true), new("Hugo", false), new("Chloé", true), new("Louis", false), new("Manon", true)];

    // Plural nouns, English and French (French ones start with a consonant: "de pommes", never "d'…").
    internal static readonly (string En, string Fr)[] Items =
    [
        ("apples", "pommes"), ("marbles", "billes"), ("books", "livres"), ("stamps", "timbres"), ("cards", "cartes"),
        ("coins", "pièces"), ("pencils", "crayons"), ("candies", "bonbons"), ("shells", "coquillages"),
    ];

    /// <summary>The other language of the pair (en ↔ fr).</summary>
    public static string Other(string language) => language == "fr" ? "en" : "fr";

    /// <summary>The bare-expression question: "Compute 37 + 48 - 19" / "Calcule 37 + 48 - 19".</summary>
    public static string ExpressionQuestion(string expression, string language, int variant) => (language, variant % 2) switch
    {
        ("fr", 0) => $"Calcule {expression}",
        ("fr", _) => $"Combien font {expression} ?",
        (_, 0) => $"Compute {expression}",
        _ => $"What is {expression}?",
    };

    /// <summary>
    /// The word problem for a chain: "Tom has 37 apples. He buys 48 more, then gives away 19. How many apples does he
    /// have now?" / "Paul a 37 pommes. Il en achète 48 de plus, puis en donne 19. Combien de pommes a-t-il maintenant ?"
    /// </summary>
    internal static string WordProblem(IReadOnlyList<ArithmeticStep> steps, string language, DeterministicRandom rng)
    {
        bool fr = language == "fr";
        var person = rng.Pick(fr ? FrenchPeople : EnglishPeople);
        var item = rng.Pick(Items);
        string items = fr ? item.Fr : item.En;
        string pronoun = fr ? (person.Female ? "Elle" : "Il") : (person.Female ? "She" : "He");
        var clauses = steps.Select(s => Clause(s, fr, items, rng)).ToList();
        var sb = new StringBuilder();
        sb.Append(Invariant($"{person.Name} {(fr ? "a" : "has")} {steps[0].Left} {items}. {pronoun} "));
        sb.Append(string.Join(fr ? ", puis " : ", then ", clauses));
        sb.Append(fr
            ? $". Combien de {items} a-t-{pronoun.ToLowerInvariant()} maintenant ?"
            : $". How many {items} does {pronoun.ToLowerInvariant()} have now?");
        return sb.ToString();
    }

    private static string Clause(ArithmeticStep step, bool fr, string items, DeterministicRandom rng)
    {
        int n = step.Right;
        return (step.Operator, fr) switch
        {
            (ArithmeticOperator.Add, false) => rng.Pick(["buys {0} more", "finds {0} more", "gets {0} more"]).Replace("{0}", Num(n)),
            (ArithmeticOperator.Add, true) => rng.Pick(["en achète {0} de plus", "en trouve {0} de plus", "en reçoit {0} de plus"]).Replace("{0}", Num(n)),
            (ArithmeticOperator.Subtract, false) => rng.Pick(["gives away {0}", "loses {0}"]).Replace("{0}", Num(n)),
            (ArithmeticOperator.Subtract, true) => rng.Pick(["en donne {0}", "en perd {0}"]).Replace("{0}", Num(n)),
            (_, false) => $"ends up with {Num(n)} times as many",
            (_, true) => $"se retrouve avec {Num(n)} fois plus de {items}",
        };
    }

    /// <summary>
    /// The worked solution: one line per step with the running result, then the conclusion.
    /// en: "First, 37 + 48 = 85.\nThen 85 - 19 = 66.\nSo the answer is 66." (one step: "37 + 48 = 85.\nSo the answer is 85.")
    /// fr: "D'abord, 37 + 48 = 85.\nEnsuite, 85 - 19 = 66.\nLa réponse est donc 66."
    /// </summary>
    public static string WorkedSolution(IReadOnlyList<ArithmeticStep> steps, string language) =>
        string.Join("\n", StepLines(steps, language)) + "\n" + Conclusion(steps[^1].Result, language);

    /// <summary>The step lines of <see cref="WorkedSolution"/> without the conclusion.</summary>
    public static IReadOnlyList<string> StepLines(IReadOnlyList<ArithmeticStep> steps, string language)
    {
        bool fr = language == "fr";
        if (steps.Count == 1) return [steps[0] + "."];
        return [.. steps.Select((s, i) => i == 0 ? (fr ? "D'abord, " : "First, ") + s + "." : (fr ? "Ensuite, " : "Then ") + s + ".")];
    }

    /// <summary>"So the answer is 66." / "La réponse est donc 66."</summary>
    public static string Conclusion(int answer, string language) =>
        language == "fr" ? Invariant($"La réponse est donc {answer}.") : Invariant($"So the answer is {answer}.");

    /// <summary>The cold-start summary: "The answer is \boxed{66}." / "La réponse est \boxed{66}."</summary>
    public static string Summary(int answer, string language) =>
        language == "fr" ? Invariant($"La réponse est \\boxed{{{answer}}}.") : Invariant($"The answer is \\boxed{{{answer}}}.");

    /// <summary>A single-operation fact, symbolic ("37 + 48 = 85") or in words ("37 plus 48 is 85." / "37 plus 48 font 85.").</summary>
    public static string Fact(ArithmeticStep step, string language, bool inWords)
    {
        if (!inWords) return step.ToString();
        bool fr = language == "fr";
        string op = (step.Operator, fr) switch
        {
            (ArithmeticOperator.Add, _) => "plus",
            (ArithmeticOperator.Subtract, false) => "minus",
            (ArithmeticOperator.Subtract, true) => "moins",
            (_, false) => "times",
            (_, true) => "fois",
        };
        return Invariant($"{step.Left} {op} {step.Right} {(fr ? "font" : "is")} {step.Result}.");
    }

    /// <summary>One-word "thoughts" of a careless writer, by language (the empty thought is separate).</summary>
    public static IReadOnlyList<string> OneWordThoughts(string language) =>
        language == "fr" ? ["facile", "évidemment", "bon", "voyons"] : ["easy", "obviously", "hmm", "well"];

    /// <summary>A direct answer outside the R1-Zero format: "Answer: 66" / "Réponse : 66".</summary>
    public static string PlainAnswer(int answer, string language) =>
        language == "fr" ? Invariant($"Réponse : {answer}") : Invariant($"Answer: {answer}");

    private static string Num(int n) => n.ToString(CultureInfo.InvariantCulture);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

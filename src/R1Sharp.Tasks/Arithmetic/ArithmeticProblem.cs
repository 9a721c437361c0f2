using System.Globalization;

namespace R1Sharp.Tasks.Arithmetic;

/// <summary>An operator of an arithmetic chain.</summary>
public enum ArithmeticOperator
{
    /// <summary>+</summary>
    Add,
    /// <summary>- (results never go below zero)</summary>
    Subtract,
    /// <summary>× by a small factor</summary>
    Multiply,
}

/// <summary>How a problem is worded.</summary>
public enum WordingStyle
{
    /// <summary>"Compute 37 + 48 - 19" / "Calcule 37 + 48 - 19".</summary>
    Expression,
    /// <summary>"Tom has 37 apples. He buys 48 more, then gives away 19. How many apples does he have now?"</summary>
    WordProblem,
    /// <summary>Each problem draws one of the two (half and half).</summary>
    Mixed,
}

/// <summary>Which side of the fixed train/held-out partition a problem belongs to.</summary>
public enum ArithmeticSplit
{
    /// <summary>Training prompts (RL, SFT, the pretraining corpus).</summary>
    Train,
    /// <summary>Held-out evaluation prompts: never in any training data.</summary>
    HeldOut,
}

/// <summary>
/// Difficulty of the embedded arithmetic problems. A problem is a chain start op₁ x₁ op₂ x₂ …, evaluated left to
/// right; every running result stays in [0, <paramref name="MaxResult"/>].
/// </summary>
/// <param name="MinOperations">Fewest operations per problem (1–4).</param>
/// <param name="MaxOperations">Most operations per problem (1–4).</param>
/// <param name="MinOperand">Smallest start value and + / − operand.</param>
/// <param name="MaxOperand">Largest start value and + / − operand.</param>
/// <param name="Multiplication">Allow × (by a factor in 2..<paramref name="MaxFactor"/>).</param>
/// <param name="MaxFactor">Largest multiplication factor.</param>
/// <param name="MaxResult">Largest running result.</param>
/// <param name="Wording">Bare expressions, word problems, or both.</param>
/// <param name="FrenchShare">Share of problems in French (the rest in English).</param>
public sealed record ArithmeticDifficulty(
    int MinOperations = 2,
    int MaxOperations = 3,
    int MinOperand = 1,
    int MaxOperand = 30,
    bool Multiplication = true,
    int MaxFactor = 5,
    int MaxResult = 99,
    WordingStyle Wording = WordingStyle.Mixed,
    double FrenchShare = 0.5)
{
    /// <summary>Throws <see cref="ArgumentException"/> naming the first inconsistent setting.</summary>
    public void Validate()
    {
        if (MinOperations < 1 || MaxOperations > 4 || MinOperations > MaxOperations)
            throw new ArgumentException($"Operations must satisfy 1 <= MinOperations ({MinOperations}) <= MaxOperations ({MaxOperations}) <= 4.");
        if (MinOperand < 1 || MaxOperand < MinOperand)
            throw new ArgumentException($"Operands must satisfy 1 <= MinOperand ({MinOperand}) <= MaxOperand ({MaxOperand}).");
        if (MaxResult < MaxOperand)
            throw new ArgumentException($"MaxResult ({MaxResult}) must be at least MaxOperand ({MaxOperand}).");
        if (Multiplication && MaxFactor < 2)
            throw new ArgumentException($"MaxFactor ({MaxFactor}) must be at least 2 when multiplication is on.");
        if (FrenchShare is < 0 or > 1 || double.IsNaN(FrenchShare))
            throw new ArgumentException($"FrenchShare ({FrenchShare}) must be in [0, 1].");
    }
}

/// <summary>One operation of a chain with its running result: <c>Left Op Right = Result</c>.</summary>
public sealed record ArithmeticStep(int Left, ArithmeticOperator Operator, int Right, int Result)
{
    /// <summary>The operator's symbol: +, -, ×.</summary>
    public static string Symbol(ArithmeticOperator op) => op switch
    {
        ArithmeticOperator.Add => "+",
        ArithmeticOperator.Subtract => "-",
        _ => "×",
    };

    /// <summary>Recomputes the result from the operands.</summary>
    public static int Apply(int left, ArithmeticOperator op, int right) => op switch
    {
        ArithmeticOperator.Add => left + right,
        ArithmeticOperator.Subtract => left - right,
        _ => left * right,
    };

    /// <summary><c>37 + 48 = 85</c></summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Left} {Symbol(Operator)} {Right} = {Result}");
}

/// <summary>
/// One embedded arithmetic problem.
/// </summary>
/// <param name="Id">Stable id, e.g. <c>arith-train-0-00012</c>.</param>
/// <param name="Language"><c>en</c> or <c>fr</c>.</param>
/// <param name="Wording">How the question is worded.</param>
/// <param name="Question">The question text in <paramref name="Language"/>.</param>
/// <param name="Expression">The chain as a conventional expression, parenthesised where × follows + or −
/// (<c>(37 + 48) × 2 - 19</c>), so ordinary precedence gives the same value.</param>
/// <param name="Steps">One step per operation, in order; the last result is the answer.</param>
/// <param name="Answer">The gold answer.</param>
public sealed record ArithmeticProblem(
    string Id,
    string Language,
    WordingStyle Wording,
    string Question,
    string Expression,
    IReadOnlyList<ArithmeticStep> Steps,
    int Answer)
{
    /// <summary>Language-independent identity of the chain (start, operators, operands), used to split train/held-out.</summary>
    public string Key => ChainKey(Steps);

    /// <summary>The worked solution in the problem's language: one line per step, then the conclusion.</summary>
    public string WorkedSolution => ArithmeticText.WorkedSolution(Steps, Language);

    internal static string ChainKey(IReadOnlyList<ArithmeticStep> steps) =>
        steps[0].Left.ToString(CultureInfo.InvariantCulture)
        + string.Concat(steps.Select(s => ArithmeticStep.Symbol(s.Operator) + s.Right.ToString(CultureInfo.InvariantCulture)));
}

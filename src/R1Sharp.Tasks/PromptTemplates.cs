namespace R1Sharp.Tasks;

/// <summary>How a task turns a question into the prompt text.</summary>
public enum PromptStyle
{
    /// <summary>The question as it is.</summary>
    Raw,
    /// <summary>The DeepSeek-R1-Zero template (<see cref="PromptTemplates.R1Zero"/>).</summary>
    R1Zero,
    /// <summary>The question followed by DeepSeek-R1's math instruction (<see cref="PromptTemplates.MathInstruction"/>).</summary>
    MathInstruction,
    /// <summary>A plain two-turn transcript, <c>User: {question}\nAssistant:</c>, for models without a chat template.</summary>
    Plain,
}

/// <summary>Prompt templates of the DeepSeek-R1 paper (Table 1 and the evaluation setup).</summary>
public static class PromptTemplates
{
    /// <summary>The R1-Zero template, verbatim from the paper (Table 1); <c>{prompt}</c> is the question. One copy, in R1Sharp.Text.</summary>
    public static string R1Zero { get; } = R1Sharp.Text.Templates.PromptTemplate.R1Zero.Text!;

    /// <summary>The instruction DeepSeek-R1 appends to math prompts for evaluation.</summary>
    public const string MathInstruction = "Please reason step by step, and put your final answer within \\boxed{}.";

    /// <summary>
    /// The R1-Zero prompt for <paramref name="question"/>: the template with <c>{prompt}</c> replaced by the
    /// question, verbatim (a question ending in "." therefore reads ".." before "Assistant:", as in the paper).
    /// </summary>
    public static string RenderR1Zero(string question) => R1Zero.Replace("{prompt}", question, StringComparison.Ordinal);

    /// <summary>The question, a newline, and <see cref="MathInstruction"/>.</summary>
    public static string RenderMathInstruction(string question) => question + "\n" + MathInstruction;

    /// <summary><c>User: {question}\nAssistant:</c></summary>
    public static string RenderPlain(string question) => "User: " + question + "\nAssistant:";

    /// <summary>Renders <paramref name="question"/> in <paramref name="style"/>.</summary>
    public static string Render(string question, PromptStyle style) => style switch
    {
        PromptStyle.R1Zero => RenderR1Zero(question),
        PromptStyle.MathInstruction => RenderMathInstruction(question),
        PromptStyle.Plain => RenderPlain(question),
        _ => question,
    };
}

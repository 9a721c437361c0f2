using R1Sharp.Data;
using R1Sharp.Rewards.Rules;
using R1Sharp.Tasks;

namespace R1Sharp.Recipes.Eval;

/// <summary>The tasks <c>r1sharp eval --benchmark</c> takes: the built-in benchmarks or a JSONL/Parquet file.</summary>
public static class EvalTasks
{
    /// <summary>What DeepSeek-R1 appends to math prompts: "Please reason step by step, and put your final answer within \boxed{}."</summary>
    public const string MathInstruction = PromptTemplates.MathInstruction;

    /// <summary>
    /// Loads <paramref name="benchmarkOrFile"/>: <c>gsm8k</c>, <c>math500</c>, <c>aime24</c> or <c>countdown</c>, or a
    /// <c>.jsonl</c>/<c>.parquet</c> file whose rows have a question (<c>prompt</c>, <c>question</c>, <c>problem</c> or
    /// <c>input</c>) and a gold <c>answer</c> (scored by <c>accuracy</c>). Each prompt is the question followed by a
    /// newline and <paramref name="instruction"/> (none when null or empty). Countdown questions carry their own
    /// answer-format instruction, so it gets none.
    /// </summary>
    /// <exception cref="R1Sharp.Data.DatasetFormatException">A malformed row (file, line, field).</exception>
    /// <exception cref="ArgumentException">Neither a benchmark name nor an existing file.</exception>
    public static Task<TaskDefinition> LoadAsync(string benchmarkOrFile, string? instruction = MathInstruction, CancellationToken cancellationToken = default,
        string? promptField = null, string? answerField = null) =>
        Task.Run(() => Load(benchmarkOrFile, instruction, cancellationToken, promptField, answerField), cancellationToken);

    /// <summary>As <see cref="LoadAsync"/>, blocking (the same reader).</summary>
    /// <param name="promptField">The column holding the question (null: the first of prompt, question, problem, input).</param>
    /// <param name="answerField">The column holding the gold answer (null: <c>answer</c>); every row must have it.</param>
    public static TaskDefinition Load(string benchmarkOrFile, string? instruction = MathInstruction, CancellationToken cancellationToken = default,
        string? promptField = null, string? answerField = null)
    {
        string key = benchmarkOrFile.Trim().ToLowerInvariant().Replace("-", "").Replace("_", "");
        if (key is "countdown" or "countdowncd3") return CountdownTask.TestSet(PromptStyle.Raw);
        if (Benchmarks.Names.Contains(key) || key is "math" or "aime" or "aime2024")
            return WithInstruction(Benchmarks.Get(key, PromptStyle.Raw), instruction);
        if (!DataRows.Exists(benchmarkOrFile))
            throw new ArgumentException($"'{benchmarkOrFile}' is neither a benchmark ({string.Join(", ", Benchmarks.Names)}) nor an existing data file (.jsonl, .json, .parquet) or dataset folder");
        var columns = Columns(promptField, answerField) ?? new FieldMapping();
        var loaded = DatasetLoader.Load(benchmarkOrFile, new DatasetLoadOptions(columns with { Required = ["answer"] }, PromptStyle.Raw), cancellationToken);
        var task = new TaskDefinition(Path.GetFileNameWithoutExtension(benchmarkOrFile.TrimEnd('/')), loaded.Examples, [new RewardSpec("accuracy")],
            new EvaluationMetric("accuracy"), $"{loaded.Examples.Count} problems from {benchmarkOrFile}");
        return WithInstruction(task, instruction);
    }

    /// <summary>
    /// The column mapping of a data file whose rows hold a question and a gold answer under other names (TRL's and
    /// open-r1's <c>prompt_field</c> / <c>answer_field</c>): the answer column is read as the <c>answer</c> reference
    /// field and becomes required. Null when neither is given (the default columns).
    /// </summary>
    public static FieldMapping? Columns(string? promptField, string? answerField) =>
        promptField is null && answerField is null ? null
            : new FieldMapping(Prompt: promptField, Reference: answerField is null ? null : new Dictionary<string, string> { ["answer"] = answerField },
                Required: answerField is null ? null : ["answer"]);

    /// <summary>The task with <c>"\n" + instruction</c> after each prompt (unchanged when the instruction is null or empty).</summary>
    public static TaskDefinition WithInstruction(TaskDefinition task, string? instruction) =>
        string.IsNullOrEmpty(instruction) ? task
            : task with { Examples = [.. task.Examples.Select(e => e with { Prompt = e.Prompt + "\n" + instruction })] };
}

using R1Sharp.Data;
using R1Sharp.Recipes.Eval;
using R1Sharp.Rewards.Rules;
using R1Sharp.Tasks;
using R1Sharp.Tasks.Arithmetic;

namespace R1Sharp.Recipes.Grpo;

/// <summary>Turns the task of a config into training and held-out prompts.</summary>
public static class GrpoTasks
{
    /// <summary>The training and held-out evaluation prompts of <paramref name="o"/>'s task.</summary>
    public static (TaskDefinition Train, TaskDefinition Eval) Resolve(GrpoOptions o) =>
        Resolve(o.Task, o.TrainPrompts, o.EvalPrompts, o.Seed, o.Difficulty, o.PromptStyle, EvalTasks.Columns(o.PromptField, o.AnswerField));

    /// <summary>Training prompts and held-out evaluation prompts for a task name or a data file.</summary>
    public static (TaskDefinition Train, TaskDefinition Eval) Resolve(string task, int trainPrompts, int evalPrompts, long seed,
        ArithmeticDifficulty? difficulty = null, PromptStyle style = PromptStyle.R1Zero, FieldMapping? columns = null)
    {
        switch (task)
        {
            case EmbeddedTask.Name:
                return (EmbeddedTask.RlTask(trainPrompts, (int)seed, difficulty, style), EmbeddedTask.EvalTask(evalPrompts, 0, difficulty, style));
            case "countdown":
                return (CountdownTask.Generate(trainPrompts, (int)seed), Take(CountdownTask.TestSet(), evalPrompts));
        }
        if (!DataRows.Exists(task))
            throw new ArgumentException($"task '{task}': not arithmetic or countdown, and no such data file or dataset folder");
        var data = DatasetLoader.Load(task, new DatasetLoadOptions(columns, style));
        int held = Math.Min(evalPrompts, data.Examples.Count / 10);
        TaskDefinition Of(IEnumerable<TaskExample> examples, string name) =>
            new(name, examples.ToList(), [new RewardSpec("accuracy"), new RewardSpec(style == PromptStyle.R1Zero ? "r1_zero_format" : "cold_start_format")], new EvaluationMetric("accuracy"));
        return (Of(data.Examples.Skip(held).Take(trainPrompts), Path.GetFileName(task)), Of(data.Examples.Take(held), Path.GetFileName(task) + "_heldout"));
    }

    static TaskDefinition Take(TaskDefinition t, int n) => t with { Examples = t.Examples.Take(n).ToList() };
}

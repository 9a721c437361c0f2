using R1Sharp.Engine;
using R1Sharp.Engine.Generation;
using R1Sharp.Recipes.Eval;
using R1Sharp.Recipes.Grpo;
using R1Sharp.Rewards.Rules;
using R1Sharp.Tasks;
using R1Sharp.Tasks.Arithmetic;

namespace R1Sharp.Recipes.Tests.Eval;

/// <summary>
/// Training rewards and evaluation grade a row identically: the same completions go through GRPO's accuracy reward
/// (built as the recipe builds it, from the task) and through the evaluation's scorer.
/// </summary>
public class OneGraderTests
{
    static void SameVerdicts(TaskDefinition task, IReadOnlyList<(TaskExample Example, string Completion)> rows)
    {
        var training = task.BuildRewards([new RewardSpec("accuracy")]);
        var scorer = new ProblemScorer(task);
        int judged = 0, correct = 0;
        foreach (var (example, completion) in rows)
        {
            double? reward = training.Score([example.ToRewardInput(completion)])[0].Components["accuracy"];
            var sample = scorer.Score(example, new GenerationResult(0, [new GenerationSample(completion, null, null, FinishReason.Stop, 0)])).Samples[0];
            Assert.Equal(reward, sample.Score);
            Assert.Equal(reward == 1.0, sample.Correct);
            if (reward is not null) judged++;
            if (reward == 1.0) correct++;
        }
        Assert.True(judged > 0 && correct > 0 && correct < rows.Count, $"{correct} correct of {rows.Count}: the rows must exercise both verdicts");
    }

    [Fact]
    public void Embedded_task_rows_get_the_same_verdict_from_the_reward_and_the_evaluation()
    {
        var (train, _) = GrpoTasks.Resolve(RecipeDefaults());
        var rows = new List<(TaskExample, string)>();
        foreach (var e in train.Examples.Take(10))
        {
            string gold = e.Field("answer")!;
            rows.Add((e, $"<think> working </think> <answer> {gold} </answer>"));
            rows.Add((e, $"<think> working </think> <answer> {gold}. </answer>"));
            rows.Add((e, $"so \\boxed{{{gold}}}"));
            rows.Add((e, $"the answer is {gold}"));            // no marked answer: this task's grader says wrong
            rows.Add((e, $"<answer> {int.Parse(gold) + 1} </answer>"));
            rows.Add((e, "<answer> twelve </answer>"));
        }
        SameVerdicts(train, rows);
        // The embedded task's grader, not Math-Verify's: an unmarked answer is wrong for both paths.
        Assert.Equal(0.0, train.BuildRewards([new RewardSpec("accuracy")]).Score([train.Examples[0].ToRewardInput($"the answer is {train.Examples[0].Field("answer")}")])[0].Total);
    }

    [Fact]
    public void Benchmark_rows_and_unjudgeable_golds_get_the_same_verdict_from_the_reward_and_the_evaluation()
    {
        var math = Benchmarks.Math500();
        var rows = math.Examples.Take(15).SelectMany(e => new[]
        {
            (e, e.Field("solution")!),                                   // the reference solution: correct
            (e, "I do not know."),                                       // no answer: wrong
            (e, "\\boxed{\\frac{12345}{6789}}"),                          // a different answer: wrong
        }).ToList();
        var unjudgeable = math.Examples[0] with { Reference = new Dictionary<string, string> { ["answer"] = "@@@" } };
        rows.Add((unjudgeable, "\\boxed{1}"));                           // a gold that does not parse: null for both
        SameVerdicts(math, rows);
    }

    static GrpoOptions RecipeDefaults() => new() { TrainPrompts = 10, EvalPrompts = 1 };
}

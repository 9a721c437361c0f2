using R1Sharp.Rewards.Rules;

namespace R1Sharp.Tasks.Tests;

/// <summary>The benchmarks' own reference solutions against the standard registry's math grader.</summary>
public class BenchmarkGradingTests
{
    private static readonly RewardRegistry Standard = RewardRegistry.CreateStandard();

    [Fact]
    public void Accuracy_accepts_the_published_reference_solutions_of_MATH500_and_GSM8K()
    {
        // The reference solution of each problem boxes (MATH) or ####-marks (GSM8K) its gold answer: every one is
        // correct for its own problem and wrong for the next problem's answer, except where the two answers agree:
        // in MATH-500, problem 22 (gold 5) and the solution of problem 23, which boxes x=5 (Math-Verify compares an
        // equation's right side with a bare gold number).
        var accuracy = Standard.Create("accuracy");
        foreach (var (task, alsoCorrect) in new[] { (Benchmarks.Math500(), new[] { 22 }), (Benchmarks.Gsm8k(), Array.Empty<int>()) })
        {
            var examples = task.Examples.Take(40).ToList();
            var own = accuracy.Score(examples.Select(e => e.ToRewardInput(e.Field("solution")!)).ToList());
            Assert.All(own, s => Assert.Equal(1.0, s));
            var shifted = accuracy.Score(examples.Select((e, i) => e.ToRewardInput(examples[(i + 1) % examples.Count].Field("solution")!)).ToList());
            var correct = Enumerable.Range(0, examples.Count)
                .Where(i => examples[i].Field("answer") == examples[(i + 1) % examples.Count].Field("answer")).Concat(alsoCorrect).Order();
            Assert.Equal(correct, Enumerable.Range(0, examples.Count).Where(i => shifted[i] == 1.0));
            Assert.All(shifted, s => Assert.NotNull(s));
        }
    }
}

using R1Sharp.Engine;
using R1Sharp.Engine.Generation;
using R1Sharp.Rewards;
using R1Sharp.Rewards.Rules;
using R1Sharp.Rewards.Verification;
using R1Sharp.Tasks;

namespace R1Sharp.Recipes.Eval;

/// <summary>
/// Scores the samples of one problem with the task's rewards (<see cref="TaskDefinition.Registry"/>, the same registry
/// training builds its rewards from): correctness by the task's metric, the answer that
/// votes (countdown: the equation inside <c>&lt;answer&gt;</c>; otherwise Math-Verify's extraction), the format
/// check, language consistency, and the majority vote.
/// </summary>
public sealed class ProblemScorer
{
    private readonly TaskDefinition _task;
    private readonly IReward _metric;
    private readonly IReward? _format;
    private readonly bool _countdown;
    private readonly LanguageConsistencyReward? _language;

    public ProblemScorer(TaskDefinition task)
    {
        _task = task;
        var registry = task.Registry();
        var metricSpec = task.Rewards.FirstOrDefault(r => r.Name == task.Metric.RewardName) ?? new RewardSpec(task.Metric.RewardName);
        _metric = registry.Create(metricSpec);
        _countdown = task.Metric.RewardName == "countdown";
        if (task.Rewards.FirstOrDefault(r => r.Name.Contains("format", StringComparison.Ordinal)) is { } format)
            _format = registry.Create(format);
        if (task.Examples.Any(e => e.Field("language") is not null)) _language = new LanguageConsistencyReward();
    }

    public ProblemResult Score(TaskExample example, GenerationResult result, bool keepText = true)
    {
        var inputs = result.Samples.Select(s => example.ToRewardInput(s.Text, s.CompletionTokens)).ToList();
        var scores = _metric.Score(inputs);
        var formats = _format?.Score(inputs);
        var languages = _language?.Score(inputs);
        var answers = result.Samples.Select(s => Answer(s.Text)).ToList();
        var samples = new List<SampleResult>(inputs.Count);
        for (int i = 0; i < inputs.Count; i++)
        {
            var s = result.Samples[i];
            bool format = formats is not null ? formats[i] is >= 1.0
                : _countdown ? scores[i] is > 0.0
                : AnswerExtractor.Extract(s.Text, ExtractionOptions.WithoutFallback) is not null;
            samples.Add(new SampleResult(keepText ? s.Text : null, answers[i], _task.Metric.IsCorrect(scores[i]), format,
                s.CompletionTokens, s.FinishReason == FinishReason.Stop ? "stop" : "length", languages?[i], scores[i]));
        }
        var winner = _countdown
            ? MajorityVote.Vote(answers, a => string.Concat(a.Where(c => !char.IsWhiteSpace(c))))
            : MajorityVote.Vote(answers, a => MathVerifier.Normalize(a) ?? a.Trim(), (first, a) => MathVerifier.Verify(first, a));
        int correct = samples.Count(s => s.Correct);
        return new ProblemResult(example.Id, example.Prompt, example.Field("answer") ?? example.Field("target"), result.PromptTokens, samples,
            correct, (double)correct / samples.Count, winner is { } w ? answers[w.FirstSample] : null, winner is { } v && samples[v.FirstSample].Correct);
    }

    private string? Answer(string text) =>
        _countdown ? CompletionText.LastAnswer(text)?.Trim() : AnswerExtractor.Extract(text)?.Text;
}

using R1Sharp.Engine;
using R1Sharp.Model;
using R1Sharp.Rewards.Rules;
using R1Sharp.Rewards.Tasks;
using R1Sharp.Text.Tokenization;

namespace R1Sharp.Recipes.Grpo;

/// <summary>
/// The R1 protocol on held-out prompts, in process: k samples per prompt at temperature 0.6 / top-p 0.95;
/// pass@1 = mean correctness over all samples; format rate = share in the format the prompt style asks for (R1-Zero's
/// tags, or the cold-start layout for plain prompts); mean length in tokens.
/// </summary>
public sealed record QuickEvaluation(double PassAt1, double FormatRate, double MeanLength, int Prompts, int Samples)
{
    public static QuickEvaluation Run(CausalLM model, HfTokenizer tokenizer, TaskDefinition task, WeightedRewards rewards,
        GrpoOptions o, string label, Action<string> log)
    {
        model.eval();
        var prompts = task.Examples.Select(e => (IReadOnlyList<int>)tokenizer.Encode(e.Prompt).ToArray()).ToList();
        var sampler = new Sampler(new CausalLMLanguageModel(model), ids => tokenizer.Decode(ids)) { MaxBatchSize = 128 };
        var completions = sampler.Generate(prompts, new SamplingOptions
        {
            MaxNewTokens = o.MaxCompletionLength, Temperature = o.EvalTemperature, TopP = o.EvalTopP,
            StopTokenIds = tokenizer.EosTokenId is { } eos ? [eos] : [], Seed = o.Seed + 12345,
        }, o.EvalSamples);
        var inputs = completions.Select(c => task.Examples[c.PromptIndex].ToRewardInput(tokenizer.Decode(c.Tokens, skipSpecialTokens: true), c.Tokens.Length)).ToList();
        var accuracy = (rewards.Rewards.FirstOrDefault(r => r.Reward.Name == task.Metric.RewardName)?.Reward
                        ?? RewardRegistry.CreateStandard().Create(task.Metric.RewardName)).Score(inputs);
        var format = new FormatReward(o.PromptStyle == PromptStyle.R1Zero ? FormatPattern.R1ZeroLoose : FormatPattern.ColdStart).Score(inputs);
        var result = new QuickEvaluation(
            accuracy.Count(a => task.Metric.IsCorrect(a)) / (double)inputs.Count,
            format.Count(f => f == 1.0) / (double)inputs.Count,
            completions.Average(c => c.Tokens.Length),
            prompts.Count, inputs.Count);
        log($"eval {label}: pass@1 {result.PassAt1:P1} over {o.EvalSamples} samples × {prompts.Count} prompts, " +
            $"format {result.FormatRate:P0}, mean length {result.MeanLength:F1} tokens");
        return result;
    }
}

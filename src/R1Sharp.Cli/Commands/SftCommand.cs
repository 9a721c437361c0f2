using System.CommandLine;
using R1Sharp.Recipes.RewardModel;
using R1Sharp.Recipes.Sft;

namespace R1Sharp.Cli.Commands;

/// <summary>
/// <c>r1sharp sft --model DIR --output DIR [--config FILE.yaml] [--set data=FILE.jsonl] [--resume]</c> and
/// <c>r1sharp rm --model DIR --output DIR [--set data=pairs.jsonl]</c>.
/// </summary>
public static class SftCommand
{
    public static Command Create()
    {
        var model = Shared.Model("The model to fine-tune: a Hugging Face checkpoint folder with its tokenizer.");
        return new RecipeCommand<SftOptions>("sft",
                "Supervised fine-tuning on prompt/completion pairs or chat messages (JSONL or Parquet; --set data=FILE), loss on " +
                "completion / assistant tokens only; packing or padding, gradient accumulation, warm-up + cosine, resumable.",
                new SftOptions(), (o, device) => o with { Device = device })
            .Build((r, options, output, settings) =>
            {
                var result = SftRecipe.Run(options, r.GetValue(model)!, output, settings);
                Console.WriteLine($"model: {result.ModelDirectory}  (loss {result.TrainLoss:F4}, eval loss {result.EvalLoss:F4}, {result.Seconds:F0} s)");
                return 0;
            }, model);
    }

    public static Command CreateRewardModel()
    {
        var model = Shared.Model("The starting model: a causal LM (a new score head is added) or a reward model to continue.");
        return new RecipeCommand<RewardModelOptions>("rm",
                "Train a Bradley-Terry reward model on prompt/chosen/rejected pairs (JSONL or Parquet; --set data=FILE): a scalar " +
                "head on the last token, saved as …ForSequenceClassification; margin and reward-centering options.",
                new RewardModelOptions(), (o, device) => o with { Device = device })
            .Build((r, options, output, settings) =>
            {
                var result = RewardModelRecipe.Run(options, r.GetValue(model)!, output, settings);
                Console.WriteLine($"reward model: {result.ModelDirectory}  (pairwise accuracy {result.EvalAccuracy:P1} held out, {result.Seconds:F0} s)");
                return 0;
            }, model);
    }
}

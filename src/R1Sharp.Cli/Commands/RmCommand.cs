using System.CommandLine;
using R1Sharp.Recipes.RewardModel;

namespace R1Sharp.Cli.Commands;

/// <summary><c>r1sharp rm --model DIR --output DIR [--set data=pairs.jsonl] [--config FILE.yaml] [--resume]</c></summary>
public static class RmCommand
{
    public static Command Create()
    {
        var model = Shared.Model("The starting model: a causal LM (a new score head is added) or a reward model to continue.");
        return new RecipeCommand<RewardModelOptions>("rm",
                "Train a Bradley-Terry reward model on prompt/chosen/rejected pairs (JSONL, JSON or Parquet; --set data=FILE): a scalar " +
                "head on the last token, saved as …ForSequenceClassification; margin and reward-centering options.",
                new RewardModelOptions())
            .Build((r, options, output, settings) =>
            {
                var result = RewardModelRecipe.Run(options, r.GetValue(model)!, output, settings);
                Console.WriteLine($"reward model: {result.ModelDirectory}  (pairwise accuracy {result.EvalAccuracy:P1} held out, {result.Seconds:F0} s)");
                return 0;
            }, model);
    }
}

using System.CommandLine;
using R1Sharp.Recipes.Grpo;

namespace R1Sharp.Cli.Commands;

/// <summary><c>r1sharp grpo --model DIR --output DIR [--preset NAME] [--config FILE.yaml] [--set field=value] [--resume]</c></summary>
public static class GrpoCommand
{
    public static Command Create()
    {
        var model = Shared.Model("The policy to train: a Hugging Face checkpoint folder with its tokenizer.");
        return new RecipeCommand<GrpoOptions>("grpo",
                "Train a model with GRPO and rule-checked rewards (DeepSeek-R1-Zero when started from a base model). " +
                "Presets: r1-zero-embedded, deepseek-r1, deepseekmath, dapo, dr-grpo, gspo, cispo, gmpo, rloo " +
                "(advantage estimators and policy objectives: docs/algorithms.md).",
                new GrpoOptions())
            .Build((r, options, output, settings) =>
            {
                var result = GrpoRecipe.Run(options, r.GetValue(model)!, output, settings);
                Console.WriteLine($"model: {result.ModelDirectory}");
                Console.WriteLine($"pass@1 {result.Before.PassAt1:P1} → {result.After.PassAt1:P1}; mean length {result.Before.MeanLength:F1} → " +
                                  $"{result.After.MeanLength:F1} tokens; format {result.Before.FormatRate:P0} → {result.After.FormatRate:P0}");
                return 0;
            }, model);
    }
}

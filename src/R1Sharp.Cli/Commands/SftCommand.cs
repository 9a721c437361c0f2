using System.CommandLine;
using R1Sharp.Recipes.Sft;

namespace R1Sharp.Cli.Commands;

/// <summary><c>r1sharp sft --model DIR --output DIR [--config FILE.yaml] [--set data=FILE.jsonl] [--resume]</c></summary>
public static class SftCommand
{
    public static Command Create()
    {
        var model = Shared.Model("The model to fine-tune: a Hugging Face checkpoint folder with its tokenizer.");
        return new RecipeCommand<SftOptions>("sft",
                "Supervised fine-tuning on prompt/completion pairs or chat messages (JSONL, JSON or Parquet; --set data=FILE), loss on " +
                "completion / assistant tokens only; packing or padding, gradient accumulation, warm-up + cosine, resumable.",
                new SftOptions())
            .Build((r, options, output, settings) =>
            {
                var result = SftRecipe.Run(options, r.GetValue(model)!, output, settings);
                Console.WriteLine($"model: {result.ModelDirectory}  (loss {result.TrainLoss:F4}, eval loss {result.EvalLoss:F4}, {result.Seconds:F0} s)");
                return 0;
            }, model);
    }
}

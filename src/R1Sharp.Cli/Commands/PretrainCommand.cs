using System.CommandLine;
using R1Sharp.Recipes.Pretrain;

namespace R1Sharp.Cli.Commands;

/// <summary><c>r1sharp pretrain --output DIR [--config FILE.yaml] [--set field=value] [--resume] [--device cpu]</c></summary>
public static class PretrainCommand
{
    public static Command Create() =>
        new RecipeCommand<PretrainOptions>("pretrain",
                "Pretrain a small Qwen2-architecture model from scratch (a BPE tokenizer trained on the corpus, next-token loss). " +
                "The default corpus is the embedded arithmetic task's, made so the base model is imperfect on purpose.",
                new PretrainOptions())
            .Build((_, options, output, settings) =>
            {
                var result = PretrainRecipe.Run(options, output, settings);
                Console.WriteLine($"model: {result.ModelDirectory}  (eval loss {result.EvalLoss:F4}, {result.Seconds:F0} s)");
                return 0;
            });
}

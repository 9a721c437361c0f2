using System.CommandLine;
using R1Sharp.Recipes.Distill;

namespace R1Sharp.Cli.Commands;

/// <summary><c>r1sharp distill --student DIR --data FILE --output DIR [--teacher DIR] [--config FILE.yaml] [--set field=value] [--resume]</c></summary>
public static class DistillCommand
{
    public static Command Create()
    {
        var student = new Option<string>("--student") { Description = "The student to train: a Hugging Face checkpoint folder with its tokenizer.", Required = true };
        var data = new Option<string>("--data") { Description = "The teacher's samples: JSONL or Parquet prompt/completion rows (e.g. the data of r1sharp sample).", Required = true };
        var teacher = new Option<string?>("--teacher")
        {
            Description = "The teacher checkpoint, for the optional logit term (--set kl_weight=0.5; tokenizers must match). Without kl_weight it is not loaded.",
        };
        return new RecipeCommand<DistillOptions>("distill",
                "Distil reasoning into a smaller student (DeepSeek-R1 stage 6): SFT on the teacher's samples, optionally plus " +
                "α·τ²·KL(teacher ‖ student) on the completion tokens (--set kl_weight=α --set kl_temperature=τ). SFT options under sft.*.",
                new DistillOptions())
            .Build((r, options, output, settings) =>
            {
                if (r.GetValue(teacher) is { } t) options = options with { Teacher = t };
                var result = DistillRecipe.Run(options, r.GetValue(student)!, r.GetValue(data)!, output, settings);
                Console.WriteLine($"student: {result.ModelDirectory}  (loss {result.TrainLoss:F4}, eval loss {result.EvalLoss:F4}, {result.Seconds:F0} s)");
                return 0;
            }, student, data, teacher);
    }
}

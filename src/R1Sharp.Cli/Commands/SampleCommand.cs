using System.CommandLine;
using R1Sharp.Recipes.Sampling;

namespace R1Sharp.Cli.Commands;

/// <summary><c>r1sharp sample --model DIR --output DIR [--config FILE.yaml] [--set field=value] [--resume]</c>: DeepSeek-R1's rejection sampling.</summary>
public static class SampleCommand
{
    public static Command Create()
    {
        var model = new Option<string?>("--model", "-m")
        {
            Description = "The checkpoint to sample from (the reasoning-RL model). Not needed when sampling on servers (--set endpoint=URL --set served_model=NAME).",
        };
        return new RecipeCommand<RejectionSamplingOptions>("sample",
                "Rejection sampling (DeepSeek-R1 stage 4): N responses per prompt, keep the verified-correct ones in one language, " +
                "without code blocks, long paragraphs or loops; dedupe, cap per prompt, mix in general data. Writes SFT data " +
                "(data.jsonl or data.parquet) with provenance fields, candidates.jsonl and summary.json.",
                new RejectionSamplingOptions())
            .Build((r, options, output, settings) =>
            {
                string? dir = r.GetValue(model);
                if (dir is null && options.Endpoint is null) throw new UserError("give --model DIR, or sample on servers with --set endpoint=URL --set served_model=NAME");
                var result = RejectionSampling.Run(options, dir ?? "", output, settings);
                Console.WriteLine($"data: {result.DataPath}");
                Console.WriteLine($"kept {result.Kept} of {result.Generated} responses ({result.PromptsCovered}/{result.Prompts} prompts), " +
                                  $"{result.General} general rows; dropped: " +
                                  string.Join(", ", result.DroppedBy.Where(kv => kv.Value > 0).Select(kv => $"{kv.Key} {kv.Value}")));
                return 0;
            }, model);
    }
}

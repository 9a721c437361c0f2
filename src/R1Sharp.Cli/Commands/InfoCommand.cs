using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using R1Sharp.Model;

namespace R1Sharp.Cli.Commands;

/// <summary><c>r1sharp info --model DIR</c>: what a checkpoint is, read from its files (config.json, the safetensors headers) without loading weights.</summary>
public static class InfoCommand
{
    public static Command Create()
    {
        var model = Shared.Model();
        var json = Shared.Json();
        var command = new Command("info", "Show a checkpoint's architecture, parameter count, dtype and vocabulary.") { model, json };
        command.SetAction(r =>
        {
            var dir = r.GetValue(model)!;
            // config.json and every safetensors header are validated (no weight is read).
            var summary = Checkpoint.Inspect(dir);
            var config = summary.Config;
            var weights = summary.WeightFiles.Count;
            bool tokenizer = File.Exists(Path.Combine(dir, "tokenizer.json"));
            var info = new JsonObject
            {
                ["architecture"] = config.Architecture.ToString(),
                ["parameters"] = config.ParameterCount(),
                ["active_parameters"] = config.ActiveParameterCount(),
                ["experts"] = config.Moe is { } moe ? $"{moe.TopK} of {moe.NumExperts}{(moe.NumSharedExperts > 0 ? $" + {moe.NumSharedExperts} shared" : "")}" : null,
                ["dtype"] = config.TorchDtype,
                ["vocab_size"] = config.VocabSize,
                ["hidden_size"] = config.HiddenSize,
                ["layers"] = config.NumLayers,
                ["heads"] = config.NumHeads,
                ["kv_heads"] = config.NumKvHeads,
                ["head_dim"] = config.HeadDim,
                ["intermediate_size"] = config.IntermediateSize,
                ["tied_embeddings"] = config.TieWordEmbeddings,
                ["rope_theta"] = config.RopeTheta,
                ["rope_scaling"] = config.RopeScaling is not null ? "llama3" : config.Yarn is not null ? "yarn" : null,
                ["max_position_embeddings"] = config.MaxPositionEmbeddings,
                ["weight_files"] = weights,
                ["tokenizer"] = tokenizer,
            };
            if (r.GetValue(json)) Console.WriteLine(info.ToJsonString());
            else
            {
                Console.WriteLine($"{dir}");
                Console.WriteLine($"  architecture   {config.Architecture} ({config.NumLayers} layers, hidden {config.HiddenSize}, " +
                                  $"{config.NumHeads} heads / {config.NumKvHeads} kv heads × {config.HeadDim}, mlp {config.IntermediateSize})");
                Console.WriteLine($"  parameters     {config.ParameterCount():N0} ({config.ParameterCount() / 1e6:F1}M){(config.TieWordEmbeddings ? ", tied embeddings" : "")}");
                if (config.Moe is { } e)
                    Console.WriteLine($"  active         {config.ActiveParameterCount():N0} ({config.ActiveParameterCount() / 1e6:F1}M) per token: " +
                                      $"{e.TopK} of {e.NumExperts} experts{(e.NumSharedExperts > 0 ? $" + {e.NumSharedExperts} shared" : "")}" +
                                      $"{(config.Mla is not null ? ", latent attention" : "")}");
                Console.WriteLine($"  dtype          {config.TorchDtype}");
                Console.WriteLine($"  vocabulary     {config.VocabSize:N0} tokens{(tokenizer ? " (tokenizer.json present)" : " (no tokenizer.json)")}");
                Console.WriteLine($"  positions      RoPE θ = {config.RopeTheta:G}{(config.RopeScaling is not null ? ", llama3 scaling" : config.Yarn is not null ? ", YaRN scaling" : "")}, up to {config.MaxPositionEmbeddings:N0}");
            }
            return 0;
        });
        return command;
    }
}

using System.CommandLine;
using R1Sharp.Model;

namespace R1Sharp.Cli.Commands;

/// <summary>
/// <c>r1sharp merge --model BASE --adapter DIR --output DIR</c>: a plain Hugging Face checkpoint with a LoRA adapter's update
/// merged into the base weights (W + scaling · B·A, docs/lora.md), in the base's dtype unless <c>--dtype</c> says otherwise,
/// with the base's tokenizer and generation files. The folder is written beside the output and renamed into place.
/// </summary>
public static class MergeCommand
{
    public static Command Create()
    {
        var model = Shared.Model("The base checkpoint the adapter was trained on (Hugging Face layout).");
        var adapter = new Option<string>("--adapter") { Description = "The LoRA adapter folder (adapter_config.json + adapter_model.safetensors).", Required = true };
        var output = new Option<string>("--output", "-o") { Description = "The folder to write the merged checkpoint to (must not exist yet).", Required = true };
        var dtype = Shared.DType();
        var json = Shared.Json();
        var command = new Command("merge", "Merge a LoRA adapter into its base model and write a plain Hugging Face checkpoint.") { model, adapter, output, dtype, json };
        command.SetAction(r =>
        {
            string baseDir = r.GetValue(model)!, adapterDir = r.GetValue(adapter)!, outDir = r.GetValue(output)!;
            ScoreCommand.CheckDType(r.GetValue(dtype));
            if (File.Exists(outDir) || (Directory.Exists(outDir) && Directory.EnumerateFileSystemEntries(outDir).Any()))
                throw new UserError($"--output: {outDir} already exists; give a new folder (nothing was written)");
            var config = Lora.ReadConfig(adapterDir); // before the base is loaded: a bad adapter fails fast
            using var m = Shared.LoadModel(baseDir, r.GetValue(dtype), "cpu", adapterDir);
            Checkpoint.Save(m, outDir, companionsFrom: R1Sharp.Data.ModelLocation.Resolve(baseDir));
            int layers = Lora.Adapters(m).Count;
            if (r.GetValue(json))
                Console.WriteLine(new System.Text.Json.Nodes.JsonObject
                {
                    ["output"] = Path.GetFullPath(outDir), ["merged_layers"] = layers, ["r"] = config.R, ["scaling"] = config.Scaling,
                    ["dtype"] = Precision.Name(m.DType),
                }.ToJsonString());
            else
                Console.WriteLine($"merged {layers} adapted layers (r {config.R}, scaling {config.Scaling:G6}) into {Path.GetFullPath(outDir)} ({Precision.Name(m.DType)})");
            return 0;
        });
        return command;
    }
}

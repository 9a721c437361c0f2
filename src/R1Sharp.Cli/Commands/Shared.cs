using System.CommandLine;
using R1Sharp.Model;
using R1Sharp.Training.Runs;
using static TorchSharp.torch;

namespace R1Sharp.Cli.Commands;

/// <summary>Options several commands share, with one spelling and one help text.</summary>
public static class Shared
{
    public static Option<string> Model(string description = "Checkpoint folder in Hugging Face layout (config.json + *.safetensors).") =>
        new("--model", "-m") { Description = description, Required = true };

    /// <summary><c>--adapter DIR</c>: a PEFT LoRA adapter applied on top of <c>--model</c> (docs/lora.md).</summary>
    public static Option<string?> Adapter() => new("--adapter")
    {
        Description = "A LoRA adapter folder (adapter_config.json + adapter_model.safetensors, as PEFT saves it) applied on top of --model.",
    };

    public static Option<string?> DType() => new("--dtype")
    {
        Description = "Run the model in float32, bfloat16 or float16 (default: the checkpoint's torch_dtype).",
    };

    public static Option<string> Device() => new("--device")
    {
        Description = "cpu, cuda or cuda:N. CUDA needs the CUDA build of TorchSharp (build with -p:TorchBackend=cuda; see docs/gpu.md).",
        DefaultValueFactory = _ => "cpu",
    };

    /// <summary>
    /// The completion-length limit, under every name users bring: <c>--max-new-tokens</c> (transformers), <c>--max-tokens</c>
    /// (OpenAI, vLLM), <c>--max-completion-length</c> (TRL), each also with underscores, and <c>-n</c>.
    /// </summary>
    public static Option<int> MaxNewTokens(int defaultValue, string description) =>
        new("--max-new-tokens", "-n", "--max_new_tokens", "--max-tokens", "--max_tokens", "--max-completion-length", "--max_completion_length")
        {
            Description = description, DefaultValueFactory = _ => defaultValue,
        };

    public static Option<bool> Json() => new("--json") { Description = "Print one JSON object instead of text." };

    /// <summary><c>--threads N</c>: CPU threads for tensor operations.</summary>
    public static Option<int?> Threads() => new("--threads")
    {
        Description = "CPU threads for tensor operations (default: one per core). 1 holds up best on a busy machine and makes CPU runs repeat bit for bit.",
    };

    /// <summary><c>--reward-assembly PATH</c>: assemblies holding rewards of the user's own (docs/custom-rewards.md).</summary>
    public static Option<string[]> RewardAssembly() => new("--reward-assembly")
    {
        Description = "A .NET assembly (.dll) with rewards of your own (classes implementing IReward, docs/custom-rewards.md): rewards the " +
                      "options name that R1Sharp does not have are taken from it, by their registered name. Repeatable.",
        HelpName = "path",
        AllowMultipleArgumentsPerToken = false,
    };

    /// <summary>Applies <c>--threads</c> when given.</summary>
    public static void SetThreads(int? threads)
    {
        if (threads is not { } n) return;
        if (n < 1) throw new UserError($"--threads must be at least 1, got {n}");
        TorchSharp.torch.set_num_threads(n);
    }

    public static Device ParseDevice(string name)
    {
        try { return RunSettings.ParseDevice(name); }
        catch (ArgumentException e) { throw new UserError($"--device: {e.Message}"); }
    }

    public static ScalarType ParseDtype(string name)
    {
        try { return Precision.Parse(name); }
        catch (ArgumentException e) { throw new UserError($"--dtype: {e.Message}"); }
    }

    public static CausalLM LoadModel(string directory, string? dtype, string device, string? adapter = null)
    {
        var model = Checkpoint.Load(directory, dtype is null ? null : Precision.Parse(dtype), ParseDevice(device));
        if (adapter is null) return model;
        try { Lora.Load(model, adapter); }
        catch { model.Dispose(); throw; }
        return model;
    }

    /// <summary>Parses "5,17,42" (spaces allowed).</summary>
    public static int[] ParseIds(string text, string option)
    {
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var ids = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], out ids[i]) || ids[i] < 0)
                throw new UserError($"{option}: '{parts[i]}' is not a token id (expected comma-separated non-negative integers)");
        if (ids.Length == 0) throw new UserError($"{option}: no token ids given");
        return ids;
    }

    public static void CheckIds(int[] ids, ModelConfig config, string option)
    {
        foreach (var id in ids)
            if (id >= config.VocabSize) throw new UserError($"{option}: token id {id} is outside the vocabulary (size {config.VocabSize})");
    }
}

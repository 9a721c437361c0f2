using System.Text.Json;
using System.Text.Json.Nodes;
using R1Sharp.Model;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace R1Sharp.Training.State;

/// <summary>Where a run stands: enough, with the optimiser and RNG files, to continue exactly where it stopped.</summary>
/// <param name="Step">Optimiser steps completed.</param>
/// <param name="DataPosition">Examples consumed from the data stream (the recipe's own unit).</param>
/// <param name="Extra">Recipe-specific values (e.g. the reference model's last reset step).</param>
public sealed record TrainerState(int Step, long DataPosition, IReadOnlyDictionary<string, double>? Extra = null);

/// <summary>
/// A resumable checkpoint: a Hugging Face model folder plus <c>trainer_state.json</c>, <c>optimizer.bin</c> (AdamW
/// moments) and <c>rng.bin</c> (torch's global generator and the recipe's sampling generator). The whole folder is
/// written beside the target and renamed into place (<see cref="Checkpoint.Save"/>), so a checkpoint being written
/// is never taken for a complete one.
/// </summary>
public static class TrainingCheckpoint
{
    const string StateFile = "trainer_state.json", OptimizerFile = "optimizer.bin", RngFile = "rng.bin";

    public static void Save(string directory, IPretrainedModel model, OptimizerHelper optimizer, TrainerState state,
        Generator? sampling = null, string? companionsFrom = null)
    {
        Checkpoint.Save(model, directory, companionsFrom, writeExtra: dir =>
        {
            var json = new JsonObject { ["step"] = state.Step, ["data_position"] = state.DataPosition };
            if (state.Extra is not null)
                json["extra"] = new JsonObject(state.Extra.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value)));
            File.WriteAllText(Path.Combine(dir, StateFile), json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            optimizer.save_state_dict(Path.Combine(dir, OptimizerFile));
            using var writer = new BinaryWriter(File.Create(Path.Combine(dir, RngFile)));
            WriteTensor(writer, random.get_rng_state());
            writer.Write(sampling is not null);
            if (sampling is not null) WriteTensor(writer, sampling.get_state());
        });
    }

    /// <summary>Whether <paramref name="directory"/> (or its set-aside copy) holds a complete training checkpoint.</summary>
    public static string? Find(string directory)
        => Checkpoint.FindComplete(directory) is { } dir && File.Exists(Path.Combine(dir, StateFile)) ? dir : null;

    /// <summary>Reads the state and restores the optimiser and generators; the model is loaded by the caller (Checkpoint.Load).</summary>
    public static TrainerState Restore(string directory, OptimizerHelper optimizer, Generator? sampling = null)
    {
        var path = Path.Combine(directory, StateFile);
        var json = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"{path}: not a JSON object");
        var extra = (json["extra"] as JsonObject)?.ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<double>());
        var state = new TrainerState(json["step"]!.GetValue<int>(), json["data_position"]!.GetValue<long>(), extra);
        optimizer.load_state_dict(Path.Combine(directory, OptimizerFile));
        using var reader = new BinaryReader(File.OpenRead(Path.Combine(directory, RngFile)));
        random.set_rng_state(ReadTensor(reader));
        if (reader.ReadBoolean())
        {
            var samplingState = ReadTensor(reader);
            sampling?.set_state(samplingState);
        }
        return state;
    }

    static void WriteTensor(BinaryWriter writer, Tensor t)
    {
        var bytes = t.cpu().contiguous().bytes;
        writer.Write(bytes.Length);
        writer.Write(bytes);
    }

    static Tensor ReadTensor(BinaryReader reader)
    {
        var bytes = reader.ReadBytes(reader.ReadInt32());
        var t = empty(bytes.Length, dtype: ScalarType.Byte);
        bytes.CopyTo(t.bytes);
        return t;
    }
}

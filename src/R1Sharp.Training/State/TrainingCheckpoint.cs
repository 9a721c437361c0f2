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
        Action<Action<string>> save = model is CausalLM lm && Lora.IsAdapted(lm)
            ? extra => Lora.Save(lm, directory, companionsFrom, extra)          // LoRA: only the adapters train, only they are saved
            : extra => Checkpoint.Save(model, directory, companionsFrom, writeExtra: extra);
        save(dir =>
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

    /// <summary>
    /// Reads the state and restores the optimiser and generators; the model is loaded by the caller (Checkpoint.Load).
    /// Every file is validated first — trainer_state.json's fields, rng.bin's layout and state sizes, optimizer.bin as
    /// the AdamW state of exactly this model's parameters with finite moments and no bytes left over — and a problem is
    /// an <see cref="InvalidDataException"/> naming the file and the field. Nothing is applied to the generators unless
    /// all three files are good; the optimiser may hold part of a bad file's state (the run stops on the exception).
    /// </summary>
    public static TrainerState Restore(string directory, OptimizerHelper optimizer, Generator? sampling = null)
    {
        var state = ReadState(Path.Combine(directory, StateFile));
        var (torchState, samplingState) = ReadRng(Path.Combine(directory, RngFile), sampling);
        using (torchState)
        using (samplingState)
        {
            LoadOptimizer(Path.Combine(directory, OptimizerFile), optimizer);
            random.set_rng_state(torchState);
            if (samplingState is not null) sampling?.set_state(samplingState);
        }
        return state;
    }

    static TrainerState ReadState(string path)
    {
        RequireFile(path, "trainer state");
        var json = JsonInput.ReadObject(path, "trainer state (trainer_state.json)");
        InvalidDataException Bad(string field, string expected, JsonNode? got) =>
            new($"{path}: field '{field}': expected {expected}, got {JsonInput.Kind(got)}");
        if (!JsonInput.TryInteger(json["step"], out long step) || step < 0 || step > int.MaxValue)
            throw !json.ContainsKey("step")
                ? new InvalidDataException($"{path}: field 'step' is missing (expected the number of optimiser steps done, an integer ≥ 0)")
                : Bad("step", "the number of optimiser steps done (an integer ≥ 0)", json["step"]);
        if (!JsonInput.TryInteger(json["data_position"], out long position) || position < 0)
            throw !json.ContainsKey("data_position")
                ? new InvalidDataException($"{path}: field 'data_position' is missing (expected the number of examples consumed, an integer ≥ 0)")
                : Bad("data_position", "the number of examples consumed (an integer ≥ 0)", json["data_position"]);
        Dictionary<string, double>? extra = null;
        var extraNode = json["extra"];
        if (!JsonInput.IsNull(extraNode))
        {
            if (extraNode is not JsonObject extraObject) throw Bad("extra", "an object of numbers", extraNode);
            extra = new Dictionary<string, double>();
            foreach (var (key, value) in extraObject)
                extra[key] = JsonInput.TryNumber(value, out double d) ? d : throw Bad($"extra.{key}", "a finite number", value);
        }
        return new TrainerState((int)step, position, extra);
    }

    /// <summary>rng.bin: [int32 n][n bytes: torch's CPU generator][bool][int32 m][m bytes: the sampling generator], nothing after.</summary>
    static (Tensor Torch, Tensor? Sampling) ReadRng(string path, Generator? sampling)
    {
        RequireFile(path, "random-generator state");
        var bytes = File.ReadAllBytes(path);
        using var reader = new BinaryReader(new MemoryStream(bytes, writable: false));
        long expectedTorch;
        using (var current = random.get_rng_state()) expectedTorch = current.numel();
        Tensor? torchState = null, samplingState = null;
        try
        {
            torchState = ReadGeneratorState(reader, path, "torch's generator", expectedTorch);
            if (reader.BaseStream.Position == bytes.Length)
                throw new InvalidDataException($"{path}: truncated at byte {bytes.Length} (expected a flag for the sampling generator's state after torch's)");
            byte flag = reader.ReadByte();
            if (flag > 1) throw new InvalidDataException($"{path}: byte {reader.BaseStream.Position - 1}: expected 0 or 1 (is a sampling generator state stored?), got {flag}");
            if (flag == 1)
            {
                long? expectedSampling = null;
                if (sampling is not null) using (var current = sampling.get_state()) expectedSampling = current.numel();
                samplingState = ReadGeneratorState(reader, path, "the sampling generator", expectedSampling ?? expectedTorch);
            }
            if (reader.BaseStream.Position != bytes.Length)
                throw new InvalidDataException($"{path}: {bytes.Length - reader.BaseStream.Position} unexpected bytes after the generator states (expected the file to end at byte {reader.BaseStream.Position})");
            return (torchState, samplingState);
        }
        catch
        {
            torchState?.Dispose();
            samplingState?.Dispose();
            throw;
        }
    }

    static Tensor ReadGeneratorState(BinaryReader reader, string path, string what, long expectedLength)
    {
        long at = reader.BaseStream.Position, left = reader.BaseStream.Length - at;
        if (left < 4) throw new InvalidDataException($"{path}: truncated at byte {reader.BaseStream.Length} (expected the length of {what}'s state at byte {at})");
        int length = reader.ReadInt32();
        if (length != expectedLength)
            throw new InvalidDataException($"{path}: byte {at}: {what}'s state is {length} bytes long, expected {expectedLength} (not an rng.bin written by r1sharp?)");
        if (left - 4 < length)
            throw new InvalidDataException($"{path}: truncated: {what}'s state needs {length} bytes from byte {at + 4}, the file has {left - 4}");
        var t = empty(length, dtype: ScalarType.Byte);
        reader.BaseStream.ReadExactly(t.bytes);
        return t;
    }

    /// <summary>optimizer.bin (TorchSharp's format) into <paramref name="optimizer"/>, then checks the values it read.</summary>
    static void LoadOptimizer(string path, OptimizerHelper optimizer)
    {
        RequireFile(path, "optimizer state");
        var bytes = File.ReadAllBytes(path);
        using var stream = new MemoryStream(bytes, writable: false);
        try
        {
            using var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
            optimizer.load_state_dict(reader);
        }
        catch (Exception e)
        {
            string why = e is EndOfStreamException ? $"the file ends at byte {bytes.Length} before the state does (truncated?)" : e.Message;
            throw new InvalidDataException(
                $"{path}: not the {(optimizer is TorchSharp.Modules.AdamW ? "AdamW" : optimizer.GetType().Name)} state of this model's {optimizer.state_dict().State.Count} parameters ({why})", e);
        }
        if (stream.Position != bytes.Length)
            throw new InvalidDataException($"{path}: {bytes.Length - stream.Position} unexpected bytes after the optimiser state (expected the file to end at byte {stream.Position})");

        var dict = optimizer.state_dict();
        for (int g = 0; g < dict.Options.Count; g++)
        {
            var o = dict.Options[g];
            if (!(o.LearningRate is { } lr && double.IsFinite(lr) && lr >= 0))
                throw new InvalidDataException($"{path}: parameter group {g}: learning rate {o.LearningRate} (expected a finite number ≥ 0)");
            if (o is AdamW.Options a && !(a.beta1 is >= 0 and < 1 && a.beta2 is >= 0 and < 1 && a.eps is { } eps && double.IsFinite(eps) && eps >= 0
                                         && a.weight_decay is { } wd && double.IsFinite(wd) && wd >= 0))
                throw new InvalidDataException(
                    $"{path}: parameter group {g}: AdamW settings beta1 {a.beta1}, beta2 {a.beta2}, eps {a.eps}, weight_decay {a.weight_decay} (expected betas in [0, 1), eps and weight_decay finite ≥ 0)");
        }
        for (int i = 0; i < dict.State.Count; i++)
        {
            if (dict.State[i] is not AdamW.State s) continue;
            if (s.step < 0) throw new InvalidDataException($"{path}: parameter {i}: step {s.step} (expected an integer ≥ 0)");
            using var scope = NewDisposeScope();
            bool finite = s.exp_avg.isfinite().all().item<bool>() && s.exp_avg_sq.isfinite().all().item<bool>();
            if (!finite || s.exp_avg_sq.lt(0).any().item<bool>())
                throw new InvalidDataException($"{path}: parameter {i}: the AdamW moments are not finite, or the second moment is negative (a corrupted file?)");
        }
    }

    static void RequireFile(string path, string what)
    {
        if (Directory.Exists(path)) throw new InvalidDataException($"{path}: is a folder, expected the {what} file");
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: missing (a training checkpoint holds the {what} here; the checkpoint is incomplete)", path);
    }

    static void WriteTensor(BinaryWriter writer, Tensor t)
    {
        var bytes = t.cpu().contiguous().bytes;
        writer.Write(bytes.Length);
        writer.Write(bytes);
    }
}

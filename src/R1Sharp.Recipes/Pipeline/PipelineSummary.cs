using System.Text.Json;
using System.Text.Json.Nodes;
using R1Sharp.Data;

namespace R1Sharp.Recipes.Pipeline;

/// <summary>
/// The run's summary.json: <c>recipe</c> ("pipeline"), the config file, whether it is a quick run, each stage's status
/// (pending, running, done), wall time, model and the hash of the effective config it ran with, and the final table
/// (one row per evaluated model). Reading it changes nothing; it is rewritten whole (atomically) after every change once
/// the run has started, so an interrupted run knows which stages are done and with which config.
/// </summary>
public sealed class PipelineSummary
{
    public const string FileName = "summary.json";
    readonly string path;
    readonly JsonObject root;

    PipelineSummary(string path, JsonObject root)
    {
        this.path = path;
        this.root = root;
    }

    /// <summary>The run folder's summary (validated), or a new one listing every stage as pending. Nothing is written.</summary>
    /// <exception cref="InvalidDataException">summary.json is not a pipeline summary (the message names the file).</exception>
    /// <exception cref="ArgumentException">The folder holds a run of the other kind (quick or full).</exception>
    public static PipelineSummary Open(string runDirectory, bool quick)
    {
        string path = Path.Combine(runDirectory, FileName);
        if (!File.Exists(path))
            return new(path, new JsonObject
            {
                ["recipe"] = "pipeline", ["quick"] = quick,
                ["stages"] = new JsonArray([.. PipelineStages.All.Select(s => (JsonNode)new JsonObject { ["stage"] = s.Name(), ["status"] = "pending" })]),
                ["table"] = new JsonArray(),
            });
        JsonObject root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new JsonException("not a JSON object");
            if (root["stages"] is not JsonArray stages || root["table"] is not JsonArray) throw new JsonException("no 'stages' and 'table' lists");
            foreach (var stage in PipelineStages.All)
                if (stages.OfType<JsonObject>().Count(s => s["stage"]?.GetValueKind() == JsonValueKind.String && (string)s["stage"]! == stage.Name()) != 1)
                    throw new JsonException($"stage '{stage.Name()}' is not listed once");
            foreach (var s in stages.OfType<JsonObject>())
                if (s["status"]?.GetValueKind() != JsonValueKind.String) throw new JsonException($"stage '{s["stage"]}' has no status");
            if (root["quick"] is { } q && q.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False)) throw new JsonException("'quick' is not true or false");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a pipeline summary ({e.Message}). Move it away (or choose another --output) to start a new run there.", e);
        }
        if (root["quick"] is JsonValue v && v.GetValue<bool>() != quick)
            throw new ArgumentException($"{runDirectory} holds a {(quick ? "full" : "--quick")} run; use another --output folder");
        return new PipelineSummary(path, root);
    }

    public string Status(PipelineStage stage) => Stage(stage)["status"]?.GetValue<string>() ?? "pending";

    public bool IsDone(PipelineStage stage) => Status(stage) == "done";

    /// <summary>The hash of the config the stage was done with (null when the summary does not record one).</summary>
    public string? ConfigHash(PipelineStage stage) => Stage(stage)["config_hash"] is JsonValue h && h.GetValueKind() == JsonValueKind.String ? h.GetValue<string>() : null;

    /// <summary>Records the config file and writes the summary: the run has started.</summary>
    public void Begin(string? configPath)
    {
        root["recipe"] = "pipeline";
        root["config"] = configPath is null ? null : Path.GetFullPath(configPath);
        Save();
    }

    public void Start(PipelineStage stage)
    {
        Stage(stage)["status"] = "running";
        Save();
    }

    public void Reset(PipelineStage stage)
    {
        var s = Stage(stage);
        s["status"] = "pending";
        s.Remove("seconds");
        s.Remove("config_hash");
        if (stage == PipelineStage.Eval) root["table"] = new JsonArray();
        Save();
    }

    public void Finish(PipelineStage stage, double seconds, string? model, string configHash)
    {
        var s = Stage(stage);
        s["status"] = "done";
        s["seconds"] = Math.Round(seconds + (s["seconds"]?.GetValue<double>() ?? 0), 1);
        s["config_hash"] = configHash;
        if (model is not null) s["model"] = model;
        root["total_seconds"] = Math.Round(((JsonArray)root["stages"]!).Sum(x => x?["seconds"]?.GetValue<double>() ?? 0), 1);
        Save();
    }

    /// <summary>Adds or replaces a row of the final table.</summary>
    public void SetRow(TableRow row)
    {
        var table = (JsonArray)root["table"]!;
        var existing = table.FirstOrDefault(r => r?["row"]?.GetValue<string>() == row.Row);
        if (existing is not null) table.Remove(existing);
        table.Add(JsonSerializer.SerializeToNode(row, JsonFormat.Indented));
        Save();
    }

    public IReadOnlyList<TableRow> Table =>
        [.. ((JsonArray)root["table"]!).Select(r => r!.Deserialize<TableRow>(JsonFormat.Indented)!)];

    JsonObject Stage(PipelineStage stage) =>
        ((JsonArray)root["stages"]!).OfType<JsonObject>().First(s => s["stage"]?.GetValue<string>() == stage.Name());

    /// <summary>Keeps the summary in memory only (the ranks other than 0 of a data-parallel pipeline: rank 0 writes it).</summary>
    public bool ReadOnly { get; set; }

    void Save()
    {
        if (!ReadOnly) AtomicFile.WriteAllText(path, root.ToJsonString(JsonFormat.Indented) + "\n");
    }
}

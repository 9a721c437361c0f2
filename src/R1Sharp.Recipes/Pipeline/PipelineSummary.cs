using System.Text.Json;
using System.Text.Json.Nodes;

namespace R1Sharp.Recipes.Pipeline;

/// <summary>
/// The run's summary.json: the config, each stage's status (pending, running, done), wall time and model, and the
/// final table (one row per evaluated model). Rewritten atomically after every change, so an interrupted run
/// knows which stages are done.
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

    /// <summary>The run folder's summary, or a new one listing every stage as pending.</summary>
    public static PipelineSummary Load(string runDirectory, string? configPath, bool quick)
    {
        string path = Path.Combine(runDirectory, FileName);
        var root = File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"{path}: not a JSON object")
            : new JsonObject { ["stages"] = new JsonArray([.. PipelineRecipe.Stages.Select(s => (JsonNode)new JsonObject { ["stage"] = s, ["status"] = "pending" })]), ["table"] = new JsonArray() };
        if (root["quick"] is JsonValue q && q.GetValue<bool>() != quick && File.Exists(path))
            throw new ArgumentException($"{runDirectory} holds a {(quick ? "full" : "--quick")} run; use another --output folder");
        root["config"] = configPath is null ? null : Path.GetFullPath(configPath);
        root["quick"] = quick;
        var summary = new PipelineSummary(path, root);
        summary.Save();
        return summary;
    }

    public string Status(string stage) => Stage(stage)["status"]?.GetValue<string>() ?? "pending";

    public void Start(string stage)
    {
        Stage(stage)["status"] = "running";
        Save();
    }

    public void Reset(string stage)
    {
        var s = Stage(stage);
        s["status"] = "pending";
        s.Remove("seconds");
        if (stage == "eval") root["table"] = new JsonArray();
        Save();
    }

    public void Finish(string stage, double seconds, string? model)
    {
        var s = Stage(stage);
        s["status"] = "done";
        s["seconds"] = Math.Round(seconds + (s["seconds"]?.GetValue<double>() ?? 0), 1);
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
        table.Add(JsonSerializer.SerializeToNode(row, TableRow.Json));
        Save();
    }

    public IReadOnlyList<TableRow> Table =>
        [.. ((JsonArray)root["table"]!).Select(r => r!.Deserialize<TableRow>(TableRow.Json)!)];

    JsonObject Stage(string stage) =>
        ((JsonArray)root["stages"]!).OfType<JsonObject>().FirstOrDefault(s => s["stage"]?.GetValue<string>() == stage)
        ?? throw new InvalidDataException($"{path}: no stage '{stage}'");

    void Save()
    {
        File.WriteAllText(path + ".tmp", root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        File.Move(path + ".tmp", path, overwrite: true);
    }
}

using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using R1Sharp.Data;

namespace R1Sharp.Recipes.Eval;

/// <summary>
/// An evaluation's output folder: <c>config.json</c> (the settings), <c>results.jsonl</c> (one scored problem per
/// line, appended and flushed as each finishes) and <c>summary.json</c>. Reopening a folder resumes the run:
/// problems already in results.jsonl (with the same number of samples) are not generated again. A last line cut
/// short by a killed run is dropped; a folder written with other settings is refused.
/// </summary>
public sealed class ResultsFolder : IDisposable
{
    public const string ConfigFile = "config.json";
    public const string ResultsFile = "results.jsonl";
    public const string SummaryFile = "summary.json";

    /// <summary>How results and summaries are written (readable UTF-8: no escaping of &lt;, &gt;, non-ASCII).</summary>
    public static JsonSerializerOptions JsonOptions { get; } = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.Never,
    };

    private static readonly JsonSerializerOptions Indented = new(JsonOptions) { WriteIndented = true };

    private readonly StreamWriter _results;

    private ResultsFolder(string directory, Dictionary<string, ProblemResult> existing, StreamWriter results)
    {
        Directory = directory;
        Existing = existing;
        _results = results;
    }

    public string Directory { get; }

    /// <summary>Problems scored by earlier runs, by id.</summary>
    public IReadOnlyDictionary<string, ProblemResult> Existing { get; }

    /// <summary>Opens (creating it if needed) <paramref name="directory"/> for a run with <paramref name="settings"/>.</summary>
    /// <exception cref="InvalidOperationException">The folder holds a run with other settings (the message names the first that differs).</exception>
    /// <exception cref="InvalidDataException">config.json is not a JSON object, or results.jsonl has a malformed line before its last.</exception>
    public static ResultsFolder Open(string directory, EvalSettings settings)
    {
        System.IO.Directory.CreateDirectory(directory);
        string configPath = Path.Combine(directory, ConfigFile);
        var wanted = JsonSerializer.SerializeToNode(settings, JsonOptions)!.AsObject();
        if (File.Exists(configPath))
        {
            JsonNode? node;
            try { node = JsonNode.Parse(File.ReadAllText(configPath)); }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{configPath}: not valid JSON ({e.Message}); use another output folder, or delete this one to start over", e);
            }
            var found = node as JsonObject ?? throw new InvalidDataException($"{configPath}: not a JSON object");
            foreach (var (name, value) in wanted)
                if (!JsonNode.DeepEquals(value, found[name]))
                    throw new InvalidOperationException(
                        $"{directory} holds results of another run: {name} was {found[name]?.ToJsonString() ?? "missing"}, now {value?.ToJsonString() ?? "null"}. " +
                        "Use another output folder, or delete this one to start over.");
        }
        else
        {
            File.WriteAllText(configPath, wanted.ToJsonString(Indented));
        }

        string resultsPath = Path.Combine(directory, ResultsFile);
        var existing = new Dictionary<string, ProblemResult>(StringComparer.Ordinal);
        if (File.Exists(resultsPath))
        {
            var lines = File.ReadAllLines(resultsPath);
            int kept = lines.Length;
            for (int i = 0; i < lines.Length; i++)
            {
                if (string.IsNullOrWhiteSpace(lines[i])) continue;
                ProblemResult? problem;
                try
                {
                    problem = JsonSerializer.Deserialize<ProblemResult>(lines[i], JsonOptions);
                }
                catch (JsonException e)
                {
                    if (i == lines.Length - 1) { kept = i; break; } // cut short when the last run was killed
                    throw new InvalidDataException($"{resultsPath}:{i + 1}: not a result line: {e.Message}", e);
                }
                if (problem?.Id is null || problem.Samples is null)
                    throw new InvalidDataException($"{resultsPath}:{i + 1}: field 'id' or 'samples' missing");
                if (problem.Samples.Count == settings.Samples) existing[problem.Id] = problem;
            }
            if (kept < lines.Length) File.WriteAllLines(resultsPath, lines.Take(kept));
        }
        var writer = new StreamWriter(new FileStream(resultsPath, FileMode.Append, FileAccess.Write, FileShare.Read), new System.Text.UTF8Encoding(false));
        return new ResultsFolder(directory, existing, writer);
    }

    /// <summary>Appends one problem and flushes, so a killed run keeps everything scored so far.</summary>
    public void Append(ProblemResult problem)
    {
        _results.WriteLine(JsonSerializer.Serialize(problem, JsonOptions));
        _results.Flush();
    }

    public void WriteSummary(EvalSummary summary)
    {
        string path = Path.Combine(Directory, SummaryFile);
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(summary, Indented));
    }

    public void Dispose() => _results.Dispose();
}

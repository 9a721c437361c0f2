using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using R1Sharp.Data;
using R1Sharp.Engine.Generation;
using R1Sharp.Recipes.Eval;
using R1Sharp.Tasks;
using R1Sharp.Tests;
using R1Sharp.Text.Templates;

namespace R1Sharp.Recipes.Tests.Eval;

/// <summary>Whole evaluation runs on the tiny checkpoint: files, summary arithmetic, resuming, local vs served.</summary>
public sealed class EvaluationTests : IAsyncLifetime
{
    private LocalModel _model = null!;
    private readonly string _dir = Directory.CreateTempSubdirectory("r1sharp-eval-").FullName;

    public Task InitializeAsync()
    {
        _model = LocalModel.Load(TinyModel.Directory);
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        _model.Dispose();
        Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }

    private static EvalOptions Options(int samples = 3, int limit = 6) => new()
    {
        Samples = samples, Limit = limit, Sampling = new() { Temperature = 0.6, TopP = 0.95, MaxNewTokens = 24, Seed = 1 }, Template = PromptTemplate.Chat,
    };

    /// <summary>A backend that counts what it is asked to generate (wrapping the real local backend).</summary>
    private sealed class Counting(IGenerationBackend inner) : IGenerationBackend
    {
        public List<string?> Ids { get; } = [];
        public string Description => inner.Description;

        public async IAsyncEnumerable<IndexedResult> GenerateAsync(IReadOnlyList<GenerationRequest> requests,
            [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            Ids.AddRange(requests.Select(r => r.Id));
            await foreach (var r in inner.GenerateAsync(requests, cancellationToken)) yield return r;
        }

        public void Dispose() => inner.Dispose();
    }

    [Fact]
    public async Task Run_writes_results_and_a_summary_that_follows_from_them()
    {
        using var backend = new LocalGenerationBackend(_model);
        var task = await EvalTasks.LoadAsync("gsm8k");
        var progress = new List<EvalProgress>();
        var summary = await Evaluation.RunAsync(backend, task, Options(), _dir, new SyncProgress<EvalProgress>(progress.Add));

        var lines = File.ReadAllLines(Path.Combine(_dir, "results.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(6, lines.Count);
        Assert.Equal(task.Examples.Take(6).Select(e => e.Id).Order(), lines.Select(l => (string)l["id"]!).Order());
        foreach (var line in lines)
        {
            var example = task.Examples.First(e => e.Id == (string)line["id"]!);
            Assert.Equal(example.Prompt, (string)line["prompt"]!);
            Assert.EndsWith(EvalTasks.MathInstruction, (string)line["prompt"]!);
            Assert.Equal(example.Field("answer"), (string)line["gold"]!);
            var samples = line["samples"]!.AsArray();
            Assert.Equal(3, samples.Count);
            Assert.All(samples, s => Assert.InRange((int)s!["tokens"]!, 1, 24));
            Assert.Equal(samples.Count(s => (bool)s!["correct"]!), (int)line["correct"]!);
        }

        // The summary is arithmetic on the file's numbers.
        var perProblem = lines.Select(l => (int)l["correct"]! / 3.0).ToList();
        Assert.Equal(perProblem.Average(), summary.PassAt1, 12);
        Assert.Equal(lines.Average(l => (int)l["correct"]! > 0 ? 1.0 : 0.0), summary.PassAtK, 12);
        Assert.Equal(lines.Average(l => (bool)l["cons_correct"]! ? 1.0 : 0.0), summary.ConsAtK, 12);
        var all = lines.SelectMany(l => l["samples"]!.AsArray()).ToList();
        Assert.Equal(all.Average(s => (double)(int)s!["tokens"]!), summary.MeanLength, 9);
        Assert.Equal(all.Average(s => (bool)s!["format"]! ? 1.0 : 0.0), summary.FormatRate, 12);
        Assert.Equal(all.Sum(s => (long)(int)s!["tokens"]!), summary.CompletionTokens);
        Assert.Equal(18, summary.SampleCount);
        Assert.Equal(6, summary.GeneratedProblems);
        Assert.True(summary.TokensPerSecond > 0);
        Assert.Null(summary.LanguageConsistency);

        var file = JsonNode.Parse(File.ReadAllText(Path.Combine(_dir, "summary.json")))!;
        foreach (var key in new[] { "pass@1", "cons@k", "pass@k", "format_rate", "mean_length", "wall_seconds", "tokens_per_second", "k", "problems" })
            Assert.NotNull(file[key]);
        Assert.Equal(summary.PassAt1, (double)file["pass@1"]!, 12);
        Assert.Equal(7, progress.Count); // once at the start, then per problem
        Assert.Equal(6, progress[^1].Done);
    }

    [Fact]
    public async Task Run_resumes_without_regenerating_scored_problems_and_refuses_other_settings()
    {
        var task = await EvalTasks.LoadAsync("gsm8k");
        using (var first = new Counting(new LocalGenerationBackend(_model)))
            await Evaluation.RunAsync(first, task, Options(limit: 3), _dir);

        // A killed run leaves half a line behind: it is dropped and that problem generated again.
        string results = Path.Combine(_dir, "results.jsonl");
        var lines = File.ReadAllLines(results);
        File.WriteAllLines(results, [lines[0], lines[1], lines[2][..(lines[2].Length / 2)]]);
        string dropped = (string)JsonNode.Parse(lines[2])!["id"]!;

        using var second = new Counting(new LocalGenerationBackend(_model));
        var summary = await Evaluation.RunAsync(second, task, Options(limit: 6), _dir);
        var expectedNew = task.Examples.Take(6).Select(e => e.Id).Except(lines.Take(2).Select(l => (string)JsonNode.Parse(l)!["id"]!));
        Assert.Equal(expectedNew.Order(), second.Ids.Order());
        Assert.Contains(dropped, second.Ids);
        Assert.Equal(2, summary.ResumedProblems);
        Assert.Equal(4, summary.GeneratedProblems);
        Assert.Equal(6, File.ReadAllLines(results).Length);

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            Evaluation.RunAsync(second, task, Options(limit: 6) with { Sampling = Options().Sampling with { Temperature = 0.9 } }, _dir));
        Assert.Contains("temperature", e.Message);
    }

    [Fact]
    public async Task A_folder_whose_config_json_is_not_json_is_refused_naming_the_file()
    {
        var task = await EvalTasks.LoadAsync("gsm8k");
        string config = Path.Combine(_dir, "config.json");
        File.WriteAllText(config, "{\"broken");
        using var backend = new LocalGenerationBackend(_model);
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => Evaluation.RunAsync(backend, task, Options(limit: 1), _dir));
        Assert.StartsWith($"{config}: not valid JSON", e.Message);
        Assert.Equal("{\"broken", File.ReadAllText(config)); // left as it was
    }

    [Fact]
    public async Task Jsonl_file_is_a_benchmark_and_templates_shape_the_prompt()
    {
        string file = Path.Combine(_dir, "mine.jsonl");
        File.WriteAllLines(file, [
            JsonSerializer.Serialize(new { id = "a", question = "What is 2 + 2?", answer = "4" }),
            JsonSerializer.Serialize(new { id = "b", problem = "What is 3 * 3?", answer = "9" }),
        ]);
        var task = await EvalTasks.LoadAsync(file, instruction: null);
        Assert.Equal("mine", task.Name);
        Assert.Equal(["What is 2 + 2?", "What is 3 * 3?"], task.Examples.Select(e => e.Prompt));

        Assert.Equal("Question: What is 2 + 2?\nAnswer:", Evaluation.Prompt(task.Examples[0].Prompt, new EvalOptions { Template = PromptTemplate.Plain }).Text);
        var chat = Evaluation.Prompt("Q", new EvalOptions { Template = PromptTemplate.Chat, SystemPrompt = "S" });
        Assert.Equal(["system", "user"], chat.Messages!.Select(m => m.Role));
        Assert.Equal("Q", Evaluation.Prompt("Q", new EvalOptions()).Text);

        File.AppendAllText(file, """{"id": "c", "question": "no answer"}""" + "\n");
        var error = await Assert.ThrowsAsync<DatasetFormatException>(() => EvalTasks.LoadAsync(file));
        Assert.Equal(3, error.Line);
        Assert.Equal("answer", error.Field);
    }

    [Fact]
    public void Embedded_arithmetic_in_process_as_the_grpo_recipe_calls_it()
    {
        // The recipe holds a CausalLM and a tokenizer: it wraps them without giving up ownership.
        var policy = new LocalModel(_model.Model, _model.Tokenizer, chatTemplate: null, name: "policy");
        using var backend = new LocalGenerationBackend(policy);
        var task = R1Sharp.Tasks.Arithmetic.EmbeddedTask.EvalTask(8, seed: 2);
        var summary = Evaluation.Run(backend, task, new EvalOptions
        {
            Samples = 2, Sampling = new() { Temperature = 0.6, TopP = 0.95, MaxNewTokens = 16, Seed = 3 },
        });
        Assert.Equal(8, summary.Problems);
        Assert.Equal(16, summary.SampleCount);
        Assert.Equal("raw", summary.Settings.Template);           // its prompts already carry the R1-Zero template
        Assert.NotNull(summary.LanguageConsistency);              // problems carry a language (en/fr)
        Assert.InRange(summary.FormatRate, 0, 1);                 // r1_zero_format
        Assert.Equal(0, summary.ResumedProblems);
        Assert.NotNull(_model.Model.Config);                // the model is still usable
    }

    /// <summary>IProgress that reports on the caller's thread (Progress&lt;T&gt; posts to the thread pool).</summary>
    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}

using System.Text.Json.Nodes;
using R1Sharp.Data;
using R1Sharp.Engine.Generation;
using R1Sharp.Recipes.Eval;
using R1Sharp.Recipes.Grpo;
using R1Sharp.Recipes.RewardModel;
using R1Sharp.Recipes.Sft;
using R1Sharp.Tests;
using R1Sharp.Text.Templates;
using R1Sharp.Text.Tokenization;
using R1Sharp.Training.Optim;
using R1Sharp.Training.Runs;

namespace R1Sharp.Recipes.Tests;

/// <summary>
/// Each dataset shape Hugging Face users have (tests/fixtures/datasets, written by a JavaScript Parquet writer) trains or
/// evaluates: SFT on text, prompt/completion (standard and conversational), messages in the Hub's folder layout; reward
/// models on conversational preferences with an implicit or explicit prompt; GRPO and evaluation on prompts whose columns
/// have other names (prompt_field, answer_field). The tiny model has no chat template, so conversations use ChatML.
/// </summary>
public sealed class DatasetShapesTests
{
    static string Fixture(string name) => RepoPaths.Fixture("datasets", name);

    static SftOptions Sft(string data) => new()
    {
        Data = data, EvalShare = 0, MaxSteps = 2, BatchSize = 4, Packing = false, MaxLength = 256, LogEvery = 1, CheckpointEvery = 1000,
        Optimizer = new() { LearningRate = 1e-3 },
    };

    static List<JsonNode> Metrics(string run) =>
        [.. File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!).Where(m => m["loss"] is not null)];

    [Theory]
    [InlineData("sft-text.jsonl", 24, false)]
    [InlineData("sft-prompt-completion.json", 24, false)]
    [InlineData("sft-conversational.jsonl.gz", 24, true)]
    [InlineData("sft-hub", 20, true)]         // the train split: two shards of the Hub's layout
    [InlineData("sft-hub:test", 4, true)]    // another split by name
    public void Sft_trains_on_each_shape(string file, int examples, bool conversational)
    {
        using var tmp = new TempDir();
        var log = new List<string>();
        var result = SftRecipe.Run(Sft(Fixture(file)), TinyModels.Path, tmp.Path, RunSettings.Quiet(log.Add));
        Assert.Contains(log, l => l.StartsWith($"data: {examples} examples ", StringComparison.Ordinal));
        Assert.Equal(conversational, log.Any(l => l.StartsWith("chat template: ChatML (", StringComparison.Ordinal)));
        Assert.Equal(2, result.Steps);
        Assert.All(Metrics(tmp.Path), m => Assert.True(double.IsFinite((double)m["loss"]!) && (double)m["loss"]! > 0));
        Assert.True(File.Exists(Path.Combine(result.ModelDirectory, "model.safetensors")));
    }

    [Fact]
    public void Text_rows_train_on_every_token_and_the_end_of_text()
    {
        var tokenizer = HfTokenizer.Load(TinyModels.Path);
        var rows = DataRows.ReadAll(Fixture("sft-text.jsonl"));
        // ids(text) ++ [EOS], all targets: every token after the first is predicted, the EOS included.
        long expected = rows.Sum(r => tokenizer.Encode(r.String("text")).Count + 1L - 1L);
        var log = new List<string>();
        using var tmp = new TempDir();
        SftRecipe.Run(Sft(Fixture("sft-text.jsonl")) with { MaxSteps = 1 }, TinyModels.Path, tmp.Path, RunSettings.Quiet(log.Add));
        Assert.Contains($"data: 24 examples ({expected:N0} target tokens)", Assert.Single(log, l => l.StartsWith("data: ", StringComparison.Ordinal)));
    }

    [Fact]
    public void A_model_without_a_chat_template_renders_conversations_in_ChatML_and_a_template_file_replaces_it()
    {
        var messages = new[] { ChatMessage.User("What is 8 + 10?"), ChatMessage.Assistant("The answer is 18.") };
        var chatml = ChatTemplate.ForModel(TinyModels.Path, null, out string origin);
        Assert.StartsWith("ChatML", origin);
        // ChatML as Qwen's and OpenAI's models write it.
        Assert.Equal("<|im_start|>user\nWhat is 8 + 10?<|im_end|>\n<|im_start|>assistant\nThe answer is 18.<|im_end|>\n", chatml.Render(messages, addGenerationPrompt: false));

        using var tmp = new TempDir();
        string path = tmp.Sub("turns.jinja");
        File.WriteAllText(path, "{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}");
        var log = new List<string>();
        SftRecipe.Run(Sft(Fixture("sft-conversational.jsonl.gz")) with { MaxSteps = 1, ChatTemplatePath = path }, TinyModels.Path, tmp.Sub("run"),
            RunSettings.Quiet(log.Add));
        Assert.Contains($"chat template: {path}", log);
        Assert.Equal("[user] What is 8 + 10?\n[assistant] The answer is 18.\n", ChatTemplate.ForModel(TinyModels.Path, path, out _).Render(messages, addGenerationPrompt: false));
    }

    [Fact]
    public void Conversational_preferences_read_the_same_with_an_implicit_or_an_explicit_prompt()
    {
        ChatTemplate Chat() => ChatTemplate.ForModel(TinyModels.Path, null, out _);
        var implicitPrompt = PreferenceData.Load(Fixture("preference-implicit.parquet"), chatTemplate: Chat);
        var explicitPrompt = PreferenceData.Load(Fixture("preference-explicit.jsonl"), chatTemplate: Chat);
        Assert.Equal(24, implicitPrompt.Count);
        Assert.Equal(implicitPrompt.Select(r => (r.Prompt, r.Chosen, r.Rejected)), explicitPrompt.Select(r => (r.Prompt, r.Chosen, r.Rejected)));
        // As TRL: the prompt ends with the generation prompt; the response is the rest of the rendered conversation.
        Assert.Equal("<|im_start|>user\nWhat is 8 + 10?<|im_end|>\n<|im_start|>assistant\n", implicitPrompt[0].Prompt);
        Assert.Equal("<think>8 + 10 = 18</think> The answer is 18.<|im_end|>\n", implicitPrompt[0].Chosen);
        Assert.Equal("The answer is 19.<|im_end|>\n", implicitPrompt[0].Rejected);
    }

    [Theory]
    [InlineData("preference-implicit.parquet")]
    [InlineData("preference-explicit.jsonl")]
    public void A_reward_model_trains_on_conversational_preferences(string file)
    {
        using var tmp = new TempDir();
        var log = new List<string>();
        RewardModelRecipe.Run(new RewardModelOptions
        {
            Data = Fixture(file), BatchSize = 4, MaxSteps = 2, EvalShare = 0.25, LogEvery = 1, EvalEvery = 0, CheckpointEvery = 1000,
            Optimizer = new() { LearningRate = 1e-3 },
        }, TinyModels.Path, tmp.Path, RunSettings.Quiet(log.Add));
        Assert.Contains(log, l => l.StartsWith("data: 18 pairs, 6 held out", StringComparison.Ordinal));
        Assert.All(Metrics(tmp.Path), m => Assert.True(double.IsFinite((double)m["loss"]!)));
        Assert.True(File.Exists(Path.Combine(tmp.Path, "model", "model.safetensors")));
    }

    [Fact]
    public void Grpo_trains_on_prompts_whose_columns_are_mapped()
    {
        using var tmp = new TempDir();
        var o = new GrpoOptions
        {
            Task = Fixture("prompts-columns.parquet"), PromptField = "problem_text", AnswerField = "final_answer",
            TrainPrompts = 64, PromptsPerStep = 2, Generations = 2, Sampling = new() { MaxNewTokens = 8 }, Steps = 2,
            EvalPrompts = 2, EvalSamples = 1, EvalSampling = new() { MaxNewTokens = 8 }, CheckpointEvery = 1000,
            Optimizer = new() { LearningRate = 1e-3, Schedule = ScheduleKind.Constant },
        };
        GrpoRecipe.Run(o, TinyModels.Path, tmp.Path, RunSettings.Quiet());
        var completions = File.ReadAllLines(Path.Combine(tmp.Path, "completions.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(8, completions.Count);
        var ids = DataRows.ReadAll(o.Task).Select(r => r.String("id")).ToHashSet();
        Assert.All(completions, c => Assert.Contains((string)c["prompt_id"]!, ids));
        // The accuracy reward judged every completion against final_answer (an unjudged one would be null).
        Assert.All(completions, c => Assert.NotNull(c["rewards"]!["accuracy"]));
    }

    [Fact]
    public async Task Evaluation_reads_prompts_whose_columns_are_mapped()
    {
        string path = Fixture("prompts-columns.parquet");
        var task = EvalTasks.Load(path, instruction: null, promptField: "problem_text", answerField: "final_answer");
        var rows = DataRows.ReadAll(path);
        Assert.Equal(rows.Select(r => (r.String("problem_text"), r.String("final_answer"))), task.Examples.Select(e => (e.Prompt, e.Reference["answer"])));

        using var model = LocalModel.Load(TinyModels.Path);
        using var backend = new LocalGenerationBackend(model);
        using var tmp = new TempDir();
        var summary = await Evaluation.RunAsync(backend, task, new EvalOptions
        {
            Samples = 2, Limit = 5, Sampling = new() { MaxNewTokens = 8, Seed = 1 }, Template = PromptTemplate.Plain,
        }, tmp.Path);
        Assert.Equal(5, summary.Problems);
        Assert.Equal(5, File.ReadAllLines(Path.Combine(tmp.Path, "results.jsonl")).Length); // one line per problem, its samples inside
    }

    [Theory]
    [InlineData(null, "solution", "solution")]       // the mapped answer column is not in the file
    [InlineData("question_text", null, "question_text")] // the mapped prompt column is not in the file
    public void A_missing_mapped_column_names_the_file_the_row_and_the_column(string? promptField, string? answerField, string field)
    {
        string path = Fixture("prompts-columns.parquet");
        var e = Assert.Throws<DatasetFormatException>(() => EvalTasks.Load(path, null, default, promptField ?? "problem_text", answerField ?? "final_answer"));
        Assert.Equal((path, 1L, field), (e.File, e.Line, e.Field));
        Assert.StartsWith($"{path}:1", e.Message);
        using var tmp = new TempDir();
        var g = Assert.Throws<DatasetFormatException>(() => GrpoRecipe.Run(new GrpoOptions
        {
            Task = path, PromptField = promptField ?? "problem_text", AnswerField = answerField ?? "final_answer",
        }, TinyModels.Path, tmp.Sub("run"), RunSettings.Quiet()));
        Assert.Equal(field, g.Field);
        Assert.False(Directory.Exists(tmp.Sub("run")) && Directory.EnumerateFiles(tmp.Sub("run"), "*.safetensors", SearchOption.AllDirectories).Any());
    }
}

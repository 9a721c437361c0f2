using System.Text.Json.Nodes;
using R1Sharp.Data;
using R1Sharp.Model;
using R1Sharp.Text.Templates;
using R1Sharp.Text.Tokenization;
using static TorchSharp.torch;

namespace R1Sharp.Engine.Generation;

/// <summary>
/// A checkpoint ready to generate from: the transformer, its tokenizer and chat template (when the folder has
/// them), the tokens that end a sample, and the context length. Shared by <see cref="LocalGenerationBackend"/>
/// and the OpenAI-compatible server.
/// </summary>
public sealed class LocalModel : IDisposable
{
    private readonly bool _ownsTransformer;

    /// <param name="transformer">The model.</param>
    /// <param name="tokenizer">Needed for text and chat prompts and for text output; without it only token-id prompts work.</param>
    /// <param name="chatTemplate">Needed for chat prompts.</param>
    /// <param name="name">The name clients use (the served model name).</param>
    /// <param name="extraStopTokenIds">Stop tokens besides config.json's and the tokenizer's EOS (generation_config.json's).</param>
    /// <param name="ownsTransformer">Dispose the transformer with this object.</param>
    public LocalModel(CausalLM transformer, HfTokenizer? tokenizer, ChatTemplate? chatTemplate, string name,
        IEnumerable<int>? extraStopTokenIds = null, bool ownsTransformer = false)
    {
        Model = transformer ?? throw new ArgumentNullException(nameof(transformer));
        Tokenizer = tokenizer;
        ChatTemplate = chatTemplate;
        Name = name;
        _ownsTransformer = ownsTransformer;
        var stops = new SortedSet<int>(transformer.Config.EosTokenIds);
        if (tokenizer?.EosTokenId is { } eos) stops.Add(eos);
        foreach (var id in extraStopTokenIds ?? []) stops.Add(id);
        stops.RemoveWhere(id => id < 0 || id >= transformer.Config.VocabSize);
        StopTokenIds = [.. stops];
        LanguageModel = new CausalLMLanguageModel(transformer);
    }

    /// <summary>
    /// Loads a checkpoint folder: config.json + safetensors, tokenizer.json (optional), the chat template of
    /// tokenizer_config.json or chat_template.jinja (optional), and generation_config.json's EOS ids. <paramref name="adapter"/>:
    /// a PEFT LoRA adapter folder applied on top (un-merged, <see cref="Lora.Load"/>).
    /// </summary>
    public static LocalModel Load(string directory, ScalarType? dtype = null, Device? device = null, string? name = null, string? adapter = null)
    {
        directory = ModelLocation.Resolve(directory);
        var transformer = Checkpoint.Load(directory, dtype, device);
        try
        {
            if (adapter is not null) Lora.Load(transformer, adapter);
            HfTokenizer? tokenizer = HasTokenizer(directory) ? HfTokenizer.Load(directory) : null;
            ChatTemplate? template = null;
            if (tokenizer?.ChatTemplate is not null)
                template = File.Exists(Path.Combine(directory, "tokenizer_config.json"))
                    ? ChatTemplate.FromTokenizerConfig(directory)
                    : ChatTemplate.Parse(tokenizer.ChatTemplate, Path.Combine(directory, "chat_template.jinja"));
            string modelName = name ?? Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory)));
            return new LocalModel(transformer, tokenizer, template, modelName, GenerationConfigEos(directory), ownsTransformer: true);
        }
        catch
        {
            transformer.Dispose();
            throw;
        }
    }

    public CausalLM Model { get; }
    public HfTokenizer? Tokenizer { get; }
    public ChatTemplate? ChatTemplate { get; }
    public ILanguageModel LanguageModel { get; }

    /// <summary>The served model name.</summary>
    public string Name { get; }

    /// <summary>Tokens that end a sample (EOS of config.json, generation_config.json and the tokenizer).</summary>
    public IReadOnlyList<int> StopTokenIds { get; }

    /// <summary>Prompt + completion tokens the model takes (config max_position_embeddings).</summary>
    public int ContextLength => Model.Config.MaxPositionEmbeddings;

    public int VocabSize => Model.Config.VocabSize;

    /// <summary>
    /// The prompt's token ids: text encoded with the tokenizer's special tokens (BOS when it adds one, as vLLM does
    /// for completions); chat rendered with the template and the generation prompt, encoded without adding
    /// special tokens (the template writes them); token ids checked against the vocabulary.
    /// </summary>
    /// <exception cref="ArgumentException">No tokenizer or chat template for the prompt's kind, an id outside the vocabulary, or an empty prompt.</exception>
    public int[] Encode(GenerationPrompt prompt)
    {
        int[] ids;
        if (prompt.TokenIds is { } given)
        {
            ids = [.. given];
            foreach (var id in ids)
                if (id < 0 || id >= VocabSize) throw new ArgumentException($"token id {id} is outside the vocabulary (size {VocabSize})");
        }
        else if (prompt.Messages is not null)
        {
            ids = [.. RequireTokenizer("chat prompts").Encode(RenderChat(prompt), addSpecialTokens: false)];
        }
        else
        {
            ids = [.. RequireTokenizer("text prompts").Encode(prompt.Text!, addSpecialTokens: true)];
        }
        if (ids.Length == 0) throw new ArgumentException("the prompt is empty (no tokens)");
        return ids;
    }

    /// <summary>The chat prompt as text: the chat template with add_generation_prompt=True.</summary>
    public string RenderChat(GenerationPrompt prompt)
    {
        if (prompt.Messages is null) throw new ArgumentException("not a chat prompt");
        if (ChatTemplate is null)
            throw new ArgumentException($"model '{Name}' has no chat template (no chat_template in tokenizer_config.json, no chat_template.jinja); send a text prompt instead");
        return ChatTemplate.Render(prompt.Messages, addGenerationPrompt: true, prompt.TemplateContext);
    }

    /// <summary>
    /// Replaces the weights in place with those of the checkpoint folder <paramref name="directory"/> (a weight update from
    /// disk, as SGLang's <c>update_weights_from_disk</c> does): the folder is loaded and checked whole first — its config must
    /// describe the same architecture and shapes — so a bad folder leaves the served weights as they were. Tensors are copied
    /// into this model's dtype; in the same dtype the weights are the checkpoint's, bit for bit. The caller makes sure no
    /// forward pass runs meanwhile.
    /// </summary>
    /// <exception cref="InvalidDataException">The folder is not a checkpoint of this model's architecture and shapes.</exception>
    /// <exception cref="IOException">It cannot be read.</exception>
    public void LoadWeights(string directory)
    {
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"{directory}: no such checkpoint folder");
        using var loaded = Checkpoint.Load(directory, Model.DType, Model.Device);
        string Shape(ModelConfig c) => (c with { TorchDtype = "" }).ToJson().ToJsonString();
        if (Shape(loaded.Config) != Shape(Model.Config))
            throw new InvalidDataException($"{Path.Combine(directory, Checkpoint.ConfigFile)} describes another model than the one served " +
                                           $"(served: {Shape(Model.Config)}; given: {Shape(loaded.Config)})");
        using var noGrad = no_grad();
        var source = loaded.state_dict();
        var target = Model.state_dict();
        foreach (var (name, tensor) in target)
        {
            if (!source.TryGetValue(name, out var value) || !value.shape.SequenceEqual(tensor.shape))
                throw new InvalidDataException($"{directory}: tensor '{name}' is missing or has another shape");
        }
        foreach (var (name, tensor) in target) tensor.copy_(source[name]);
    }

    /// <summary>
    /// Serves the PEFT LoRA adapter in <paramref name="directory"/> on top of the base from now on (un-merged; replacing the one
    /// served before, which must adapt the same layers with the same r: <see cref="Lora.Replace"/>). Checked whole first, so a
    /// refused folder changes nothing. The caller makes sure no forward pass runs meanwhile.
    /// </summary>
    /// <exception cref="InvalidDataException">The folder is not an adapter this model can take.</exception>
    /// <exception cref="IOException">It cannot be read.</exception>
    public void LoadAdapter(string directory) => Lora.Replace(Model, directory);

    /// <summary>Stops adding the served adapter: the outputs are the base's again, exactly.</summary>
    public void SilenceAdapter() => Lora.Silence(Model);

    /// <summary>The text of one token, as streamed (special tokens included).</summary>
    public string TokenText(int id) => Tokenizer?.Decode([id]) ?? id.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The bytes of one token (OpenAI's log-probability <c>bytes</c>): for some byte-level tokens, part of a character.</summary>
    public byte[] TokenBytes(int id) => Tokenizer?.DecodeBytes(id) ?? System.Text.Encoding.UTF8.GetBytes(TokenText(id));

    internal HfTokenizer RequireTokenizer(string what) =>
        Tokenizer ?? throw new ArgumentException($"model '{Name}' has no tokenizer.json, so {what} cannot be encoded; send token ids");

    private static bool HasTokenizer(string dir) =>
        File.Exists(Path.Combine(dir, "tokenizer.json")) || File.Exists(Path.Combine(dir, "tokenizer.json.gz"));

    /// <summary>eos_token_id of generation_config.json (an int or a list), as transformers reads it.</summary>
    private static int[] GenerationConfigEos(string dir)
    {
        var path = Path.Combine(dir, Checkpoint.GenerationConfigFile);
        if (!File.Exists(path)) return [];
        var json = JsonNode.Parse(File.ReadAllText(path)) as JsonObject
                   ?? throw new InvalidDataException($"{path}: not a JSON object");
        try
        {
            return json["eos_token_id"] switch
            {
                JsonArray a => [.. a.Select(n => n!.GetValue<int>())],
                JsonValue v => [v.GetValue<int>()],
                _ => [],
            };
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or NullReferenceException)
        {
            throw new InvalidDataException($"{path}: field 'eos_token_id' must be an integer or a list of integers", e);
        }
    }

    public void Dispose()
    {
        if (_ownsTransformer) Model.Dispose();
    }
}

using R1Sharp.Text.Templates;
using R1Sharp.Text.Tokenization;
using R1Sharp.Training.Batching;

namespace R1Sharp.Recipes.Sft;

/// <summary>
/// Turns SFT records into token ids with a per-token target mask, in one of three ways:
/// <list type="bullet">
/// <item><c>plain</c>: ids(prompt) ++ ids(completion) ++ [EOS]; targets are the completion and the EOS. Prompt and
/// completion are encoded separately, so the prompt's ids are exactly what generation is later conditioned on (TRL
/// encodes prompt + completion together and warns when the prompt's ids change at the seam).</item>
/// <item>a text preset of <see cref="PromptTemplate"/> (<c>r1-zero</c>, …): the prompt filled into the preset, then as plain.
/// (The preset named "plain" there, "Question: …\nAnswer:", is not reachable by that name here: <c>plain</c> means the prompt as it is.)</item>
/// <item><c>chat</c>: the model's chat template over the conversation (a prompt/completion pair becomes
/// [user, assistant]); the targets are the tokens of the assistant turns from <see cref="SftRecord.TrainFrom"/> on —
/// their content, reasoning and end-of-turn token, never the role headers (<see cref="ChatTemplate.RenderWithSpans"/>),
/// as transformers' <c>return_assistant_tokens_mask</c> and TRL's <c>assistant_only_loss</c>.</item>
/// </list>
/// </summary>
public sealed class SftEncoder
{
    public const string Plain = "plain", Chat = "chat";

    readonly HfTokenizer tokenizer;
    readonly ChatTemplate? chat;
    readonly PromptTemplate? preset;
    readonly int eos;

    public SftEncoder(HfTokenizer tokenizer, string template, ChatTemplate? chatTemplate = null)
    {
        this.tokenizer = tokenizer;
        Template = template;
        if (template == Chat)
            chat = chatTemplate ?? throw new ArgumentException("template 'chat' needs the tokenizer's chat template", nameof(chatTemplate));
        else if (template != Plain)
        {
            preset = PromptTemplate.Presets.TryGetValue(template, out var p) && p.Kind == PromptTemplateKind.Text
                ? p
                : throw new ArgumentException($"unknown template '{template}' (plain, chat, or a text preset: " +
                    string.Join(", ", PromptTemplate.Presets.Values.Where(v => v.Kind == PromptTemplateKind.Text).Select(v => v.Name)) + ")");
        }
        eos = tokenizer.EosTokenId ?? -1;
        if (chat is null && eos < 0) throw new ArgumentException($"template '{template}' appends EOS, but the tokenizer has no EOS token");
    }

    /// <summary>The encoder for <paramref name="template"/>; <c>chat</c> reads the chat template of <paramref name="modelDir"/>.</summary>
    public static SftEncoder Create(HfTokenizer tokenizer, string template, string modelDir)
    {
        if (template != Chat) return new SftEncoder(tokenizer, template);
        try { return new SftEncoder(tokenizer, template, ChatTemplate.FromTokenizerConfig(modelDir)); }
        catch (Exception e) when (e is FileNotFoundException or FormatException or TemplateException)
        {
            throw new InvalidDataException($"template 'chat': cannot use the chat template of {modelDir} ({e.Message}); use template 'plain' for a base model", e);
        }
    }

    public string Template { get; }

    /// <summary>The ids and target mask of <paramref name="r"/>; a bad record raises <see cref="InvalidDataException"/> naming its source.</summary>
    public TokenSequence Encode(SftRecord r)
    {
        if (chat is not null) return EncodeChat(r);
        if (r.Messages is not null)
            throw new InvalidDataException($"{r.Source}: a conversation ('messages') needs template 'chat', not '{Template}'");
        if (r.Prompt is null || r.Completion is null)
            throw new InvalidDataException($"{r.Source}: field '{(r.Prompt is null ? "prompt" : "completion")}' is missing");
        var prompt = tokenizer.Encode(preset?.Format(r.Prompt) ?? r.Prompt);
        var completion = tokenizer.Encode(r.Completion);
        int n = prompt.Count + completion.Count + 1;
        var ids = new int[n];
        var targets = new bool[n];
        for (int i = 0; i < prompt.Count; i++) ids[i] = prompt[i];
        for (int i = 0; i < completion.Count; i++) { ids[prompt.Count + i] = completion[i]; targets[prompt.Count + i] = true; }
        ids[n - 1] = eos;
        targets[n - 1] = true;
        return new TokenSequence(ids, targets);
    }

    // ChatEncoding (R1Sharp.Text) does the same for a whole conversation; SFT also needs to skip turns before TrainFrom.
    TokenSequence EncodeChat(SftRecord r)
    {
        IReadOnlyList<ChatMessage> messages;
        int trainFrom;
        if (r.Messages is not null) (messages, trainFrom) = (r.Messages, r.TrainFrom);
        else if (r.Prompt is not null && r.Completion is not null) (messages, trainFrom) = ([ChatMessage.User(r.Prompt), ChatMessage.Assistant(r.Completion)], 1);
        else throw new InvalidDataException($"{r.Source}: neither messages nor prompt and completion");

        ChatRendering rendering;
        try { rendering = chat!.RenderWithSpans(messages); }
        catch (TemplateException e) { throw new InvalidDataException($"{r.Source}: the chat template failed on this conversation: {e.Message}", e); }
        var spans = rendering.AssistantSpans.Where((_, k) => rendering.AssistantMessageIndices[k] < 0 || rendering.AssistantMessageIndices[k] >= trainFrom).ToList();
        var encoded = tokenizer.EncodeWithOffsets(rendering.Text);
        var targets = TokenMask.FromSpans(encoded.Offsets, spans);
        if (!targets.Any(t => t)) throw new InvalidDataException($"{r.Source}: the conversation has no assistant tokens to train on");
        return new TokenSequence([.. encoded.Ids], targets);
    }
}

using R1Sharp.Text.Templates;
using R1Sharp.Text.Tokenization;
using R1Sharp.Training.Batching;

namespace R1Sharp.Recipes.Sft;

/// <summary>
/// Turns SFT records into token ids with a per-token target mask. A record's shape decides first:
/// <list type="bullet">
/// <item>text (<c>{"text"}</c>, language modelling): ids(text) ++ [EOS], every token a target.</item>
/// <item>a conversation (<c>{"messages"}</c>, or prompt/completion as message lists): the chat template (the model's, the
/// options' chat_template_path, or ChatML for a model without one: <see cref="ChatTemplate.ForModel"/>) over the messages;
/// the targets are the tokens of the assistant turns from <see cref="SftRecord.TrainFrom"/> on — their content, reasoning
/// and end-of-turn token, never the role headers (<see cref="ChatTemplate.RenderWithSpans"/>), as transformers'
/// <c>return_assistant_tokens_mask</c> and TRL's <c>assistant_only_loss</c>.</item>
/// <item>a prompt/completion pair of strings, by the template option: <c>plain</c>: ids(prompt) ++ ids(completion) ++ [EOS];
/// targets are the completion and the EOS. Prompt and completion are encoded separately, so the prompt's ids are exactly
/// what generation is later conditioned on (TRL encodes prompt + completion together and warns when the prompt's ids change
/// at the seam). A text preset of <see cref="PromptTemplate"/> (<c>r1-zero</c>, …) fills the prompt into the preset, then
/// as plain (the preset named "plain" there, "Question: …\nAnswer:", is not reachable by that name here). <c>chat</c>:
/// the pair as the conversation [user, assistant].</item>
/// </list>
/// </summary>
public sealed class SftEncoder
{
    public const string Plain = "plain", Chat = "chat";

    readonly HfTokenizer tokenizer;
    readonly Lazy<ChatTemplate>? chat;
    readonly PromptTemplate? preset;
    readonly int eos;

    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="template"><c>plain</c>, <c>chat</c> or a text preset: how prompt/completion strings are put together.</param>
    /// <param name="chatTemplate">The chat template for conversations (resolved when the first one comes; required for <c>chat</c>).</param>
    public SftEncoder(HfTokenizer tokenizer, string template, Func<ChatTemplate>? chatTemplate = null)
    {
        this.tokenizer = tokenizer;
        Template = template;
        chat = chatTemplate is null ? null : new Lazy<ChatTemplate>(chatTemplate);
        if (template == Chat && chat is null) throw new ArgumentException("template 'chat' needs a chat template", nameof(chatTemplate));
        if (template is not (Chat or Plain))
        {
            preset = PromptTemplate.Presets.TryGetValue(template, out var p) && p.Kind == PromptTemplateKind.Text
                ? p
                : throw new ArgumentException($"unknown template '{template}' (plain, chat, or a text preset: " +
                    string.Join(", ", PromptTemplate.Presets.Values.Where(v => v.Kind == PromptTemplateKind.Text).Select(v => v.Name)) + ")");
        }
        eos = tokenizer.EosTokenId ?? -1;
    }

    /// <summary>
    /// The encoder for <paramref name="template"/>; conversations use <see cref="ChatTemplate.ForModel"/> of
    /// <paramref name="modelDir"/> and <paramref name="chatTemplatePath"/>, resolved at once for <c>chat</c> (so a bad template
    /// stops the run before training), else when the first conversation comes. <paramref name="log"/> hears which template.
    /// </summary>
    public static SftEncoder Create(HfTokenizer tokenizer, string template, string modelDir, string? chatTemplatePath = null, Action<string>? log = null)
    {
        ChatTemplate Resolve()
        {
            try
            {
                var t = ChatTemplate.ForModel(modelDir, chatTemplatePath, out string origin);
                log?.Invoke($"chat template: {origin}");
                return t;
            }
            catch (Exception e) when (e is FileNotFoundException or FormatException or TemplateException)
            {
                throw new InvalidDataException($"chat template: {e.Message}", e);
            }
        }
        var encoder = new SftEncoder(tokenizer, template, Resolve);
        if (template == Chat) _ = encoder.chat!.Value;
        return encoder;
    }

    public string Template { get; }

    /// <summary>The ids and target mask of <paramref name="r"/>; a bad record raises <see cref="InvalidDataException"/> naming its source.</summary>
    public TokenSequence Encode(SftRecord r)
    {
        if (r.Text is not null) return WithEos(r, [], tokenizer.Encode(r.Text));
        if (r.Messages is not null || Template == Chat) return EncodeChat(r);
        if (r.Prompt is null || r.Completion is null)
            throw new InvalidDataException($"{r.Source}: field '{(r.Prompt is null ? "prompt" : "completion")}' is missing");
        return WithEos(r, tokenizer.Encode(preset?.Format(r.Prompt) ?? r.Prompt), tokenizer.Encode(r.Completion));
    }

    /// <summary>context ++ targets ++ [EOS], the targets and the EOS trained on.</summary>
    TokenSequence WithEos(SftRecord r, IReadOnlyList<int> context, IReadOnlyList<int> targetIds)
    {
        if (eos < 0) throw new InvalidDataException($"{r.Source}: this example ends with EOS, but the tokenizer has no EOS token");
        int n = context.Count + targetIds.Count + 1;
        var ids = new int[n];
        var targets = new bool[n];
        for (int i = 0; i < context.Count; i++) ids[i] = context[i];
        for (int i = 0; i < targetIds.Count; i++) { ids[context.Count + i] = targetIds[i]; targets[context.Count + i] = true; }
        ids[n - 1] = eos;
        targets[n - 1] = true;
        return new TokenSequence(ids, targets);
    }

    // ChatEncoding (R1Sharp.Text) does the same for a whole conversation; SFT also needs to skip turns before TrainFrom.
    TokenSequence EncodeChat(SftRecord r)
    {
        if (chat is null) throw new InvalidDataException($"{r.Source}: a conversation needs a chat template, and none was given");
        IReadOnlyList<ChatMessage> messages;
        int trainFrom;
        if (r.Messages is not null) (messages, trainFrom) = (r.Messages, r.TrainFrom);
        else if (r.Prompt is not null && r.Completion is not null) (messages, trainFrom) = ([ChatMessage.User(r.Prompt), ChatMessage.Assistant(r.Completion)], 1);
        else throw new InvalidDataException($"{r.Source}: neither messages nor prompt and completion");

        ChatRendering rendering;
        try { rendering = chat.Value.RenderWithSpans(messages); }
        catch (TemplateException e) { throw new InvalidDataException($"{r.Source}: the chat template failed on this conversation: {e.Message}", e); }
        var spans = rendering.AssistantSpans.Where((_, k) => rendering.AssistantMessageIndices[k] < 0 || rendering.AssistantMessageIndices[k] >= trainFrom).ToList();
        var encoded = tokenizer.EncodeWithOffsets(rendering.Text);
        var targets = TokenMask.FromSpans(encoded.Offsets, spans);
        if (!targets.Any(t => t)) throw new InvalidDataException($"{r.Source}: the conversation has no assistant tokens to train on");
        return new TokenSequence([.. encoded.Ids], targets);
    }
}

using System.CommandLine;
using System.Text;
using R1Sharp.Engine;
using R1Sharp.Engine.Generation;
using R1Sharp.Text.Templates;

namespace R1Sharp.Cli.Commands;

/// <summary>
/// <c>r1sharp chat --model DIR | --endpoint URL</c>: an interactive chat in the terminal. Each line read from
/// stdin is a user turn (so it also takes piped input); replies stream as they are generated, the chain of
/// thought (<c>&lt;think&gt;…&lt;/think&gt;</c>) shown apart from the answer. <c>/reset</c> clears the
/// conversation, <c>/exit</c> (or end of input) quits. As in DeepSeek-R1's chat template, earlier turns keep only
/// their answers, not their thinking.
/// </summary>
public static class ChatCommand
{
    public static Command Create()
    {
        var backend = new BackendOptions();
        var system = new Option<string?>("--system") { Description = "A system message at the start of the conversation." };
        var temperature = new Option<double>("--temperature", "-t") { Description = "Sampling temperature (R1 recommends 0.6).", DefaultValueFactory = _ => 0.6 };
        var topP = new Option<double>("--top-p") { Description = "Nucleus sampling.", DefaultValueFactory = _ => 0.95 };
        var maxNew = Shared.MaxNewTokens(4096, "Most tokens per reply.");
        var seed = new Option<long?>("--seed") { Description = "Random seed (the same seed and input give the same replies on a local model)." };
        var command = new Command("chat", "Chat with a model in the terminal (stdin lines are user turns); thinking is shown apart from the answer.")
        { system, temperature, topP, maxNew, seed };
        foreach (var option in backend.All) command.Options.Add(option);
        command.SetAction(async (r, ct) =>
        {
            IStreamingGenerationBackend generator;
            string name;
            try
            {
                (generator, name) = backend.Create(r);
            }
            catch (TemplateException e)
            {
                throw new UserError($"the chat template does not parse: {e.Message}");
            }
            using var _ = generator;
            var options = new GenerationOptions
            {
                Temperature = r.GetValue(temperature),
                TopP = r.GetValue(topP),
                MaxNewTokens = r.GetValue(maxNew),
                Seed = r.GetValue(seed),
            };
            return await RunAsync(generator, name, options, r.GetValue(system), Console.In, Console.Out, Fancy(), ct);
        });
        return command;
    }

    /// <summary>Colours only on a terminal, and not when NO_COLOR is set.</summary>
    private static bool Fancy() => !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("NO_COLOR") is null;

    /// <summary>The chat loop, on any reader and writer.</summary>
    public static async Task<int> RunAsync(IStreamingGenerationBackend backend, string name, GenerationOptions options, string? systemPrompt,
        TextReader input, TextWriter output, bool fancy, CancellationToken cancellationToken = default)
    {
        var local = (backend as LocalGenerationBackend)?.Model;
        bool chatTemplate = local is null || local.ChatTemplate is not null;
        if (!chatTemplate) options = options with { Stop = [.. options.Stop, "\nUser:"] };
        var history = new List<ChatMessage>();
        if (systemPrompt is not null) history.Add(ChatMessage.System(systemPrompt));
        output.WriteLine($"chat with {name}{(chatTemplate ? "" : " (no chat template: a plain User/Assistant transcript)")}. /reset clears the conversation, /exit quits.");
        while (true)
        {
            if (fancy) output.Write("\x1b[1myou>\x1b[0m ");
            output.Flush();
            string? line = await input.ReadLineAsync(cancellationToken).ConfigureAwait(false);
            if (line is null) break;
            line = line.Trim();
            if (line.Length == 0) continue;
            if (line is "/exit" or "/quit") break;
            if (line == "/reset")
            {
                history.RemoveAll(m => m.Role != "system");
                output.WriteLine("(conversation cleared)");
                continue;
            }
            history.Add(ChatMessage.User(line));
            var prompt = chatTemplate ? GenerationPrompt.FromChat([.. history]) : GenerationPrompt.FromText(Transcript(history));
            bool startsThinking;
            try
            {
                startsThinking = local?.ChatTemplate is not null && local.RenderChat(prompt).TrimEnd().EndsWith("<think>", StringComparison.Ordinal);
            }
            catch (TemplateException e)
            {
                // The template refused this conversation (raise_exception) or failed on it: say so, forget the turn.
                output.WriteLine($"error: the chat template failed on this conversation: {e.Message}");
                history.RemoveAt(history.Count - 1);
                continue;
            }

            var display = new Display(output, fancy, startsThinking);
            GenerationSample? final = null;
            await foreach (var delta in backend.StreamAsync(new GenerationRequest(prompt, options), cancellationToken).ConfigureAwait(false))
            {
                display.Add(delta.Text);
                final ??= delta.Final;
            }
            display.End();
            var (thinking, answer) = ThinkSplitter.Split(final!.Text, startsThinking);
            history.Add(ChatMessage.Assistant(answer.Trim(), thinking.Length > 0 ? thinking.Trim() : null));
            string note = $"[{final.CompletionTokens} tokens, {(final.FinishReason == FinishReason.Stop ? "done" : "cut at the token limit")}]";
            output.WriteLine(fancy ? $"\x1b[2m{note}\x1b[0m" : note);
            output.WriteLine();
        }
        return 0;
    }

    private static string Transcript(List<ChatMessage> history)
    {
        var text = new StringBuilder();
        foreach (var m in history)
            text.Append(m.Role switch { "user" => "User: ", "assistant" => "Assistant: ", _ => "" }).Append(m.Content).Append('\n');
        return text.Append("Assistant:").ToString();
    }

    /// <summary>
    /// Prints a streamed reply. Plain output: a <c>thinking:</c> line before the chain of thought and an
    /// <c>assistant:</c> line before the answer. On a terminal: thinking dimmed, answer in normal text.
    /// </summary>
    private sealed class Display(TextWriter output, bool fancy, bool startsThinking)
    {
        private readonly ThinkSplitter _splitter = new(startsThinking);
        private OutputPart? _shown;
        private bool _lineStart = true;

        public void Add(string text) => Show(_splitter.Add(text));

        public void End()
        {
            Show(_splitter.Flush());
            if (_shown is null) Header(OutputPart.Answer);
            if (fancy) output.Write("\x1b[0m");
            if (!_lineStart) output.WriteLine();
            output.Flush();
        }

        private void Show(IReadOnlyList<(OutputPart Part, string Text)> parts)
        {
            foreach (var (part, text) in parts)
            {
                string t = text;
                if (_shown != part)
                {
                    Header(part);
                    t = t.TrimStart('\n');
                }
                if (t.Length == 0) continue;
                output.Write(t);
                _lineStart = t.EndsWith('\n');
            }
            output.Flush();
        }

        private void Header(OutputPart part)
        {
            if (!_lineStart) output.WriteLine();
            if (fancy) output.Write(part == OutputPart.Thinking ? "\x1b[2;3m" : "\x1b[0m");
            else output.WriteLine(part == OutputPart.Thinking ? "thinking:" : "assistant:");
            _shown = part;
            _lineStart = true;
        }
    }
}

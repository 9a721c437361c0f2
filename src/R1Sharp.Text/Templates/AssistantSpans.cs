using R1Sharp.Text.Templates.Jinja;

namespace R1Sharp.Text.Templates;

/// <summary>
/// Finds, in a rendered conversation T, the text the model generates in each assistant turn.
/// <para>
/// Templates with <c>{% generation %}</c> blocks say it themselves; their spans are used as transformers'
/// <c>return_assistant_tokens_mask</c> uses them. Otherwise, for assistant message i (m = the messages):
/// </para>
/// <list type="number">
/// <item>G = render(m[..i], add_generation_prompt=True) is the prompt the model sees before the turn;
/// B = render(m[..i+1], add_generation_prompt=False) is the conversation ending with the turn. The turn's generated
/// text is W = B minus its prefix G, without trailing whitespace: the model stops at its end-of-turn token, the
/// newline a template writes after it is formatting (Qwen's <c>&lt;|im_end|&gt;\n</c>). So the span holds the
/// reasoning the template shows, the answer, tool calls and the end-of-turn token, and never the role header.
/// If B does not start with G (the generation prompt pre-fills text this turn lacks, like Qwen3's empty think
/// block under enable_thinking=false for a message with reasoning), G is cut back to the role header: the part of
/// the generation prompt B shares, at most its first line.</item>
/// <item>Prefix diff: if T starts with G followed by W, the span is [|G|, |G|+|W|).</item>
/// <item>Otherwise the template renders the turn differently once later messages follow (Qwen3 and DeepSeek-R1
/// drop the reasoning of turns before the last user message), and the span is what T shows of the turn: it starts
/// after the role header (the first occurrence of the generation prompt's first line after the previous span,
/// plus the rest of the generation prompt if T repeats all of it) and ends after the end-of-turn text. The content's
/// end is found by rendering T again with a marker character inserted before the content's trailing whitespace;
/// the end-of-turn text is the longest suffix of W that T continues with there (after that whitespace, if T
/// shows it). If the marker changes more than itself (a template that branches on empty content), the turn is
/// the longest suffix of W that T continues with right after the header.</item>
/// </list>
/// A template that ignores add_generation_prompt and always appends the assistant header (Meta-Llama-3-8B's base
/// config) is handled by treating that unconditional trailer as the generation prompt. When none of the rules
/// locates a turn, <see cref="TemplateRuntimeException"/> says which message.
/// </summary>
internal static class AssistantSpans
{
    public static ChatRendering Compute(ChatTemplate template, IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt,
        IReadOnlyDictionary<string, object?>? extra)
    {
        string text = template.Render(messages, addGenerationPrompt, extra, out var generationSpans);
        var assistant = Enumerable.Range(0, messages.Count).Where(i => messages[i].Role == "assistant").ToList();
        if (template.Template.HasGenerationBlocks)
        {
            var ordered = generationSpans.OrderBy(s => s.Start).ToList();
            var indices = ordered.Count == assistant.Count ? assistant : [.. Enumerable.Repeat(-1, ordered.Count)];
            return new ChatRendering(text, ordered, indices);
        }
        var locator = new Locator(template, messages, addGenerationPrompt, extra, text);
        var spans = new List<(int Start, int End)>(assistant.Count);
        int previousEnd = 0;
        foreach (int i in assistant)
        {
            var span = locator.Locate(i, previousEnd);
            spans.Add(span);
            previousEnd = span.End;
        }
        return new ChatRendering(text, spans, assistant);
    }

    private sealed class Locator(ChatTemplate template, IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt,
        IReadOnlyDictionary<string, object?>? extra, string text)
    {
        private readonly string? _trailer = UnconditionalTrailer(template, messages, addGenerationPrompt, extra, text);
        private char _marker;

        private string Render(IReadOnlyList<ChatMessage> m, bool gen) => template.Render(m, gen, extra);

        public (int Start, int End) Locate(int i, int previousEnd)
        {
            var before = messages.Take(i).ToList();
            var through = messages.Take(i + 1).ToList();
            string prompt = Render(before, true);
            string withTurn = StripTrailer(Render(through, false));
            if (!withTurn.StartsWith(prompt, StringComparison.Ordinal))
                prompt = HeaderOnlyPrompt(i, before, prompt, withTurn);
            string generated = withTurn[prompt.Length..TrimmedLength(withTurn, prompt.Length)];

            if (prompt.Length >= previousEnd && text.StartsWith(prompt, StringComparison.Ordinal)
                && string.CompareOrdinal(text, prompt.Length, generated, 0, generated.Length) == 0)
                return (prompt.Length, prompt.Length + generated.Length);

            // The template shows this turn differently in the full rendering: find it there, after its role header.
            if (HeaderEnd(before, prompt, previousEnd) is not int start)
                throw Unlocatable(i, "the template renders it differently once later messages follow, and its role header was not found");
            int? end = EndByMarker(i, generated, start) ?? EndBySuffix(generated, start);
            return end is int e ? (start, e)
                : throw Unlocatable(i, "the template renders it differently once later messages follow, and its text could not be traced");
        }

        /// <summary>
        /// When the generation prompt pre-fills text the turn does not start with (Qwen3's empty think block under
        /// enable_thinking=false, for a message that has reasoning), the prompt is cut back to the role header: the
        /// part of the generation prompt the turn shares, at most its first line.
        /// </summary>
        private string HeaderOnlyPrompt(int i, List<ChatMessage> before, string prompt, string withTurn)
        {
            string plain = StripTrailer(Render(before, false));
            if (!prompt.StartsWith(plain, StringComparison.Ordinal) || !withTurn.StartsWith(plain, StringComparison.Ordinal))
                throw Unlocatable(i, "rendering the conversation before it is not a prefix of rendering it with the turn");
            string header = prompt[plain.Length..];
            int common = 0;
            while (common < header.Length && plain.Length + common < withTurn.Length && header[common] == withTurn[plain.Length + common]) common++;
            int firstLine = header.IndexOf('\n') + 1;
            return withTurn[..(plain.Length + Math.Min(common, firstLine == 0 ? header.Length : firstLine))];
        }

        private string StripTrailer(string s) =>
            _trailer is not null && s.EndsWith(_trailer, StringComparison.Ordinal) ? s[..^_trailer.Length] : s;

        private static int TrimmedLength(string s, int from)
        {
            int end = s.Length;
            while (end > from && PyStrings.IsSpace(s[end - 1])) end--;
            return end;
        }

        private static TemplateRuntimeException Unlocatable(int i, string why) =>
            new($"RenderWithSpans: cannot locate assistant message {i} in the rendering: {why}.");

        /// <summary>
        /// Where the turn starts in the full rendering: after the first role header (the generation prompt's first
        /// line) at or after the previous span, and after the rest of the generation prompt when all of it follows.
        /// </summary>
        private int? HeaderEnd(List<ChatMessage> before, string prompt, int previousEnd)
        {
            string header = Header(before, prompt);
            if (header.Length == 0) return null;
            int firstLine = header.IndexOf('\n') + 1;
            string line = firstLine > 0 ? header[..firstLine] : header;
            int at = text.IndexOf(line, previousEnd, StringComparison.Ordinal);
            if (at < 0) return null;
            int start = at + line.Length;
            int rest = header.Length - line.Length;
            if (rest > 0 && string.CompareOrdinal(text, start, header, line.Length, rest) == 0) start += rest;
            return start;
        }

        /// <summary>
        /// Strategy 3: where the content ends in the full rendering (found by rendering it again with a marker
        /// character before the content's trailing whitespace), then the end-of-turn text: the longest suffix of
        /// <paramref name="generated"/> the rendering continues with, possibly after the content's trailing whitespace.
        /// </summary>
        private int? EndByMarker(int i, string generated, int start)
        {
            string content = messages[i].Content;
            int endAt = content.Length;
            while (endAt > 0 && PyStrings.IsSpace(content[endAt - 1])) endAt--;
            char marker = Marker();
            var marked = messages.ToList();
            marked[i] = marked[i] with { Content = content.Insert(endAt, marker.ToString()) };
            if (MarkerPosition(text, Render(marked, addGenerationPrompt), marker) is not int contentEnd || contentEnd < start) return null;
            (int At, int Length) best = (contentEnd, 0);
            for (int j = 0; j <= content.Length - endAt && contentEnd + j <= text.Length; j++)
            {
                int k = LongestSuffixAt(generated, contentEnd + j);
                if (k > best.Length) best = (contentEnd + j, k);
            }
            return best.At + best.Length;
        }

        /// <summary>Strategy 4 (the marker changed more than itself): the longest suffix of the generated text the rendering continues with at the start.</summary>
        private int? EndBySuffix(string generated, int start)
        {
            int k = LongestSuffixAt(generated, start);
            return k > 0 ? start + k : null;
        }

        /// <summary>The length of the longest suffix of <paramref name="generated"/> that <c>text</c> continues with at <paramref name="at"/>.</summary>
        private int LongestSuffixAt(string generated, int at)
        {
            var rest = text.AsSpan(at);
            for (int k = Math.Min(generated.Length, rest.Length); k > 0; k--)
                if (rest.StartsWith(generated.AsSpan(generated.Length - k), StringComparison.Ordinal)) return k;
            return 0;
        }

        /// <summary>A private-use character that occurs in no message and not in the rendering.</summary>
        private char Marker()
        {
            if (_marker != '\0') return _marker;
            for (char c = '\uE000'; c < '\uF8FF'; c++)
            {
                if (text.Contains(c) || messages.Any(m => m.Content.Contains(c))) continue;
                return _marker = c;
            }
            throw new TemplateRuntimeException("RenderWithSpans: no free marker character");
        }

        /// <summary>Position of the marker when <paramref name="marked"/> is <paramref name="plain"/> with just the marker inserted.</summary>
        private static int? MarkerPosition(string plain, string marked, char marker)
        {
            if (marked.Length != plain.Length + 1) return null;
            int d = 0;
            while (d < plain.Length && plain[d] == marked[d]) d++;
            if (marked[d] != marker) return null;
            return string.CompareOrdinal(plain, d, marked, d + 1, plain.Length - d) == 0 ? d : null;
        }

        /// <summary>The role header: what add_generation_prompt adds to the conversation before the turn.</summary>
        private string Header(List<ChatMessage> before, string prompt)
        {
            string plain = StripTrailer(Render(before, false));
            return prompt.StartsWith(plain, StringComparison.Ordinal) ? prompt[plain.Length..] : "";
        }

        /// <summary>
        /// For templates that append the assistant header whatever add_generation_prompt says: that header (the
        /// rendering of an empty conversation), else null.
        /// </summary>
        private static string? UnconditionalTrailer(ChatTemplate template, IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt,
            IReadOnlyDictionary<string, object?>? extra, string text)
        {
            if (template.Render(messages, !addGenerationPrompt, extra) != text) return null;
            try
            {
                string empty = template.Render([], false, extra);
                return empty.Length > 0 && text.EndsWith(empty, StringComparison.Ordinal) ? empty : null;
            }
            catch (TemplateException)
            {
                return null;
            }
        }
    }
}

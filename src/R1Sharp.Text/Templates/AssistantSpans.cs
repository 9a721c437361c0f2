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
/// drop the reasoning of turns before the last user message). The turn is then traced in T itself by rendering
/// T again with a marker character inserted into the message's content (at the answer's start, and before its
/// trailing whitespace); the span runs from the answer's start (or from the start of the reasoning block, if T
/// still shows the same block) through the content and the end-of-turn text W has after the content.</item>
/// <item>If a marker changes more than itself (a template that branches on empty content), the longest suffix of W
/// found in T after the previous assistant span is the turn; a match that begins inside the role header is moved
/// to the header's end.</item>
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

            return TraceWithMarkers(i, through, prompt, withTurn, previousEnd)
                   ?? LongestSuffix(before, prompt, generated, previousEnd)
                   ?? throw Unlocatable(i, "the template renders it differently once later messages follow, and its text could not be traced");
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

        /// <summary>Strategy 3: trace the turn in the full rendering with a marker character in its content.</summary>
        private (int, int)? TraceWithMarkers(int i, List<ChatMessage> through, string prompt, string withTurn, int previousEnd)
        {
            var msg = messages[i];
            string content = msg.Content;
            int endAt = content.Length;
            while (endAt > 0 && PyStrings.IsSpace(content[endAt - 1])) endAt--;
            int startAt = AnswerStart(content);
            if (startAt > endAt) startAt = endAt;
            char marker = Marker();
            var (startFull, endFull) = (WithMarker(messages, i, content.Insert(startAt, marker.ToString())),
                WithMarker(messages, i, content.Insert(endAt, marker.ToString())));
            int? pS = MarkerPosition(text, Render(startFull, addGenerationPrompt), marker);
            int? pE = MarkerPosition(text, Render(endFull, addGenerationPrompt), marker);
            string rawWithTurn = Render(through, false);
            int? qS = MarkerPosition(rawWithTurn, Render(WithMarker(through, i, content.Insert(startAt, marker.ToString())), false), marker);
            int? qE = MarkerPosition(rawWithTurn, Render(WithMarker(through, i, content.Insert(endAt, marker.ToString())), false), marker);
            if (pS is not int s || pE is not int e || qS is not int bs || qE is not int be) return null;
            if (s > e || bs > be || bs < prompt.Length || be > withTurn.Length) return null;
            // The answer must read the same in both renderings.
            if (e - s != be - bs || string.CompareOrdinal(text, s, withTurn, bs, e - s) != 0) return null;
            string tail = withTurn[be..TrimmedLength(withTurn, be)];
            if (string.CompareOrdinal(text, e, tail, 0, tail.Length) != 0) return null;
            string pre = withTurn[prompt.Length..bs];
            int start = s - pre.Length >= previousEnd && string.CompareOrdinal(text, s - pre.Length, pre, 0, pre.Length) == 0 ? s - pre.Length : s;
            return start >= previousEnd ? (start, e + tail.Length) : null;
        }

        /// <summary>Where the answer starts: after the last "&lt;/think&gt;" and the whitespace after it, else after leading whitespace.</summary>
        private static int AnswerStart(string content)
        {
            int k = content.LastIndexOf("</think>", StringComparison.Ordinal);
            int p = k >= 0 ? k + "</think>".Length : 0;
            while (p < content.Length && PyStrings.IsSpace(content[p])) p++;
            return p;
        }

        private static List<ChatMessage> WithMarker(IReadOnlyList<ChatMessage> list, int i, string content)
        {
            var copy = list.ToList();
            copy[i] = copy[i] with { Content = content };
            return copy;
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

        /// <summary>Strategy 4: the longest suffix of the generated text that occurs after the previous span.</summary>
        private (int, int)? LongestSuffix(List<ChatMessage> before, string prompt, string generated, int previousEnd)
        {
            // Occurrence is monotone in the suffix length (a suffix of an occurring suffix occurs), so bisect.
            int lo = 0, hi = generated.Length;
            while (lo < hi)
            {
                int mid = (lo + hi + 1) / 2;
                if (text.IndexOf(generated[^mid..], previousEnd, StringComparison.Ordinal) >= 0) lo = mid;
                else hi = mid - 1;
            }
            if (lo == 0) return null;
            int at = text.IndexOf(generated[^lo..], previousEnd, StringComparison.Ordinal);
            int start = at;
            string header = Header(before, prompt);
            if (header.Length > 0)
                for (int j = 0; j <= Math.Min(lo, header.Length); j++)
                    if (at + j >= header.Length && string.CompareOrdinal(text, at + j - header.Length, header, 0, header.Length) == 0)
                    {
                        start = at + j;
                        break;
                    }
            return (start, at + lo);
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

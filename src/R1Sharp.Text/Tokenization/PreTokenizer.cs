namespace R1Sharp.Text.Tokenization;

/// <summary>How a <see cref="SplitStep"/> treats the matched delimiters (HF <c>SplitDelimiterBehavior</c>).</summary>
internal enum SplitBehavior
{
    Removed,
    Isolated,
    MergedWithPrevious,
    MergedWithNext,
    Contiguous,
}

/// <summary>
/// HF <c>Split</c> pre-tokenizer: cuts each piece at the regex matches. Runs on each piece separately, as HF
/// does, so look-arounds never see past a piece produced by an earlier step.
/// </summary>
internal sealed class SplitStep(ISplitPattern regex, SplitBehavior behavior, bool invert)
{
    public ISplitPattern Regex { get; } = regex;
    public SplitBehavior Behavior { get; } = behavior;
    public bool Invert { get; } = invert;

    /// <summary>Splits input[start..end) and appends the resulting non-empty pieces (absolute positions).</summary>
    public void Split(ReadOnlySpan<char> text, int start, int end, List<(int Start, int End)> matchBuffer, List<(int Start, int End)> output)
    {
        matchBuffer.Clear();
        Regex.Matches(text[start..end], matchBuffer);
        if (Behavior == SplitBehavior.Isolated)
        {
            // Fast path: gaps and matches alike become pieces; invert does not matter.
            int prev = start;
            foreach (var (ms, me) in matchBuffer)
            {
                if (ms + start > prev) output.Add((prev, ms + start));
                output.Add((ms + start, me + start));
                prev = me + start;
            }
            if (prev < end) output.Add((prev, end));
            return;
        }

        // General path: a list of (range, isDelimiter) covering the piece.
        var parts = new List<(int S, int E, bool Delim)>(matchBuffer.Count * 2 + 1);
        int p = start;
        foreach (var (ms, me) in matchBuffer)
        {
            if (ms + start > p) parts.Add((p, ms + start, Invert));
            parts.Add((ms + start, me + start, !Invert));
            p = me + start;
        }
        if (p < end) parts.Add((p, end, Invert));

        switch (Behavior)
        {
            case SplitBehavior.Removed:
                foreach (var x in parts)
                    if (!x.Delim) output.Add((x.S, x.E));
                break;
            case SplitBehavior.MergedWithPrevious:
            {
                int? open = null;
                int openEnd = 0;
                foreach (var x in parts)
                {
                    if (x.Delim && open is not null)
                    {
                        openEnd = x.E;
                        output.Add((open.Value, openEnd));
                        open = null;
                    }
                    else
                    {
                        if (open is not null) output.Add((open.Value, openEnd));
                        if (x.Delim) output.Add((x.S, x.E));
                        else
                        {
                            open = x.S;
                            openEnd = x.E;
                        }
                    }
                }
                if (open is not null) output.Add((open.Value, openEnd));
                break;
            }
            case SplitBehavior.MergedWithNext:
            {
                int? pending = null;
                foreach (var x in parts)
                {
                    if (x.Delim)
                    {
                        if (pending is not null) output.Add((pending.Value, x.S));
                        pending = x.S;
                    }
                    else
                    {
                        output.Add((pending ?? x.S, x.E));
                        pending = null;
                    }
                }
                if (pending is not null) output.Add((pending.Value, end));
                break;
            }
            case SplitBehavior.Contiguous:
            {
                int i = 0;
                while (i < parts.Count)
                {
                    int j = i;
                    if (parts[i].Delim)
                        while (j + 1 < parts.Count && parts[j + 1].Delim) j++;
                    output.Add((parts[i].S, parts[j].E));
                    i = j + 1;
                }
                break;
            }
        }
    }
}

/// <summary>
/// The pre-tokenization pipeline of a byte-level tokenizer: zero or more <see cref="SplitStep"/>s followed by
/// HF's <c>ByteLevel</c> pre-tokenizer (optional prefix space, optional GPT-2 regex, then the byte → character
/// map, which <see cref="BpeModel"/> applies).
/// </summary>
internal sealed class PreTokenizer(IReadOnlyList<SplitStep> splits, bool addPrefixSpace, bool useRegex, bool reference = false)
{
    /// <summary>GPT-2's split pattern, which HF's ByteLevel pre-tokenizer applies when <c>use_regex</c> is true.</summary>
    public const string Gpt2Pattern = GptSplitPattern.Gpt2;

    private static readonly Lazy<ISplitPattern> Gpt2Fast = new(() => SplitPatterns.Create(Gpt2Pattern));
    private static readonly Lazy<ISplitPattern> Gpt2Reference = new(() => new CodePointRegex(Gpt2Pattern));

    private readonly ISplitPattern? _gpt2 = useRegex ? (reference ? Gpt2Reference : Gpt2Fast).Value : null;

    public IReadOnlyList<SplitStep> Splits { get; } = splits;
    public bool AddPrefixSpace { get; } = addPrefixSpace;
    public bool UseRegex { get; } = useRegex;

    /// <summary>
    /// Set when the whole pipeline is one hand-written split pattern whose matches are the pieces (one Isolated
    /// Split, or none and ByteLevel's GPT-2 regex; no prefix space): the encoder then walks the matches directly
    /// (<see cref="GptSplitPattern.MatchAt"/>) without building lists. Gives the same pieces as <see cref="Run"/>.
    /// </summary>
    public GptSplitPattern? Direct { get; } = addPrefixSpace || reference ? null
        : splits.Count == 1 && !useRegex && splits[0].Behavior == SplitBehavior.Isolated ? splits[0].Regex as GptSplitPattern
        : splits.Count == 0 && useRegex ? Gpt2Fast.Value as GptSplitPattern
        : null;

    /// <summary>
    /// Appends the pieces of text[start..end). A piece with <c>Prefix</c> set is preceded by one space that is
    /// not in the text (ByteLevel add_prefix_space).
    /// </summary>
    public void Run(ReadOnlySpan<char> text, int start, int end, Buffers buffers, List<Piece> output)
    {
        var current = buffers.A;
        var next = buffers.B;
        current.Clear();
        current.Add((start, end));
        foreach (var step in Splits)
        {
            next.Clear();
            foreach (var (s, e) in current) step.Split(text, s, e, buffers.Matches, next);
            (current, next) = (next, current);
        }

        foreach (var (s, e) in current)
        {
            bool prefix = AddPrefixSpace && text[s] != ' ';
            if (!UseRegex)
            {
                output.Add(new Piece(s, e, prefix));
                continue;
            }
            buffers.Matches.Clear();
            if (!prefix)
            {
                _gpt2!.Matches(text[s..e], buffers.Matches);
                int prev = s;
                foreach (var (ms, me) in buffers.Matches)
                {
                    if (s + ms > prev) output.Add(new Piece(prev, s + ms, false));
                    output.Add(new Piece(s + ms, s + me, false));
                    prev = s + me;
                }
                if (prev < e) output.Add(new Piece(prev, e, false));
            }
            else
            {
                // Match on " " + piece; position k of that string is text position s + k - 1.
                string withSpace = string.Concat(" ", text[s..e]);
                _gpt2!.Matches(withSpace, buffers.Matches);
                int prev = 0;
                void Emit(int a, int b)
                {
                    if (a == 0) output.Add(new Piece(s, s + b - 1, true));
                    else output.Add(new Piece(s + a - 1, s + b - 1, false));
                }
                foreach (var (ms, me) in buffers.Matches)
                {
                    if (ms > prev) Emit(prev, ms);
                    Emit(ms, me);
                    prev = me;
                }
                if (prev < withSpace.Length) Emit(prev, withSpace.Length);
            }
        }
    }

    /// <summary>Reusable lists for <see cref="Run"/> (one set per thread).</summary>
    internal sealed class Buffers
    {
        public readonly List<(int Start, int End)> A = [];
        public readonly List<(int Start, int End)> B = [];
        public readonly List<(int Start, int End)> Matches = [];
    }
}

/// <summary>A pre-token: text[Start..End), preceded by a virtual space when <see cref="Prefix"/> is set.</summary>
internal readonly record struct Piece(int Start, int End, bool Prefix);

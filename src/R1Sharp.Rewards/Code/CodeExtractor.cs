namespace R1Sharp.Rewards.Code;

/// <summary>A fenced code block: its info-string tag (first word, may be empty) and its content.</summary>
public sealed record FencedBlock(string Tag, string Code);

/// <summary>
/// Finds the program in a completion: the last fenced block (CommonMark fences: a line of ≥ 3 backticks or
/// tildes, indented ≤ 3 spaces, closed by a line of the same character at least as long) whose tag names the
/// language (```python, ```py, ```python3 …); if there is none, the last block without a tag. Blocks tagged with
/// another language (```text, ```bash when python is wanted) are never taken, and an unclosed block (a truncated
/// completion) is not a program. Like open-r1 it takes the LAST block: models often draft, then correct.
/// </summary>
public static class CodeExtractor
{
    /// <summary>Every closed fenced block, in order.</summary>
    public static IReadOnlyList<FencedBlock> Blocks(string completion)
    {
        var blocks = new List<FencedBlock>();
        var lines = completion.Replace("\r\n", "\n").Split('\n');
        int i = 0;
        while (i < lines.Length)
        {
            if (!TryOpen(lines[i], out char fence, out int length, out string tag, out int indent))
            {
                i++;
                continue;
            }
            int close = -1;
            for (int j = i + 1; j < lines.Length; j++)
            {
                if (IsClose(lines[j], fence, length)) { close = j; break; }
            }
            if (close < 0) break; // unclosed: runs to the end of the text, not a program
            var body = lines[(i + 1)..close].Select(l => RemoveIndent(l, indent));
            blocks.Add(new FencedBlock(tag, string.Join('\n', body) + (close > i + 1 ? "\n" : "")));
            i = close + 1;
        }
        return blocks;
    }

    /// <summary>The program for <paramref name="language"/>, or null when the completion has none.</summary>
    public static string? LastProgram(string completion, CodeLanguage language)
    {
        var blocks = Blocks(completion);
        var tagged = blocks.LastOrDefault(b => b.Tag.Length > 0 && language.IsNamed(b.Tag));
        var chosen = tagged ?? blocks.LastOrDefault(b => b.Tag.Length == 0);
        return chosen is null || string.IsNullOrWhiteSpace(chosen.Code) ? null : chosen.Code;
    }

    private static bool TryOpen(string line, out char fence, out int length, out string tag, out int indent)
    {
        fence = '\0'; length = 0; tag = ""; indent = 0;
        while (indent < line.Length && indent < 4 && line[indent] == ' ') indent++;
        if (indent > 3 || indent >= line.Length || (line[indent] != '`' && line[indent] != '~')) return false;
        fence = line[indent];
        int end = indent;
        while (end < line.Length && line[end] == fence) end++;
        length = end - indent;
        if (length < 3) return false;
        string info = line[end..].Trim();
        if (fence == '`' && info.Contains('`')) return false; // CommonMark: backtick info strings have no backticks
        tag = info.Split((char[]?)null, 2, StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? "";
        tag = tag.TrimStart('{', '.').TrimEnd('}');
        return true;
    }

    private static bool IsClose(string line, char fence, int length)
    {
        int indent = 0;
        while (indent < line.Length && indent < 4 && line[indent] == ' ') indent++;
        if (indent > 3) return false;
        int end = indent;
        while (end < line.Length && line[end] == fence) end++;
        return end - indent >= length && line[end..].Trim().Length == 0;
    }

    private static string RemoveIndent(string line, int indent)
    {
        int n = 0;
        while (n < indent && n < line.Length && line[n] == ' ') n++;
        return line[n..];
    }
}

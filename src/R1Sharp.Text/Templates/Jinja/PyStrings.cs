using System.Globalization;
using System.Text;

namespace R1Sharp.Text.Templates.Jinja;

/// <summary>
/// Python str semantics over .NET strings. Python indexes by code point, .NET by UTF-16 unit, so lengths,
/// indices and slices count a surrogate pair (an emoji outside the BMP) as one character.
/// </summary>
internal static class PyStrings
{
    // ---------------------------------------------------------------- character classes

    /// <summary>Python's str.isspace(): .NET white space plus the ASCII separators U+001C..U+001F.</summary>
    public static bool IsSpace(char c) => char.IsWhiteSpace(c) || (c >= '\x1c' && c <= '\x1f');

    public static bool IsPrintable(int cp)
    {
        if (cp == ' ') return true;
        var cat = CharUnicodeInfo.GetUnicodeCategory(cp);
        return cat is not (UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate
            or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned or UnicodeCategory.LineSeparator
            or UnicodeCategory.ParagraphSeparator or UnicodeCategory.SpaceSeparator);
    }

    private static bool IsLineBreak(char c) =>
        c is '\n' or '\r' or '\v' or '\f' or '\x1c' or '\x1d' or '\x1e' or '\x85' or '\u2028' or '\u2029';

    private static bool IsCased(char c) => char.IsUpper(c) || char.IsLower(c) || CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.TitlecaseLetter;

    // ---------------------------------------------------------------- code points

    private static bool HasSurrogates(string s)
    {
        foreach (char c in s)
            if (char.IsSurrogate(c)) return true;
        return false;
    }

    /// <summary>UTF-16 offset of each code point, plus s.Length at the end.</summary>
    private static int[] CodePointOffsets(string s)
    {
        var offsets = new List<int>(s.Length + 1);
        for (int i = 0; i < s.Length; i++)
        {
            offsets.Add(i);
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) i++;
        }
        offsets.Add(s.Length);
        return [.. offsets];
    }

    public static int Length(string s) => HasSurrogates(s) ? CodePointOffsets(s).Length - 1 : s.Length;

    public static IEnumerable<object?> CodePoints(string s)
    {
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                yield return s.Substring(i, 2);
                i++;
            }
            else yield return s[i].ToString();
        }
    }

    /// <summary>s[index] with Python's negative indices; null when out of range.</summary>
    public static string? Index(string s, long index)
    {
        if (!HasSurrogates(s))
        {
            if (index < 0) index += s.Length;
            return index >= 0 && index < s.Length ? s[(int)index].ToString() : null;
        }
        var off = CodePointOffsets(s);
        int n = off.Length - 1;
        if (index < 0) index += n;
        return index >= 0 && index < n ? s[off[index]..off[index + 1]] : null;
    }

    public static string Slice(string s, long start, long stop) => Slice(s, (object?)start, stop, null);

    public static string Slice(string s, object? start, object? stop, object? step)
    {
        bool surrogates = HasSurrogates(s);
        int[]? off = surrogates ? CodePointOffsets(s) : null;
        int n = surrogates ? off!.Length - 1 : s.Length;
        var (a, b, st, count) = SliceIndices(n, start, stop, step);
        if (st == 1)
            return count <= 0 ? "" : surrogates ? s[off![a]..off[a + count]] : s.Substring(a, count);
        var sb = new StringBuilder();
        for (int i = 0, k = a; i < count; i++, k += st)
            sb.Append(surrogates ? s.AsSpan(off![k], off[k + 1] - off[k]) : s.AsSpan(k, 1));
        return sb.ToString();
    }

    /// <summary>Python's slice.indices(n): normalised start, stop, step and the number of selected items.</summary>
    public static (int Start, int Stop, int Step, int Count) SliceIndices(int n, object? start, object? stop, object? step)
    {
        long st = step is null ? 1 : AsIndex(step, "slice step");
        if (st == 0) throw new TemplateRuntimeException("slice step cannot be zero");
        long lower = st > 0 ? 0 : -1, upper = st > 0 ? n : n - 1;
        long Clamp(object? v, long dflt)
        {
            if (v is null) return dflt;
            long x = AsIndex(v, "slice indices");
            if (x < 0) { x += n; if (x < lower) x = lower; }
            else if (x > upper) x = upper;
            return x;
        }
        long a = Clamp(start, st > 0 ? lower : upper);
        long b = Clamp(stop, st > 0 ? upper : lower);
        long count = st > 0 ? (b > a ? (b - a + st - 1) / st : 0) : (a > b ? (a - b - st - 1) / -st : 0);
        return ((int)a, (int)b, (int)st, (int)count);
    }

    private static long AsIndex(object v, string what) => v switch
    {
        bool or long => PyOps.ToLong(v),
        Undefined u => throw u.Fail(),
        _ => throw new TemplateRuntimeException($"{what} must be integers or None, not {PyOps.TypeName(v)}"),
    };

    private static int CodePointIndexOf(string s, int utf16Index)
    {
        if (utf16Index < 0) return utf16Index;
        int cp = 0;
        for (int i = 0; i < utf16Index; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) i++;
            cp++;
        }
        return cp;
    }

    public static int CompareCodePoints(string a, string b)
    {
        int n = Math.Min(a.Length, b.Length);
        for (int i = 0; i < n; i++)
        {
            if (a[i] == b[i]) continue;
            // A surrogate (U+D800..DFFF) sorts above BMP characters U+E000..U+FFFF in code point order.
            int ca = char.IsSurrogate(a[i]) ? a[i] + 0x10000 : a[i];
            int cb = char.IsSurrogate(b[i]) ? b[i] + 0x10000 : b[i];
            return ca.CompareTo(cb);
        }
        return a.Length.CompareTo(b.Length);
    }

    public static string Reverse(string s) => Slice(s, null, null, -1L);

    // ---------------------------------------------------------------- strip / split

    public static string Strip(string s, string? chars, bool left, bool right)
    {
        int start = 0, end = s.Length;
        if (chars is null)
        {
            if (left) while (start < end && IsSpace(s[start])) start++;
            if (right) while (end > start && IsSpace(s[end - 1])) end--;
        }
        else
        {
            if (left) while (start < end && chars.Contains(s[start])) start++;
            if (right) while (end > start && chars.Contains(s[end - 1])) end--;
        }
        return s[start..end];
    }

    public static List<object?> Split(string s, string? sep, long maxsplit)
    {
        var parts = new List<object?>();
        if (sep is null)
        {
            int i = 0;
            while (true)
            {
                while (i < s.Length && IsSpace(s[i])) i++;
                if (i >= s.Length) break;
                if (maxsplit >= 0 && parts.Count == maxsplit)
                {
                    parts.Add(s[i..]);
                    break;
                }
                int j = i;
                while (j < s.Length && !IsSpace(s[j])) j++;
                parts.Add(s[i..j]);
                i = j;
            }
            return parts;
        }
        if (sep.Length == 0) throw new TemplateRuntimeException("empty separator");
        int pos = 0;
        while (maxsplit < 0 || parts.Count < maxsplit)
        {
            int k = s.IndexOf(sep, pos, StringComparison.Ordinal);
            if (k < 0) break;
            parts.Add(s[pos..k]);
            pos = k + sep.Length;
        }
        parts.Add(s[pos..]);
        return parts;
    }

    public static List<object?> RSplit(string s, string? sep, long maxsplit)
    {
        if (maxsplit < 0) return Split(s, sep, -1);
        var parts = new List<object?>();
        if (sep is null)
        {
            int end = s.Length;
            while (true)
            {
                while (end > 0 && IsSpace(s[end - 1])) end--;
                if (end == 0) break;
                if (parts.Count == maxsplit)
                {
                    parts.Add(s[..end]);
                    break;
                }
                int j = end;
                while (j > 0 && !IsSpace(s[j - 1])) j--;
                parts.Add(s[j..end]);
                end = j;
            }
            parts.Reverse();
            return parts;
        }
        if (sep.Length == 0) throw new TemplateRuntimeException("empty separator");
        int stop = s.Length;
        while (parts.Count < maxsplit)
        {
            int k = stop - sep.Length < 0 ? -1 : s.LastIndexOf(sep, stop - 1, stop, StringComparison.Ordinal);
            if (k < 0) break;
            parts.Add(s[(k + sep.Length)..stop]);
            stop = k;
        }
        parts.Add(s[..stop]);
        parts.Reverse();
        return parts;
    }

    public static List<object?> SplitLines(string s, bool keepEnds)
    {
        var lines = new List<object?>();
        int start = 0, i = 0;
        while (i < s.Length)
        {
            if (IsLineBreak(s[i]))
            {
                int eol = i + (s[i] == '\r' && i + 1 < s.Length && s[i + 1] == '\n' ? 2 : 1);
                lines.Add(keepEnds ? s[start..eol] : s[start..i]);
                start = i = eol;
            }
            else i++;
        }
        if (start < s.Length) lines.Add(s[start..]);
        return lines;
    }

    // ---------------------------------------------------------------- case

    public static string Lower(string s) => s.ToLowerInvariant();

    public static string Upper(string s) => s.ToUpperInvariant();

    /// <summary>str.title(): a cased character after an uncased one is upper-cased, the others lower-cased.</summary>
    public static string Title(string s)
    {
        var sb = new StringBuilder(s.Length);
        bool prevCased = false;
        foreach (char c in s)
        {
            char o = prevCased ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c);
            sb.Append(o);
            prevCased = IsCased(o);
        }
        return sb.ToString();
    }

    public static string Capitalize(string s) =>
        s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant();

    private static string SwapCase(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (char c in s)
            sb.Append(char.IsUpper(c) ? char.ToLowerInvariant(c) : char.IsLower(c) ? char.ToUpperInvariant(c) : c);
        return sb.ToString();
    }

    // ---------------------------------------------------------------- methods

    public static bool HasMethod(string name) => name is
        "startswith" or "endswith" or "strip" or "lstrip" or "rstrip" or "split" or "rsplit" or "splitlines" or "lower" or "upper" or
        "title" or "capitalize" or "swapcase" or "casefold" or "replace" or "find" or "rfind" or "index" or "rindex" or "count" or "join" or
        "isdigit" or "isalpha" or "isalnum" or "isspace" or "islower" or "isupper" or "isnumeric" or "isdecimal" or "center" or "ljust" or
        "rjust" or "zfill" or "partition" or "rpartition" or "removeprefix" or "removesuffix" or "format" or "format_map";

    public static object? CallMethod(RenderState state, string self, string name, Args args)
    {
        switch (name)
        {
            case "startswith":
            case "endswith":
            {
                args.Check(name, 3);
                var prefix = args.Get(0, "prefix", null);
                string target = args.Count == 1 ? self : Slice(self, args.Get(1, "start", null), args.Get(2, "end", null), null);
                IEnumerable<object?> options = prefix is PyTuple t ? t.Items : [prefix];
                foreach (var o in options)
                {
                    if (o is not string p)
                        throw new TemplateRuntimeException($"{name} first arg must be str or a tuple of str, not {PyOps.TypeName(o)}");
                    if (name == "startswith" ? target.StartsWith(p, StringComparison.Ordinal) : target.EndsWith(p, StringComparison.Ordinal))
                        return true;
                }
                return false;
            }
            case "strip": return Strip(self, OptStr(args, name, 0, "chars"), true, true);
            case "lstrip": return Strip(self, OptStr(args, name, 0, "chars"), true, false);
            case "rstrip": return Strip(self, OptStr(args, name, 0, "chars"), false, true);
            case "split":
            case "rsplit":
            {
                args.Check(name, 2, "sep", "maxsplit");
                var sep = args.Get(0, "sep", null);
                if (sep is not (null or string)) throw new TemplateRuntimeException($"must be str or None, not {PyOps.TypeName(sep)}");
                long max = args.Count > 1 ? AsIndex(args.Get(1, "maxsplit", null)!, "maxsplit") : -1;
                return name == "split" ? Split(self, (string?)sep, max) : RSplit(self, (string?)sep, max);
            }
            case "splitlines": return SplitLines(self, PyOps.Truthy(args.Get(0, "keepends", false)));
            case "lower": return Lower(self);
            case "casefold": return Lower(self);
            case "upper": return Upper(self);
            case "title": return Title(self);
            case "capitalize": return Capitalize(self);
            case "swapcase": return SwapCase(self);
            case "replace":
            {
                args.Check(name, 3, "count");
                string old = ReqStr(args.Get(0, "old", null), name), @new = ReqStr(args.Get(1, "new", null), name);
                long count = args.Count > 2 ? AsIndex(args.Get(2, "count", null)!, "count") : -1;
                return Replace(self, old, @new, count);
            }
            case "find": case "rfind": case "index": case "rindex":
            {
                string sub = ReqStr(args.Get(0, "sub", null), name);
                int idx = name is "find" or "index" ? self.IndexOf(sub, StringComparison.Ordinal) : self.LastIndexOf(sub, StringComparison.Ordinal);
                if (args.Count > 1) throw new TemplateRuntimeException($"{name}() with start/end arguments is not supported");
                if (idx < 0 && name.EndsWith("index", StringComparison.Ordinal)) throw new TemplateRuntimeException("substring not found");
                return (long)CodePointIndexOf(self, idx);
            }
            case "count":
            {
                string sub = ReqStr(args.Get(0, "sub", null), name);
                if (sub.Length == 0) return (long)Length(self) + 1;
                long n = 0;
                for (int k = self.IndexOf(sub, StringComparison.Ordinal); k >= 0; k = self.IndexOf(sub, k + sub.Length, StringComparison.Ordinal)) n++;
                return n;
            }
            case "join":
            {
                var sb = new StringBuilder();
                int k = 0;
                foreach (var item in PyOps.Iterate(args.Get(0, "iterable", null)))
                {
                    if (item is not string si)
                        throw new TemplateRuntimeException($"sequence item {k}: expected str instance, {PyOps.TypeName(item)} found");
                    if (k++ > 0) sb.Append(self);
                    sb.Append(si);
                }
                return sb.ToString();
            }
            case "isdigit": case "isdecimal": return self.Length > 0 && self.All(char.IsDigit);
            case "isnumeric": return self.Length > 0 && self.All(char.IsNumber);
            case "isalpha": return self.Length > 0 && self.All(char.IsLetter);
            case "isalnum": return self.Length > 0 && self.All(c => char.IsLetter(c) || char.IsNumber(c));
            case "isspace": return self.Length > 0 && self.All(IsSpace);
            case "islower": return self.Any(IsCased) && !self.Any(c => char.IsUpper(c) || CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.TitlecaseLetter);
            case "isupper": return self.Any(IsCased) && !self.Any(c => char.IsLower(c) || CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.TitlecaseLetter);
            case "center": case "ljust": case "rjust":
            {
                long width = AsIndex(args.Get(0, "width", null) ?? throw new TemplateRuntimeException($"{name}() takes at least 1 argument"), "width");
                string fill = ReqStr(args.Get(1, "fillchar", " "), name);
                return Pad(self, name, (int)width, fill);
            }
            case "zfill":
            {
                long width = AsIndex(args.Get(0, "width", null)!, "width");
                int len = Length(self);
                if (len >= width) return self;
                int sign = self.Length > 0 && self[0] is '+' or '-' ? 1 : 0;
                return self[..sign] + new string('0', (int)width - len) + self[sign..];
            }
            case "partition":
            case "rpartition":
            {
                string sep = ReqStr(args.Get(0, "sep", null), name);
                int k = name == "partition" ? self.IndexOf(sep, StringComparison.Ordinal) : self.LastIndexOf(sep, StringComparison.Ordinal);
                if (k < 0) return name == "partition" ? new PyTuple([self, "", ""]) : new PyTuple(["", "", self]);
                return new PyTuple([self[..k], sep, self[(k + sep.Length)..]]);
            }
            case "removeprefix":
            {
                string p = ReqStr(args.Get(0, "prefix", null), name);
                return self.StartsWith(p, StringComparison.Ordinal) ? self[p.Length..] : self;
            }
            case "removesuffix":
            {
                string p = ReqStr(args.Get(0, "suffix", null), name);
                return p.Length > 0 && self.EndsWith(p, StringComparison.Ordinal) ? self[..^p.Length] : self;
            }
            case "format": return StrFormat.Format(state, self, args.Positional, args.Named);
            case "format_map":
                if (args.Positional.Count != 1 || args.Named is { Count: > 0 })
                    throw new TemplateRuntimeException("format_map() takes exactly one argument");
                return StrFormat.Format(state, self, [], null, args.Positional[0]);
        }
        throw new TemplateRuntimeException($"'str' object has no attribute '{name}'");
    }

    private static string? OptStr(Args args, string function, int position, string name)
    {
        args.Check(function, position + 1, name);
        var v = args.Get(position, name, null);
        return v switch
        {
            null => null,
            string s => s,
            _ => throw new TemplateRuntimeException($"{function} arg must be None or str"),
        };
    }

    private static string ReqStr(object? v, string function) =>
        v as string ?? throw new TemplateRuntimeException($"{function}(): expected str, got {PyOps.TypeName(v)}");

    public static string Replace(string s, string old, string @new, long count)
    {
        if (count < 0) return old.Length == 0 ? ReplaceEmpty(s, @new, long.MaxValue) : s.Replace(old, @new, StringComparison.Ordinal);
        if (old.Length == 0) return ReplaceEmpty(s, @new, count);
        var sb = new StringBuilder();
        int pos = 0;
        for (long n = 0; n < count; n++)
        {
            int k = s.IndexOf(old, pos, StringComparison.Ordinal);
            if (k < 0) break;
            sb.Append(s, pos, k - pos).Append(@new);
            pos = k + old.Length;
        }
        return sb.Append(s, pos, s.Length - pos).ToString();
    }

    private static string ReplaceEmpty(string s, string @new, long count)
    {
        var sb = new StringBuilder();
        long n = 0;
        foreach (string cp in CodePoints(s).Cast<string>())
        {
            if (n++ < count) sb.Append(@new);
            sb.Append(cp);
        }
        if (n < count) sb.Append(@new);
        return sb.ToString();
    }

    public static string Pad(string s, string how, int width, string fill)
    {
        int len = Length(s);
        if (len >= width) return s;
        int marg = width - len;
        int left = how switch
        {
            "center" => marg / 2 + (marg & width & 1),
            "rjust" => marg,
            _ => 0,
        };
        return string.Concat(Enumerable.Repeat(fill, left)) + s + string.Concat(Enumerable.Repeat(fill, marg - left));
    }
}

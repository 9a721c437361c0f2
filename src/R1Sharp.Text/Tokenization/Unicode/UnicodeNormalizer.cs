using System.Text;

namespace R1Sharp.Text.Tokenization.Unicode;

/// <summary>The four Unicode normalization forms of UAX #15.</summary>
internal enum NormalizationKind
{
    Nfc,
    Nfd,
    Nfkc,
    Nfkd,
}

/// <summary>
/// Unicode normalization (UAX #15: full decomposition, canonical ordering, canonical composition) from the
/// embedded Unicode Character Database subset <c>normalization-data.txt</c> (see the generator script beside it).
/// We do not call <see cref="string.Normalize()"/>: with <c>InvariantGlobalization</c> (set for this repository
/// and common in containers) .NET silently returns the input unchanged, and with ICU the result depends on
/// the machine's ICU version.
/// <para>
/// Text is normalized segment by segment. A segment starts at an "inert" character: one that is its own
/// normal form, has combining class 0 and is never the second half of a canonical composition. Nothing
/// reorders or composes across such a boundary, so normalizing the segments separately equals normalizing
/// the whole text, and every output character can be traced to the segment it came from (for offsets).
/// </para>
/// </summary>
internal sealed class UnicodeNormalizer
{
    private const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
    private const int LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

    private static readonly Lazy<Data> Shared = new(Data.Load);

    private readonly Data _data;
    private readonly NormalizationKind _kind;
    private readonly bool _compose;
    private readonly bool _compat;
    private readonly BitSet _inert;
    private readonly char _inertBelow;

    private UnicodeNormalizer(NormalizationKind kind)
    {
        _data = Shared.Value;
        _kind = kind;
        _compose = kind is NormalizationKind.Nfc or NormalizationKind.Nfkc;
        _compat = kind is NormalizationKind.Nfkc or NormalizationKind.Nfkd;
        _inert = _data.Inert[(int)kind];
        _inertBelow = _data.InertBelow[(int)kind];
    }

    private static readonly UnicodeNormalizer?[] Instances = new UnicodeNormalizer?[4];

    public static UnicodeNormalizer Get(NormalizationKind kind)
    {
        return Instances[(int)kind] ??= new UnicodeNormalizer(kind);
    }

    public NormalizationKind Kind => _kind;

    /// <summary>The Unicode version of the embedded data.</summary>
    public static string UnicodeVersion => Shared.Value.Version;

    /// <summary>True when <paramref name="text"/> is certainly already normalized (all characters inert).</summary>
    public bool IsInert(ReadOnlySpan<char> text)
    {
        if (text.IndexOfAnyExceptInRange('\0', _inertBelow) < 0) return true;
        foreach (char c in text)
            if (!_inert[c]) return false;
        return true;
    }

    /// <summary>
    /// Normalizes <paramref name="text"/>. When nothing changes, returns false and leaves the outputs null.
    /// Otherwise <paramref name="starts"/>/<paramref name="ends"/> give, for each output character, the range of
    /// input characters (relative to <paramref name="text"/>) of the segment it came from.
    /// </summary>
    public bool Normalize(ReadOnlySpan<char> text, out string? result, out int[]? starts, out int[]? ends)
    {
        result = null;
        starts = ends = null;
        if (IsInert(text)) return false;

        var sb = new StringBuilder(text.Length + 8);
        var startList = new List<int>(text.Length + 8);
        var endList = new List<int>(text.Length + 8);
        var codePoints = new List<int>(16);
        bool changed = false;
        int i = 0;
        while (i < text.Length)
        {
            // A segment: [i, j) where j is the next inert character after i.
            int j = i + 1;
            while (j < text.Length && !_inert[text[j]]) j++;
            var segment = text[i..j];
            if (segment.Length == 1 && _inert[segment[0]])
            {
                sb.Append(segment[0]);
                startList.Add(i);
                endList.Add(j);
            }
            else
            {
                codePoints.Clear();
                NormalizeSegment(segment, codePoints);
                int before = sb.Length;
                foreach (int cp in codePoints)
                {
                    if (cp < 0x10000) sb.Append((char)cp);
                    else sb.Append(char.ConvertFromUtf32(cp));
                }
                if (!changed && !segment.SequenceEqual(sb.ToString(before, sb.Length - before).AsSpan())) changed = true;
                for (int k = before; k < sb.Length; k++)
                {
                    startList.Add(i);
                    endList.Add(j);
                }
            }
            i = j;
        }
        if (!changed) return false;
        result = sb.ToString();
        starts = startList.ToArray();
        ends = endList.ToArray();
        return true;
    }

    /// <summary>Normalizes a whole string (no offsets).</summary>
    public string Normalize(string text) => Normalize(text, out var r, out _, out _) ? r! : text;

    private void NormalizeSegment(ReadOnlySpan<char> segment, List<int> output)
    {
        // 1. Full decomposition (tables hold full decompositions; Hangul syllables arithmetically).
        for (int i = 0; i < segment.Length; i++)
        {
            int cp = segment[i];
            if (char.IsHighSurrogate(segment[i]) && i + 1 < segment.Length && char.IsLowSurrogate(segment[i + 1]))
            {
                cp = char.ConvertToUtf32(segment[i], segment[i + 1]);
                i++;
            }
            Decompose(cp, output);
        }

        // 2. Canonical ordering: stable sort of each run of non-starters by combining class.
        for (int i = 1; i < output.Count; i++)
        {
            int ccc = Ccc(output[i]);
            if (ccc == 0) continue;
            int j = i;
            while (j > 0 && Ccc(output[j - 1]) > ccc)
            {
                (output[j - 1], output[j]) = (output[j], output[j - 1]);
                j--;
            }
        }

        if (!_compose) return;

        // 3. Canonical composition: each character joins the last starter unless blocked.
        int starter = -1;
        int write = 0;
        for (int read = 0; read < output.Count; read++)
        {
            int cp = output[read];
            int ccc = Ccc(cp);
            if (starter >= 0)
            {
                bool adjacent = write - 1 == starter;
                int lastCcc = Ccc(output[write - 1]);
                bool blocked = !adjacent && (lastCcc == 0 || lastCcc >= ccc);
                if (!blocked && TryCompose(output[starter], cp, out int composite))
                {
                    output[starter] = composite;
                    continue;
                }
            }
            if (ccc == 0) starter = write;
            output[write++] = cp;
        }
        output.RemoveRange(write, output.Count - write);
    }

    private void Decompose(int cp, List<int> output)
    {
        if (cp >= SBase && cp < SBase + SCount)
        {
            int s = cp - SBase;
            output.Add(LBase + s / NCount);
            output.Add(VBase + s % NCount / TCount);
            if (s % TCount != 0) output.Add(TBase + s % TCount);
            return;
        }
        if (_compat && _data.Compat.TryGetValue(cp, out var k))
        {
            output.AddRange(k);
            return;
        }
        if (_data.Canonical.TryGetValue(cp, out var d))
        {
            output.AddRange(d);
            return;
        }
        output.Add(cp);
    }

    private bool TryCompose(int first, int second, out int composite)
    {
        if (first >= LBase && first < LBase + LCount && second >= VBase && second < VBase + VCount)
        {
            composite = SBase + ((first - LBase) * VCount + (second - VBase)) * TCount;
            return true;
        }
        if (first >= SBase && first < SBase + SCount && (first - SBase) % TCount == 0 && second > TBase && second < TBase + TCount)
        {
            composite = first + (second - TBase);
            return true;
        }
        return _data.Compose.TryGetValue(((long)first << 21) | (uint)second, out composite);
    }

    private int Ccc(int cp) => cp < 0x10000 ? _data.CccBmp[cp] : _data.CccAstral.GetValueOrDefault(cp);

    private sealed class BitSet(int size)
    {
        private readonly ulong[] _bits = new ulong[(size + 63) / 64];

        public bool this[int i]
        {
            get => (_bits[i >> 6] & (1UL << i)) != 0;
            set
            {
                if (value) _bits[i >> 6] |= 1UL << i;
                else _bits[i >> 6] &= ~(1UL << i);
            }
        }
    }

    private sealed class Data
    {
        public string Version = "";
        public readonly byte[] CccBmp = new byte[0x10000];
        public readonly Dictionary<int, byte> CccAstral = [];
        public readonly Dictionary<int, int[]> Canonical = [];
        public readonly Dictionary<int, int[]> Compat = [];
        public readonly Dictionary<long, int> Compose = [];
        public readonly BitSet[] Inert = new BitSet[4];
        public readonly char[] InertBelow = new char[4];

        public static Data Load()
        {
            var data = new Data();
            using var stream = typeof(UnicodeNormalizer).Assembly.GetManifestResourceStream("R1Sharp.Text.normalization-data.txt")
                ?? throw new InvalidOperationException("embedded resource normalization-data.txt is missing");
            using var reader = new StreamReader(stream);
            var seconds = new HashSet<int>();
            while (reader.ReadLine() is { } line)
            {
                if (line.Length == 0) continue;
                var f = line.Split(' ');
                if (f[0] == "V")
                {
                    data.Version = f[1];
                    continue;
                }
                int cp = Convert.ToInt32(f[1], 16);
                switch (f[0])
                {
                    case "C":
                        byte ccc = byte.Parse(f[2]);
                        if (cp < 0x10000) data.CccBmp[cp] = ccc;
                        else data.CccAstral[cp] = ccc;
                        break;
                    case "D":
                        data.Canonical[cp] = f.Skip(2).Select(x => Convert.ToInt32(x, 16)).ToArray();
                        break;
                    case "K":
                        data.Compat[cp] = f.Skip(2).Select(x => Convert.ToInt32(x, 16)).ToArray();
                        break;
                    case "P":
                        int second = Convert.ToInt32(f[2], 16);
                        data.Compose[((long)cp << 21) | (uint)second] = Convert.ToInt32(f[3], 16);
                        seconds.Add(second);
                        break;
                }
            }
            for (int v = VBase; v < VBase + VCount; v++) seconds.Add(v);
            for (int t = TBase + 1; t < TBase + TCount; t++) seconds.Add(t);
            data.ComputeInert(seconds);
            return data;
        }

        /// <summary>
        /// A BMP character is inert for a form when it has combining class 0, is not the second half of a
        /// composition, its decomposition (if any) does not start with such a second half, and it is its own
        /// normal form. Surrogates are never inert (the segment path handles supplementary characters).
        /// </summary>
        private void ComputeInert(HashSet<int> seconds)
        {
            for (int form = 0; form < 4; form++)
            {
                var kind = (NormalizationKind)form;
                bool compat = kind is NormalizationKind.Nfkc or NormalizationKind.Nfkd;
                bool compose = kind is NormalizationKind.Nfc or NormalizationKind.Nfkc;
                var bits = new BitSet(0x10000);
                Inert[form] = bits;
                var probe = new UnicodeNormalizer(this, kind);
                var buffer = new List<int>(8);
                for (int c = 0; c < 0x10000; c++)
                {
                    if (c is >= 0xD800 and <= 0xDFFF || CccBmp[c] != 0 || seconds.Contains(c)) continue;
                    int[]? decomposition = compat && Compat.TryGetValue(c, out var k) ? k : Canonical.GetValueOrDefault(c);
                    bool hangul = c >= SBase && c < SBase + SCount;
                    if (decomposition is null && !hangul)
                    {
                        bits[c] = true;
                        continue;
                    }
                    if (decomposition is not null && seconds.Contains(decomposition[0])) continue;
                    if (!compose) continue; // it decomposes, so NFD/NFKD change it
                    buffer.Clear();
                    probe.NormalizeSegment([(char)c], buffer);
                    if (buffer.Count == 1 && buffer[0] == c) bits[c] = true;
                }
                int below = 0;
                while (below < 0x10000 && bits[below]) below++;
                InertBelow[form] = (char)Math.Max(0, below - 1);
            }
        }
    }

    private UnicodeNormalizer(Data data, NormalizationKind kind)
    {
        _data = data;
        _kind = kind;
        _compose = kind is NormalizationKind.Nfc or NormalizationKind.Nfkc;
        _compat = kind is NormalizationKind.Nfkc or NormalizationKind.Nfkd;
        _inert = null!;
    }
}

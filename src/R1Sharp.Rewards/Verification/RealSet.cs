namespace R1Sharp.Rewards.Verification;

/// <summary>
/// A subset of ℝ as sorted, disjoint segments (points are closed segments of length 0). Built from intervals,
/// finite sets, unions, intersections and complements with numeric endpoints, so that equal sets written
/// differently compare equal: <c>[0,1] \cup [1,2]</c> = <c>[0,2]</c>, <c>\mathbb{R} \setminus \{1\}</c> =
/// <c>(-\infty,1) \cup (1,\infty)</c>. This stands in for SymPy's <c>symmetric_difference(...).is_empty</c>.
/// </summary>
internal sealed class RealSet
{
    /// <summary>An endpoint: a finite value or ±∞ (<see cref="Inf"/> = −1 or +1).</summary>
    internal readonly record struct End(Num Value, int Inf)
    {
        public static End Finite(Num v) => new(v, 0);
        public static readonly End MinusInfinity = new(Num.Invalid, -1);
        public static readonly End PlusInfinity = new(Num.Invalid, 1);
    }

    internal readonly record struct Segment(End Lo, bool LoClosed, End Hi, bool HiClosed);

    public readonly List<Segment> Segments;

    private RealSet(List<Segment> segments) => Segments = segments;

    public static int Compare(End a, End b)
    {
        if (a.Inf != 0 || b.Inf != 0) return a.Inf.CompareTo(b.Inf);
        if (Num.AreClose(a.Value, b.Value, 1e-10)) return 0;
        if (a.Value.IsExact && b.Value.IsExact) return a.Value.Exact.CompareTo(b.Value.Exact);
        return a.Value.RealValue.CompareTo(b.Value.RealValue);
    }

    /// <summary>Builds the set denoted by <paramref name="node"/>, or null when it is not a numeric real set.</summary>
    public static RealSet? From(Node node, Budget budget)
    {
        budget.Tick();
        switch (node.Kind)
        {
            case NodeKind.EmptySet:
                return new RealSet([]);
            case NodeKind.NamedSet:
                return node.Name == "R" ? new RealSet([new Segment(End.MinusInfinity, false, End.PlusInfinity, false)]) : null;
            case NodeKind.Interval:
            {
                var lo = Endpoint(node.Args[0], budget);
                var hi = Endpoint(node.Args[1], budget);
                if (lo is null || hi is null) return null;
                var seg = new Segment(lo.Value, !node.LeftOpen && lo.Value.Inf == 0, hi.Value, !node.RightOpen && hi.Value.Inf == 0);
                return Normalize([seg]);
            }
            case NodeKind.FiniteSet:
            {
                var segs = new List<Segment>();
                foreach (var e in node.Args)
                {
                    var v = Endpoint(e, budget);
                    if (v is null || v.Value.Inf != 0) return null;
                    segs.Add(new Segment(v.Value, true, v.Value, true));
                }
                return Normalize(segs);
            }
            case NodeKind.Union:
            {
                var a = From(node.Args[0], budget);
                var b = a is null ? null : From(node.Args[1], budget);
                if (a is null || b is null) return null;
                return Normalize([.. a.Segments, .. b.Segments]);
            }
            case NodeKind.Intersection:
            {
                var a = From(node.Args[0], budget);
                var b = a is null ? null : From(node.Args[1], budget);
                return a is null || b is null ? null : Intersect(a, b);
            }
            case NodeKind.Complement:
            {
                var a = From(node.Args[0], budget);
                var b = a is null ? null : From(node.Args[1], budget);
                return a is null || b is null ? null : Intersect(a, b.ComplementInReals());
            }
            default:
                return null;
        }
    }

    private static End? Endpoint(Node n, Budget budget)
    {
        if (n.Kind == NodeKind.Infinity) return End.PlusInfinity;
        if (n.Kind == NodeKind.Neg && n.Args[0].Kind == NodeKind.Infinity) return End.MinusInfinity;
        var v = Evaluator.TryConstant(n, budget);
        if (v is not { IsValid: true, IsReal: true } value) return null;
        return End.Finite(value.IsExact ? value : Num.Of(value.RealValue));
    }

    private static RealSet Normalize(List<Segment> segs)
    {
        // Drop empty segments, sort by lower end, merge overlapping or touching ones.
        var kept = segs.Where(s =>
        {
            var c = Compare(s.Lo, s.Hi);
            return c < 0 || (c == 0 && s.LoClosed && s.HiClosed);
        }).ToList();
        kept.Sort((a, b) =>
        {
            var c = Compare(a.Lo, b.Lo);
            return c != 0 ? c : (b.LoClosed ? 1 : 0) - (a.LoClosed ? 1 : 0);
        });
        var result = new List<Segment>();
        foreach (var s in kept)
        {
            if (result.Count > 0)
            {
                var last = result[^1];
                var c = Compare(last.Hi, s.Lo);
                if (c > 0 || (c == 0 && (last.HiClosed || s.LoClosed)))
                {
                    var hc = Compare(last.Hi, s.Hi);
                    var hi = hc >= 0 ? last.Hi : s.Hi;
                    var hiClosed = hc > 0 ? last.HiClosed : hc < 0 ? s.HiClosed : last.HiClosed || s.HiClosed;
                    result[^1] = last with { Hi = hi, HiClosed = hiClosed };
                    continue;
                }
            }
            result.Add(s);
        }
        return new RealSet(result);
    }

    private RealSet ComplementInReals()
    {
        var result = new List<Segment>();
        var lo = End.MinusInfinity;
        var loClosed = false;
        foreach (var s in Segments)
        {
            result.Add(new Segment(lo, loClosed, s.Lo, !s.LoClosed && s.Lo.Inf == 0));
            lo = s.Hi;
            loClosed = !s.HiClosed && s.Hi.Inf == 0;
        }
        result.Add(new Segment(lo, loClosed, End.PlusInfinity, false));
        return Normalize(result);
    }

    private static RealSet Intersect(RealSet a, RealSet b)
    {
        var result = new List<Segment>();
        foreach (var x in a.Segments)
        foreach (var y in b.Segments)
        {
            var lc = Compare(x.Lo, y.Lo);
            var lo = lc >= 0 ? x.Lo : y.Lo;
            var loClosed = lc > 0 ? x.LoClosed : lc < 0 ? y.LoClosed : x.LoClosed && y.LoClosed;
            var hc = Compare(x.Hi, y.Hi);
            var hi = hc <= 0 ? x.Hi : y.Hi;
            var hiClosed = hc < 0 ? x.HiClosed : hc > 0 ? y.HiClosed : x.HiClosed && y.HiClosed;
            result.Add(new Segment(lo, loClosed, hi, hiClosed));
        }
        return Normalize(result);
    }

    public bool SameAs(RealSet other)
    {
        if (Segments.Count != other.Segments.Count) return false;
        for (var k = 0; k < Segments.Count; k++)
        {
            var a = Segments[k];
            var b = other.Segments[k];
            if (a.LoClosed != b.LoClosed || a.HiClosed != b.HiClosed) return false;
            if (Compare(a.Lo, b.Lo) != 0 || Compare(a.Hi, b.Hi) != 0) return false;
        }
        return true;
    }

    public bool Contains(Num t)
    {
        var e = End.Finite(t);
        foreach (var s in Segments)
        {
            var lo = Compare(s.Lo, e);
            var hi = Compare(e, s.Hi);
            if ((lo < 0 || (lo == 0 && s.LoClosed)) && (hi < 0 || (hi == 0 && s.HiClosed))) return true;
        }
        return false;
    }

    /// <summary>Finite endpoints in order (the places where membership can change).</summary>
    public IEnumerable<Num> FiniteEndpoints()
    {
        foreach (var s in Segments)
        {
            if (s.Lo.Inf == 0) yield return s.Lo.Value;
            if (s.Hi.Inf == 0) yield return s.Hi.Value;
        }
    }
}

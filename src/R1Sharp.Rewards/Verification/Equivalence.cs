namespace R1Sharp.Rewards.Verification;

/// <summary>
/// Decides whether a parsed prediction equals a parsed gold answer. The rules follow Math-Verify's
/// <c>sympy_expr_eq</c> (huggingface/Math-Verify, src/math_verify/grader.py), with SymPy's simplification
/// replaced by exact rational evaluation and randomized identity testing:
/// <list type="number">
/// <item>Gold defines the form. A prediction equation is reduced to its last right-hand side when gold is not an
/// equation (gold <c>101</c> accepts <c>a+2z=101</c>); a gold assignment (<c>k=1</c>, left side only symbols)
/// is reduced to its value when the prediction is not an equation. Not the other way round.</item>
/// <item>A gold relation matches a prediction set when both describe the same real set (gold <c>1&lt;x&lt;2</c>
/// accepts <c>(1,2)</c>); the reverse only with <see cref="VerifyOptions.AllowSetRelationComparison"/>.</item>
/// <item>Relations match when they have the same kind and their differences lhs − rhs are proportional
/// (positively for inequalities, after flipping <c>&gt;</c> to <c>&lt;</c>).</item>
/// <item>Sets are order-free, tuples ordered; an open pair <c>(a,b)</c> is both an interval and a pair;
/// intervals compare ends and openness; unions compare as real sets.</item>
/// <item>Numbers compare exactly when rational, else to ~1e-9 relative; when either side is a decimal literal
/// both are rounded to <see cref="VerifyOptions.FloatRounding"/> places first (Math-Verify's float rule).</item>
/// <item>Expressions with variables are evaluated at four fixed pseudo-random positive rational points
/// (exactly when rational): a polynomial identity test in place of <c>simplify(a - b) == 0</c>.</item>
/// </list>
/// </summary>
internal sealed class Equivalence(VerifyOptions options, Budget budget)
{
    private readonly int floatRounding = options.FloatRounding;
    private readonly bool strict = options.StrictVariables;
    private readonly bool allowSetRelation = options.AllowSetRelationComparison;
    private readonly bool percentLenient = options.PercentMatchesBareNumber;

    /// <summary>Relative tolerance for values that are not rational: 10^-NumericPrecision, never below 1e-9.</summary>
    private readonly double constantTolerance = System.Math.Max(1e-9, System.Math.Pow(10, -options.NumericPrecision));

    /// <summary>The same at sample points of expressions with variables, never below 1e-8.</summary>
    private readonly double pointTolerance = System.Math.Max(1e-8, System.Math.Pow(10, -options.NumericPrecision));

    private const int Points = 4;
    private const int MaxDepth = 24;

    /// <summary>Positive rationals spread over (0.3, 3.3) used as variable values; see <see cref="PointValue"/>.</summary>
    private static readonly BigRational[] Table =
    [
        R(3, 7), R(11, 13), R(5, 4), R(17, 11), R(13, 7), R(9, 4), R(29, 11), R(31, 10), R(7, 9), R(19, 17), R(23, 16),
        R(37, 19), R(41, 18), R(8, 3), R(43, 13), R(2, 5), R(47, 43), R(53, 37), R(59, 31), R(61, 26), R(67, 23),
        R(71, 22), R(5, 8), R(73, 71), R(79, 61), R(83, 51), R(89, 44), R(97, 41), R(101, 33), R(6, 11), R(103, 97),
        R(107, 67),
    ];

    private static BigRational R(int p, int q) => BigRational.Create(p, q);

    /// <summary>Value of variable number k at point j: distinct across variables at each point.</summary>
    private static BigRational PointValue(int k, int j) => Table[(k * (5 + 2 * j) + 11 * j + 1) % Table.Length];

    public bool Equal(Node gold, Node pred) => Equal(gold, strict ? pred : MatchVariables(gold, pred), 0);

    /// <summary>
    /// Math-Verify's non-strict mode: when both sides have as many variables, but not the same ones, the
    /// prediction's variables are renamed to the gold's by position in sorted order (<c>f(y)</c> → <c>f(x)</c>),
    /// once, for the whole answer. Words (<c>\text{Evelyn}</c>) are answers, not variables, and keep their names.
    /// </summary>
    private static Node MatchVariables(Node gold, Node pred)
    {
        var gv = Variables(gold);
        var pv = Variables(pred);
        if (gv.Count != pv.Count || gv.SetEquals(pv)) return pred;
        var map = pv.Zip(gv).ToDictionary(t => t.First, t => t.Second, StringComparer.Ordinal);
        return Rename(pred, map);
    }

    private static SortedSet<string> Variables(Node n)
    {
        var vars = new SortedSet<string>(StringComparer.Ordinal);
        Evaluator.CollectSymbols(n, vars);
        vars.RemoveWhere(v => v.Length > 1 && v.All(char.IsAsciiLetter) && !LatexLexer.GreekNames.Contains(v));
        return vars;
    }

    private bool Equal(Node g, Node p, int depth)
    {
        budget.Tick();
        if (depth > MaxDepth) return false;
        if (ReferenceEquals(g, p) || g.Key == p.Key) return true;

        var gEquation = IsEquation(g);
        var pEquation = IsEquation(p);
        var gAssign = gEquation && IsOnlySymbols(g.Args[0]);
        var pAssign = pEquation && IsOnlySymbols(p.Args[0]);
        var changed = false;
        if (gAssign && g.Args.Length > 2)
        {
            g = Node.Relation(g.Args[0], RelOp.Eq, g.Args[^1]);
            changed = true;
        }
        if (pAssign && p.Args.Length > 2)
        {
            p = Node.Relation(p.Args[0], RelOp.Eq, p.Args[^1]);
            changed = true;
        }
        if (pEquation && !gEquation)
        {
            p = p.Args[^1];
            changed = true;
        }
        else if (gAssign && !pEquation)
        {
            g = g.Args[^1];
            changed = true;
        }
        if (changed && g.Key == p.Key) return true;

        if (g.IsRelation && p.IsRelation) return CompareRelations(g, p, depth);
        if (g.IsRelation) return p.IsSetLike && RelationEqualsSet(g, p);
        if (p.IsRelation) return allowSetRelation && g.IsSetLike && RelationEqualsSet(p, g);
        if (ContainsMatrix(g) || ContainsMatrix(p)) return CompareMatrices(g, p, depth);
        if (g.IsSetLike || p.IsSetLike) return CompareSets(g, p, depth);
        if (percentLenient && (g.Kind == NodeKind.Percent || p.Kind == NodeKind.Percent) &&
            CompareValues(StripPercent(g), StripPercent(p)))
            return true;
        var gw = AsWord(g);
        var pw = AsWord(p);
        if (gw is not null && pw is not null && (IsWordSymbol(g) || IsWordSymbol(p))) return gw == pw;
        return CompareValues(g, p);
    }

    // ───────────────────────── shapes ─────────────────────────

    private static bool IsEquation(Node n) => n.Kind == NodeKind.Relation && n.Ops.All(o => o == RelOp.Eq);

    /// <summary>
    /// Math-Verify's <c>is_expr_of_only_symbols</c>: the left side of an assignment is built from symbols only
    /// (<c>x</c>, <c>f(x)</c>, <c>|AB|</c>, <c>A:B</c>, <c>(p,q)</c>), never from numbers.
    /// </summary>
    public static bool IsOnlySymbols(Node n)
    {
        switch (n.Kind)
        {
            case NodeKind.Symbol:
                return true;
            case NodeKind.Pow:
                return n.Args[1] is { Kind: NodeKind.Number } e && e.Value.Equals(BigRational.FromInt(-1)) && IsOnlySymbols(n.Args[0]);
            case NodeKind.Mul or NodeKind.Add or NodeKind.Div or NodeKind.Tuple or NodeKind.Interval:
            case NodeKind.Func when n.Name is "abs" || n.Name.StartsWith("op:", StringComparison.Ordinal):
                return n.Args.Length > 0 && n.Args.All(IsOnlySymbols);
            default:
                return false;
        }
    }

    /// <summary>A symbol written as a word (<c>\text{Evelyn}</c>), excluding subscripted names.</summary>
    private static bool IsWordSymbol(Node n) => n.Kind == NodeKind.Symbol && n.Name.Length > 1 && !n.Name.Contains('_');

    /// <summary>The letters of a symbol or of a product of one-letter symbols, read in written order.</summary>
    private static string? AsWord(Node n)
    {
        if (n.Kind == NodeKind.Symbol) return n.Name;
        if (n.Kind != NodeKind.Mul) return null;
        var chars = new char[n.Args.Length];
        for (var k = 0; k < n.Args.Length; k++)
        {
            if (n.Args[k] is not { Kind: NodeKind.Symbol } s || s.Name.Length != 1) return null;
            chars[k] = s.Name[0];
        }
        return new string(chars);
    }

    private static Node StripPercent(Node n) => n.Kind == NodeKind.Percent ? n.Args[0] : n;

    private static bool IsFloatAtom(Node n) => n.Kind switch
    {
        NodeKind.Number => n.IsFloat,
        NodeKind.Neg or NodeKind.Percent => IsFloatAtom(n.Args[0]),
        _ => false,
    };

    // ───────────────────────── numbers and expressions ─────────────────────────

    private bool CompareValues(Node g, Node p)
    {
        var vars = new SortedSet<string>(StringComparer.Ordinal);
        Evaluator.CollectSymbols(g, vars);
        Evaluator.CollectSymbols(p, vars);
        if (vars.Count == 0)
        {
            var a = Evaluator.TryConstant(g, budget);
            var b = Evaluator.TryConstant(p, budget);
            if (a is not { IsValid: true } x || b is not { IsValid: true } y) return false;
            if ((IsFloatAtom(g) || IsFloatAtom(p)) && x.IsReal && y.IsReal) return RoundedEqual(x, y);
            return Num.AreClose(x, y, constantTolerance);
        }
        return SameAtPoints(g, p, vars, pointTolerance);
    }

    private bool SameAtPoints(Node g, Node p, SortedSet<string> vars, double tol)
    {
        if (vars.Count > Table.Length) return false;
        var valid = 0;
        for (var j = 0; j < Points; j++)
        {
            var env = Environment(vars, j);
            var a = Evaluator.Eval(g, env, budget);
            var b = Evaluator.Eval(p, env, budget);
            if (!a.IsValid && !b.IsValid) continue;
            if (!a.IsValid || !b.IsValid || !Num.AreClose(a, b, tol)) return false;
            valid++;
        }
        return valid >= 2;
    }

    private static Dictionary<string, Num> Environment(SortedSet<string> vars, int j)
    {
        var env = new Dictionary<string, Num>(vars.Count, StringComparer.Ordinal);
        var k = 0;
        foreach (var v in vars) env[v] = Num.Of(PointValue(k++, j));
        return env;
    }

    private bool RoundedEqual(Num a, Num b)
    {
        var places = System.Math.Clamp(floatRounding, 0, 15);
        if (a.IsExact && b.IsExact) return a.Exact.RoundToPlaces(places).Equals(b.Exact.RoundToPlaces(places));
        var x = a.RealValue;
        var y = b.RealValue;
        if (System.Math.Abs(x) > 1e15 || System.Math.Abs(y) > 1e15) return Num.AreClose(a, b);
        return System.Math.Round(x, places, MidpointRounding.AwayFromZero) == System.Math.Round(y, places, MidpointRounding.AwayFromZero) ||
               Num.AreClose(a, b, 1e-12);
    }

    private static Node Rename(Node n, Dictionary<string, string> map)
    {
        if (n.Kind == NodeKind.Symbol) return map.TryGetValue(n.Name, out var to) ? Node.Sym(to) : n;
        if (n.Args.Length == 0) return n;
        var args = new Node[n.Args.Length];
        for (var k = 0; k < args.Length; k++) args[k] = Rename(n.Args[k], map);
        return n.WithArgs(args);
    }

    // ───────────────────────── relations ─────────────────────────

    private readonly record struct Simple(RelOp Op, Node Lhs, Node Rhs)
    {
        /// <summary>a &gt; b becomes b &lt; a, a ≥ b becomes b ≤ a.</summary>
        public Simple Normalized() => Op switch
        {
            RelOp.Gt => new Simple(RelOp.Lt, Rhs, Lhs),
            RelOp.Ge => new Simple(RelOp.Le, Rhs, Lhs),
            _ => this,
        };
    }

    private static Simple[] Split(Node rel)
    {
        var result = new Simple[rel.Ops.Length];
        for (var k = 0; k < result.Length; k++) result[k] = new Simple(rel.Ops[k], rel.Args[k], rel.Args[k + 1]).Normalized();
        return result;
    }

    private bool CompareRelations(Node g, Node p, int depth)
    {
        var gs = Split(g);
        var ps = Split(p);
        if (gs.Length != ps.Length) return false;
        var ordered = true;
        for (var k = 0; k < gs.Length && ordered; k++) ordered = SimpleEqual(gs[k], ps[k], depth);
        if (ordered) return true;
        if (gs.Length == 1 || gs.Length > 8) return false;
        return Match(gs.Length, (i, j) => SimpleEqual(gs[i], ps[j], depth));
    }

    private bool SimpleEqual(Simple a, Simple b, int depth)
    {
        if (a.Op != b.Op) return false;
        if (Equal(a.Lhs, b.Lhs, depth + 1) && Equal(a.Rhs, b.Rhs, depth + 1)) return true;
        if (a.Op is RelOp.Eq or RelOp.Ne && Equal(a.Lhs, b.Rhs, depth + 1) && Equal(a.Rhs, b.Lhs, depth + 1)) return true;
        if (!IsScalar(a.Lhs) || !IsScalar(a.Rhs) || !IsScalar(b.Lhs) || !IsScalar(b.Rhs)) return false;
        var f = Node.Add(a.Lhs, Node.Neg(a.Rhs));
        var h = Node.Add(b.Lhs, Node.Neg(b.Rhs));
        return Proportional(f, h, positive: a.Op is RelOp.Lt or RelOp.Le);
    }

    private static bool IsScalar(Node n) => !n.IsSetLike && !n.IsRelation && !ContainsMatrix(n) && n.Kind != NodeKind.PlusMinus;

    /// <summary>
    /// True when f = c·h for a constant c (c &gt; 0 when <paramref name="positive"/>): the relations f ⋈ 0 and
    /// h ⋈ 0 then have the same solutions (x−1 &lt; 0 ⇔ 2 − 2x &gt; 0; x²/4 + y²/3 = 1 ⇔ x²/16 + y²/12 = 1/4).
    /// </summary>
    private bool Proportional(Node f, Node h, bool positive)
    {
        var vars = new SortedSet<string>(StringComparer.Ordinal);
        Evaluator.CollectSymbols(f, vars);
        Evaluator.CollectSymbols(h, vars);
        if (vars.Count > Table.Length) return false;
        var points = vars.Count == 0 ? 1 : Points;
        Num? ratio = null;
        var valid = 0;
        var bothZero = 0;
        for (var j = 0; j < points; j++)
        {
            var env = vars.Count == 0 ? null : Environment(vars, j);
            var a = Evaluator.Eval(f, env, budget);
            var b = Evaluator.Eval(h, env, budget);
            if (!a.IsValid && !b.IsValid) continue;
            if (!a.IsValid || !b.IsValid) return false;
            var az = NearZero(a);
            var bz = NearZero(b);
            if (az && bz)
            {
                bothZero++;
                continue;
            }
            if (az || bz) return false;
            var r = Num.Divide(a, b);
            if (!r.IsValid || !r.IsReal) return false;
            if (ratio is null)
            {
                if (positive && r.RealValue <= 0) return false;
                ratio = r;
            }
            else if (!Num.AreClose(r, ratio.Value, 1e-8)) return false;
            valid++;
        }
        return vars.Count == 0 ? valid + bothZero == 1 : valid >= 2 || (valid == 0 && bothZero >= 2);
    }

    private static bool NearZero(Num v) => v.IsExact ? v.Exact.IsZero : v.Approx.Magnitude < 1e-12;

    /// <summary>
    /// Whether a relation in one variable (or in one symbolic expression such as f(x)) holds exactly on the
    /// given real set: membership is compared at every endpoint, just beside each endpoint, between
    /// endpoints, and on a fixed grid. Stands in for SymPy's <c>relation.as_set()</c>.
    /// </summary>
    private bool RelationEqualsSet(Node rel, Node setNode)
    {
        var set = RealSet.From(setNode, budget);
        if (set is null) return false;
        var vars = new SortedSet<string>(StringComparer.Ordinal);
        Evaluator.CollectSymbols(rel, vars);
        string variable;
        if (vars.Count == 1) variable = vars.Min!;
        else
        {
            var nonConstant = rel.Args.Where(Evaluator.HasFreeSymbols).ToList();
            if (nonConstant.Count == 0 || nonConstant.Select(a => a.Key).Distinct().Count() != 1 || !IsOnlySymbols(nonConstant[0]))
                return false;
            var key = nonConstant[0].Key;
            rel = rel.WithArgs(rel.Args.Select(a => a.Key == key ? Node.Sym("#t") : a).ToArray());
            variable = "#t";
        }
        foreach (var t in TestPoints(set))
        {
            budget.Tick();
            var inSet = set.Contains(t);
            var holds = Holds(rel, variable, t);
            if (inSet != holds) return false;
        }
        return true;
    }

    private static readonly BigRational[] Grid =
    [
        R(-1000, 1), R(-100, 1), R(-37, 2), R(-10, 1), R(-11, 2), R(-3, 1), R(-7, 3), R(-2, 1), R(-3, 2), R(-1, 1),
        R(-1, 2), R(-1, 4), R(0, 1), R(1, 4), R(1, 2), R(1, 1), R(13, 7), R(3, 2), R(2, 1), R(7, 3), R(3, 1), R(11, 2),
        R(10, 1), R(37, 2), R(100, 1), R(1000, 1),
    ];

    private static IEnumerable<Num> TestPoints(RealSet set)
    {
        var ends = set.FiniteEndpoints().ToList();
        foreach (var g in Grid) yield return Num.Of(g);
        for (var k = 0; k < ends.Count; k++)
        {
            var e = ends[k];
            yield return e;
            var scale = System.Math.Max(1, System.Math.Abs(e.RealValue));
            var delta = Num.Of(scale * 1e-6);
            yield return Num.Add(e, delta);
            yield return Num.Add(e, Num.Negate(delta));
            yield return Num.Add(e, Num.Of(scale));
            yield return Num.Add(e, Num.Of(-scale));
            if (k + 1 < ends.Count) yield return Num.Divide(Num.Add(e, ends[k + 1]), Num.Of(2));
        }
    }

    /// <summary>Does the relation hold at variable = t? Undefined values count as "does not hold".</summary>
    private bool Holds(Node rel, string variable, Num t)
    {
        var env = new Dictionary<string, Num>(StringComparer.Ordinal) { [variable] = t };
        var values = new Num[rel.Args.Length];
        for (var k = 0; k < values.Length; k++)
        {
            values[k] = Evaluator.Eval(rel.Args[k], env, budget);
            if (!values[k].IsValid) return false;
        }
        for (var k = 0; k < rel.Ops.Length; k++)
        {
            var a = values[k];
            var b = values[k + 1];
            var op = rel.Ops[k];
            if (op is RelOp.Eq or RelOp.Ne)
            {
                if (Num.AreClose(a, b) != (op == RelOp.Eq)) return false;
                continue;
            }
            if (!a.IsReal || !b.IsReal) return false;
            int cmp;
            if (a.IsExact && b.IsExact) cmp = a.Exact.CompareTo(b.Exact);
            else cmp = Num.AreClose(a, b, 1e-9) ? 0 : a.RealValue.CompareTo(b.RealValue);
            var ok = op switch
            {
                RelOp.Lt => cmp < 0,
                RelOp.Le => cmp <= 0,
                RelOp.Gt => cmp > 0,
                _ => cmp >= 0,
            };
            if (!ok) return false;
        }
        return true;
    }

    // ───────────────────────── sets, tuples, intervals ─────────────────────────

    private bool CompareSets(Node g, Node p, int depth)
    {
        if (!g.IsSetLike) g = Node.Set([g]);
        if (!p.IsSetLike) p = Node.Set([p]);
        if (g.Kind == NodeKind.Interval && p.Kind == NodeKind.Interval)
            return g.LeftOpen == p.LeftOpen && g.RightOpen == p.RightOpen && Equal(g.Args[0], p.Args[0], depth + 1) &&
                   Equal(g.Args[1], p.Args[1], depth + 1);
        if (IsList(g) && IsList(p))
        {
            var ge = g.Args;
            var pe = p.Args;
            if (g.Kind == NodeKind.FiniteSet) return MatchUnordered(ge, pe, depth);
            // Tuples and open pairs are ordered; a predicted set is read in the order written (Math-Verify).
            if (ge.Length != pe.Length) return false;
            for (var k = 0; k < ge.Length; k++)
                if (!Equal(ge[k], pe[k], depth + 1))
                    return false;
            return true;
        }
        var a = RealSet.From(g, budget);
        var b = a is null ? null : RealSet.From(p, budget);
        if (a is not null && b is not null) return a.SameAs(b);
        if (g.Kind == NodeKind.Union && p.Kind == NodeKind.Union)
        {
            var gm = new List<Node>();
            var pm = new List<Node>();
            Flatten(g, gm);
            Flatten(p, pm);
            return MatchUnordered(gm.ToArray(), pm.ToArray(), depth);
        }
        if (g.Kind == p.Kind && g.Kind is NodeKind.Intersection or NodeKind.Complement)
            return Equal(g.Args[0], p.Args[0], depth + 1) && Equal(g.Args[1], p.Args[1], depth + 1);
        return false;
    }

    private static bool IsList(Node n) => n.Kind is NodeKind.FiniteSet or NodeKind.Tuple || n.IsOpenPair;

    private static void Flatten(Node n, List<Node> into)
    {
        if (n.Kind == NodeKind.Union)
        {
            Flatten(n.Args[0], into);
            Flatten(n.Args[1], into);
        }
        else into.Add(n);
    }

    private bool MatchUnordered(Node[] gold, Node[] pred, int depth)
    {
        var g = Dedupe(gold, depth);
        var p = Dedupe(pred, depth);
        if (g.Count != p.Count || g.Count > 64) return false;
        return Match(g.Count, (i, j) => Equal(g[i], p[j], depth + 1));
    }

    /// <summary>Drops repeated elements: a set written with a duplicate is the same set.</summary>
    private List<Node> Dedupe(Node[] items, int depth)
    {
        var result = new List<Node>(items.Length);
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in items)
        {
            if (!keys.Add(item.Key)) continue;
            if (items.Length <= 16 && result.Any(r => Equal(r, item, depth + 1))) continue;
            result.Add(item);
        }
        return result;
    }

    /// <summary>Perfect bipartite matching between n gold and n predicted items (Kuhn's algorithm, memoised).</summary>
    private bool Match(int n, Func<int, int, bool> equal)
    {
        var memo = new sbyte[n, n];
        var owner = new int[n];
        Array.Fill(owner, -1);
        for (var i = 0; i < n; i++)
        {
            var seen = new bool[n];
            if (!Augment(i, seen)) return false;
        }
        return true;

        bool Augment(int i, bool[] seen)
        {
            for (var j = 0; j < n; j++)
            {
                if (seen[j]) continue;
                budget.Tick();
                if (memo[i, j] == 0) memo[i, j] = equal(i, j) ? (sbyte)1 : (sbyte)-1;
                if (memo[i, j] < 0) continue;
                seen[j] = true;
                if (owner[j] < 0 || Augment(owner[j], seen))
                {
                    owner[j] = i;
                    return true;
                }
            }
            return false;
        }
    }

    // ───────────────────────── matrices ─────────────────────────

    private static bool ContainsMatrix(Node n)
    {
        if (n.Kind == NodeKind.Matrix) return true;
        if (n.Kind is NodeKind.Add or NodeKind.Mul or NodeKind.Neg or NodeKind.Div)
            foreach (var a in n.Args)
                if (ContainsMatrix(a))
                    return true;
        return false;
    }

    private bool CompareMatrices(Node g, Node p, int depth)
    {
        var gm = ContainsMatrix(g) ? ReduceMatrix(g) : null;
        var pm = ContainsMatrix(p) ? ReduceMatrix(p) : null;
        if (gm is not null && pm is not null)
        {
            if (gm.Rows != pm.Rows || gm.Cols != pm.Cols) return false;
            for (var k = 0; k < gm.Args.Length; k++)
                if (!Equal(gm.Args[k], pm.Args[k], depth + 1))
                    return false;
            return true;
        }
        // A vector written as a tuple: (1, 2, 3) and a 3×1 matrix.
        var m = gm ?? pm;
        var other = gm is null ? g : p;
        if (m is null || !(m.Rows == 1 || m.Cols == 1) || other.Kind is not (NodeKind.Tuple or NodeKind.Interval) ||
            (other.Kind == NodeKind.Interval && !other.IsOpenPair) || other.Args.Length != m.Args.Length)
            return false;
        for (var k = 0; k < m.Args.Length; k++)
        {
            var ok = gm is null ? Equal(other.Args[k], m.Args[k], depth + 1) : Equal(m.Args[k], other.Args[k], depth + 1);
            if (!ok) return false;
        }
        return true;
    }

    /// <summary>Carries out matrix sums, products and scalar multiples symbolically; null when not a matrix.</summary>
    private Node? ReduceMatrix(Node n)
    {
        budget.Tick();
        switch (n.Kind)
        {
            case NodeKind.Matrix:
                return n;
            case NodeKind.Neg:
            {
                var m = ReduceMatrix(n.Args[0]);
                return m is null ? null : Map(m, Node.Neg);
            }
            case NodeKind.Div:
            {
                var m = ReduceMatrix(n.Args[0]);
                if (m is null || ContainsMatrix(n.Args[1])) return null;
                return Map(m, c => Node.Div(c, n.Args[1]));
            }
            case NodeKind.Add:
            {
                Node? acc = null;
                foreach (var a in n.Args)
                {
                    var m = ReduceMatrix(a);
                    if (m is null) return null;
                    if (acc is null)
                    {
                        acc = m;
                        continue;
                    }
                    if (acc.Rows != m.Rows || acc.Cols != m.Cols) return null;
                    var cells = new Node[m.Args.Length];
                    for (var k = 0; k < cells.Length; k++) cells[k] = Node.Add(acc.Args[k], m.Args[k]);
                    acc = Node.Matrix(m.Rows, m.Cols, cells);
                }
                return acc;
            }
            case NodeKind.Mul:
            {
                Node? matrix = null;
                var scalars = new List<Node>();
                foreach (var a in n.Args)
                {
                    if (!ContainsMatrix(a))
                    {
                        scalars.Add(a);
                        continue;
                    }
                    var m = ReduceMatrix(a);
                    if (m is null) return null;
                    matrix = matrix is null ? m : MatMul(matrix, m);
                    if (matrix is null) return null;
                }
                if (matrix is null) return null;
                if (scalars.Count == 0) return matrix;
                var s = scalars.Count == 1 ? scalars[0] : Node.Mul(scalars.ToArray());
                return Map(matrix, c => Node.Mul(s, c));
            }
            default:
                return null;
        }
    }

    private static Node Map(Node m, Func<Node, Node> f) => Node.Matrix(m.Rows, m.Cols, m.Args.Select(f).ToArray());

    private static Node? MatMul(Node a, Node b)
    {
        if (a.Cols != b.Rows || a.Rows * b.Cols * a.Cols > 4096) return null;
        var cells = new Node[a.Rows * b.Cols];
        for (var i = 0; i < a.Rows; i++)
        for (var j = 0; j < b.Cols; j++)
        {
            var terms = new Node[a.Cols];
            for (var k = 0; k < a.Cols; k++) terms[k] = Node.Mul(a.Args[i * a.Cols + k], b.Args[k * b.Cols + j]);
            cells[i * b.Cols + j] = terms.Length == 1 ? terms[0] : Node.Add(terms);
        }
        return Node.Matrix(a.Rows, b.Cols, cells);
    }
}

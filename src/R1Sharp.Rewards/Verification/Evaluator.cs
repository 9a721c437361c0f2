using System.Numerics;

namespace R1Sharp.Rewards.Verification;

/// <summary>
/// Evaluates an expression tree at given values of its variables. Rational arithmetic stays exact
/// (<see cref="BigRational"/>); irrational steps (roots that are not perfect powers, π, e, trig, logs) switch
/// to complex doubles. <c>e</c> is Euler's number and <c>i</c> the imaginary unit, as in Math-Verify.
/// Undefined results (1/0, log 0, 0^0, unknown constructs) are <see cref="Num.Invalid"/>.
/// </summary>
internal static class Evaluator
{
    private sealed class ConstBox(Num value)
    {
        public readonly Num Value = value;
    }

    /// <summary>The value of a variable-free expression, cached on the node (gold answers are evaluated once).</summary>
    public static Num? TryConstant(Node node, Budget budget)
    {
        if (node.ConstCache is ConstBox box) return box.Value;
        if (HasFreeSymbols(node)) return null;
        var value = Eval(node, null, budget);
        node.ConstCache = new ConstBox(value);
        return value;
    }

    public static bool HasFreeSymbols(Node node)
    {
        if (node.Kind == NodeKind.Symbol) return node.Name is not ("e" or "i");
        if (node.Kind == NodeKind.Func && node.Name is "sum" or "prod")
        {
            var v = node.Args[1].Name;
            return ContainsSymbolOtherThan(node.Args[0], v) || HasFreeSymbols(node.Args[2]) || HasFreeSymbols(node.Args[3]);
        }
        foreach (var a in node.Args)
            if (HasFreeSymbols(a))
                return true;
        return false;
    }

    private static bool ContainsSymbolOtherThan(Node node, string name)
    {
        if (node.Kind == NodeKind.Symbol) return node.Name != name && node.Name is not ("e" or "i");
        foreach (var a in node.Args)
            if (ContainsSymbolOtherThan(a, name))
                return true;
        return false;
    }

    /// <summary>Adds the free variables of <paramref name="node"/> to <paramref name="into"/>.</summary>
    public static void CollectSymbols(Node node, SortedSet<string> into)
    {
        if (node.Kind == NodeKind.Symbol)
        {
            if (node.Name is not ("e" or "i")) into.Add(node.Name);
            return;
        }
        if (node.Kind == NodeKind.Func && node.Name is "sum" or "prod")
        {
            var inner = new SortedSet<string>(StringComparer.Ordinal);
            CollectSymbols(node.Args[0], inner);
            inner.Remove(node.Args[1].Name);
            into.UnionWith(inner);
            CollectSymbols(node.Args[2], into);
            CollectSymbols(node.Args[3], into);
            return;
        }
        foreach (var a in node.Args) CollectSymbols(a, into);
    }

    public static Num Eval(Node n, IReadOnlyDictionary<string, Num>? env, Budget budget)
    {
        budget.Tick();
        switch (n.Kind)
        {
            case NodeKind.Number:
                return Num.Of(n.Value);
            case NodeKind.Symbol:
                if (env is not null && env.TryGetValue(n.Name, out var v)) return v;
                return n.Name switch
                {
                    "e" => Num.Of(System.Math.E),
                    "i" => Num.Of(Complex.ImaginaryOne),
                    _ => Num.Invalid,
                };
            case NodeKind.Pi:
                return Num.Of(System.Math.PI);
            case NodeKind.Add:
            {
                var acc = Eval(n.Args[0], env, budget);
                for (var k = 1; k < n.Args.Length && acc.IsValid; k++) acc = Num.Add(acc, Eval(n.Args[k], env, budget));
                return acc;
            }
            case NodeKind.Mul:
            {
                var acc = Eval(n.Args[0], env, budget);
                for (var k = 1; k < n.Args.Length && acc.IsValid; k++) acc = Num.Multiply(acc, Eval(n.Args[k], env, budget));
                return acc;
            }
            case NodeKind.Div:
                return Num.Divide(Eval(n.Args[0], env, budget), Eval(n.Args[1], env, budget));
            case NodeKind.Neg:
                return Num.Negate(Eval(n.Args[0], env, budget));
            case NodeKind.Percent:
                return Num.Divide(Eval(n.Args[0], env, budget), Num.Of(100));
            case NodeKind.Pow:
                if (n.Args[0] is { Kind: NodeKind.Symbol, Name: "e" } && (env is null || !env.ContainsKey("e")))
                {
                    var x = Eval(n.Args[1], env, budget);
                    if (!x.IsValid) return Num.Invalid;
                    if (x.IsExact && x.Exact.IsZero) return Num.Of(1);
                    return Num.Of(Complex.Exp(x.AsComplex));
                }
                return Power(Eval(n.Args[0], env, budget), Eval(n.Args[1], env, budget));
            case NodeKind.Func:
                return Function(n, env, budget);
            default:
                return Num.Invalid;
        }
    }

    public static Num Power(Num a, Num b)
    {
        if (!a.IsValid || !b.IsValid) return Num.Invalid;
        if (a.IsExact && b.IsExact)
        {
            if (b.Exact.IsInteger)
            {
                if (BigRational.TryPow(a.Exact, b.Exact.Num, out var r)) return Num.Of(r);
                if (a.Exact.IsZero) return Num.Invalid; // 0^0, 0^-k
            }
            else if (b.Exact.Den <= 64)
            {
                var q = (int)b.Exact.Den;
                var baseValue = a.Exact;
                if (baseValue.Sign < 0 && q % 2 == 1)
                {
                    // Odd roots of negatives are real: (-8)^{1/3} = -2.
                    var pos = RootPower(baseValue.Negate(), b.Exact.Num, q);
                    if (pos.IsValid)
                        return b.Exact.Num.IsEven ? pos : Num.Negate(pos);
                }
                else if (baseValue.Sign >= 0)
                {
                    var r = RootPower(baseValue, b.Exact.Num, q);
                    if (r.IsValid) return r;
                }
            }
        }
        var x = a.AsComplex;
        var y = b.AsComplex;
        if (x == Complex.Zero)
        {
            if (y.Real > 0) return Num.Of(0);
            return Num.Invalid;
        }
        if (x.Imaginary == 0 && y.Imaginary == 0 && x.Real > 0) return Num.Of(System.Math.Pow(x.Real, y.Real));
        return Num.Of(Complex.Pow(x, y));
    }

    /// <summary>base^(p/q) for base ≥ 0: exact when base is a perfect q-th power, else a real double.</summary>
    private static Num RootPower(BigRational baseValue, BigInteger p, int q)
    {
        if (BigRational.TryRoot(baseValue, q, out var root) && BigRational.TryPow(root, p, out var r)) return Num.Of(r);
        var d = baseValue.ToDouble();
        if (d == 0 && p.Sign <= 0) return Num.Invalid;
        return Num.Of(System.Math.Pow(d, (double)p / q));
    }

    private static Num Function(Node n, IReadOnlyDictionary<string, Num>? env, Budget budget)
    {
        var name = n.Name;
        if (name is "sum" or "prod") return BigOperator(n, env, budget);
        var x = Eval(n.Args[0], env, budget);
        if (!x.IsValid) return Num.Invalid;
        switch (name)
        {
            case "sqrt":
                if (x.IsExact)
                {
                    if (x.Exact.Sign >= 0) return Power(x, Num.Of(BigRational.Create(1, 2)));
                    var r = Power(Num.Of(x.Exact.Negate()), Num.Of(BigRational.Create(1, 2)));
                    return Num.Multiply(r, Num.Of(Complex.ImaginaryOne));
                }
                return Num.Of(Complex.Sqrt(x.Approx));
            case "root":
            {
                var k = Eval(n.Args[1], env, budget);
                if (!k.IsValid || k.IsZero) return Num.Invalid;
                return Power(x, Num.Divide(Num.Of(1), k));
            }
            case "abs":
                return x.IsExact ? Num.Of(x.Exact.Abs()) : Num.Of(x.Approx.Magnitude);
            case "fact":
                return Factorial(x, budget);
            case "binom":
                return Binomial(x, Eval(n.Args[1], env, budget), budget);
            case "floor":
            case "ceil":
                if (x.IsExact)
                {
                    var f = x.Exact.Floor();
                    if (name == "ceil" && !x.Exact.IsInteger) f += 1;
                    return Num.Of(new BigRational(f));
                }
                if (!x.IsReal) return Num.Invalid;
                return Num.Of(name == "floor" ? System.Math.Floor(x.Approx.Real) : System.Math.Ceiling(x.Approx.Real));
            case "log":
            {
                var b = Eval(n.Args[1], env, budget);
                if (!b.IsValid || x.IsZero || b.IsZero) return Num.Invalid;
                var lb = Complex.Log(b.AsComplex);
                if (lb == Complex.Zero) return Num.Invalid;
                return Num.Of(Complex.Log(x.AsComplex) / lb);
            }
            case "ln":
                if (x.IsZero) return Num.Invalid;
                if (x.IsExact && x.Exact.Equals(BigRational.One)) return Num.Of(0);
                return Num.Of(Complex.Log(x.AsComplex));
            case "max":
            case "min":
            case "gcd":
            case "lcm":
                return MultiArg(n, env, budget);
            case "det":
                return Num.Invalid;
        }
        if (x.IsExact && x.Exact.IsZero && name is "sin" or "tan" or "asin" or "atan" or "sinh" or "tanh") return Num.Of(0);
        var z = x.AsComplex;
        Complex result = name switch
        {
            "sin" => Complex.Sin(z),
            "cos" => Complex.Cos(z),
            "tan" => Complex.Tan(z),
            "cot" => Complex.One / Complex.Tan(z),
            "sec" => Complex.One / Complex.Cos(z),
            "csc" => Complex.One / Complex.Sin(z),
            "asin" => Complex.Asin(z),
            "acos" => Complex.Acos(z),
            "atan" => Complex.Atan(z),
            "acot" => Complex.Atan(Complex.One / z),
            "asec" => Complex.Acos(Complex.One / z),
            "acsc" => Complex.Asin(Complex.One / z),
            "sinh" => Complex.Sinh(z),
            "cosh" => Complex.Cosh(z),
            "tanh" => Complex.Tanh(z),
            "coth" => Complex.One / Complex.Tanh(z),
            "sech" => Complex.One / Complex.Cosh(z),
            "csch" => Complex.One / Complex.Sinh(z),
            "asinh" => Complex.Log(z + Complex.Sqrt(z * z + 1)),
            "acosh" => Complex.Log(z + Complex.Sqrt(z + 1) * Complex.Sqrt(z - 1)),
            "atanh" => 0.5 * Complex.Log((1 + z) / (1 - z)),
            _ => UnknownFunction(name, n, env, budget),
        };
        return Num.Of(result);
    }

    /// <summary>
    /// f(x) for a function we know nothing about: a fixed smooth pseudo-random function of the name and the
    /// arguments, so f(2) = f(1+1) but f(2) ≠ g(2) and f(2) ≠ f(3).
    /// </summary>
    private static Complex UnknownFunction(string name, Node n, IReadOnlyDictionary<string, Num>? env, Budget budget)
    {
        ulong h = 1469598103934665603;
        foreach (var c in name) h = (h ^ c) * 1099511628211;
        var seed = (h % 1000) / 100.0 + 1;
        var acc = new Complex(seed, 0);
        for (var k = 0; k < n.Args.Length; k++)
        {
            var a = Eval(n.Args[k], env, budget);
            if (!a.IsValid) return new Complex(double.NaN, 0);
            var z = a.AsComplex;
            acc += Complex.Sin(z * (1.3 + 0.7 * k) + seed) + 0.37 * z * (k + 1);
        }
        return acc;
    }

    private static Num MultiArg(Node n, IReadOnlyDictionary<string, Num>? env, Budget budget)
    {
        var values = new Num[n.Args.Length];
        for (var k = 0; k < values.Length; k++)
        {
            values[k] = Eval(n.Args[k], env, budget);
            if (!values[k].IsValid) return Num.Invalid;
        }
        if (n.Name is "max" or "min")
        {
            if (values.Any(v => !v.IsReal)) return Num.Invalid;
            var best = values[0];
            foreach (var v in values.Skip(1))
            {
                var greater = v.IsExact && best.IsExact ? v.Exact.CompareTo(best.Exact) > 0 : v.RealValue > best.RealValue;
                if (greater == (n.Name == "max")) best = v;
            }
            return best;
        }
        if (values.Any(v => !v.IsExact || !v.Exact.IsInteger)) return Num.Invalid;
        var acc = BigInteger.Abs(values[0].Exact.Num);
        foreach (var v in values.Skip(1))
        {
            var b = BigInteger.Abs(v.Exact.Num);
            if (n.Name == "gcd") acc = BigInteger.GreatestCommonDivisor(acc, b);
            else
            {
                var g = BigInteger.GreatestCommonDivisor(acc, b);
                acc = g.IsZero ? BigInteger.Zero : acc / g * b;
                if (acc.GetBitLength() > BigRational.MaxBits) return Num.Invalid;
            }
        }
        return Num.Of(new BigRational(acc));
    }

    private static Num Factorial(Num x, Budget budget)
    {
        if (!x.IsExact || !x.Exact.IsInteger || x.Exact.Sign < 0 || x.Exact.Num > 3000) return Num.Invalid;
        var n = (int)x.Exact.Num;
        var acc = BigInteger.One;
        for (var k = 2; k <= n; k++)
        {
            budget.Tick();
            acc *= k;
        }
        return Num.Of(new BigRational(acc));
    }

    private static Num Binomial(Num nv, Num kv, Budget budget)
    {
        if (!nv.IsValid || !kv.IsValid || !kv.IsExact || !kv.Exact.IsInteger || kv.Exact.Sign < 0 || kv.Exact.Num > 3000)
            return Num.Invalid;
        var k = (int)kv.Exact.Num;
        var acc = Num.Of(1);
        for (var j = 0; j < k; j++)
        {
            budget.Tick();
            acc = Num.Divide(Num.Multiply(acc, Num.Add(nv, Num.Of(-j))), Num.Of(j + 1));
            if (!acc.IsValid) return acc;
        }
        return acc;
    }

    private static Num BigOperator(Node n, IReadOnlyDictionary<string, Num>? env, Budget budget)
    {
        var lo = Eval(n.Args[2], env, budget);
        var hi = Eval(n.Args[3], env, budget);
        if (!lo.IsExact || !hi.IsExact || !lo.Exact.IsInteger || !hi.Exact.IsInteger) return Num.Invalid;
        var count = hi.Exact.Num - lo.Exact.Num + 1;
        if (count > 10000) return Num.Invalid;
        var isSum = n.Name == "sum";
        var acc = Num.Of(isSum ? 0 : 1);
        var local = env is null ? new Dictionary<string, Num>() : new Dictionary<string, Num>(env);
        for (var k = lo.Exact.Num; k <= hi.Exact.Num; k++)
        {
            local[n.Args[1].Name] = Num.Of(new BigRational(k));
            var term = Eval(n.Args[0], local, budget);
            acc = isSum ? Num.Add(acc, term) : Num.Multiply(acc, term);
            if (!acc.IsValid) return acc;
        }
        return acc;
    }
}

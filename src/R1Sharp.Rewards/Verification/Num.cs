using System.Numerics;

namespace R1Sharp.Rewards.Verification;

/// <summary>
/// A value met while evaluating an answer: exact (a <see cref="BigRational"/>) while every step is rational
/// and small enough, otherwise a complex double. <see cref="IsValid"/> is false for undefined results
/// (division by zero, log 0, overflow), which never compare equal to anything.
/// </summary>
internal readonly struct Num
{
    public readonly bool IsValid;
    public readonly bool IsExact;
    public readonly BigRational Exact;
    public readonly Complex Approx;

    private Num(bool valid, bool exact, BigRational r, Complex c)
    {
        IsValid = valid;
        IsExact = exact;
        Exact = r;
        Approx = c;
    }

    public static readonly Num Invalid = new(false, false, default, default);

    public static Num Of(BigRational r) => new(true, true, r, default);

    public static Num Of(long value) => Of(BigRational.FromInt(value));

    public static Num Of(Complex c)
    {
        if (double.IsNaN(c.Real) || double.IsNaN(c.Imaginary) || double.IsInfinity(c.Real) || double.IsInfinity(c.Imaginary))
            return Invalid;
        return new(true, false, default, c);
    }

    public static Num Of(double d) => Of(new Complex(d, 0));

    public Complex AsComplex => IsExact ? new Complex(Exact.ToDouble(), 0) : Approx;

    /// <summary>True when the value is real (exact, or with a negligible imaginary part).</summary>
    public bool IsReal => IsExact || System.Math.Abs(Approx.Imaginary) <= 1e-12 * System.Math.Max(1, System.Math.Abs(Approx.Real));

    public double RealValue => IsExact ? Exact.ToDouble() : Approx.Real;

    public bool IsZero => IsExact ? Exact.IsZero : Approx.Magnitude < 1e-300;

    public static Num Add(Num a, Num b)
    {
        if (!a.IsValid || !b.IsValid) return Invalid;
        if (a.IsExact && b.IsExact && BigRational.TryAdd(a.Exact, b.Exact, out var r)) return Of(r);
        return Of(a.AsComplex + b.AsComplex);
    }

    public static Num Multiply(Num a, Num b)
    {
        if (!a.IsValid || !b.IsValid) return Invalid;
        if (a.IsExact && b.IsExact && BigRational.TryMultiply(a.Exact, b.Exact, out var r)) return Of(r);
        if ((a.IsExact && a.Exact.IsZero) || (b.IsExact && b.Exact.IsZero)) return Of(BigRational.Zero);
        return Of(a.AsComplex * b.AsComplex);
    }

    public static Num Divide(Num a, Num b)
    {
        if (!a.IsValid || !b.IsValid) return Invalid;
        if (b.IsExact && b.Exact.IsZero) return Invalid;
        if (a.IsExact && b.IsExact && BigRational.TryDivide(a.Exact, b.Exact, out var r)) return Of(r);
        var d = b.AsComplex;
        if (d.Magnitude == 0) return Invalid;
        return Of(a.AsComplex / d);
    }

    public static Num Negate(Num a)
    {
        if (!a.IsValid) return Invalid;
        return a.IsExact ? Of(a.Exact.Negate()) : Of(-a.Approx);
    }

    /// <summary>
    /// Real-valued difference test. Exact values compare exactly; otherwise |a − b| ≤ 1e-9·max(|a|, |b|)
    /// or |a − b| ≤ 1e-12 (both sides numerically zero), the double-precision analogue of SymPy's
    /// <c>(a - b).evalf(15, chop=True) == 0</c> used by Math-Verify.
    /// </summary>
    public static bool AreClose(Num a, Num b, double relTol = 1e-9)
    {
        if (!a.IsValid || !b.IsValid) return false;
        if (a.IsExact && b.IsExact) return a.Exact.Equals(b.Exact);
        var x = a.AsComplex;
        var y = b.AsComplex;
        var diff = (x - y).Magnitude;
        if (diff <= 1e-12) return true;
        return diff <= relTol * System.Math.Max(x.Magnitude, y.Magnitude);
    }

    public override string ToString() => !IsValid ? "invalid" : IsExact ? Exact.ToString() : Approx.ToString();
}

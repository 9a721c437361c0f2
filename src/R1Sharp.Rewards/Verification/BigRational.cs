using System.Numerics;

namespace R1Sharp.Rewards.Verification;

/// <summary>
/// An exact rational number p/q (q &gt; 0, gcd(p, q) = 1) over <see cref="BigInteger"/>.
/// Every operation that could grow the numbers past <see cref="MaxBits"/> bits returns false instead,
/// so that a hostile answer such as <c>10^{10^{10}}</c> cannot exhaust memory; the caller then falls back
/// to floating point (or gives up).
/// </summary>
internal readonly struct BigRational : IEquatable<BigRational>, IComparable<BigRational>
{
    /// <summary>Largest numerator or denominator kept exactly (32768 bits ≈ 9,900 decimal digits: 2004! fits).</summary>
    public const int MaxBits = 32768;

    public readonly BigInteger Num;
    public readonly BigInteger Den;

    public static readonly BigRational Zero = new(BigInteger.Zero, BigInteger.One, true);
    public static readonly BigRational One = new(BigInteger.One, BigInteger.One, true);

    private BigRational(BigInteger num, BigInteger den, bool _)
    {
        Num = num;
        Den = den;
    }

    public BigRational(BigInteger value) : this(value, BigInteger.One, true) { }

    public static BigRational FromInt(long value) => new(new BigInteger(value), BigInteger.One, true);

    /// <summary>Builds num/den in lowest terms; den must be non-zero.</summary>
    public static BigRational Create(BigInteger num, BigInteger den)
    {
        if (den.IsZero) throw new DivideByZeroException();
        if (den.Sign < 0)
        {
            num = -num;
            den = -den;
        }
        if (num.IsZero) return Zero;
        if (!den.IsOne)
        {
            var g = BigInteger.GreatestCommonDivisor(num, den);
            if (!g.IsOne)
            {
                num /= g;
                den /= g;
            }
        }
        return new BigRational(num, den, true);
    }

    public bool IsZero => Num.IsZero;
    public bool IsInteger => Den.IsOne;
    public int Sign => Num.Sign;

    private static bool Fits(BigInteger value) => value.IsZero || value.GetBitLength() <= MaxBits;

    public static bool TryAdd(BigRational a, BigRational b, out BigRational result)
    {
        if (a.Den.IsOne && b.Den.IsOne) return Checked(a.Num + b.Num, BigInteger.One, out result);
        return Checked(a.Num * b.Den + b.Num * a.Den, a.Den * b.Den, out result);
    }

    public static bool TryMultiply(BigRational a, BigRational b, out BigRational result)
    {
        if (a.IsZero || b.IsZero)
        {
            result = Zero;
            return true;
        }
        if (a.Num.GetBitLength() + b.Num.GetBitLength() > MaxBits + 64 ||
            a.Den.GetBitLength() + b.Den.GetBitLength() > MaxBits + 64)
        {
            result = default;
            return false;
        }
        return Checked(a.Num * b.Num, a.Den * b.Den, out result);
    }

    public static bool TryDivide(BigRational a, BigRational b, out BigRational result)
    {
        if (b.IsZero)
        {
            result = default;
            return false;
        }
        return TryMultiply(a, new BigRational(b.Den * b.Num.Sign, BigInteger.Abs(b.Num), true), out result);
    }

    public BigRational Negate() => new(-Num, Den, true);

    public BigRational Abs() => Num.Sign < 0 ? Negate() : this;

    /// <summary>a^e for an integer exponent, refusing results beyond <see cref="MaxBits"/>.</summary>
    public static bool TryPow(BigRational a, BigInteger exponent, out BigRational result)
    {
        result = default;
        if (exponent.IsZero)
        {
            if (a.IsZero) return false; // 0^0: leave to the caller
            result = One;
            return true;
        }
        if (a.IsZero)
        {
            if (exponent.Sign < 0) return false;
            result = Zero;
            return true;
        }
        if (BigInteger.Abs(a.Num).IsOne && a.Den.IsOne)
        {
            result = a.Num.Sign > 0 || exponent.IsEven ? One : FromInt(-1);
            return true;
        }
        var bits = System.Math.Max(a.Num.GetBitLength(), a.Den.GetBitLength());
        if (BigInteger.Abs(exponent) * bits > MaxBits) return false;
        var e = (int)BigInteger.Abs(exponent);
        var num = BigInteger.Pow(a.Num, e);
        var den = BigInteger.Pow(a.Den, e);
        result = exponent.Sign > 0 ? new BigRational(num, den, true) : Create(den, num);
        return true;
    }

    /// <summary>The exact n-th root when the number is a perfect n-th power (n ≥ 2), for example 8/27 → 2/3.</summary>
    public static bool TryRoot(BigRational a, int n, out BigRational result)
    {
        result = default;
        if (n < 2 || n > 64) return false;
        if (a.IsZero)
        {
            result = Zero;
            return true;
        }
        var negative = a.Num.Sign < 0;
        if (negative && n % 2 == 0) return false;
        if (!TryIntegerRoot(BigInteger.Abs(a.Num), n, out var rn) || !TryIntegerRoot(a.Den, n, out var rd)) return false;
        result = new BigRational(negative ? -rn : rn, rd, true);
        return true;
    }

    private static bool TryIntegerRoot(BigInteger value, int n, out BigInteger root)
    {
        root = BigInteger.Zero;
        if (value.IsZero || value.IsOne)
        {
            root = value;
            return true;
        }
        // Start from the floating-point estimate and correct by ±2.
        double log = BigInteger.Log(value) / n;
        if (log > 700) return false;
        var estimate = new BigInteger(System.Math.Round(System.Math.Exp(log)));
        for (var delta = -2; delta <= 2; delta++)
        {
            var candidate = estimate + delta;
            if (candidate.Sign <= 0) continue;
            if (BigInteger.Pow(candidate, n) == value)
            {
                root = candidate;
                return true;
            }
        }
        return false;
    }

    private static bool Checked(BigInteger num, BigInteger den, out BigRational result)
    {
        var r = Create(num, den);
        if (!Fits(r.Num) || !Fits(r.Den))
        {
            result = default;
            return false;
        }
        result = r;
        return true;
    }

    /// <summary>Nearest double (handles numerators and denominators beyond the double range).</summary>
    public double ToDouble()
    {
        if (Num.IsZero) return 0;
        var nb = Num.GetBitLength();
        var db = Den.GetBitLength();
        if (nb < 1000 && db < 1000) return (double)Num / (double)Den;
        // Scale both to ~64 significant bits before dividing.
        var shiftN = (int)System.Math.Max(0, nb - 64);
        var shiftD = (int)System.Math.Max(0, db - 64);
        var n = (double)(Num >> shiftN);
        var d = (double)(Den >> shiftD);
        var exp = shiftN - shiftD;
        return System.Math.ScaleB(n / d, exp);
    }

    /// <summary>Rounds to <paramref name="places"/> decimal places, halves away from zero.</summary>
    public BigRational RoundToPlaces(int places)
    {
        var scale = BigInteger.Pow(10, places);
        var scaled = Num * scale;
        var q = BigInteger.DivRem(BigInteger.Abs(scaled), Den, out var rem);
        if (rem * 2 >= Den) q += 1;
        if (scaled.Sign < 0) q = -q;
        return Create(q, scale);
    }

    /// <summary>Floor as an integer.</summary>
    public BigInteger Floor()
    {
        var q = BigInteger.DivRem(Num, Den, out var rem);
        if (rem.Sign < 0) q -= 1;
        return q;
    }

    public bool Equals(BigRational other) => Num == other.Num && Den == other.Den;
    public override bool Equals(object? obj) => obj is BigRational r && Equals(r);
    public override int GetHashCode() => HashCode.Combine(Num, Den);
    public int CompareTo(BigRational other) => (Num * other.Den).CompareTo(other.Num * Den);

    public override string ToString() => Den.IsOne ? Num.ToString() : $"{Num}/{Den}";
}

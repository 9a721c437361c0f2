using System.Numerics;

namespace R1Sharp.Rewards.Rules;

/// <summary>An exact rational number, always in lowest terms with a positive denominator.</summary>
public readonly record struct Fraction
{
    /// <summary>Creates n/d in lowest terms; d must not be zero.</summary>
    public Fraction(BigInteger numerator, BigInteger denominator)
    {
        if (denominator.IsZero) throw new DivideByZeroException();
        if (denominator.Sign < 0) { numerator = -numerator; denominator = -denominator; }
        var gcd = BigInteger.GreatestCommonDivisor(numerator, denominator);
        if (!gcd.IsOne && !gcd.IsZero) { numerator /= gcd; denominator /= gcd; }
        Numerator = numerator;
        Denominator = numerator.IsZero ? BigInteger.One : denominator;
    }

    /// <summary>The numerator.</summary>
    public BigInteger Numerator { get; }

    /// <summary>The denominator (positive).</summary>
    public BigInteger Denominator { get; }

    /// <summary>The integer n as a fraction.</summary>
    public static Fraction FromInteger(BigInteger n) => new(n, BigInteger.One);

    /// <summary>Sum.</summary>
    public static Fraction operator +(Fraction a, Fraction b) => new(a.Numerator * b.Denominator + b.Numerator * a.Denominator, a.Denominator * b.Denominator);
    /// <summary>Difference.</summary>
    public static Fraction operator -(Fraction a, Fraction b) => new(a.Numerator * b.Denominator - b.Numerator * a.Denominator, a.Denominator * b.Denominator);
    /// <summary>Product.</summary>
    public static Fraction operator *(Fraction a, Fraction b) => new(a.Numerator * b.Numerator, a.Denominator * b.Denominator);
    /// <summary>Quotient; throws <see cref="DivideByZeroException"/> when b is zero.</summary>
    public static Fraction operator /(Fraction a, Fraction b) => new(a.Numerator * b.Denominator, a.Denominator * b.Numerator);
    /// <summary>Negation.</summary>
    public static Fraction operator -(Fraction a) => new(-a.Numerator, a.Denominator);

    /// <inheritdoc />
    public override string ToString() => Denominator.IsOne ? Numerator.ToString() : $"{Numerator}/{Denominator}";
}

/// <summary>
/// A small, safe evaluator for arithmetic expressions over non-negative integer literals with
/// <c>+ - * /</c>, unary <c>+ -</c> and parentheses, in exact rational arithmetic (no floating point, no eval).
/// Grammar (usual precedence, left-associative):
/// <code>
/// expr   := term (('+' | '-') term)*
/// term   := unary (('*' | '/') unary)*
/// unary  := ('+' | '-') unary | atom
/// atom   := digits | '(' expr ')'
/// </code>
/// ASCII digits and spaces only; anything else (decimal points, <c>**</c>, <c>//</c>, <c>=</c>, letters), division
/// by zero, nesting deeper than <see cref="MaxDepth"/> or text longer than <see cref="MaxLength"/> makes the
/// expression invalid. Never throws.
/// </summary>
public static class ArithmeticExpression
{
    /// <summary>Deepest nesting of parentheses and unary signs accepted.</summary>
    public const int MaxDepth = 200;

    /// <summary>Longest expression accepted, in characters.</summary>
    public const int MaxLength = 10_000;

    /// <summary>Evaluates <paramref name="text"/>; false when it is not a valid expression.</summary>
    public static bool TryEvaluate(string text, out Fraction value)
    {
        value = default;
        if (text.Length > MaxLength) return false;
        var parser = new Parser(text);
        try
        {
            if (!parser.Expression(0, out value)) return false;
            parser.SkipSpaces();
            return parser.AtEnd;
        }
        catch (DivideByZeroException)
        {
            return false;
        }
    }

    private ref struct Parser(string text)
    {
        private readonly string _text = text;
        private int _pos;

        public readonly bool AtEnd => _pos >= _text.Length;

        public void SkipSpaces()
        {
            while (_pos < _text.Length && _text[_pos] is ' ' or '\t' or '\n' or '\r') _pos++;
        }

        private char Peek()
        {
            SkipSpaces();
            return _pos < _text.Length ? _text[_pos] : '\0';
        }

        public bool Expression(int depth, out Fraction value)
        {
            if (!Term(depth, out value)) return false;
            while (Peek() is '+' or '-')
            {
                char op = _text[_pos++];
                if (!Term(depth, out var right)) return false;
                value = op == '+' ? value + right : value - right;
            }
            return true;
        }

        private bool Term(int depth, out Fraction value)
        {
            if (!Unary(depth, out value)) return false;
            while (Peek() is '*' or '/')
            {
                char op = _text[_pos++];
                if (!Unary(depth, out var right)) return false;
                value = op == '*' ? value * right : value / right;
            }
            return true;
        }

        private bool Unary(int depth, out Fraction value)
        {
            value = default;
            if (depth > MaxDepth) return false;
            char c = Peek();
            if (c is '+' or '-')
            {
                _pos++;
                if (!Unary(depth + 1, out value)) return false;
                if (c == '-') value = -value;
                return true;
            }
            if (c == '(')
            {
                _pos++;
                if (!Expression(depth + 1, out value)) return false;
                if (Peek() != ')') return false;
                _pos++;
                return true;
            }
            int start = _pos;
            while (_pos < _text.Length && char.IsAsciiDigit(_text[_pos])) _pos++;
            if (_pos == start) return false;
            value = Fraction.FromInteger(BigInteger.Parse(_text.AsSpan(start, _pos - start), System.Globalization.CultureInfo.InvariantCulture));
            return true;
        }
    }
}

using System.Security.Cryptography;
using System.Text;

namespace R1Sharp.Server;

/// <summary>
/// Checks an <c>Authorization</c> header against the server's key in time that does not depend on how much of the
/// key a guess got right: the token is compared with <see cref="CryptographicOperations.FixedTimeEquals"/> over
/// UTF-8 bytes, and a token of another length is compared, just as long, against a buffer of the key's length, so
/// that a wrong length does not return early either. The time still grows with the length of the header sent,
/// which the client knows anyway; it says nothing about the key beyond what a 401 says.
/// </summary>
public sealed class ApiKey
{
    private readonly byte[] _key;

    public ApiKey(string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        _key = Encoding.UTF8.GetBytes(key);
    }

    /// <summary>True when <paramref name="authorization"/> is <c>Bearer KEY</c>: the scheme in any case and one or more spaces
    /// before the key, as RFC 9110 has it (<c>auth-scheme 1*SP token68</c>).</summary>
    public bool Matches(string? authorization)
    {
        const string scheme = "Bearer ";
        if (authorization is null || !authorization.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)) return false;
        return Equal(Encoding.UTF8.GetBytes(authorization[scheme.Length..].TrimStart(' ')), _key);
    }

    /// <summary>Constant-time equality for the length of <paramref name="expected"/>, whatever <paramref name="given"/>'s length.</summary>
    internal static bool Equal(ReadOnlySpan<byte> given, ReadOnlySpan<byte> expected)
    {
        // Compare exactly expected.Length bytes every time: the given bytes, cut or zero-padded to that length.
        Span<byte> padded = expected.Length <= 256 ? stackalloc byte[expected.Length] : new byte[expected.Length];
        padded.Clear();
        given[..Math.Min(given.Length, expected.Length)].CopyTo(padded);
        bool same = CryptographicOperations.FixedTimeEquals(padded, expected);
        return same & (given.Length == expected.Length);
    }
}

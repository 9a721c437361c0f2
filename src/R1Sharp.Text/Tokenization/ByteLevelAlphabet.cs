namespace R1Sharp.Text.Tokenization;

/// <summary>
/// GPT-2's reversible byte ↔ character map used by byte-level BPE (Radford et al. 2019, encoder.py
/// <c>bytes_to_unicode</c>): the printable bytes '!'..'~', '¡'..'¬', '®'..'ÿ' stand for themselves and the
/// remaining 68 bytes map, in byte order, to U+0100, U+0101, ... so every byte is a visible character.
/// </summary>
internal static class ByteLevelAlphabet
{
    /// <summary>Character that stands for each byte.</summary>
    public static readonly char[] ByteToChar = BuildByteToChar();

    /// <summary>Byte for each character below U+0144, or -1 when the character is not in the alphabet.</summary>
    public static readonly short[] CharToByte = BuildCharToByte();

    public static bool TryGetByte(char c, out byte value)
    {
        if (c < CharToByte.Length && CharToByte[c] >= 0)
        {
            value = (byte)CharToByte[c];
            return true;
        }
        value = 0;
        return false;
    }

    /// <summary>Maps UTF-8 bytes to their byte-level characters.</summary>
    public static string Encode(ReadOnlySpan<byte> bytes)
    {
        return string.Create(bytes.Length, bytes.ToArray(), static (dst, src) =>
        {
            for (int i = 0; i < src.Length; i++) dst[i] = ByteToChar[src[i]];
        });
    }

    /// <summary>The byte-level form of a string: its UTF-8 bytes, one alphabet character per byte.</summary>
    public static string Encode(string text) => Encode(System.Text.Encoding.UTF8.GetBytes(text));

    private static char[] BuildByteToChar()
    {
        var map = new char[256];
        int extra = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[b] = printable ? (char)b : (char)(256 + extra++);
        }
        return map;
    }

    private static short[] BuildCharToByte()
    {
        var table = new short[256 + 68];
        Array.Fill(table, (short)-1);
        var forward = BuildByteToChar();
        for (int b = 0; b < 256; b++) table[forward[b]] = (short)b;
        return table;
    }
}

using System.Text;

namespace R1Sharp.Rewards.Rules;

/// <summary>Writing systems the language reward tells apart.</summary>
public enum Script
{
    /// <summary>Not a letter of a script listed here.</summary>
    Other,
    /// <summary>Latin letters, including accented and fullwidth forms.</summary>
    Latin,
    /// <summary>Greek.</summary>
    Greek,
    /// <summary>Cyrillic.</summary>
    Cyrillic,
    /// <summary>Arabic.</summary>
    Arabic,
    /// <summary>Hebrew.</summary>
    Hebrew,
    /// <summary>Devanagari.</summary>
    Devanagari,
    /// <summary>Thai.</summary>
    Thai,
    /// <summary>Hangul (Korean).</summary>
    Hangul,
    /// <summary>Hiragana (Japanese).</summary>
    Hiragana,
    /// <summary>Katakana (Japanese).</summary>
    Katakana,
    /// <summary>Han ideographs (Chinese characters, kanji, hanja).</summary>
    Han,
}

/// <summary>Unicode block based script lookup (blocks from the Unicode 15 charts).</summary>
public static class Scripts
{
    /// <summary>The script of a letter; <see cref="Script.Other"/> for anything else.</summary>
    public static Script Of(Rune rune)
    {
        int c = rune.Value;
        if (c < 0x80) return (c is >= 'A' and <= 'Z' or >= 'a' and <= 'z') ? Script.Latin : Script.Other;
        return c switch
        {
            >= 0x00C0 and <= 0x024F when c != 0xD7 && c != 0xF7 => Script.Latin,
            >= 0x0250 and <= 0x02AF => Script.Latin,
            >= 0x1E00 and <= 0x1EFF => Script.Latin,
            >= 0x2C60 and <= 0x2C7F => Script.Latin,
            >= 0xA720 and <= 0xA7FF => Script.Latin,
            >= 0xFF21 and <= 0xFF3A or >= 0xFF41 and <= 0xFF5A => Script.Latin,
            >= 0x0370 and <= 0x03FF or >= 0x1F00 and <= 0x1FFF => Script.Greek,
            >= 0x0400 and <= 0x052F or >= 0x2DE0 and <= 0x2DFF or >= 0xA640 and <= 0xA69F => Script.Cyrillic,
            >= 0x0590 and <= 0x05FF => Script.Hebrew,
            >= 0x0600 and <= 0x06FF or >= 0x0750 and <= 0x077F or >= 0x08A0 and <= 0x08FF
                or >= 0xFB50 and <= 0xFDFF or >= 0xFE70 and <= 0xFEFF => Script.Arabic,
            >= 0x0900 and <= 0x097F => Script.Devanagari,
            >= 0x0E00 and <= 0x0E7F => Script.Thai,
            >= 0x1100 and <= 0x11FF or >= 0x3130 and <= 0x318F or >= 0xAC00 and <= 0xD7AF => Script.Hangul,
            >= 0x3040 and <= 0x309F => Script.Hiragana,
            >= 0x30A0 and <= 0x30FF or >= 0x31F0 and <= 0x31FF or >= 0xFF66 and <= 0xFF9F => Script.Katakana,
            >= 0x3400 and <= 0x4DBF or >= 0x4E00 and <= 0x9FFF or >= 0xF900 and <= 0xFAFF
                or >= 0x20000 and <= 0x3134F => Script.Han,
            _ => Script.Other,
        };
    }

    /// <summary>True for scripts written without spaces, where every character counts as one word.</summary>
    public static bool IsCharacterPerWord(Script script) => script is Script.Han or Script.Hiragana or Script.Katakana;

    /// <summary>True for a BMP Han, kana or Hangul character (used by the CJK word split).</summary>
    public static bool IsCjkCharacter(char c) =>
        !char.IsSurrogate(c) && Of(new Rune(c)) is Script.Han or Script.Hiragana or Script.Katakana or Script.Hangul;
}

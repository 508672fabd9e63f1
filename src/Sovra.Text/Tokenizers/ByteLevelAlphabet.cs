namespace Sovra.Text.Tokenizers;

/// <summary>
/// GPT-2's byte ↔ character table: printable bytes stand for themselves, the other 68 bytes are mapped to
/// U+0100 upwards, so every byte string is a printable token text.
/// </summary>
internal static class ByteLevelAlphabet
{
    public static readonly char[] ByteToChar = Build();
    private static readonly int[] CharToByte = Invert();

    /// <summary>The bytes a byte-level token text stands for, or null when it holds a character outside the
    /// table (added tokens written in plain Unicode).</summary>
    public static byte[]? Decode(string token)
    {
        var bytes = new byte[token.Length];
        for (int i = 0; i < token.Length; i++)
        {
            char c = token[i];
            int b = c < CharToByte.Length ? CharToByte[c] : -1;
            if (b < 0) return null;
            bytes[i] = (byte)b;
        }
        return bytes;
    }

    private static char[] Build()
    {
        var map = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
            map[b] = (b is >= 33 and <= 126) || (b is >= 161 and <= 172) || (b is >= 174 and <= 255) ? (char)b : (char)next++;
        return map;
    }

    private static int[] Invert()
    {
        var inv = new int[512];
        Array.Fill(inv, -1);
        for (int b = 0; b < 256; b++) inv[ByteToChar[b]] = b;
        return inv;
    }
}

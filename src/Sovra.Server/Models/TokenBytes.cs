using System.Text;
using Sovra.Text.Tokenizers;

namespace Sovra.Server.Models;

/// <summary>The raw bytes of every token of a tokenizer (what the API reports as logprob bytes and what streaming decodes).</summary>
public static class TokenByteTable
{
    /// <summary>The bytes each token stands for; control tokens (end of turn, …) stand for nothing in the output.</summary>
    public static byte[][] TokenBytes(TokenizerData data)
    {
        var byteLevel = data.Model == TokenizerModelKind.ByteLevelBpe;
        var charToByte = new Dictionary<char, byte>();
        if (byteLevel)
        {
            // GPT-2's table: printable bytes stand for themselves, the others map to U+0100 upwards.
            var n = 0;
            for (var b = 0; b < 256; b++)
            {
                var printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
                charToByte[printable ? (char)b : (char)(256 + n++)] = (byte)b;
            }
        }
        var result = new byte[data.Tokens.Length][];
        for (var id = 0; id < data.Tokens.Length; id++)
        {
            var text = data.Tokens[id];
            var type = data.Types is { } t && id < t.Length ? t[id] : TokenType.Normal;
            if (type == TokenType.Control) { result[id] = []; continue; }
            if (type == TokenType.UserDefined) { result[id] = Encoding.UTF8.GetBytes(text); continue; }
            if (byteLevel)
            {
                var bytes = new byte[text.Length];
                var ok = true;
                for (var i = 0; i < text.Length && ok; i++) ok = charToByte.TryGetValue(text[i], out bytes[i]);
                result[id] = ok ? bytes : Encoding.UTF8.GetBytes(text);
            }
            else if (text.Length == 6 && text.StartsWith("<0x", StringComparison.Ordinal) && text[5] == '>' && byte.TryParse(text.AsSpan(3, 2), System.Globalization.NumberStyles.HexNumber, null, out var bv))
                result[id] = [bv];
            else
                result[id] = Encoding.UTF8.GetBytes(text.Replace('▁', ' '));
        }
        return result;
    }
}

using System.Text;
using Sovra.Gguf;
using Sovra.Text.Tokenizers;

namespace Sovra.Server.Models;

/// <summary>
/// Builds the tokenizer a GGUF file carries (tokenizer.ggml.*) for Sovra.Text, and the raw bytes of every
/// token (what the API reports as logprob bytes and what streaming decodes).
/// </summary>
public static class GgufTokenizer
{
    public static TokenizerData Data(ModelMetadata m, string source)
    {
        var tokens = m.Tokens ?? throw new InvalidDataException($"{source} has no tokenizer.ggml.tokens: it carries no tokenizer");
        var model = m.TokenizerModel switch
        {
            "gpt2" => TokenizerModelKind.ByteLevelBpe,
            "llama" => TokenizerModelKind.SentencePieceBpe,
            var other => throw new InvalidDataException($"{source}: tokenizer.ggml.model '{other}' is not supported (gpt2 and llama are)"),
        };
        var pre = m.TokenizerPre switch
        {
            null or "default" => model == TokenizerModelKind.ByteLevelBpe ? PreTokenizerKind.Llama3 : PreTokenizerKind.None,
            "qwen2" => PreTokenizerKind.Qwen2,
            "llama-bpe" or "llama3" => PreTokenizerKind.Llama3,
            "deepseek-v3" => PreTokenizerKind.DeepSeekV3,
            "gpt-4o" or "o200k" => PreTokenizerKind.O200k,
            var other => throw new InvalidDataException($"{source}: tokenizer.ggml.pre '{other}' is not supported (qwen2, llama-bpe, deepseek-v3, gpt-4o are)"),
        };
        var types = m.TokenTypes?.Select(t => Enum.IsDefined((TokenType)t) ? (TokenType)t : TokenType.Normal).ToArray();
        var added = new List<AddedToken>();
        if (types != null)
            for (var i = 0; i < types.Length && i < tokens.Length; i++)
                if (types[i] is TokenType.Control or TokenType.UserDefined)
                    added.Add(new AddedToken(i, tokens[i], Special: types[i] == TokenType.Control));
        var merges = (m.Merges ?? []).Select(s =>
        {
            var sp = s.IndexOf(' ', 1);
            return sp < 0 ? throw new InvalidDataException($"{source}: merge '{s}' has no space") : (s[..sp], s[(sp + 1)..]);
        }).ToList();
        var eog = new[] { m.EotTokenId, m.EomTokenId }.Where(x => x.HasValue).Select(x => x!.Value).ToList();
        return new TokenizerData
        {
            Model = model,
            PreTokenizer = pre,
            Tokens = tokens,
            Types = types,
            Scores = m.Scores,
            Merges = merges,
            AddedTokens = added,
            Nfc = pre == PreTokenizerKind.Qwen2, // Qwen2/3's tokenizer.json normalises to NFC; GGUF does not say so
            ReplaceSpaces = model == TokenizerModelKind.SentencePieceBpe,
            AddPrefixSpace = model == TokenizerModelKind.SentencePieceBpe,
            DecodeStripsLeadingSpace = model == TokenizerModelKind.SentencePieceBpe,
            ByteFallback = model == TokenizerModelKind.SentencePieceBpe,
            BosId = m.BosTokenId,
            EosId = m.EosTokenId,
            UnknownId = m.UnkTokenId,
            EndOfGenerationIds = eog,
            Prefix = m.AddBosToken == true && m.BosTokenId is { } bos ? [bos] : [],
            Source = source,
        };
    }

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

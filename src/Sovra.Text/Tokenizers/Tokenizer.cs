using System.Text;
using Sovra.Text.Tokenizers.PreTokenizers;
using Sovra.Text.Tokenizers.Unicode;

namespace Sovra.Text.Tokenizers;

/// <summary>
/// A BPE tokenizer (byte-level or SentencePiece-style) that produces the same ids as Hugging Face's
/// tokenizers for the same tokenizer definition. Thread-safe: scratch buffers and the word cache are per thread.
/// </summary>
/// <remarks>
/// Text that Rust cannot hold (lone UTF-16 surrogates) is read as U+FFFD, which is what reaches HF's
/// tokenizer when such a string is passed to it from JavaScript or C#.
/// </remarks>
public sealed partial class Tokenizer
{
    private const int CacheMaxWordBytes = 64, CacheMaxEntries = 1 << 17;

    private readonly TokenizerData _data;
    private readonly bool _byteLevel;
    private readonly int _vocabSize;
    private readonly string[] _tokens;
    private readonly TokenType[] _types;
    private readonly byte[][] _decodeBytes;     // id → bytes the token stands for (SentencePiece: ▁ as space)
    private readonly short[] _byteValue;        // id → value of a <0xNN> token, or -1
    private readonly int[] _byteIds = new int[256]; // byte → id of its byte-level / <0xNN> token, or -1
    private readonly ByteSequenceMap _vocab;
    private readonly MergeTable _merges;
    private readonly AddedTokenMatcher _rawAdded, _normalizedAdded;
    private readonly Dictionary<string, int> _byContent = new(StringComparer.Ordinal);
    private readonly PreTokenizer? _pre;
    private readonly ThreadLocal<Scratch> _scratch = new(() => new Scratch());

    public Tokenizer(TokenizerData data)
    {
        _data = data;
        _byteLevel = data.Model == TokenizerModelKind.ByteLevelBpe;
        _pre = PreTokenizers.PreTokenizer.For(data.PreTokenizer);
        int n = data.Tokens.Length;
        foreach (var a in data.AddedTokens)
            if (a.Id < 0) throw new TokenizerException($"{data.Source}: added token '{a.Content}' has a negative id");
        _vocabSize = Math.Max(n, data.AddedTokens.Count == 0 ? 0 : data.AddedTokens.Max(a => a.Id) + 1);
        _tokens = new string[_vocabSize];
        Array.Copy(data.Tokens, _tokens, n);
        _types = new TokenType[_vocabSize];
        for (int i = 0; i < _vocabSize; i++)
            _types[i] = data.Types is { } t && i < t.Length ? t[i] : TokenType.Normal;
        foreach (var a in data.AddedTokens)
        {
            if (_tokens[a.Id] is { } existing && existing != a.Content && a.Id < n && data.Types == null)
                throw new TokenizerException($"{data.Source}: added token {a.Id} '{a.Content}' clashes with vocabulary entry '{existing}'");
            _tokens[a.Id] = a.Content;
            _types[a.Id] = a.Special ? TokenType.Control : TokenType.UserDefined;
        }
        for (int i = 0; i < _vocabSize; i++)
            if (_tokens[i] == null) { _tokens[i] = ""; _types[i] = TokenType.Unused; }

        _vocab = new ByteSequenceMap(n);
        _decodeBytes = new byte[_vocabSize][];
        _byteValue = new short[_vocabSize];
        Array.Fill(_byteIds, -1);
        for (int id = 0; id < _vocabSize; id++)
        {
            string tok = _tokens[id];
            _byContent.TryAdd(tok, id);
            _byteValue[id] = ByteTokenValue(tok);
            if (_byteLevel)
            {
                var bytes = ByteLevelAlphabet.Decode(tok);
                _decodeBytes[id] = bytes ?? Encoding.UTF8.GetBytes(tok);
                // Only texts written in the byte alphabet can come out of BPE; the others are added tokens.
                if (bytes != null && id < n && IsModelToken(id))
                {
                    _vocab.TryAdd(bytes, id);
                    if (bytes.Length == 1 && _byteIds[bytes[0]] < 0) _byteIds[bytes[0]] = id;
                }
            }
            else
            {
                _decodeBytes[id] = Encoding.UTF8.GetBytes(tok.Replace('▁', ' '));
                if (id < n && IsModelToken(id)) _vocab.TryAdd(Encoding.UTF8.GetBytes(tok), id);
                if (_byteValue[id] >= 0 && _byteIds[_byteValue[id]] < 0) _byteIds[_byteValue[id]] = id;
            }
        }
        if (_byteLevel)
            for (int b = 0; b < 256; b++)
                if (_byteIds[b] < 0)
                    throw new TokenizerException($"{data.Source}: byte-level vocabulary has no token for byte 0x{b:X2}");
        if (!_byteLevel && data.ByteFallback && Array.IndexOf(_byteIds, -1) >= 0)
            throw new TokenizerException($"{data.Source}: byte fallback is on but some <0xNN> tokens are missing");
        if (data.UnknownId is { } unk && (unk < 0 || unk >= _vocabSize))
            throw new TokenizerException($"{data.Source}: unknown-token id {unk} is outside the vocabulary");

        _merges = data.Merges.Count > 0 ? BuildMerges(data) : BuildMergesFromScores(data);
        _rawAdded = new AddedTokenMatcher(data.AddedTokens.Where(a => !a.Normalized));
        _normalizedAdded = new AddedTokenMatcher(data.AddedTokens.Where(a => a.Normalized));
        foreach (var id in data.Prefix.Concat(data.Suffix).Concat(data.EndOfGenerationIds)
                     .Concat(new[] { data.BosId, data.EosId }.Where(x => x.HasValue).Select(x => x!.Value)))
            if (id < 0 || id >= _vocabSize)
                throw new TokenizerException($"{data.Source}: special token id {id} is outside the vocabulary of {_vocabSize}");
    }

    // Which ids BPE may produce. SentencePiece: every piece, as HF keeps Gemma's added tokens in its model
    // vocabulary. Byte-level: ordinary tokens only; special and added tokens live outside HF's model vocabulary.
    private bool IsModelToken(int id) => _byteLevel
        ? _types[id] is TokenType.Normal or TokenType.Byte or TokenType.Unknown
        : _types[id] is not TokenType.Unused;

    /// <summary>Number of ids, including added tokens.</summary>
    public int VocabSize => _vocabSize;
    public TokenizerModelKind Model => _data.Model;
    public PreTokenizerKind PreTokenizer => _data.PreTokenizer;
    public int? BosId => _data.BosId;
    public int? EosId => _data.EosId;
    /// <summary>Every id that ends a generation: EOS and the end-of-turn tokens the source names.</summary>
    public IReadOnlyList<int> EndOfGenerationIds =>
        (_data.EosId is { } e ? new[] { e } : []).Concat(_data.EndOfGenerationIds).Distinct().ToArray();
    /// <summary>The ids that <c>addSpecialTokens</c> puts before / after the text (BOS for Llama 3 GGUF, Gemma).</summary>
    public IReadOnlyList<int> PrefixIds => _data.Prefix;
    public IReadOnlyList<int> SuffixIds => _data.Suffix;

    /// <summary>The token's text as the source stores it (byte-level or ▁ form; added tokens as written).</summary>
    public string TokenText(int id) => id >= 0 && id < _vocabSize ? _tokens[id]
        : throw new TokenizerException($"token id {id} is outside the vocabulary of {_vocabSize}");

    public TokenType TypeOf(int id) => id >= 0 && id < _vocabSize ? _types[id]
        : throw new TokenizerException($"token id {id} is outside the vocabulary of {_vocabSize}");

    /// <summary>True for special (control) tokens: the ones only <c>allowSpecial</c> lets text produce.</summary>
    public bool IsSpecial(int id) => id >= 0 && id < _vocabSize && _types[id] == TokenType.Control;

    /// <summary>The id of a token given its exact text (e.g. "&lt;|im_end|&gt;"), or null.</summary>
    public int? TokenId(string text) => _byContent.TryGetValue(text, out int id) ? id : null;

    private static short ByteTokenValue(string t)
    {
        if (t.Length != 6 || !t.StartsWith("<0x", StringComparison.Ordinal) || t[5] != '>') return -1;
        return byte.TryParse(t.AsSpan(3, 2), System.Globalization.NumberStyles.AllowHexSpecifier, null, out byte b) ? b : (short)-1;
    }

    private MergeTable BuildMerges(TokenizerData data)
    {
        var table = new MergeTable(data.Merges.Count);
        for (int rank = 0; rank < data.Merges.Count; rank++)
        {
            var (l, r) = data.Merges[rank];
            if (!_byContent.TryGetValue(l, out int a) || !_byContent.TryGetValue(r, out int b))
                throw new TokenizerException($"{data.Source}: merge {rank} '{l} {r}' uses a token that is not in the vocabulary");
            if (!_byContent.TryGetValue(l + r, out int m))
                throw new TokenizerException($"{data.Source}: merge {rank} '{l} {r}' makes '{l + r}', which is not in the vocabulary");
            table.Add(a, b, rank, m);
        }
        return table;
    }

    // SentencePiece without merges (GGUF "llama" models): a pair merges when the joined text is a piece;
    // the higher the piece's score, the earlier. Equal scores share a rank, and the leftmost pair goes first.
    private MergeTable BuildMergesFromScores(TokenizerData data)
    {
        if (_byteLevel || data.Scores == null) return new MergeTable(0);
        var scores = data.Scores;
        var pairs = new List<(int A, int B, int M)>();
        for (int id = 0; id < data.Tokens.Length; id++)
        {
            if (_types[id] is not (TokenType.Normal or TokenType.UserDefined)) continue;
            string t = _tokens[id];
            for (int cut = 1; cut < t.Length; cut++)
            {
                if (char.IsLowSurrogate(t[cut])) continue;
                if (_byContent.TryGetValue(t[..cut], out int a) && _byContent.TryGetValue(t[cut..], out int b))
                    pairs.Add((a, b, id));
            }
        }
        var distinct = pairs.Select(p => scores[p.M]).Distinct().OrderByDescending(s => s).ToArray();
        var rankOf = new Dictionary<float, int>();
        for (int i = 0; i < distinct.Length; i++) rankOf[distinct[i]] = i;
        var table = new MergeTable(pairs.Count);
        foreach (var (a, b, m) in pairs) table.Add(a, b, rankOf[scores[m]], m);
        return table;
    }

    private sealed class Scratch
    {
        public readonly BpeMerger Merger = new();
        public readonly List<int> Ends = [];
        public byte[] Bytes = new byte[256];
        public int[] Symbols = new int[256];
        public char[] Chars = new char[256];
        public readonly ByteSequenceMap Cache = new(1024);
        public readonly List<int> CacheIds = [];
    }
}

using System.Text;
using Sovra.Engine.Scheduling;

namespace Sovra.Server.Tests.Fakes;

/// <summary>
/// A stand-in for the engine in tests of the scheduler and HTTP layer (the end-to-end tests use the real
/// engine). Tokens are bytes (0..255), 256 is end-of-text and 257 marks "the answer starts here". After
/// the last 257 in a sequence's KV, the most likely next token spells <see cref="Script"/> byte by byte
/// and then 256; every other token gets a small seeded logit, so temperature sampling varies with the seed.
/// It keeps each sequence's KV (token per position) and throws if the scheduler writes a position out of
/// order, skips one, or copies a prefix the source does not hold: bookkeeping errors fail the tests.
/// </summary>
internal sealed class ScriptedModel(string script, int contextLength = 512, int maxSequences = 8, int? kvCapacity = null, int scriptRepeats = 1) : IBatchModel
{
    public const int EndOfText = 256;
    public const int AnswerStart = 257;

    private readonly byte[] _script = Encoding.UTF8.GetBytes(script);
    private readonly Dictionary<int, List<int>> _kv = new();
    private readonly object _gate = new();

    public string Script { get; } = script;
    public int VocabSize => 258;
    public int ContextLength { get; } = contextLength;
    public int MaxSequences { get; } = maxSequences;
    public int KvCapacity { get; } = kvCapacity ?? contextLength * maxSequences;
    public long KvBytes => KvCapacity * 64L;

    /// <summary>Milliseconds each forward step takes (simulated compute).</summary>
    public int StepDelayMs { get; set; }

    /// <summary>Each forward step: its tokens.</summary>
    public List<BatchToken[]> Steps { get; } = [];

    public int TokensComputed { get; private set; }

    public void Forward(ReadOnlySpan<BatchToken> batch, Span<float> logits)
    {
        if (StepDelayMs > 0) Thread.Sleep(StepDelayMs);
        var row = 0;
        lock (_gate)
        {
            Steps.Add(batch.ToArray());
            foreach (var t in batch)
            {
                if ((uint)t.Token >= VocabSize) throw new ArgumentOutOfRangeException(nameof(batch), $"token {t.Token}");
                var kv = Seq(t.Sequence);
                if (t.Position != kv.Count) throw new InvalidOperationException($"sequence {t.Sequence}: position {t.Position} written, expected {kv.Count}");
                if (t.Position >= ContextLength) throw new InvalidOperationException($"position {t.Position} past the context");
                kv.Add(t.Token);
                TokensComputed++;
                if (!t.WantLogits) continue;
                Fill(kv, logits.Slice(row * VocabSize, VocabSize));
                row++;
            }
            if (_kv.Values.Sum(v => v.Count) > KvCapacity * 4) throw new InvalidOperationException("KV pool overflow");
        }
        if (row * VocabSize != logits.Length) throw new InvalidOperationException($"logits buffer holds {logits.Length / VocabSize} rows, {row} wanted");
    }

    private void Fill(List<int> kv, Span<float> logits)
    {
        var start = kv.LastIndexOf(AnswerStart) + 1;
        var k = kv.Count - start; // index into the script of the next token
        var next = k < _script.Length * scriptRepeats ? _script[k % _script.Length] : EndOfText;
        var h = (uint)(kv.Count * 2654435761u);
        for (var i = 0; i < logits.Length; i++)
        {
            h ^= h << 13; h ^= h >> 17; h ^= h << 5;
            logits[i] = (h % 1000) / 500f; // 0 .. 2
        }
        logits[next] = 20f;
        logits[AnswerStart] = -10f;
    }

    public void CopyPrefix(int source, int destination, int length)
    {
        lock (_gate)
        {
            var src = Seq(source);
            if (length > src.Count) throw new InvalidOperationException($"copy of {length} positions from sequence {source}, which holds {src.Count}");
            if (Seq(destination).Count != 0) throw new InvalidOperationException($"copy into sequence {destination}, which is not empty");
            _kv[destination] = src.Take(length).ToList();
        }
    }

    public void Truncate(int sequence, int length)
    {
        lock (_gate)
        {
            var kv = Seq(sequence);
            if (length < kv.Count) kv.RemoveRange(length, kv.Count - length);
        }
    }

    public void Free(int sequence)
    {
        lock (_gate) _kv.Remove(sequence);
    }

    public int Held(int sequence) { lock (_gate) return Seq(sequence).Count; }

    private List<int> Seq(int id)
    {
        if ((uint)id >= MaxSequences) throw new ArgumentOutOfRangeException(nameof(id), $"sequence id {id}");
        if (!_kv.TryGetValue(id, out var kv)) _kv[id] = kv = [];
        return kv;
    }

    public static int[] Bytes(string text) => Encoding.UTF8.GetBytes(text).Select(b => (int)b).ToArray();
}

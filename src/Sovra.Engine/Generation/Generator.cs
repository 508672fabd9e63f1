using Sovra.Engine.Cache;
using Sovra.Engine.Sampling;

namespace Sovra.Engine.Generation;

/// <summary>
/// Generation for one sequence of a context: feeds the prompt in chunks, then samples token by token until
/// max tokens, an end-of-generation token, a stop string, or a full cache. Used by <c>sovra run</c>/<c>bench</c>.
/// </summary>
public sealed class Generator(LanguageModel model, InferenceContext context, int sequence = 0)
{
    private readonly Batch _batch = new(context.Options.MaxBatchTokens);

    /// <summary>Feeds tokens at positions [start, start + n) and returns the logits after the last one.</summary>
    public ReadOnlySpan<float> Feed(ReadOnlySpan<int> tokens, int start)
    {
        if (tokens.Length == 0) throw new ArgumentException("nothing to feed");
        var chunk = _batch.Capacity;
        for (var i = 0; i < tokens.Length; i += chunk)
        {
            var n = Math.Min(chunk, tokens.Length - i);
            _batch.Clear();
            _batch.AddSequence(tokens.Slice(i, n), start + i, sequence, logitsForLast: i + n == tokens.Length);
            context.Decode(_batch);
        }
        return context.GetLogits(_batch.Count - 1);
    }

    /// <summary>Generates after <paramref name="prompt"/> (the sequence is cleared first).</summary>
    public IEnumerable<GeneratedToken> Generate(IReadOnlyList<int> prompt, Sampler sampler, GenerationLimits limits, ITokenTextStream? text = null)
    {
        if (prompt.Count == 0) throw new ArgumentException("the prompt has no tokens");
        if (prompt.Count >= context.Kv.Capacity)
            throw new KvCacheFullException($"the prompt has {prompt.Count} tokens; the context holds {context.Kv.Capacity}");
        context.Kv.Remove(sequence);
        var stop = new StopMatcher(limits.Stop);
        var logits = new float[context.VocabularySize];   // [n_vocab] of the last fed token
        Feed(prompt.ToArray(), 0).CopyTo(logits);
        var pos = prompt.Count;
        for (var produced = 0; produced < limits.MaxTokens; produced++)
        {
            var tok = sampler.Sample(logits);
            sampler.Accept(tok);
            float? lp = limits.Logprobs ? Sampler.Logprob(logits, tok) : null;
            var top = limits.TopLogprobs > 0 ? Sampler.TopLogprobs(logits, limits.TopLogprobs) : null;
            if (limits.StopAtEndOfGeneration && model.EndOfGeneration.Contains(tok))
            {
                yield return new GeneratedToken(tok, stop.Flush() + (text?.Flush() ?? ""), lp, top) { Finish = FinishReason.Stop };
                yield break;
            }
            var (emit, stopped) = stop.Add(text?.Push(tok) ?? "");
            var last = stopped || produced + 1 == limits.MaxTokens || pos + 1 >= context.Kv.Capacity;
            if (last && !stopped) emit += stop.Add(text?.Flush() ?? "").Emit + stop.Flush();
            yield return new GeneratedToken(tok, emit, lp, top) { Finish = last ? (stopped ? FinishReason.Stop : FinishReason.Length) : null };
            if (last) yield break;
            Feed([tok], pos++).CopyTo(logits);
        }
    }
}

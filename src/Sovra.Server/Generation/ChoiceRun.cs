using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using Sovra.Engine.Scheduling;
using Sovra.Server.Models;

namespace Sovra.Server.Generation;

/// <summary>A token's log-probability as the API reports it: its text, its bytes, and alternatives.</summary>
public sealed record TokenLogprobInfo(string Token, float Logprob, byte[] Bytes, IReadOnlyList<TokenLogprobInfo> Top);

/// <summary>What one choice produced since the last piece: thinking, answer text, and per-token logprobs.</summary>
public sealed record ChoiceDelta(string Reasoning, string Content, IReadOnlyList<TokenLogprobInfo> Logprobs)
{
    /// <summary>Tool calls completed in this piece (only when the request offered tools).</summary>
    public IReadOnlyList<ToolCall> ToolCalls { get; init; } = [];
}

/// <summary>
/// Reads one generated sequence and turns its tokens into API text: bytes to UTF-8 without splitting a
/// character, stop strings (which stop the sequence at once), the thinking / answer split, and (when the request
/// offered tools) tool calls out of the answer.
/// </summary>
public sealed class ChoiceRun(int index, IServedModel model, GenerationHandle handle, IReadOnlyList<string> stops, ReasoningSplitter? splitter, bool logprobs, long startedTimestamp, Action<bool, double>? onToken = null, ToolCallStream? tools = null)
{
    private readonly Utf8StreamDecoder _decoder = new();
    private readonly StopMatcher _stop = new(stops);

    public int Index { get; } = index;
    public GenerationHandle Handle { get; } = handle;
    public int CompletionTokens { get; private set; }

    /// <summary>"stop", "length" or "tool_calls" once finished.</summary>
    public string? FinishReason { get; private set; }

    public GenerationResult? Result { get; private set; }

    public async IAsyncEnumerable<ChoiceDelta> RunAsync([EnumeratorCancellation] CancellationToken cancellation)
    {
        var last = startedTimestamp;
        var first = true;
        await foreach (var token in Handle.Tokens.ReadAllAsync(cancellation).ConfigureAwait(false))
        {
            if (_stop.Matched) continue; // tokens sampled before the scheduler saw the stop
            CompletionTokens++;
            var now = Stopwatch.GetTimestamp();
            onToken?.Invoke(first, Stopwatch.GetElapsedTime(last, now).TotalSeconds);
            first = false;
            last = now;
            var text = _decoder.Append(model.TokenBytes(token.Token));
            var safe = _stop.Push(text);
            if (_stop.Matched) Handle.Stop();
            var lp = logprobs ? new[] { Info(token) } : (IReadOnlyList<TokenLogprobInfo>)[];
            var piece = Split(safe);
            var (content, calls) = Tools(piece.Content);
            if (piece.Reasoning.Length > 0 || content.Length > 0 || lp.Count > 0 || calls.Count > 0)
                yield return new ChoiceDelta(piece.Reasoning, content, lp) { ToolCalls = calls };
        }
        Result = await Handle.Completion.WaitAsync(cancellation).ConfigureAwait(false);
        if (Result.Reason == Engine.Scheduling.FinishReason.Error)
            throw new InvalidOperationException("the model failed while generating: " + Result.Error?.Message, Result.Error);
        if (Result.Reason == Engine.Scheduling.FinishReason.Cancelled) throw new OperationCanceledException("the generation was cancelled");
        if (!_stop.Matched)
        {
            var tail = _stop.Push(_decoder.Flush());
            tail += _stop.Flush();
            var piece = Split(tail);
            var end = splitter?.Flush() ?? default;
            var reasoning = piece.Reasoning + (end.Reasoning ?? "");
            var (content, calls) = Tools(piece.Content + (end.Content ?? ""));
            if (reasoning.Length > 0 || content.Length > 0 || calls.Count > 0) yield return new ChoiceDelta(reasoning, content, []) { ToolCalls = calls };
        }
        var rest = tools?.Flush() ?? "";
        if (rest.Length > 0) yield return new ChoiceDelta("", rest, []);
        FinishReason = !(_stop.Matched || Result.Reason == Engine.Scheduling.FinishReason.Stop) ? "length"
            : tools is { Calls.Count: > 0 } ? "tool_calls" : "stop";
    }

    private (string Content, IReadOnlyList<ToolCall> Calls) Tools(string content) => tools == null ? (content, []) : tools.Push(content);

    private ReasoningSplitter.Piece Split(string text) => splitter == null ? new ReasoningSplitter.Piece("", text) : splitter.Push(text);

    private TokenLogprobInfo Info(GeneratedToken token) =>
        new(TokenText(token.Token), token.Logprob, model.TokenBytes(token.Token).ToArray(),
            token.TopLogprobs.Select(t => new TokenLogprobInfo(TokenText(t.Token), t.Logprob, model.TokenBytes(t.Token).ToArray(), [])).ToList());

    private string TokenText(int token) => Encoding.UTF8.GetString(model.TokenBytes(token));
}

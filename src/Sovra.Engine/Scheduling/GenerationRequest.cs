using System.Threading.Channels;
using Sovra.Engine.Sampling;

namespace Sovra.Engine.Scheduling;

/// <summary>
/// One sequence to generate: its prompt tokens, how to choose tokens (the engine's <see cref="Sampler"/> settings,
/// including which log-probabilities to report) and when to stop. Penalties see the generated tokens only.
/// </summary>
public sealed record GenerationRequest(IReadOnlyList<int> Prompt, SamplerSettings Sampling, int MaxTokens)
{
    /// <summary>Tokens that end the generation (end-of-turn, end-of-text). They are not emitted.</summary>
    public IReadOnlySet<int> StopTokens { get; init; } = new HashSet<int>();
}

/// <summary>A generated token, with its log-probability and the top alternatives when asked for (0 and empty otherwise).</summary>
public sealed record GeneratedToken(int Token, float Logprob, IReadOnlyList<TokenLogprob> TopLogprobs);

public enum FinishReason
{
    /// <summary>A stop token was sampled, or the caller stopped it (a stop string matched).</summary>
    Stop,
    /// <summary>max tokens reached, or the context is full.</summary>
    Length,
    /// <summary>The caller went away; the sequence was dropped.</summary>
    Cancelled,
    /// <summary>The model failed (see <see cref="GenerationResult.Error"/>).</summary>
    Error,
}

public sealed record GenerationResult(FinishReason Reason, int PromptTokens, int CachedPromptTokens, int GeneratedTokens, Exception? Error = null);

/// <summary>
/// The caller's side of one submitted sequence: tokens arrive on <see cref="Tokens"/> as the scheduler
/// samples them; <see cref="Completion"/> says why it ended. <see cref="Stop"/> ends it within one step.
/// </summary>
public sealed class GenerationHandle
{
    private readonly Channel<GeneratedToken> _tokens = Channel.CreateUnbounded<GeneratedToken>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly TaskCompletionSource<GenerationResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile int _stopRequested; // 0 none, 1 stop (finish reason Stop), 2 cancel

    internal GenerationHandle(GenerationRequest request) => Request = request;

    public GenerationRequest Request { get; }
    public ChannelReader<GeneratedToken> Tokens => _tokens.Reader;
    public Task<GenerationResult> Completion => _completion.Task;

    /// <summary>Ends the generation with finish reason Stop (e.g. a stop string matched in the text).</summary>
    public void Stop() => Interlocked.CompareExchange(ref _stopRequested, 1, 0);

    /// <summary>Drops the generation (the client disconnected); finish reason Cancelled.</summary>
    public void Cancel() => Interlocked.CompareExchange(ref _stopRequested, 2, 0);

    internal int StopRequested => _stopRequested;
    internal void Emit(GeneratedToken token) => _tokens.Writer.TryWrite(token);

    internal void Finish(GenerationResult result)
    {
        _tokens.Writer.TryComplete();
        _completion.TrySetResult(result);
    }
}

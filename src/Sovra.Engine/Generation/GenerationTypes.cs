using Sovra.Engine.Sampling;

namespace Sovra.Engine.Generation;

/// <summary>When generation stops: max tokens, stop strings, end-of-generation tokens.</summary>
public sealed record GenerationLimits
{
    public int MaxTokens { get; init; } = 256;
    /// <summary>Generation ends before any of these strings; they are not part of the output.</summary>
    public IReadOnlyList<string> Stop { get; init; } = [];
    /// <summary>Stop at the model's eos/eot/eom tokens (the token itself is not output as text).</summary>
    public bool StopAtEndOfGeneration { get; init; } = true;
    /// <summary>Also compute the chosen token's logprob and this many top alternatives (0: none).</summary>
    public int TopLogprobs { get; init; }
    public bool Logprobs { get; init; }
}

public enum FinishReason { Stop, Length }

/// <summary>
/// One generated token. <see cref="Text"/> is the text that became final with it: empty while a UTF-8
/// character or a possible stop string is incomplete, longer when held text is released.
/// </summary>
public sealed record GeneratedToken(int Token, string Text, float? Logprob = null, TokenLogprob[]? TopLogprobs = null)
{
    /// <summary>Set on the last item: why generation ended.</summary>
    public FinishReason? Finish { get; init; }
}

/// <summary>Turns ids into text incrementally (the tokenizer's streaming decoder).</summary>
public interface ITokenTextStream
{
    string Push(int token);
    string Flush();
}

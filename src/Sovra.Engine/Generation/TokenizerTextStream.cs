using Sovra.Text.Tokenizers;

namespace Sovra.Engine.Generation;

/// <summary>The tokenizer's streaming decoder as the generator's text stream (special tokens print as nothing).</summary>
public sealed class TokenizerTextStream(Tokenizer tokenizer, bool skipSpecial = true) : ITokenTextStream
{
    private readonly StreamingDecoder _decoder = tokenizer.CreateStreamingDecoder(skipSpecial);

    public string Push(int token) => _decoder.Push(token);
    public string Flush() => _decoder.Flush();
}

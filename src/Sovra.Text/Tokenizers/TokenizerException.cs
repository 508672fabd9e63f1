namespace Sovra.Text.Tokenizers;

/// <summary>A tokenizer file that cannot be used, or ids that cannot be decoded; the message names what is wrong.</summary>
public sealed class TokenizerException(string message, Exception? inner = null) : Exception(message, inner);

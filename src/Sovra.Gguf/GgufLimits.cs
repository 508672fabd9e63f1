namespace Sovra.Gguf;

/// <summary>
/// Caps the reader applies on top of "it must fit in the file". Each is far above what any real model uses,
/// and low enough that a file cannot make the reader (or the code that trusts its numbers) allocate without bound.
/// </summary>
public static class GgufLimits
{
    /// <summary>ggml's GGML_MAX_DIMS.</summary>
    public const int MaxDimensions = 4;

    /// <summary>ggml's GGML_MAX_NAME is 64 bytes including the terminating NUL.</summary>
    public const int MaxTensorNameBytes = 63;

    public const int MaxKeyBytes = 65_535;

    /// <summary>Largest single string value (a chat template or a token); 64 MiB.</summary>
    public const long MaxStringBytes = 64L << 20;

    /// <summary>Arrays nested inside arrays; llama.cpp supports none, the format allows them.</summary>
    public const int MaxArrayDepth = 8;

    /// <summary>Largest element count of one array (a vocabulary is ~0.3 M; merges ~0.3 M); keeps every array under 512 MiB.</summary>
    public const long MaxArrayElements = 1L << 26;

    /// <summary>Largest metadata section (real models: a few MiB, mostly the vocabulary).</summary>
    public const long MaxMetadataBytes = 256L << 20;

    /// <summary>Array elements over all keys together (real models: about a million).</summary>
    public const long MaxTotalArrayElements = 1L << 24;

    /// <summary>Largest alignment accepted in general.alignment (it must also be a power of two).</summary>
    public const uint MaxAlignment = 1u << 30;

    public const uint DefaultAlignment = 32;
}

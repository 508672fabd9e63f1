namespace Sovra.Engine;

/// <summary>The model file cannot be run: unknown architecture, missing tensor, wrong shape, unsupported type.</summary>
public class ModelLoadException(string message) : Exception(message);

/// <summary>The context asked for (KV cache + activations) does not fit the memory the process may use.</summary>
public sealed class ContextTooLargeException(string message) : Exception(message);

/// <summary>A batch needs more free KV cells than the cache has; nothing was changed.</summary>
public sealed class KvCacheFullException(string message) : Exception(message);

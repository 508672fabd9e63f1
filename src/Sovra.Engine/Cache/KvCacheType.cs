namespace Sovra.Engine.Cache;

/// <summary>How keys and values are stored: F16 (default, as llama.cpp) or Q8_0 (about half the memory).</summary>
public enum KvCacheType { F16, Q8_0 }

using System.Security.Cryptography;
using System.Text;

namespace Sovra.Gateway.Auth;

/// <summary>
/// Key material. A key is 32 random bytes (256 bits) behind a readable prefix; with that much entropy a
/// plain SHA-256 is a sound verifier (no salt or slow hash needed: there is nothing to guess).
/// </summary>
public static class ApiKeys
{
    public const string Prefix = "sk-sovra-";

    public static string NewSecret() => Prefix + Base64Url(RandomNumberGenerator.GetBytes(32));

    public static string NewId() => "key_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));

    public static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    /// <summary><see cref="Hash(string)"/> without allocating: 64 lower-case hex digits into <paramref name="hex"/>.</summary>
    public static void Hash(ReadOnlySpan<char> secret, Span<char> hex)
    {
        Span<byte> utf8 = stackalloc byte[Encoding.UTF8.GetMaxByteCount(MaxSecretLength)];
        var n = Encoding.UTF8.GetBytes(secret[..Math.Min(secret.Length, MaxSecretLength)], utf8);
        Span<byte> digest = stackalloc byte[32];
        var sha = t_sha256 ??= IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(utf8[..n]);
        sha.TryGetHashAndReset(digest, out _);
        Convert.TryToHexStringLower(digest, hex, out _);
    }

    // One hash context per thread, reset after each use: SHA256.HashData makes (and frees) an OpenSSL digest
    // context per call, two mallocs per request on the key-cache path — most of the gateway's native allocations.
    [ThreadStatic] private static IncrementalHash? t_sha256;

    private const int MaxSecretLength = 512;

    /// <summary>What may be shown of a key: its first characters, enough to tell keys apart.</summary>
    public static string Display(string secret) => secret[..Math.Min(secret.Length, Prefix.Length + 4)] + "…";

    /// <summary>The bearer token of a request, or null.</summary>
    public static string? Bearer(string? authorization) => TryBearer(authorization, out var token) ? token.ToString() : null;

    /// <summary>The bearer token of a request, as a slice of the header (no copy).</summary>
    public static bool TryBearer(string? authorization, out ReadOnlySpan<char> token)
    {
        token = default;
        if (authorization is null || !authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return false;
        token = authorization.AsSpan(7).Trim();
        return token.Length is > 0 and <= MaxSecretLength;
    }

    public static bool HashEquals(string hexA, string hexB) =>
        hexA.Length == hexB.Length && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(hexA), Encoding.ASCII.GetBytes(hexB));

    private static string Base64Url(byte[] b) => Convert.ToBase64String(b).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

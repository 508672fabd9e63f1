using System.Security.Cryptography;
using System.Text;
using Sovra.Gateway.Auth;

namespace Sovra.Gateway.Tests;

public class ApiKeysTests
{
    private static string Reference(string s) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(s)));

    private static string SpanHash(string s)
    {
        Span<char> hex = stackalloc char[64];
        ApiKeys.Hash(s.AsSpan(), hex);
        return new string(hex);
    }

    [Fact]
    public void The_reused_per_thread_hash_matches_a_fresh_SHA256_call_after_call()
    {
        // The span overload keeps one digest context per thread and resets it: every call must stand alone.
        string[] secrets = ["", "a", ApiKeys.NewSecret(), ApiKeys.NewSecret(), "sk-sovra-ünïcødé-ключ", new string('x', 200)];
        for (var round = 0; round < 3; round++)
            foreach (var s in secrets)
            {
                Assert.Equal(Reference(s), SpanHash(s));
                Assert.Equal(Reference(s), ApiKeys.Hash(s));
            }
    }

    [Fact]
    public async Task Concurrent_threads_each_get_their_own_digest()
    {
        var secrets = Enumerable.Range(0, 64).Select(_ => ApiKeys.NewSecret()).ToArray();
        var expected = secrets.Select(Reference).ToArray();
        await Parallel.ForAsync(0, 4000, new ParallelOptions { MaxDegreeOfParallelism = 8 }, (i, _) =>
        {
            Assert.Equal(expected[i % 64], SpanHash(secrets[i % 64]));
            return ValueTask.CompletedTask;
        });
    }
}

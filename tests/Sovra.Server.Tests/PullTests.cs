using System.Security.Cryptography;
using Sovra.Server.Hub;
using Sovra.Server.Tests.Fakes;
using Sovra.TestSupport;

namespace Sovra.Server.Tests;

/// <summary>`sovra pull` against a loopback stand-in for the Hub and its CDN.</summary>
public sealed class PullTests
{
    private static byte[] Content(int size, int seed)
    {
        var b = new byte[size];
        new Random(seed).NextBytes(b);
        return b;
    }

    private static async Task<(FakeHub Hub, HubClient Client, ModelStore Store, string Dir)> Setup(string name)
    {
        var hub = await FakeHub.StartAsync();
        hub.Add("Org/Tiny-GGUF", "Tiny-Q8_0.gguf", Content(300_000, 1));
        hub.Add("Org/Tiny-GGUF", "Tiny-Q4_K_M.gguf", Content(200_000, 2));
        hub.Add("Org/Tiny-GGUF", "Tiny-Q4_K_M-00001-of-00002.gguf", Content(10, 3));
        hub.Add("Org/Tiny-GGUF", "README.md", "# tiny"u8.ToArray());
        var dir = RepoPaths.Scratch("pull-" + name);
        return (hub, new HubClient(hub.HubAddress.ToString(), token: "secret") { RetryDelay = TimeSpan.FromMilliseconds(10) }, new ModelStore(dir), dir);
    }

    [Theory]
    [InlineData("qwen3:0.6b", "Qwen/Qwen3-0.6B-GGUF", null, "Q8_0")]
    [InlineData("deepseek-r1:8b", "unsloth/DeepSeek-R1-0528-Qwen3-8B-GGUF", null, "Q4_K_M")]
    [InlineData("Qwen/Qwen3-0.6B-GGUF:Q8_0", "Qwen/Qwen3-0.6B-GGUF", null, "Q8_0")]
    [InlineData("hf.co/Qwen/Qwen3-0.6B-GGUF:Q8_0", "Qwen/Qwen3-0.6B-GGUF", null, "Q8_0")]
    [InlineData("hf.co/Qwen/Qwen3-0.6B-GGUF/Qwen3-0.6B-Q8_0.gguf", "Qwen/Qwen3-0.6B-GGUF", "Qwen3-0.6B-Q8_0.gguf", null)]
    [InlineData("https://huggingface.co/Qwen/Qwen3-0.6B-GGUF/resolve/main/sub/x.gguf", "Qwen/Qwen3-0.6B-GGUF", "sub/x.gguf", null)]
    [InlineData("bartowski/Qwen2.5-7B-Instruct-GGUF", "bartowski/Qwen2.5-7B-Instruct-GGUF", null, null)]
    public void Model_names_parse(string spec, string repo, string? file, string? quant)
    {
        var s = ModelSpec.Parse(spec);
        Assert.Equal((repo, file, quant), (s.Repo, s.File, s.Quant));
    }

    [Theory]
    [InlineData("qwen9:1b")]
    [InlineData("hf.co/a/b/readme.md")]
    [InlineData("a//b:Q8_0")]
    [InlineData("a/../b:Q8_0")]
    [InlineData("a/b:")]
    public void Bad_model_names_are_refused_with_a_reason(string spec) =>
        Assert.Throws<FormatException>(() => ModelSpec.Parse(spec));

    [Fact]
    public void A_quantisation_picks_its_single_file_and_a_missing_one_lists_what_there_is()
    {
        string[] files = ["a/Model-Q8_0.gguf", "Model-Q4_K_M.gguf", "Model-Q4_K_M-00001-of-00002.gguf", "model-q4_k_s.gguf", "README.md"];
        Assert.Equal("Model-Q4_K_M.gguf", ModelSpec.ChooseFile("r", "Q4_K_M", files));
        Assert.Equal("model-q4_k_s.gguf", ModelSpec.ChooseFile("r", "Q4_K_S", files));
        Assert.Equal("Model-Q4_K_M.gguf", ModelSpec.ChooseFile("r", null, files));
        var e = Assert.Throws<InvalidOperationException>(() => ModelSpec.ChooseFile("r", "Q2_K", files));
        Assert.Contains("Q8_0", e.Message);
        Assert.Contains("Q4_K_M", e.Message);
    }

    [Fact]
    public async Task Pull_follows_the_redirect_to_the_CDN_verifies_the_sha256_and_records_the_source()
    {
        var (hub, client, store, dir) = await Setup("ok");
        await using var _ = hub;
        using var __ = client;
        var (file, path, already) = await ModelPuller.PullAsync(client, store, "Org/Tiny-GGUF:Q8_0");
        Assert.False(already);
        Assert.Equal(Path.Combine(dir, "Tiny-Q8_0.gguf"), path);
        Assert.Equal(FakeHub.Sha(File.ReadAllBytes(path)), file.Sha256);
        Assert.Equal(Content(300_000, 1), File.ReadAllBytes(path));
        Assert.False(File.Exists(path + ".part"));
        Assert.True(hub.HubSawToken);
        Assert.False(hub.CdnSawToken); // the token is not sent on to the CDN host

        var listed = Assert.Single(store.List());
        Assert.Equal("Tiny-Q8_0", listed.Id);
        Assert.Equal("Org/Tiny-GGUF", listed.Repo);
        Assert.Equal(file.Sha256, listed.Sha256);

        // A second pull finds the verified file and downloads nothing.
        var ranges = hub.Ranges.Count;
        var again = await ModelPuller.PullAsync(client, store, "Org/Tiny-GGUF:Q8_0");
        Assert.True(again.AlreadyThere);
        Assert.Equal(ranges, hub.Ranges.Count);

        store.Remove("Tiny-Q8_0");
        Assert.Empty(store.List());
        Assert.Throws<FileNotFoundException>(() => store.Remove("Tiny-Q8_0"));
    }

    [Fact]
    public async Task A_transfer_cut_in_the_middle_resumes_with_a_range_request()
    {
        var (hub, client, store, dir) = await Setup("cut");
        await using var _ = hub;
        using var __ = client;
        hub.CutAfter = 123_457;
        var (file, path, _) = await ModelPuller.PullAsync(client, store, "hf.co/Org/Tiny-GGUF/Tiny-Q8_0.gguf");
        Assert.Equal(Content(300_000, 1), File.ReadAllBytes(path));
        Assert.Equal(2, hub.Ranges.Count);
        Assert.Equal("", hub.Ranges[0]);
        Assert.Equal("bytes=123457-", hub.Ranges[1]);
        Assert.Equal(FakeHub.Sha(Content(300_000, 1)), file.Sha256);
    }

    [Fact]
    public async Task A_partial_file_from_an_earlier_run_is_resumed()
    {
        var (hub, client, store, dir) = await Setup("resume");
        await using var _ = hub;
        using var __ = client;
        File.WriteAllBytes(Path.Combine(dir, "Tiny-Q4_K_M.gguf.part"), Content(200_000, 2)[..150_000]);
        var (_, path, _) = await ModelPuller.PullAsync(client, store, "Org/Tiny-GGUF");
        Assert.Equal(Content(200_000, 2), File.ReadAllBytes(path));
        Assert.Equal(["bytes=150000-"], hub.Ranges);
    }

    [Fact]
    public async Task Bytes_that_do_not_match_the_published_sha256_are_refused_and_deleted()
    {
        var (hub, client, store, dir) = await Setup("corrupt");
        await using var _ = hub;
        using var __ = client;
        hub.Corrupt = true;
        var e = await Assert.ThrowsAsync<HubException>(() => ModelPuller.PullAsync(client, store, "Org/Tiny-GGUF:Q8_0"));
        Assert.Contains("corrupt", e.Message);
        Assert.Contains(FakeHub.Sha(Content(300_000, 1)), e.Message);
        Assert.Empty(Directory.GetFiles(dir, "*.gguf*"));
    }

    [Fact]
    public async Task Missing_repositories_files_and_quantisations_are_clear_errors()
    {
        var (hub, client, store, _) = await Setup("missing");
        await using var _h = hub;
        using var _c = client;
        Assert.Contains("not found", (await Assert.ThrowsAsync<HubException>(() => ModelPuller.PullAsync(client, store, "Org/Nope-GGUF:Q8_0"))).Message);
        Assert.Contains("no file", (await Assert.ThrowsAsync<HubException>(() => ModelPuller.PullAsync(client, store, "hf.co/Org/Tiny-GGUF/none.gguf"))).Message);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => ModelPuller.PullAsync(client, store, "Org/Tiny-GGUF:Q6_K"));
        Assert.Contains("Q8_0", e.Message);
    }
}

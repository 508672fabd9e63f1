using Sovra.Gguf;

namespace Sovra.Engine.Tests;

/// <summary>Every way a model can be unusable stops at load (or context creation) with one error naming it.</summary>
public class LoadErrorTests
{
    private static string LoadError(ArrayModelSource s) => Assert.Throws<ModelLoadException>(() => LanguageModel.Load(s)).Message;

    [Fact]
    public void Unknown_architecture_is_named()
    {
        var msg = LoadError(ArrayModelSource.Tiny().Set("general.architecture", "mamba"));
        Assert.Contains("'mamba'", msg);
        Assert.Contains("qwen3", msg);
    }

    [Fact]
    public void Missing_tensor_is_named()
    {
        var s = ArrayModelSource.Tiny();
        s.Remove("blk.1.attn_k_norm.weight");
        Assert.Contains("'blk.1.attn_k_norm.weight' is missing", LoadError(s));
        var q2 = ArrayModelSource.Tiny("qwen2");
        q2.Remove("blk.0.attn_v.bias");
        Assert.Contains("'blk.0.attn_v.bias'", LoadError(q2));
    }

    [Fact]
    public void Wrong_shape_is_named_with_both_shapes()
    {
        var s = ArrayModelSource.Tiny();
        s.ReplaceTensorDims("blk.0.ffn_up.weight", 64, 95);
        var msg = LoadError(s);
        Assert.Contains("'blk.0.ffn_up.weight'", msg);
        Assert.Contains("[64, 95]", msg);
        Assert.Contains("[64, 96]", msg);
    }

    [Fact]
    public void Unsupported_tensor_type_is_named()
    {
        var s = ArrayModelSource.Tiny();
        s.ReplaceTensorType("blk.0.attn_q.weight", GgmlType.IQ2_XXS);
        var msg = LoadError(s);
        Assert.Contains("'blk.0.attn_q.weight'", msg);
        Assert.Contains("IQ2_XXS", msg);
    }

    [Fact]
    public void Missing_or_inconsistent_hyperparameters_are_named()
    {
        Assert.Contains("qwen3.block_count", LoadError(ArrayModelSource.Tiny().Remove("qwen3.block_count")));
        Assert.Contains("head_count_kv", LoadError(ArrayModelSource.Tiny().Set("qwen3.attention.head_count_kv", 3)));
        Assert.Contains("rope scaling type 'ntk'", LoadError(ArrayModelSource.Tiny().Set("qwen3.rope.scaling.type", "ntk")));
    }

    [Fact]
    public void A_context_beyond_memory_is_refused_before_allocating()
    {
        using var m = LanguageModel.Load(ArrayModelSource.Tiny());
        var e = Assert.Throws<ContextTooLargeException>(() => m.CreateContext(new ContextOptions { ContextLength = 1_000_000_000 }));
        Assert.Contains("1000000000 tokens", e.Message);
    }

    [Fact]
    public void A_tied_output_uses_the_embedding()
    {
        using var m = LanguageModel.Load(ArrayModelSource.Tiny(tied: true));
        Assert.True(m.TiedOutput);
        Assert.Contains(63, m.EndOfGeneration);
    }
}

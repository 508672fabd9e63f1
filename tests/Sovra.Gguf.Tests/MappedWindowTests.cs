using Sovra.TestSupport;

namespace Sovra.Gguf.Tests;

/// <summary>A mapped file is read through a 1 MiB window; metadata several windows long must read exactly as from a buffer.</summary>
public class MappedWindowTests
{
    private static byte[] Big()
    {
        var w = new GgufWriter();
        w.Set("general.architecture", "llama");
        w.Set("tokenizer.ggml.tokens", GgufValue.FromArray(Enumerable.Range(0, 200_000).Select(i => new string((char)('a' + i % 26), i % 23) + i).ToArray()));
        w.Set("tokenizer.ggml.scores", GgufValue.FromArray(Enumerable.Range(0, 200_000).Select(i => i * 0.5f).ToArray()));
        w.Set("big.string", new string('x', 1_500_000));
        w.AddTensor("t", GgmlType.F32, [32], TestModels.Bytes(128, 5));
        return w.ToArray();
    }

    [Fact]
    public void Metadata_longer_than_the_window_reads_as_from_a_buffer_and_fails_at_the_same_place()
    {
        var bytes = Big();
        Assert.True(bytes.Length > 3 << 20);
        var dir = RepoPaths.Scratch(nameof(MappedWindowTests));
        var path = Path.Combine(dir, "big.gguf");
        File.WriteAllBytes(path, bytes);
        using (var mapped = GgufFile.Open(path))
        using (var memory = GgufFile.Parse(bytes))
        {
            Assert.Equal(memory.Model.Tokens, mapped.Model.Tokens);
            Assert.Equal(memory.Model.Scores, mapped.Model.Scores);
            Assert.Equal(memory.Metadata.GetString("big.string"), mapped.Metadata.GetString("big.string"));
            Assert.Equal(memory.ReadTensorBytes(memory.Tensors[0]), mapped.ReadTensorBytes(mapped.Tensors[0]));
        }
        var rng = new Random(5);
        for (var i = 0; i < 12; i++)
        {
            var cut = rng.Next(bytes.Length);
            File.WriteAllBytes(path, bytes.AsSpan(0, cut).ToArray());
            var fromFile = Assert.Throws<GgufFormatException>(() => GgufFile.Open(path).Dispose());
            var fromBuffer = Assert.Throws<GgufFormatException>(() => GgufFile.Parse(bytes.AsMemory(0, cut)).Dispose());
            Assert.Equal((fromBuffer.Field, fromBuffer.ByteOffset, fromBuffer.Message), (fromFile.Field, fromFile.ByteOffset, fromFile.Message));
        }
        File.Delete(path);
    }
}

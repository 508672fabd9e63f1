using System.Text.Json;
using Sovra.TestSupport;

namespace Sovra.Gguf.Tests;

public class GgmlTypeTableTests
{
    [Fact]
    public void The_type_table_matches_what_the_llama_cpp_binary_reports_for_every_id()
    {
        var script = Path.Combine(RepoPaths.Reference, "scripts", "ggml-types.mjs");
        var r = ExternalProcess.Node(script, [], timeout: TimeSpan.FromMinutes(2));
        Assert.True(r.ExitCode == 0, r.Stderr);
        var reference = JsonDocument.Parse(r.Stdout.Trim().Split('\n').Last()).RootElement.EnumerateArray()
            .Where(e => e.GetProperty("blockSize").ValueKind == JsonValueKind.Number && e.GetProperty("typeSize").GetInt32() > 0)
            .ToDictionary(e => e.GetProperty("id").GetUInt32(), e => (e.GetProperty("blockSize").GetInt32(), e.GetProperty("typeSize").GetInt32()));
        var ours = GgmlTypeInfo.All.ToDictionary(i => (uint)i.Type, i => (i.BlockSize, i.BlockBytes));
        Assert.Equal(reference.OrderBy(kv => kv.Key), ours.OrderBy(kv => kv.Key));
    }

    [Fact]
    public void Names_parse_back_and_row_bytes_refuse_partial_blocks()
    {
        foreach (var info in GgmlTypeInfo.All)
        {
            Assert.True(GgmlTypeInfo.TryParse(info.Name.ToLowerInvariant(), out var back));
            Assert.Equal(info.Type, back.Type);
            Assert.Equal(info.BlockBytes * 3L, info.RowBytes(info.BlockSize * 3L));
        }
        Assert.Throws<ArgumentException>(() => GgmlTypeInfo.Of(GgmlType.Q4_K).RowBytes(100));
        Assert.False(GgmlTypeInfo.TryGet(4, out _)); // Q4_2, removed from ggml
    }
}

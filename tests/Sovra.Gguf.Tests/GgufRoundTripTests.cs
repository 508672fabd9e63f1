using Sovra.TestSupport;

namespace Sovra.Gguf.Tests;

public class GgufRoundTripTests
{
    [Fact]
    public void Every_value_type_reads_back_as_written()
    {
        using var f = GgufFile.Parse(TestModels.EveryValueType().ToArray());
        var m = f.Metadata;
        Assert.Equal(3u, f.Version);
        Assert.Equal(200, Int(m, "t.u8"));
        Assert.Equal(-100, Int(m, "t.i8"));
        Assert.Equal(60000, Int(m, "t.u16"));
        Assert.Equal(-30000, Int(m, "t.i16"));
        Assert.Equal(4_000_000_000u, m.GetUInt32("t.u32"));
        Assert.Equal(-2_000_000_000, Int(m, "t.i32"));
        Assert.True(m.TryGetFloat32("t.f32", out var f32) && f32 == 1.5f);
        Assert.True(m.TryGetBool("t.bool", out var b) && b);
        Assert.Equal("héllo ✓", m.GetString("t.str"));
        Assert.True(m.TryGetUInt64("t.u64", out var u64) && u64 == ulong.MaxValue);
        Assert.Equal(long.MinValue, Int(m, "t.i64"));
        Assert.True(m.TryGetDouble("t.f64", out var f64) && f64 == Math.PI);
        Assert.Equal(new byte[] { 1, 2, 3 }, m["t.arr.u8"].ArrayAs<byte>());
        Assert.Equal(new sbyte[] { -1, 2 }, m["t.arr.i8"].ArrayAs<sbyte>());
        Assert.Equal(new ushort[] { 1, 65535 }, m["t.arr.u16"].ArrayAs<ushort>());
        Assert.Equal(new short[] { -1, 32767 }, m["t.arr.i16"].ArrayAs<short>());
        Assert.Equal(new uint[] { 7, uint.MaxValue }, m["t.arr.u32"].ArrayAs<uint>());
        Assert.Equal(new[] { -7, int.MaxValue }, m["t.arr.i32"].ArrayAs<int>());
        Assert.Equal(new[] { 0.25f, -2f }, m["t.arr.f32"].ArrayAs<float>());
        Assert.Equal(new[] { true, false, true }, m["t.arr.bool"].ArrayAs<bool>());
        Assert.Equal(new[] { "a", "", "ccc" }, m["t.arr.str"].ArrayAs<string>());
        Assert.Equal(new ulong[] { 0, ulong.MaxValue }, m["t.arr.u64"].ArrayAs<ulong>());
        Assert.Equal(new long[] { long.MinValue, 5 }, m["t.arr.i64"].ArrayAs<long>());
        Assert.Equal(new[] { 1e300, -0.5 }, m["t.arr.f64"].ArrayAs<double>());
        Assert.Equal(0, m["t.arr.empty"].ArrayLength);
        var nested = m["t.arr.nested"].ArrayAs<GgufValue>()!;
        Assert.Equal(new[] { 1, 2 }, nested[0].ArrayAs<int>());
        Assert.Equal(new[] { "x", "y" }, nested[1].ArrayAs<string>());
        Assert.Equal(new[] { 1.0f }, nested[2].ArrayAs<GgufValue>()![0].ArrayAs<float>());
        Assert.Equal(["general.architecture", "t.u8", "t.i8"], m.Keys.Take(3));
    }

    private static long Int(GgufMetadata m, string key) => m.TryGetInt64(key, out var v) ? v : throw new Xunit.Sdk.XunitException(key);

    [Fact]
    public void Tensor_infos_offsets_and_bytes_are_exact()
    {
        using var f = GgufFile.Parse(TestModels.EveryValueType().ToArray());
        Assert.Equal(["a.weight", "b.weight", "c.weight"], f.Tensors.Select(t => t.Name));
        var a = f.FindTensor("a.weight")!;
        Assert.Equal(new long[] { 4, 2 }, a.Dimensions);
        Assert.Equal(8, a.Elements);
        Assert.Equal(32, a.ByteSize);
        Assert.Equal(0, a.RelativeOffset);
        Assert.Equal(0, f.DataOffset % 32);
        var q = f.FindTensor("b.weight")!;
        Assert.Equal(GgmlType.Q8_0, q.Type);
        Assert.Equal(68, q.ByteSize);
        Assert.Equal(32, q.RelativeOffset);
        Assert.Equal(128, f.FindTensor("c.weight")!.RelativeOffset);
        Assert.Equal(TestModels.Bytes(68, 2), f.ReadTensorBytes(q));
        Assert.Equal(TestModels.Bytes(6, 3), f.ReadTensorBytes(f.FindTensor("c.weight")!));
        Assert.Null(f.FindTensor("missing"));
    }

    [Fact]
    public void Custom_alignment_is_written_and_honoured()
    {
        using var f = GgufFile.Parse(TestModels.EveryValueType(alignment: 64).ToArray());
        Assert.Equal(64u, f.Alignment);
        Assert.Equal(64u, f.Metadata.GetUInt32("general.alignment"));
        Assert.All(f.Tensors, t => Assert.Equal(0, t.DataOffset % 64));
        Assert.Equal(TestModels.Bytes(6, 3), f.ReadTensorBytes(f.FindTensor("c.weight")!));
    }

    [Fact]
    public void Alignment_one_packs_tensors_back_to_back()
    {
        using var f = GgufFile.Parse(TestModels.EveryValueType(alignment: 1).ToArray());
        Assert.Equal(32, f.FindTensor("b.weight")!.RelativeOffset);
        Assert.Equal(100, f.FindTensor("c.weight")!.RelativeOffset);
    }

    [Fact]
    public void Version_2_files_read_the_same()
    {
        var bytes = TestModels.EveryValueType().ToArray();
        bytes[4] = 2;
        using var f = GgufFile.Parse(bytes);
        Assert.Equal(2u, f.Version);
        Assert.Equal(3, f.Tensors.Count);
    }

    [Fact]
    public void A_mapped_file_reads_the_same_as_the_buffer()
    {
        var dir = RepoPaths.Scratch(nameof(A_mapped_file_reads_the_same_as_the_buffer));
        var path = Path.Combine(dir, "every.gguf");
        TestModels.EveryValueType().WriteFile(path);
        using var mapped = GgufFile.Open(path);
        using var memory = GgufFile.Parse(File.ReadAllBytes(path));
        Assert.Equal(new FileInfo(path).Length, mapped.FileBytes);
        Assert.NotNull(mapped.Mapping);
        Assert.Null(memory.Mapping);
        Assert.Equal(memory.Metadata.Keys, mapped.Metadata.Keys);
        foreach (var t in memory.Tensors)
        {
            var m = mapped.FindTensor(t.Name)!;
            Assert.Equal(t, m with { Dimensions = t.Dimensions });
            Assert.Equal(memory.ReadTensorBytes(t), mapped.ReadTensorBytes(m));
        }
        var buf = new byte[4];
        Assert.Throws<ArgumentOutOfRangeException>(() => mapped.ReadBytes(mapped.FileBytes - 2, buf));
    }

    [Fact]
    public void A_file_larger_than_4_GiB_maps_with_64_bit_offsets()
    {
        // A sparse file: the tensor sits past 4 GiB, the bytes in between are never written.
        var dir = RepoPaths.Scratch(nameof(A_file_larger_than_4_GiB_maps_with_64_bit_offsets));
        var path = Path.Combine(dir, "big.gguf");
        const long far = (5L << 30) - 64;
        var raw = new RawGguf().Header(tensors: 2, kvs: 0)
            .Tensor("near", [32], (uint)GgmlType.F32, 0)
            .Tensor("far", [32], (uint)GgmlType.F32, far)
            .PadTo(32).ToArray();
        using (var fs = new FileStream(path, FileMode.Create))
        {
            fs.Write(raw);
            fs.SetLength(raw.Length + far + 128);
            fs.Position = raw.Length + far;
            fs.Write(TestModels.Bytes(128, 9));
        }
        try
        {
            using var f = GgufFile.Open(path);
            var t = f.FindTensor("far")!;
            Assert.Equal(raw.Length + far, t.DataOffset);
            Assert.True(t.DataOffset > uint.MaxValue);
            Assert.Equal(TestModels.Bytes(128, 9), f.ReadTensorBytes(t));
            Assert.True(f.Mapping!.Length > 4L << 30);
            Assert.Equal(f.Mapping.PointerOffset + t.DataOffset, f.Mapping.PointerOffsetOf(t));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void The_writer_refuses_what_the_reader_would_reject()
    {
        var w = new GgufWriter();
        Assert.Throws<ArgumentException>(() => w.AddTensor("x", GgmlType.Q8_0, [33], new byte[34]));
        Assert.Throws<ArgumentException>(() => w.AddTensor("x", GgmlType.F32, [0], Array.Empty<byte>()));
        Assert.Throws<ArgumentException>(() => w.AddTensor(new string('n', 64), GgmlType.F32, [1], new byte[4]));
        Assert.Throws<ArgumentException>(() => w.AddTensor("x", GgmlType.F32, [1, 1, 1, 1, 1], new byte[4]));
        w.AddTensor("x", GgmlType.F32, [1], new byte[4]);
        Assert.Throws<ArgumentException>(() => w.AddTensor("x", GgmlType.F32, [1], new byte[4]));
        w.AddTensor("y", GgmlType.F32, [2], s => s.Write(new byte[4]));
        Assert.Throws<InvalidOperationException>(() => w.ToArray());
    }

    [Fact]
    public void Streamed_tensor_data_lands_at_its_offset()
    {
        var w = new GgufWriter();
        w.AddTensor("s", GgmlType.F32, [3, 5], s => { for (var i = 0; i < 5; i++) s.Write(TestModels.Bytes(12, i)); });
        using var f = GgufFile.Parse(w.ToArray());
        var expected = Enumerable.Range(0, 5).SelectMany(i => TestModels.Bytes(12, i)).ToArray();
        Assert.Equal(expected, f.ReadTensorBytes(f.Tensors[0]));
    }
}

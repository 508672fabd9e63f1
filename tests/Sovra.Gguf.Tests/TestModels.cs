namespace Sovra.Gguf.Tests;

/// <summary>Small files built with <see cref="GgufWriter"/> for the reader, corpus and fuzzer tests.</summary>
internal static class TestModels
{
    /// <summary>A file with one key of every value type (and nested and string arrays) and three tensors.</summary>
    public static GgufWriter EveryValueType(uint alignment = 32)
    {
        var w = new GgufWriter(alignment);
        w.Set("general.architecture", "llama");
        w.Set("t.u8", GgufValue.FromUInt8(200));
        w.Set("t.i8", GgufValue.FromInt8(-100));
        w.Set("t.u16", GgufValue.FromUInt16(60000));
        w.Set("t.i16", GgufValue.FromInt16(-30000));
        w.Set("t.u32", GgufValue.FromUInt32(4_000_000_000));
        w.Set("t.i32", GgufValue.FromInt32(-2_000_000_000));
        w.Set("t.f32", GgufValue.FromFloat32(1.5f));
        w.Set("t.bool", GgufValue.FromBool(true));
        w.Set("t.str", GgufValue.FromString("héllo ✓"));
        w.Set("t.u64", GgufValue.FromUInt64(ulong.MaxValue));
        w.Set("t.i64", GgufValue.FromInt64(long.MinValue));
        w.Set("t.f64", GgufValue.FromFloat64(Math.PI));
        w.Set("t.arr.u8", GgufValue.FromArray(new byte[] { 1, 2, 3 }));
        w.Set("t.arr.i8", GgufValue.FromArray(new sbyte[] { -1, 2 }));
        w.Set("t.arr.u16", GgufValue.FromArray(new ushort[] { 1, 65535 }));
        w.Set("t.arr.i16", GgufValue.FromArray(new short[] { -1, 32767 }));
        w.Set("t.arr.u32", GgufValue.FromArray(new uint[] { 7, uint.MaxValue }));
        w.Set("t.arr.i32", GgufValue.FromArray(new[] { -7, int.MaxValue }));
        w.Set("t.arr.f32", GgufValue.FromArray(new[] { 0.25f, -2f }));
        w.Set("t.arr.bool", GgufValue.FromArray(new[] { true, false, true }));
        w.Set("t.arr.str", GgufValue.FromArray(new[] { "a", "", "ccc" }));
        w.Set("t.arr.u64", GgufValue.FromArray(new ulong[] { 0, ulong.MaxValue }));
        w.Set("t.arr.i64", GgufValue.FromArray(new long[] { long.MinValue, 5 }));
        w.Set("t.arr.f64", GgufValue.FromArray(new[] { 1e300, -0.5 }));
        w.Set("t.arr.empty", GgufValue.FromArray(Array.Empty<int>()));
        w.Set("t.arr.nested", GgufValue.FromArray(new[]
        {
            GgufValue.FromArray(new[] { 1, 2 }),
            GgufValue.FromArray(new[] { "x", "y" }),
            GgufValue.FromArray(new[] { GgufValue.FromArray(new[] { 1.0f }) }),
        }));
        w.AddTensor("a.weight", GgmlType.F32, [4, 2], Bytes(32, 1));
        w.AddTensor("b.weight", GgmlType.Q8_0, [64], Bytes(68, 2));
        w.AddTensor("c.weight", GgmlType.F16, [3], Bytes(6, 3));
        return w;
    }

    /// <summary>Deterministic filler bytes.</summary>
    public static byte[] Bytes(int n, int seed)
    {
        var b = new byte[n];
        for (var i = 0; i < n; i++) b[i] = (byte)(i * 31 + seed * 7);
        return b;
    }
}

using System.Buffers.Binary;
using System.Diagnostics;

namespace Sovra.Gguf.Tests;

/// <summary>
/// Seeded mutation fuzzing of the parser: valid files are mutated in memory (bit flips, interesting integers written
/// over fields, truncation, insertion, deletion, chunk copies) and parsed from the buffer, which runs the same
/// validation as a mapped file. Nothing but <see cref="GgufFormatException"/> may escape, a file that parses must hold
/// its invariants, and no parse may allocate more than a fixed multiple of its input.
/// </summary>
public class MutationFuzzTests
{
    private static readonly int Iterations =
        int.TryParse(Environment.GetEnvironmentVariable("SOVRA_FUZZ_ITERATIONS"), out var n) && n > 0 ? n : 100_000;

    private static readonly ulong[] Interesting =
    [
        0, 1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 16, 31, 32, 33, 63, 64, 255, 256, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFFFFFF, 0x80000000,
        0xFFFFFFFF, 0x100000000, 0x7FFFFFFFFFFFFFC0, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000, ulong.MaxValue, ulong.MaxValue - 1,
    ];

    [Fact]
    public void Mutated_files_raise_only_the_typed_error_and_allocate_boundedly()
    {
        byte[][] seeds =
        [
            TestModels.EveryValueType().ToArray(),
            TestModels.EveryValueType(alignment: 1).ToArray(),
            MalformedCorpus.Valid().ToArray(),
            TinyLlama.Build().ToArray(),
        ];
        var rng = new Random(20261202);
        var sw = Stopwatch.StartNew();
        int parsed = 0, rejected = 0;
        long worstRatio = 0;
        for (var i = 0; i < Iterations; i++)
        {
            var seed = seeds[rng.Next(seeds.Length)];
            var file = Mutate(seed, rng);
            var before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                using var f = GgufFile.Parse(file);
                CheckInvariants(f, file.Length);
                parsed++;
            }
            catch (GgufFormatException e)
            {
                Assert.InRange(e.ByteOffset, 0, file.Length);
                Assert.False(string.IsNullOrEmpty(e.Field));
                rejected++;
            }
            catch (Exception e)
            {
                File.WriteAllBytes(Path.Combine(Path.GetTempPath(), $"sovra-fuzz-{i}.gguf"), file);
                throw new Xunit.Sdk.XunitException($"iteration {i}: {e.GetType().Name} escaped (file saved to temp as sovra-fuzz-{i}.gguf): {e}");
            }
            var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            // Bounded by the input: a fixed overhead plus a small multiple of the file size.
            if (allocated > 256 * 1024 + 16L * file.Length)
                throw new Xunit.Sdk.XunitException($"iteration {i}: one parse of {file.Length} bytes allocated {allocated} bytes");
            if (file.Length >= 4096) worstRatio = Math.Max(worstRatio, allocated / file.Length);
        }
        Assert.True(GC.GetTotalMemory(forceFullCollection: true) < 256L << 20, "the heap grew past 256 MiB");
        Assert.True(parsed > Iterations / 100, $"only {parsed} of {Iterations} mutants parsed: the mutations are too destructive to test acceptance");
        Assert.True(rejected > Iterations / 10, $"only {rejected} of {Iterations} mutants were rejected");
        Console.WriteLine($"fuzz: {Iterations} mutants in {sw.Elapsed.TotalSeconds:F1} s, {parsed} parsed, {rejected} rejected, worst allocation {worstRatio}x input (files of 4 KiB and more)");
    }

    private static void CheckInvariants(GgufFile f, long length)
    {
        var ends = new List<(long Start, long End)>();
        foreach (var t in f.Tensors)
        {
            Assert.InRange(t.Dimensions.Length, 1, 4);
            Assert.All(t.Dimensions, d => Assert.True(d > 0));
            Assert.Equal(0, t.RowLength % t.TypeInfo.BlockSize);
            Assert.True(t.DataOffset >= f.DataOffset && t.DataOffset + t.ByteSize <= length);
            Assert.Equal(0, t.RelativeOffset % f.Alignment);
            Assert.True(f.TryGetTensorMemory(t, out var mem) && mem.Length == t.ByteSize);
            ends.Add((t.RelativeOffset, t.RelativeOffset + t.ByteSize));
        }
        ends.Sort();
        for (var i = 1; i < ends.Count; i++) Assert.True(ends[i - 1].End <= ends[i].Start);
        try
        {
            var m = f.Model;
            Assert.False(string.IsNullOrEmpty(m.Architecture));
        }
        catch (GgufFormatException) { }
    }

    private static byte[] Mutate(byte[] seed, Random rng)
    {
        // Most interesting bytes are in the header, metadata and tensor infos; aim most mutations there.
        var hot = Math.Min(seed.Length, 2048);
        var data = (byte[])seed.Clone();
        var rounds = 1 + rng.Next(4);
        for (var r = 0; r < rounds; r++)
        {
            var pos = rng.Next(10) < 8 ? rng.Next(hot) : rng.Next(data.Length);
            switch (rng.Next(8))
            {
                case 0:
                    if (pos < data.Length) data[pos] ^= (byte)(1 << rng.Next(8));
                    break;
                case 1:
                    if (pos < data.Length) data[pos] = (byte)Interesting[rng.Next(Interesting.Length)];
                    break;
                case 2: // a u32 field
                    pos &= ~3;
                    if (pos + 4 <= data.Length) BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(pos), (uint)Pick(rng, data.Length));
                    break;
                case 3: // a u64 field
                    pos &= ~7;
                    if (pos + 8 <= data.Length) BinaryPrimitives.WriteUInt64LittleEndian(data.AsSpan(pos), Pick(rng, data.Length));
                    break;
                case 4:
                    data = data[..Math.Min(pos, data.Length)];
                    break;
                case 5: // insert a few bytes
                {
                    var n = 1 + rng.Next(16);
                    var ins = new byte[n];
                    rng.NextBytes(ins);
                    pos = Math.Min(pos, data.Length);
                    data = [.. data.AsSpan(0, pos), .. ins, .. data.AsSpan(pos)];
                    break;
                }
                case 6: // delete a few bytes
                {
                    pos = Math.Min(pos, data.Length);
                    var n = Math.Min(1 + rng.Next(16), data.Length - pos);
                    data = [.. data.AsSpan(0, pos), .. data.AsSpan(pos + n)];
                    break;
                }
                default: // copy a chunk over another place
                {
                    if (data.Length < 2) break;
                    var from = rng.Next(Math.Min(hot, data.Length));
                    var n = Math.Min(1 + rng.Next(64), data.Length - Math.Max(from, pos));
                    if (n > 0 && pos < data.Length) data.AsSpan(from, n).CopyTo(data.AsSpan(pos, n));
                    break;
                }
            }
        }
        return data;
    }

    private static ulong Pick(Random rng, int length) => rng.Next(4) switch
    {
        0 => (ulong)rng.NextInt64(),
        1 => (ulong)(length + rng.Next(-64, 64)),
        _ => Interesting[rng.Next(Interesting.Length)],
    };
}

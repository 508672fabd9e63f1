using System.Globalization;
using System.Text.Json;
using Sovra.TestSupport;

namespace Sovra.Gguf.Tests;

/// <summary>
/// node-llama-cpp's JavaScript GGUF parser is a second, independent reader: every key and tensor our writer puts in a
/// file must read back there exactly as we wrote it, and our reader must agree with it on a real-sized file.
/// </summary>
public class IndependentReaderTests
{
    private static JsonElement ReadInJs(string path)
    {
        var r = ExternalProcess.Node(Path.Combine(RepoPaths.Reference, "scripts", "gguf-read.mjs"), [path], timeout: TimeSpan.FromMinutes(2));
        Assert.True(r.ExitCode == 0, r.Stderr);
        return JsonDocument.Parse(r.Stdout.Trim().Split('\n').Last()).RootElement.Clone();
    }

    private static JsonElement At(JsonElement root, string key)
    {
        foreach (var part in key.Split('.')) root = root.GetProperty(part);
        return root;
    }

    [Fact]
    public void Every_value_type_and_tensor_we_write_reads_the_same_in_node_llama_cpp()
    {
        var dir = RepoPaths.Scratch(nameof(Every_value_type_and_tensor_we_write_reads_the_same_in_node_llama_cpp));
        var path = Path.Combine(dir, "every.gguf");
        TestModels.EveryValueType().WriteFile(path);
        var js = ReadInJs(path);
        Assert.Equal(3, js.GetProperty("version").GetInt32());
        using var f = GgufFile.Open(path);
        foreach (var e in f.Metadata)
            AssertSame(e.Key, e.Value, At(js.GetProperty("metadata"), e.Key));
        var tensors = js.GetProperty("tensors").EnumerateArray().ToList();
        Assert.Equal(f.Tensors.Count, tensors.Count);
        for (var i = 0; i < tensors.Count; i++)
        {
            var t = f.Tensors[i];
            Assert.Equal(t.Name, tensors[i].GetProperty("name").GetString());
            Assert.Equal((int)t.Type, tensors[i].GetProperty("type").GetInt32());
            Assert.Equal(t.Dimensions.Select(d => d.ToString(CultureInfo.InvariantCulture)), tensors[i].GetProperty("dimensions").EnumerateArray().Select(d => d.GetString()));
            Assert.Equal(t.RelativeOffset.ToString(CultureInfo.InvariantCulture), tensors[i].GetProperty("offset").GetString());
        }
    }

    private static void AssertSame(string key, GgufValue ours, JsonElement theirs)
    {
        if (ours.IsArray)
        {
            var items = theirs.EnumerateArray().ToList();
            Assert.Equal(ours.ArrayLength, items.Count);
            var raw = ours.RawArray;
            for (var i = 0; i < items.Count; i++)
            {
                var element = raw.GetValue(i)!;
                var v = element as GgufValue ?? Scalar(ours.ElementType, element);
                AssertSame($"{key}[{i}]", v, items[i]);
            }
            return;
        }
        switch (ours.Type)
        {
            case GgufValueType.String: Assert.Equal(ours.AsString(), theirs.GetString()); break;
            case GgufValueType.Bool: Assert.Equal(ours.TryGetBool(out var b) && b, theirs.GetBoolean()); break;
            case GgufValueType.Float32 or GgufValueType.Float64:
                ours.TryGetDouble(out var d);
                Assert.Equal(d, theirs.GetDouble());
                break;
            default:
                var text = ours.ToString();
                Assert.True(text == (theirs.ValueKind == JsonValueKind.String ? theirs.GetString() : theirs.GetRawText()), $"{key}: {text} vs {theirs}");
                break;
        }
    }

    private static GgufValue Scalar(GgufValueType type, object v) => type switch
    {
        GgufValueType.UInt8 => GgufValue.FromUInt8((byte)v), GgufValueType.Int8 => GgufValue.FromInt8((sbyte)v),
        GgufValueType.UInt16 => GgufValue.FromUInt16((ushort)v), GgufValueType.Int16 => GgufValue.FromInt16((short)v),
        GgufValueType.UInt32 => GgufValue.FromUInt32((uint)v), GgufValueType.Int32 => GgufValue.FromInt32((int)v),
        GgufValueType.UInt64 => GgufValue.FromUInt64((ulong)v), GgufValueType.Int64 => GgufValue.FromInt64((long)v),
        GgufValueType.Float32 => GgufValue.FromFloat32((float)v), GgufValueType.Float64 => GgufValue.FromFloat64((double)v),
        GgufValueType.Bool => GgufValue.FromBool((bool)v), _ => GgufValue.FromString((string)v),
    };
}

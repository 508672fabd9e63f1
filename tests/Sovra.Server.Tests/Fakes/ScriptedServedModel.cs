using System.Text;
using Sovra.Engine.Scheduling;
using Sovra.Server.Models;

namespace Sovra.Server.Tests.Fakes;

/// <summary>A served model over <see cref="ScriptedModel"/>: byte tokens and a ChatML-like template.</summary>
internal sealed class ScriptedServedModel : IServedModel
{
    private static readonly byte[][] ByteTokens = Enumerable.Range(0, 258).Select(i => i < 256 ? new[] { (byte)i } : Encoding.UTF8.GetBytes(i == 256 ? "<|endoftext|>" : "<|answer|>")).ToArray();

    public ScriptedServedModel(string id, ScriptedModel model, bool thinking = false, SchedulerOptions? options = null)
    {
        Id = id;
        Model = model;
        ThinksInTags = thinking;
        Scheduler = new BatchScheduler(model, options);
    }

    public string Id { get; }
    public ScriptedModel Model { get; }
    public int ContextLength => Model.ContextLength;
    public long ResidentBytes => 1 << 20;
    public BatchScheduler Scheduler { get; }
    public IReadOnlySet<int> StopTokens { get; } = new HashSet<int> { ScriptedModel.EndOfText };
    public bool ThinksInTags { get; }
    public bool Disposed { get; private set; }

    public IReadOnlyList<int> Encode(string text) => ScriptedModel.Bytes(text);

    public ChatPrompt RenderChat(IReadOnlyList<ChatMessage> messages, ChatPromptOptions options)
    {
        var sb = new StringBuilder();
        foreach (var m in messages) sb.Append('<').Append(m.Role).Append('>').Append(m.Content).Append('\n');
        sb.Append("<assistant>");
        var text = sb.ToString();
        return new ChatPrompt(text, [.. ScriptedModel.Bytes(text), ScriptedModel.AnswerStart]);
    }

    public ReadOnlySpan<byte> TokenBytes(int token) => ByteTokens[token];

    public void Dispose()
    {
        Disposed = true;
        Scheduler.Dispose();
    }
}

/// <summary>Loads every file as a scripted model; the script is the file's text.</summary>
internal sealed class ScriptedLoader(Func<ModelEntry, ScriptedServedModel>? make = null) : IModelLoader
{
    public List<string> Loaded { get; } = [];

    public IServedModel Load(ModelEntry entry, ModelLoadSettings settings)
    {
        lock (Loaded) Loaded.Add(entry.Id);
        return make?.Invoke(entry) ?? new ScriptedServedModel(entry.Id, new ScriptedModel(File.ReadAllText(entry.Path), settings.ContextLength, settings.Parallel), options: settings.Scheduler);
    }

    public long EstimateBytes(ModelEntry entry, ModelLoadSettings settings) => 1 << 20;
}

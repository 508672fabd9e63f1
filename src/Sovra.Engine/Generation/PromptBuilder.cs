using Sovra.Text.Templates;

namespace Sovra.Engine.Generation;

/// <summary>Turns a user prompt into prompt tokens: through the model's chat template, or as raw text.</summary>
public static class PromptBuilder
{
    /// <summary>
    /// With a chat template (and not raw): renders a conversation of an optional system message and the user
    /// message, with the generation prompt, and tokenizes it with special tokens recognised. Raw: tokenizes the
    /// text as is (special-token text stays text). Both add the BOS the file asks for.
    /// </summary>
    public static int[] Build(LanguageModel model, string prompt, bool raw, string? system = null)
    {
        var tok = model.Tokenizer;
        if (raw || model.ChatTemplate is not { } template) return tok.Encode(prompt, allowSpecial: false, addSpecialTokens: true);
        var messages = new List<ChatMessage>();
        if (system != null) messages.Add(new ChatMessage { Role = "system", Content = system });
        messages.Add(new ChatMessage { Role = "user", Content = prompt });
        string? Piece(string key) => model.Source.GetInteger(key) is { } id && id >= 0 && id < model.Hyperparameters.NVocab
            ? tok.Decode([(int)id]) : null;
        var bos = Piece("tokenizer.ggml.bos_token_id");
        var text = template.Render(new ChatRenderRequest
        {
            Messages = messages, AddGenerationPrompt = true, BosToken = bos, EosToken = Piece("tokenizer.ggml.eos_token_id"),
        });
        // Templates that write bos_token themselves (Llama 3) must not get a second one from the tokenizer.
        var templateHasBos = bos is { Length: > 0 } && text.StartsWith(bos, StringComparison.Ordinal);
        return tok.Encode(text, allowSpecial: true, addSpecialTokens: !templateHasBos);
    }
}

using System.Text.Json;
using Sovra.Text.Templates;
using Xunit.Abstractions;

namespace Sovra.Text.Tests.Templates;

/// <summary>The default step budget leaves real templates a wide margin on long tool-using conversations.</summary>
public class TemplateBudgetTests(ITestOutputHelper output)
{
    [Fact]
    public void Real_templates_use_under_ten_percent_of_the_step_budget_on_a_200_message_conversation()
    {
        var suite = TemplateReference.Suite;
        var toolCase = suite.GetProperty("cases").EnumerateArray().First(c => c.GetProperty("name").GetString() == "tool_call_dict_args");
        var turns = toolCase.GetProperty("messages").EnumerateArray().Select(m => m.Clone()).ToList();
        var messages = new List<ChatMessage>();
        while (messages.Count < 200) messages.AddRange(turns.Select(ChatMessage.FromJson));
        var request = new ChatRenderRequest
        {
            Messages = messages,
            Tools = suite.GetProperty("tools").Clone(),
            AddGenerationPrompt = true,
            BosToken = "<s>",
            EosToken = "</s>",
            Now = DateTimeOffset.UnixEpoch,
        };
        var sw = System.Diagnostics.Stopwatch.StartNew();
        long worst = 0;
        var worstName = "";
        foreach (var file in Directory.GetFiles(TemplateReference.TemplateDir, "*.jinja"))
        {
            long steps;
            try { ChatTemplate.Parse(File.ReadAllText(file)).Render(request, out steps); }
            catch (TemplateException e) when (e is not TemplateLimitException) { continue; } // templates that reject this conversation shape
            if (steps > worst) { worst = steps; worstName = Path.GetFileName(file); }
        }
        output.WriteLine($"most steps: {worst} ({worstName}) of {TemplateLimits.Default.MaxSteps}; all templates rendered in {sw.ElapsedMilliseconds} ms");
        Assert.True(worst < TemplateLimits.Default.MaxSteps / 10, $"{worstName} used {worst} steps");
    }
}

using System.Text;
using Sovra.Server.Generation;

namespace Sovra.Server.Tests;

/// <summary>The pieces between tokens and API text: UTF-8 reassembly, stop strings, the thinking split.</summary>
public sealed class TextStreamTests
{
    [Fact]
    public void Characters_split_across_tokens_come_out_whole_and_a_cut_one_as_U_FFFD()
    {
        var bytes = Encoding.UTF8.GetBytes("a日🙂");
        var d = new Utf8StreamDecoder();
        var pieces = bytes.Select(b => d.Append([b])).ToList();
        Assert.Equal(["a", "", "", "日", "", "", "", "🙂"], pieces);
        var cut = new Utf8StreamDecoder();
        Assert.Equal("", cut.Append(bytes.AsSpan(1, 2)));
        Assert.Equal("\uFFFD", cut.Flush());
    }

    [Theory]
    [InlineData(new[] { "Hel", "lo wo", "rld" }, "o w", "Hell")]
    [InlineData(new[] { "ab", "c" }, "abc", "")]
    [InlineData(new[] { "no ", "match" }, "xyz", "no match")]
    public void Stop_strings_are_found_across_pieces_and_never_leak(string[] pieces, string stop, string expected)
    {
        var m = new StopMatcher([stop]);
        var output = new StringBuilder();
        foreach (var p in pieces)
        {
            var safe = m.Push(p);
            Assert.DoesNotContain(stop, output + safe);
            output.Append(safe);
        }
        output.Append(m.Flush());
        Assert.Equal(expected, output.ToString());
    }

    [Theory]
    [InlineData(false, "<think>\nhmm\n</think>\n\nYes.", "hmm\n", "Yes.")]
    [InlineData(true, "hmm</think>Yes.", "hmm", "Yes.")]
    [InlineData(false, "Plain answer.", "", "Plain answer.")]
    [InlineData(false, "  <think>x</think>y", "x", "y")]
    public void Thinking_is_split_from_the_answer_even_one_character_at_a_time(bool startsInside, string output, string reasoning, string content)
    {
        var s = new ReasoningSplitter(startsInside);
        var r = new StringBuilder();
        var c = new StringBuilder();
        foreach (var ch in output)
        {
            var p = s.Push(ch.ToString());
            r.Append(p.Reasoning);
            c.Append(p.Content);
        }
        var end = s.Flush();
        r.Append(end.Reasoning);
        c.Append(end.Content);
        Assert.Equal(reasoning, r.ToString());
        Assert.Equal(content, c.ToString());
    }
}

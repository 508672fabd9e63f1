namespace Sovra.Text.Tests.Tokenizers;

/// <summary>Texts that break tokenizers: scripts with combining marks, decomposed input, emoji sequences,
/// runs of digits and whitespace, source code, special-token text, and strings that are not valid Unicode.</summary>
public static class HardCases
{
    public static readonly string[] All =
    [
        "",
        "Hello world",
        "I'm sure you're right, they've said we'll see; she'd know. IT'S DON'T I'M 'Sunday 'S 'Ll",
        "'ſa 'ſ 'ſt 'sT 'RE 'Ve 'M 'D'd''s",
        // emoji and ZWJ sequences, skin tones, flags, keycaps, variation selectors
        "👨‍👩‍👧‍👦 family 👍🏽 🏳️‍🌈 🇳🇬🇪🇹🇻🇳 1️⃣ #️⃣ ❤️ ☺︎ 🧑🏿‍💻 🫶🏼",
        "😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀",
        // combining marks, stacked and unusual orders
        "e\u0301 a\u0300\u0323 o\u0323\u0300 q\u0307\u0323 Z̴̡̧͍͇̖̗a̴l̸g̵o̶ \u0301\u0301x A\u030A\u0301",
        // Yoruba, NFC and NFD
        "Ẹ kú àárọ̀. Ọmọ ọba ń jẹun. Ìdàgbàsókè ṣẹ̀ṣẹ̀ bẹ̀rẹ̀ ni.",
        "E\u0323 ku\u0301 a\u0300a\u0301ro\u0323\u0300. O\u0323mo\u0323 o\u0323ba n\u0301 je\u0323un.",
        // Amharic, Burmese, Tamil, Khmer, Devanagari, Thai, Georgian
        "ሰላም ለዓለም! የሰው ልጆች ሁሉ ሲወለዱ ነጻና በክብርና በመብትም እኩልነት ያላቸው ናቸው።",
        "မင်္ဂလာပါ။ လူတိုင်းသည် တူညီ လွတ်လပ်သော ဂုဏ်သိက္ခါ ဖြင့်လည်းကောင်း၊",
        "வணக்கம் உலகம். மனிதப் பிறவியினர் சகலரும் சுதந்திரமாகவே பிறக்கின்றனர். \u0B92\u0BC6\u0BBE \u0B95\u0BCA \u0B95\u0BC6\u0BBE",
        "សួស្តីពិភពលោក! មនុស្សទាំងអស់ កើតមកមានសេរីភាព",
        "सभी मनुष्यों को गौरव और अधिकारों के मामले में जन्मजात स्वतन्त्रता प्राप्त है। क़ ख़ ग़ \u0915\u093C",
        "ภาษาไทย มนุษย์ทั้งหลายเกิดมามีอิสระ ქართული ენა",
        // Vietnamese NFC and NFD
        "Tiếng Việt có dấu: Mọi người sinh ra đều được tự do và bình đẳng.",
        "Tie\u0302\u0301ng Vie\u0323\u0302t co\u0301 da\u0302\u0301u: Mo\u0323i ngu\u031Bo\u031B\u0300i sinh ra \u0111e\u0302\u0300u",
        // Hangul syllables and conjoining jamo
        "안녕하세요 세계 \u1100\u1161\u11A8 \u1112\u1161\u11AB\u1100\u1173\u11AF",
        // mixed scripts, CJK, kana
        "Hello世界Привет مرحبا שלום 123abc日本語のテキストです。カタカナとひらがな、漢字。中文测试ｆｕｌｌｗｉｄｔｈ",
        "ΣΊΣΥΦΟΣ ǅungla ǈ ß ẞ İstanbul ŉ ﬁ ﬀ Ⅻ ① ½ ²³ ٣٤٥٦ ١٢ ๑๒๓ 𝟙𝟚𝟛 𝐀𝐁𝐂𝐚𝐛𝐜",
        // digits
        "1234567890123456789 3.14159 1,000,000 +49-30-1234567 0x1F 2026-12-02T06:51:49Z",
        new string('7', 500),
        // whitespace: runs, tabs, CRLF, Unicode spaces
        "a  b   c\t\td\n\n\ne \r\n f\r\n\r\ng\r\rh \n \n  i",
        "   leading and trailing   ",
        new string(' ', 300) + "x" + new string('\n', 200) + "y" + new string('\t', 50),
        "\u00A0nbsp\u3000ideographic\u2003em\u0085nel\u1680ogham\u2028ls\u2029ps\u202Fnnb\u205Fmm x\u000By\u000Cz",
        "\u200Bzw\u200Cnj\u200Dj\uFEFFbom\u2060wj\u00ADshy",
        "\t\tindented\n\t\t\tmore\n",
        // source code
        "public static int Main(string[] args)\n{\n    if (args.Length > 0) { Console.WriteLine($\"hi {args[0]}\"); }\n    return 0; // done\n}\n",
        "def f(x):\n    return [i**2 for i in range(x) if i % 2 == 0]  # squares\n\n\nprint(f(10))\n",
        "<div class=\"a\">&amp; &lt;p&gt;</div> {\"key\": [1, 2, null], \"k2\": \"v\\n\"} /* c */ a->b a=>b a::b ../../x.y",
        "https://example.org/path?q=1&r=two#frag user@example.com C:\\Windows\\System32 //comment",
        new string('a', 1000),
        string.Concat(Enumerable.Repeat("abc ", 200)),
        // special-token text
        "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n",
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
        "<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n<eos><pad><unk><mask>[multimodal]",
        "<｜begin▁of▁sentence｜><｜User｜>hi<｜Assistant｜><｜end▁of▁sentence｜><｜tool▁calls▁begin｜>",
        "<|startoftext|><|start|>user<|message|>hi<|end|><|return|><|endoftext|><|im_start|",
        "text<|endoftext|>text <|endoftext|> text<|endoftext|><|endoftext|>",
        "<tool_call>{\"name\": \"f\"}</tool_call> <unused0> <table><tr><td>x</td></tr></table> ▁▁▁ spaces ▁",
        // not valid Unicode: lone surrogates, noncharacters, NUL and controls
        "a\uD800b \uDC00c \uD83D",
        "x\uFFFEy\uFFFFz \uFDD0 \U0010FFFF \U000E0001",
        "nul\0here \u0001\u0002\u007F\u0080\u009F bell\a",
        "\r\n",
        " ",
        "\n",
    ];

    /// <summary>A few cases also checked with add_special_tokens (BOS for Gemma).</summary>
    public static readonly string[] WithSpecialTokensAdded = ["Hello world", "", "<bos>x", "Tiếng Việt"];
}

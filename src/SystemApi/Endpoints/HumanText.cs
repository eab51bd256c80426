namespace CyAgents.SystemApi.Endpoints;

/// <summary>
/// The one rule for text that reaches a human's terminal or browser (questions, answers, agent names): no C0 control
/// other than newline and tab, no DEL, no C1 control (0x9B is a CSI on 8-bit terminals), and no bidirectional
/// override or isolate (U+202A–U+202E, U+2066–U+2069), which can make text read differently from what it is.
/// Names are single-line, so they refuse newline and tab too.
/// </summary>
public static class HumanText
{
    /// <summary>Why <paramref name="text"/> is refused, or null when it is acceptable.</summary>
    /// <param name="text">The text.</param>
    /// <param name="singleLine">Refuse newline and tab as well (names, titles).</param>
    public static string? Problem(string text, bool singleLine = false)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c is '\n' or '\t' && !singleLine) continue;
            if (c < 0x20 || c is >= '\u007f' and <= '\u009f')
                return $"must not contain control characters (U+{(int)c:X4} at position {i})";
            if (c is >= '\u202a' and <= '\u202e' or >= '\u2066' and <= '\u2069')
                return $"must not contain bidirectional override characters (U+{(int)c:X4} at position {i})";
        }
        return null;
    }
}

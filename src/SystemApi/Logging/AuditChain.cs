using System.Security.Cryptography;
using System.Text;
using Serilog.Events;
using Serilog.Formatting;
using Serilog.Formatting.Json;

namespace CyAgents.SystemApi.Logging;

/// <summary>
/// The hash chain of <c>system.log</c> (ADR 0112). Every line starts with <c>{"Prev":"…","Hash":"…",</c>: <c>Prev</c> is the
/// previous line's <c>Hash</c> (across rolled files), <c>Hash</c> is SHA-256 over <c>Prev</c>, a newline and the rest of the
/// line (the event's JSON without these two fields). So an edited line fails its own hash, and a removed or moved line
/// breaks the link of the line after it.
/// </summary>
public static class AuditChain
{
    /// <summary>The <c>Prev</c> of the very first line of a log.</summary>
    public static readonly string Genesis = new('0', 64);

    private const string PrevKey = "{\"Prev\":\"", HashKey = "\",\"Hash\":\"";
    private static readonly int BodyStart = PrevKey.Length + 64 + HashKey.Length + 64 + 2;

    /// <summary>The hash of a line whose previous hash is <paramref name="prev"/> and whose event JSON is <paramref name="body"/>.</summary>
    public static string HashOf(string prev, string body) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(prev + "\n" + body)));

    /// <summary>The line as written: the chain fields first, then the body's fields.</summary>
    public static string Line(string prev, string body) =>
        $"{PrevKey}{prev}{HashKey}{HashOf(prev, body)}\",{body[1..]}";

    /// <summary>Splits a written line into its chain fields and body; false when the line does not have the chain's shape.</summary>
    public static bool TryRead(string line, out string prev, out string hash, out string body)
    {
        prev = hash = body = "";
        if (line.Length < BodyStart + 1 || !line.StartsWith(PrevKey, StringComparison.Ordinal)
            || string.CompareOrdinal(line, PrevKey.Length + 64, HashKey, 0, HashKey.Length) != 0
            || line[BodyStart - 2] != '"' || line[BodyStart - 1] != ',') return false;
        prev = line.Substring(PrevKey.Length, 64);
        hash = line.Substring(PrevKey.Length + 64 + HashKey.Length, 64);
        body = "{" + line[BodyStart..];
        return true;
    }

    /// <summary>The last <c>Hash</c> written to the log at <paramref name="path"/>, or <see cref="Genesis"/> for a new log.</summary>
    public static string LastHash(string path)
    {
        foreach (var file in SystemLog.Files(path).Reverse())
        {
            // Only the tail is read: the last line is at most one event long, and a 100 MiB file must not be read whole at start.
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var length = Math.Min(stream.Length, 1024 * 1024);
            stream.Seek(-length, SeekOrigin.End);
            var buffer = new byte[length];
            stream.ReadExactly(buffer);
            var lines = Encoding.UTF8.GetString(buffer).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            for (var i = lines.Length - 1; i >= 0; i--)
                if (TryRead(lines[i], out _, out var hash, out _)) return hash;
        }
        return Genesis;
    }

    /// <summary>Formats events as Serilog JSON lines carrying the chain; called by the file sink's one writer, in order.</summary>
    public sealed class Formatter(string lastHash) : ITextFormatter
    {
        private readonly JsonFormatter _json = new(renderMessage: true);
        private readonly Lock _gate = new();
        private string _prev = lastHash;

        /// <inheritdoc />
        public void Format(LogEvent logEvent, TextWriter output)
        {
            using var body = new StringWriter();
            _json.Format(logEvent, body);
            var text = body.ToString().TrimEnd('\r', '\n');
            lock (_gate)
            {
                var line = Line(_prev, text);
                _prev = line.Substring(PrevKey.Length + 64 + HashKey.Length, 64);
                output.Write(line);
                output.Write('\n');
            }
        }
    }
}

/// <summary>What <see cref="AuditVerifier.Verify"/> found: the first broken line, or none.</summary>
public sealed record AuditFinding(bool Intact, long Lines, string? File, long LineNumber, string? Problem);

/// <summary>Checks a log's chain line by line, over every rolled file, oldest first.</summary>
public static class AuditVerifier
{
    /// <summary>Verifies the log at <paramref name="path"/> (and its rolled files); stops at the first broken line.</summary>
    public static AuditFinding Verify(string path)
    {
        var files = SystemLog.Files(path);
        string? expected = null;
        long total = 0;
        foreach (var file in files)
        {
            long number = 0;
            using var reader = new StreamReader(new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete));
            while (reader.ReadLine() is { } line)
            {
                number++;
                total++;
                if (!AuditChain.TryRead(line, out var prev, out var hash, out var body))
                    return new(false, total, file, number, "the line does not carry the chain (edited, or not written by CyAgents)");
                if (AuditChain.HashOf(prev, body) != hash)
                    return new(false, total, file, number, "the line was edited (its hash does not match its content)");
                // The oldest kept line may follow files deleted by retention: its link is taken as given.
                if (expected is not null && prev != expected)
                    return new(false, total, file, number, "the line does not follow the one before it: a line was removed before it, or lines were reordered");
                expected = hash;
            }
        }
        return new(true, total, null, 0, null);
    }
}

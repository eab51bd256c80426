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

    /// <summary>The <c>Hash</c> field of a line (only its start is needed), or null when it does not have the chain's shape.</summary>
    public static string? TryReadHash(string lineStart)
    {
        if (lineStart.Length < BodyStart || !lineStart.StartsWith(PrevKey, StringComparison.Ordinal)
            || string.CompareOrdinal(lineStart, PrevKey.Length + 64, HashKey, 0, HashKey.Length) != 0
            || lineStart[BodyStart - 2] != '"' || lineStart[BodyStart - 1] != ',') return null;
        return lineStart.Substring(PrevKey.Length + 64 + HashKey.Length, 64);
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

/// <summary>What <see cref="AuditVerifier.Verify"/> found: the first broken line, or none; and how many checkpoints matched.</summary>
public sealed record AuditFinding(bool Intact, long Lines, string? File, long LineNumber, string? Problem, int CheckpointsMatched = 0);

/// <summary>A checkpoint as <see cref="AuditVerifier"/> compares it: the hash line <paramref name="Line"/> of file <paramref name="File"/> had.</summary>
public sealed record AuditMark(string File, long Line, long Offset, string Hash, DateTimeOffset At);

/// <summary>Checks a log's chain line by line, over every rolled file, oldest first, and against the database's checkpoints.</summary>
public static class AuditVerifier
{
    /// <summary>Verifies the log at <paramref name="path"/> (and its rolled files); stops at the first broken line.</summary>
    public static AuditFinding Verify(string path) => Verify(path, []);

    /// <summary>
    /// Verifies the chain and, line by line, the <paramref name="checkpoints"/> (ADR 0131): a line whose hash differs from
    /// its checkpoint belongs to a rewritten log (one re-chained from some line on, which the chain alone cannot show); a
    /// checkpoint beyond the log's end means its tail was cut off. Checkpoints in files older than the oldest kept one
    /// were taken before retention deleted those files and are skipped.
    /// </summary>
    public static AuditFinding Verify(string path, IReadOnlyList<AuditMark> checkpoints)
    {
        var files = SystemLog.Files(path);
        var stem = Path.GetFileNameWithoutExtension(path);
        var oldest = files.Count == 0 ? 0 : SystemLog.SequenceOf(Path.GetFileName(files[0]), stem);
        var marks = new Dictionary<(string, long), AuditMark>();
        foreach (var c in checkpoints)
            if (SystemLog.SequenceOf(c.File, stem) is { } n && n >= oldest) marks.TryAdd((c.File, c.Line), c);
        var matched = 0;
        string? expected = null;
        long total = 0;
        foreach (var file in files)
        {
            var name = Path.GetFileName(file);
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
                if (marks.Remove((name, number), out var mark))
                {
                    if (mark.Hash != hash)
                        return new(false, total, file, number,
                            $"the chain holds but the line differs from the checkpoint taken at {mark.At.UtcDateTime:O} (hash {mark.Hash[..12]}…): the log was rewritten and re-chained at or before this line");
                    matched++;
                }
                expected = hash;
            }
        }
        if (marks.Count > 0)
        {
            var lost = marks.Values.OrderBy(m => SystemLog.SequenceOf(m.File, stem)).ThenBy(m => m.Line).First();
            var end = files.Count == 0 ? "the log is empty" : $"the log ends at {files[^1]}:{LineCount(files[^1])}";
            return new(false, total, Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, lost.File), lost.Line,
                $"the line is missing: {end}, but a checkpoint taken at {lost.At.UtcDateTime:O} recorded this line: lines were removed from the end of the log", matched);
        }
        return new(true, total, null, 0, null, matched);
    }

    private static long LineCount(string file)
    {
        long n = 0;
        using var reader = new StreamReader(new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete));
        while (reader.ReadLine() is not null) n++;
        return n;
    }
}

using CyAgents.Persistence;
using CyAgents.Persistence.Audit;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.SystemApi.Logging;

/// <summary>
/// Stores checkpoints of <c>system.log</c>'s hash chain in the database (ADR 0131): the hash, file, line number and byte
/// offset of every <see cref="AuditCheckpointOptions.EveryLines"/>-th line of each file and of the last line at each
/// <see cref="CheckpointAsync"/> (the cycle's end, and every <see cref="AuditCheckpointOptions.Interval"/>). It reads the log
/// forward from where it stopped, so each call costs the lines written since the last one; after a restart it resumes at
/// the last stored checkpoint. One instance per log, for the process that writes it.
/// </summary>
public sealed class AuditCheckpoints(string logPath, IDbContextFactory<CyAgentsDbContext> databases, TimeProvider clock,
    AuditCheckpointOptions options) : BackgroundService
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private Position? _at;
    private Position? _stored;

    /// <summary>Where the reader is: after line <see cref="Line"/> of <see cref="File"/>, ending at <see cref="Offset"/>.</summary>
    private sealed record Position(string File, long Line, long Offset, string? Hash);

    /// <summary>Reads the lines written since the last call and stores their checkpoints; returns how many were stored.</summary>
    public async Task<int> CheckpointAsync(CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            await using var db = await databases.CreateDbContextAsync(ct);
            var files = SystemLog.Files(logPath);
            if (files.Count == 0) return 0;
            if (_at is null)
            {
                _at = await ResumeAsync(db, files, ct);
                _stored = _at;
            }
            var taken = new List<AuditCheckpointRecord>();
            var now = clock.GetUtcNow();
            while (true)
            {
                var index = IndexOf(files, _at.File);
                if (index < 0) _at = new Position(Path.GetFileName(files[0]), 0, 0, null); // deleted by retention meanwhile
                index = Math.Max(index, 0);
                // A newer file exists: this one is final once read to its end (the sink writes one file at a time, in order).
                var final = index < files.Count - 1;
                _at = Scan(files[index], _at, taken, now);
                if (!final) break;
                if (_at.Hash is not null) Take(taken, _at, now);
                _at = new Position(Path.GetFileName(files[index + 1]), 0, 0, null);
            }
            if (_at.Hash is not null) Take(taken, _at, now);
            if (taken.Count == 0) return 0;
            db.AddRange(taken);
            await db.SaveChangesAsync(ct);
            _stored = _at;
            return taken.Count;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Interval, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try { await CheckpointAsync(stoppingToken); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or DbUpdateException or InvalidOperationException)
                {
                    // The next tick or cycle end tries again; a missed checkpoint only makes verify's window longer.
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
    }

    private void Take(List<AuditCheckpointRecord> taken, Position p, DateTimeOffset now)
    {
        if (p == _stored || taken.Count > 0 && taken[^1].File == p.File && taken[^1].Line == p.Line) return;
        taken.Add(new AuditCheckpointRecord { File = p.File, Line = p.Line, Offset = p.Offset, Hash = p.Hash!, At = now });
    }

    private static int IndexOf(IReadOnlyList<string> files, string name)
    {
        for (var i = 0; i < files.Count; i++)
            if (Path.GetFileName(files[i]) == name) return i;
        return -1;
    }

    private static async Task<Position> ResumeAsync(CyAgentsDbContext db, IReadOnlyList<string> files, CancellationToken ct)
    {
        var last = await db.Set<AuditCheckpointRecord>().AsNoTracking().OrderByDescending(c => c.Id).FirstOrDefaultAsync(ct);
        if (last is not null && IndexOf(files, last.File) is >= 0 and var i && new FileInfo(files[i]).Length >= last.Offset)
            return new Position(last.File, last.Line, last.Offset, last.Hash);
        return new Position(Path.GetFileName(files[0]), 0, 0, null);
    }

    /// <summary>Reads complete lines of <paramref name="path"/> after <paramref name="from"/>, adding every N-th line's checkpoint.</summary>
    private Position Scan(string path, Position from, List<AuditCheckpointRecord> taken, DateTimeOffset now)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        if (stream.Length < from.Offset) return from; // shorter than where we were: verify reports it; do not checkpoint over it
        stream.Seek(from.Offset, SeekOrigin.Begin);
        var at = from;
        var line = new List<byte>(1024);
        var buffer = new byte[64 * 1024];
        var offset = from.Offset;
        int read;
        while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            for (var i = 0; i < read; i++)
            {
                offset++;
                if (buffer[i] != (byte)'\n')
                {
                    // Only the chain's fields at the start of a line are needed.
                    if (line.Count < 200) line.Add(buffer[i]);
                    continue;
                }
                var text = System.Text.Encoding.UTF8.GetString([.. line]);
                line.Clear();
                var hash = AuditChain.TryReadHash(text);
                at = new Position(at.File, at.Line + 1, offset, hash ?? at.Hash);
                if (hash is not null && at.Line % options.EveryLines == 0) Take(taken, at, now);
            }
        }
        return at;
    }
}

/// <summary>How often <see cref="AuditCheckpoints"/> stores a checkpoint (configuration section <c>SystemLog:Checkpoints</c>).</summary>
public sealed class AuditCheckpointOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "SystemLog:Checkpoints";

    /// <summary>A checkpoint every this many lines of a file (default 1000), besides the one at each cycle's end.</summary>
    public int EveryLines { get; set; } = 1000;

    /// <summary>Also checkpoint the log's last line this often (default 30 s), for logs that grow between cycles.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>What is wrong with these settings, each message starting with the key.</summary>
    public IEnumerable<string> Validate()
    {
        if (EveryLines < 1) yield return $"EveryLines must be at least 1 (got {EveryLines})";
        if (Interval <= TimeSpan.Zero) yield return $"Interval must be positive (got {Interval})";
    }
}

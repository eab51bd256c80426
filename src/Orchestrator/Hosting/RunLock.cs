using System.Text.Json;

namespace CyAgents.Orchestrator.Hosting;

/// <summary>Another cyagents process holds the data folder (a `run`, or an offline `agents create`).</summary>
public sealed class DataFolderBusyException(string lockFile)
    : Exception($"another cyagents process holds {lockFile} (a `run` on the same data folder); stop it first or let it finish")
{
    public string LockFile { get; } = lockFile;
}

/// <summary>What a running `run` tells other commands about itself (<c>&lt;data&gt;/run.json</c>).</summary>
/// <param name="ProcessId">The run's process id (for messages only).</param>
/// <param name="ApiUrls">The loopback URLs its System API listens on, where the operator endpoints are (ADR 0083).</param>
public sealed record RunInfo(int ProcessId, IReadOnlyList<string> ApiUrls);

/// <summary>
/// The data folder's lock (<c>&lt;data&gt;/run.lock</c>): `run` holds it for as long as it runs, and `agents create`
/// holds it while it changes the database directly, so the two never write the same database at once (ADR 0102). The
/// lock is the kernel's (an exclusive open, flock underneath): it dies with the process, so a crashed run leaves no
/// stale lock behind. A held lock means a `run` is running; <c>run.json</c> beside it says where its API listens.
/// </summary>
public sealed class RunLock : IDisposable
{
    public const string LockFileName = "run.lock";
    public const string InfoFileName = "run.json";
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly FileStream _file;
    private readonly string? _info;

    private RunLock(FileStream file, string? info)
    {
        _file = file;
        _info = info;
    }

    /// <summary>Takes the lock of <paramref name="dataDirectory"/>, or returns null when another process holds it.</summary>
    public static RunLock? TryAcquire(string dataDirectory, RunInfo? info = null)
    {
        Directory.CreateDirectory(dataDirectory);
        var path = Path.Combine(dataDirectory, LockFileName);
        FileStream file;
        try { file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
        catch (IOException) { return null; }
        string? infoPath = null;
        if (info is not null)
        {
            infoPath = Path.Combine(dataDirectory, InfoFileName);
            File.WriteAllText(infoPath, JsonSerializer.Serialize(info, Json));
        }
        return new RunLock(file, infoPath);
    }

    /// <summary>Takes the lock or throws <see cref="DataFolderBusyException"/>.</summary>
    public static RunLock Acquire(string dataDirectory, RunInfo? info = null) =>
        TryAcquire(dataDirectory, info) ?? throw new DataFolderBusyException(Path.Combine(dataDirectory, LockFileName));

    /// <summary>What the running `run` wrote, or null when there is none or it cannot be read.</summary>
    public static RunInfo? ReadInfo(string dataDirectory)
    {
        try { return JsonSerializer.Deserialize<RunInfo>(File.ReadAllText(Path.Combine(dataDirectory, InfoFileName)), Json); }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException) { return null; }
    }

    public void Dispose()
    {
        if (_info is not null)
        {
            try { File.Delete(_info); } catch (IOException) { }
        }
        _file.Dispose();
    }
}

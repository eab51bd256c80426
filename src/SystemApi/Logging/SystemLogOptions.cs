namespace CyAgents.SystemApi.Logging;

/// <summary>
/// Where <c>system.log</c> goes and how it is bounded (configuration section <c>SystemLog</c>). The file rolls when it
/// reaches <see cref="FileSizeLimitBytes"/> (<c>system.log</c>, then <c>system_001.log</c>, <c>system_002.log</c>, ...: the
/// highest number is the newest) and only the newest <see cref="RetainedFileCount"/> files are kept, so the log never
/// stops at a size cap and never fills the disk.
/// </summary>
public sealed class SystemLogOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "SystemLog";

    /// <summary>The log file (the first of the rolled sequence); empty: the host's default.</summary>
    public string? Path { get; set; }

    /// <summary>Also write a short human line per event to stderr.</summary>
    public bool Console { get; set; } = true;

    /// <summary>Size at which the file rolls to the next one, in bytes (default 100 MiB).</summary>
    public long FileSizeLimitBytes { get; set; } = 100L * 1024 * 1024;

    /// <summary>How many files are kept, the current one included (default 10); older ones are deleted.</summary>
    public int RetainedFileCount { get; set; } = 10;

    /// <summary>
    /// Events queued between the caller and the file writer. When the queue is full the caller waits (no event is ever
    /// dropped); a larger queue only absorbs longer bursts.
    /// </summary>
    public int BufferSize { get; set; } = 10_000;

    /// <summary>What is wrong with these settings, each message starting with the key.</summary>
    public IEnumerable<string> Validate()
    {
        if (FileSizeLimitBytes < 1024) yield return $"FileSizeLimitBytes must be at least 1024 (got {FileSizeLimitBytes})";
        if (RetainedFileCount < 1) yield return $"RetainedFileCount must be at least 1 (got {RetainedFileCount})";
        if (BufferSize < 1) yield return $"BufferSize must be at least 1 (got {BufferSize})";
    }

    /// <summary>Reads the section (logging is set up before the host's options exist) and throws on invalid values.</summary>
    public static SystemLogOptions From(IConfiguration configuration)
    {
        var options = new SystemLogOptions();
        configuration.GetSection(Section).Bind(options);
        var errors = options.Validate().Select(e => $"{Section}:{e}").ToList();
        if (errors.Count > 0) throw new InvalidOperationException(string.Join("; ", errors));
        return options;
    }
}

using Npgsql;

namespace CyAgents.SystemApi.Idempotency;

/// <summary>
/// Which database failures mean "run it again": PostgreSQL's deadlock victim (40P01) and serialization failure (40001).
/// Both leave nothing behind (the statement, or the transaction, was rolled back), and the write is a pure function of
/// the database, so <see cref="GroupCommitWriter"/> repeats it a few times with a short back-off before giving up.
/// </summary>
public static class TransientWrite
{
    /// <summary>SQLSTATE of a deadlock victim.</summary>
    public const string DeadlockDetected = "40P01";

    /// <summary>SQLSTATE of a serialization failure.</summary>
    public const string SerializationFailure = "40001";

    /// <summary>Attempts in all, the first included.</summary>
    public const int MaxAttempts = 5;

    /// <summary>True when <paramref name="e"/> (or an exception inside it) is one of the retryable failures.</summary>
    public static bool IsRetryable(Exception? e) => SqlStateOf(e) is DeadlockDetected or SerializationFailure;

    /// <summary>Short reason for the log.</summary>
    public static string Describe(Exception e) => SqlStateOf(e) switch
    {
        DeadlockDetected => "deadlock, 40P01",
        SerializationFailure => "serialization failure, 40001",
        var other => other ?? e.GetType().Name,
    };

    /// <summary>Wait before attempt <paramref name="attempt"/> + 1: 10, 20, 40, 80 ms plus up to 10 ms of jitter.</summary>
    public static TimeSpan Backoff(int attempt) =>
        TimeSpan.FromMilliseconds(10 * (1 << Math.Min(attempt - 1, 6)) + Random.Shared.Next(10));

    private static string? SqlStateOf(Exception? e)
    {
        for (var depth = 0; e is not null && depth < 8; depth++, e = e.InnerException)
        {
            if (e is PostgresException pg) return pg.SqlState;
        }
        return null;
    }
}

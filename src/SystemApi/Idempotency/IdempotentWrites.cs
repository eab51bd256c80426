using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Threading.Channels;
using CyAgents.Contracts;
using CyAgents.Economy.Ledger;
using CyAgents.Persistence;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Errors;
using CyAgents.SystemApi.Hosting;
using CyAgents.SystemApi.Identity;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace CyAgents.SystemApi.Idempotency;

/// <summary>The database and the ledger of the write transaction an effect runs in.</summary>
/// <param name="Db">The unit of work; its transaction is open. Add records to it; they are saved with the effect.</param>
/// <param name="Ledger">A ledger whose operations join <paramref name="Db"/>'s transaction.</param>
/// <param name="Now">The time of the write.</param>
/// <param name="Ct">Cancellation of the write (not of the client: a started write completes so a retry can replay it).</param>
public sealed record WriteScope(CyAgentsDbContext Db, ILedger Ledger, DateTimeOffset Now, CancellationToken Ct);

/// <summary>What a write produced: a value (fresh or replayed) or a problem that changed nothing.</summary>
public readonly record struct WriteOutcome<T>(T? Value, ProblemHttpResult? Problem, bool Replayed) where T : class
{
    /// <summary>A successful result.</summary>
    public static implicit operator WriteOutcome<T>(T value) => new(value, null, false);
    /// <summary>A refusal.</summary>
    public static implicit operator WriteOutcome<T>(ProblemHttpResult problem) => new(null, problem, false);
}

/// <summary>
/// Runs every credit-moving or creating POST through one writer with group commit. Each request's effect runs inside its
/// own savepoint together with its <c>Idempotency-Key</c> record; the requests waiting at that moment share one
/// transaction, and each caller is answered only after that transaction has committed. A refusal rolls back to its
/// savepoint (changing nothing, storing no key, so a corrected retry may reuse the key); a replay with the same key and
/// request returns the stored first response; the same key with another request is a conflict.
/// One writer per process also spares SQLite writers from colliding and sleeping in its busy handler.
/// </summary>
internal sealed class IdempotentWrites : IAsyncDisposable
{
    private const int MaxBatch = 256;
    private const string Savepoint = "api_write";
    private readonly IDbContextFactory<CyAgentsDbContext> _databases;
    private readonly LedgerBinding _ledgers;
    private readonly TimeProvider _clock;
    private readonly ILogger<IdempotentWrites> _log;
    private readonly Channel<Work> _queue = Channel.CreateUnbounded<Work>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _writer;

    public IdempotentWrites(IDbContextFactory<CyAgentsDbContext> databases, LedgerBinding ledgers, TimeProvider clock,
        ILogger<IdempotentWrites> log)
    {
        _databases = databases;
        _ledgers = ledgers;
        _clock = clock;
        _log = log;
        _writer = Task.Run(WriteLoopAsync);
    }

    public async Task<WriteOutcome<T>> RunAsync<T>(HttpContext http, Caller caller, ReadOnlyMemory<byte> requestBody,
        JsonTypeInfo<T> responseType, int successStatus, Func<WriteScope, Task<WriteOutcome<T>>> effect) where T : class
    {
        var key = http.Request.Headers[ApiRoutes.IdempotencyKeyHeader].ToString();
        if (key.Length > 0 && (key.Length > 128 || key.Any(c => c < 0x21 || c > 0x7e)))
            return Problems.Validation(ApiRoutes.IdempotencyKeyHeader, "must be 1–128 printable ASCII characters without spaces");
        var hash = key.Length == 0 ? "" : Hash(http.Request.Method, http.Request.Path.Value ?? "", requestBody.Span);
        var work = new Work<T>(caller.Principal, key, hash, responseType, successStatus, effect);
        if (!_queue.Writer.TryWrite(work)) throw new InvalidOperationException("the System API is shutting down");
        var outcome = await work.Result.Task;
        if (outcome.Replayed) http.Response.Headers["Idempotent-Replayed"] = "true";
        return outcome;
    }

    /// <summary>A write without an idempotency key (internal bookkeeping such as the LLM token meter).</summary>
    public async Task<WriteOutcome<T>> RunAsync<T>(Caller caller, Func<WriteScope, Task<WriteOutcome<T>>> effect) where T : class
    {
        var work = new Work<T>(caller.Principal, "", "", null, 0, effect);
        if (!_queue.Writer.TryWrite(work)) throw new InvalidOperationException("the System API is shutting down");
        return await work.Result.Task;
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<Work>(MaxBatch);
        var ct = _stopping.Token;
        try
        {
            while (await _queue.Reader.WaitToReadAsync(ct))
            {
                batch.Clear();
                while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var work)) batch.Add(work);
                try
                {
                    await WriteBatchAsync(batch, ct);
                    foreach (var work in batch) work.Publish();
                }
                catch (Exception e)
                {
                    _log.LogError(e, "A write batch of {Count} requests failed and was rolled back", batch.Count);
                    foreach (var work in batch) work.Fail(e);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Shutting down: whatever is still queued is refused below.
        }
        while (_queue.Reader.TryRead(out var left)) left.Fail(new OperationCanceledException("the System API is shutting down"));
    }

    private async Task WriteBatchAsync(List<Work> batch, CancellationToken ct)
    {
        await using var db = await _databases.CreateDbContextAsync(ct);
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        await using var ledger = _ledgers.Bind(db);
        var scope = new WriteScope(db, ledger.Ledger, _clock.GetUtcNow(), ct);
        foreach (var work in batch)
        {
            await tx.CreateSavepointAsync(Savepoint, ct);
            try
            {
                if (await work.ExecuteAsync(scope, tx, _clock.GetUtcNow()))
                    await tx.ReleaseSavepointAsync(Savepoint, ct);
                else
                    await tx.RollbackToSavepointAsync(Savepoint, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                await tx.RollbackToSavepointAsync(Savepoint, ct);
                work.Prepare(e);
            }
            db.ChangeTracker.Clear();
        }
        await tx.CommitAsync(ct);
    }

    private abstract class Work
    {
        /// <summary>Runs the effect; true when it should be kept.</summary>
        public abstract Task<bool> ExecuteAsync(WriteScope scope, IDbContextTransaction tx, DateTimeOffset now);
        public abstract void Prepare(Exception e);
        public abstract void Publish();
        public abstract void Fail(Exception e);
    }

    private sealed class Work<T>(string principal, string key, string hash, JsonTypeInfo<T>? responseType, int successStatus,
        Func<WriteScope, Task<WriteOutcome<T>>> effect) : Work where T : class
    {
        public TaskCompletionSource<WriteOutcome<T>> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private WriteOutcome<T> _outcome;
        private Exception? _error;

        public override async Task<bool> ExecuteAsync(WriteScope scope, IDbContextTransaction tx, DateTimeOffset now)
        {
            var db = scope.Db;
            if (key.Length > 0)
            {
                var first = await db.Set<IdempotencyRecord>().AsNoTracking()
                    .FirstOrDefaultAsync(r => r.Principal == principal && r.Key == key, scope.Ct);
                if (first is not null)
                {
                    _outcome = first.RequestHash != hash
                        ? Problems.Conflict($"Idempotency-Key '{key}' was used before for a different request")
                        : new WriteOutcome<T>(JsonSerializer.Deserialize(first.ResponseJson, responseType!), null, true);
                    return false;
                }
            }
            try
            {
                _outcome = await effect(scope with { Now = now });
            }
            catch (LedgerException e)
            {
                _outcome = Problems.FromLedger(e);
            }
            if (_outcome.Problem is not null) return false;
            if (key.Length > 0)
                db.Add(new IdempotencyRecord
                {
                    Principal = principal, Key = key, RequestHash = hash, StatusCode = successStatus,
                    ResponseJson = JsonSerializer.Serialize(_outcome.Value!, responseType!), CreatedAt = now,
                });
            await db.SaveChangesAsync(scope.Ct);
            return true;
        }

        public override void Prepare(Exception e) => _error = e;

        public override void Publish()
        {
            if (_error is not null) Result.TrySetException(_error);
            else Result.TrySetResult(_outcome);
        }

        public override void Fail(Exception e) => Result.TrySetException(e);
    }

    private static string Hash(string method, string path, ReadOnlySpan<byte> body)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(Encoding.UTF8.GetBytes(method + " " + path + "\n"));
        sha.AppendData(body);
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    /// <summary>Lets queued writes finish (up to 10 s), then refuses whatever is left.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        try
        {
            await _writer.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
            await _stopping.CancelAsync();
            await _writer;
        }
        _stopping.Dispose();
    }
}

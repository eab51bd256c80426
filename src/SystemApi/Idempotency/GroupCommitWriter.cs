using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Threading.Channels;
using CyAgents.Economy.Ledger;
using CyAgents.Persistence;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Errors;
using CyAgents.SystemApi.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace CyAgents.SystemApi.Idempotency;

/// <summary>The database and the ledger of the write transaction an effect runs in.</summary>
/// <param name="Db">The unit of work; its transaction is open. Add records to it; they are saved with the effect.</param>
/// <param name="Ledger">A ledger whose operations join <paramref name="Db"/>'s transaction.</param>
/// <param name="Now">The time of the write.</param>
/// <param name="Ct">Cancellation of the write (not of the client: a started write completes so a retry can replay it).</param>
public sealed record WriteScope(CyAgentsDbContext Db, ILedger Ledger, DateTimeOffset Now, CancellationToken Ct);

/// <summary>What a write produced: a value (fresh or replayed) or a refusal that changed nothing.</summary>
public readonly record struct WriteOutcome<T>(T? Value, Refusal? Refusal, bool Replayed) where T : class
{
    /// <summary>A successful result.</summary>
    public static implicit operator WriteOutcome<T>(T value) => new(value, null, false);
    /// <summary>A refusal.</summary>
    public static implicit operator WriteOutcome<T>(Refusal refusal) => new(null, refusal, false);
}

/// <summary>
/// The idempotency of one write: the client's key, a fingerprint of the request it came with (a replay must carry the
/// same), how to store the response for replays and the status recorded with it.
/// </summary>
public sealed record IdempotentRequest<T>(string Key, string Fingerprint, JsonTypeInfo<T> ResponseType, int RecordedStatus) where T : class;

/// <summary>
/// The unit of work behind every credit-moving or creating write, with group commit. Each write's effect runs inside its
/// own savepoint together with its idempotency record; the requests waiting at that moment share one
/// transaction, and each caller is answered only after that transaction has committed. A refusal rolls back to its
/// savepoint (changing nothing, storing no key, so a corrected retry may reuse the key); a replay with the same key and
/// request returns the stored first response; the same key with another request is a conflict.
/// One writer per process also spares SQLite writers from colliding and sleeping in its busy handler. It knows no transport:
/// <see cref="IdempotentWrites"/> adapts it to HTTP (the header, problem answers).
/// </summary>
internal sealed class GroupCommitWriter : IAsyncDisposable
{
    private const int MaxBatch = 256;
    private const string Savepoint = "api_write";
    private readonly IDbContextFactory<CyAgentsDbContext> _databases;
    private readonly LedgerBinding _ledgers;
    private readonly TimeProvider _clock;
    private readonly ILogger<GroupCommitWriter> _log;
    private readonly Channel<Work> _queue = Channel.CreateUnbounded<Work>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _writer;

    public GroupCommitWriter(IDbContextFactory<CyAgentsDbContext> databases, LedgerBinding ledgers, TimeProvider clock,
        ILogger<GroupCommitWriter> log)
    {
        _databases = databases;
        _ledgers = ledgers;
        _clock = clock;
        _log = log;
        _writer = Task.Run(WriteLoopAsync);
    }

    /// <summary>
    /// Runs <paramref name="effect"/> in the next group commit, as <paramref name="principal"/>; with a
    /// <paramref name="request"/>, at most once per key (a repeat replays the first value).
    /// </summary>
    public async Task<WriteOutcome<T>> RunAsync<T>(string principal, IdempotentRequest<T>? request,
        Func<WriteScope, Task<WriteOutcome<T>>> effect) where T : class
    {
        var work = new Work<T>(principal, request, effect);
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
                for (var attempt = 1; ; attempt++)
                {
                    try
                    {
                        foreach (var work in batch) work.Reset();
                        await WriteBatchAsync(batch, ct);
                        foreach (var work in batch) work.Publish();
                        break;
                    }
                    catch (Exception e) when (TransientWrite.IsRetryable(e) && attempt < TransientWrite.MaxAttempts && !ct.IsCancellationRequested)
                    {
                        // The database gave the batch up (deadlock victim, serialization failure at commit): nothing of it
                        // was kept, so running it again is safe, and usually succeeds once the other transaction is through.
                        _log.LogWarning("A write batch of {Count} requests was rolled back by the database ({Reason}); retry {Attempt} of {Retries}",
                            batch.Count, TransientWrite.Describe(e), attempt, TransientWrite.MaxAttempts - 1);
                        await Task.Delay(TransientWrite.Backoff(attempt), ct);
                    }
                    catch (Exception e)
                    {
                        _log.LogError(e, "A write batch of {Count} requests failed and was rolled back", batch.Count);
                        foreach (var work in batch) work.Fail(e);
                        break;
                    }
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
            for (var attempt = 1; ; attempt++)
            {
                await tx.CreateSavepointAsync(Savepoint, ct);
                try
                {
                    if (await work.ExecuteAsync(scope, tx, _clock.GetUtcNow()))
                        await tx.ReleaseSavepointAsync(Savepoint, ct);
                    else
                        await tx.RollbackToSavepointAsync(Savepoint, ct);
                    break;
                }
                catch (Exception e) when (TransientWrite.IsRetryable(e) && attempt < TransientWrite.MaxAttempts && !ct.IsCancellationRequested)
                {
                    // This write was the deadlock victim: only its statement failed; back to its savepoint and again.
                    await tx.RollbackToSavepointAsync(Savepoint, ct);
                    db.ChangeTracker.Clear();
                    _log.LogWarning("A write was rolled back by the database ({Reason}); retry {Attempt} of {Retries}",
                        TransientWrite.Describe(e), attempt, TransientWrite.MaxAttempts - 1);
                    await Task.Delay(TransientWrite.Backoff(attempt), ct);
                }
                catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
                {
                    await tx.RollbackToSavepointAsync(Savepoint, ct);
                    work.Prepare(e);
                    break;
                }
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
        /// <summary>Forgets the outcome of an attempt the database rolled back.</summary>
        public abstract void Reset();
        public abstract void Publish();
        public abstract void Fail(Exception e);
    }

    private sealed class Work<T>(string principal, IdempotentRequest<T>? request, Func<WriteScope, Task<WriteOutcome<T>>> effect)
        : Work where T : class
    {
        public TaskCompletionSource<WriteOutcome<T>> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private WriteOutcome<T> _outcome;
        private Exception? _error;

        public override async Task<bool> ExecuteAsync(WriteScope scope, IDbContextTransaction tx, DateTimeOffset now)
        {
            var db = scope.Db;
            if (request is not null)
            {
                var key = request.Key;
                var first = await db.Set<IdempotencyRecord>().AsNoTracking()
                    .FirstOrDefaultAsync(r => r.Principal == principal && r.Key == key, scope.Ct);
                if (first is not null)
                {
                    _outcome = first.RequestHash != request.Fingerprint
                        ? Refusal.Conflict($"Idempotency-Key '{key}' was used before for a different request")
                        : new WriteOutcome<T>(JsonSerializer.Deserialize(first.ResponseJson, request.ResponseType), null, true);
                    return false;
                }
            }
            try
            {
                _outcome = await effect(scope with { Now = now });
            }
            catch (LedgerException e)
            {
                _outcome = Refusal.FromLedger(e);
            }
            if (_outcome.Refusal is not null) return false;
            if (request is not null)
                db.Add(new IdempotencyRecord
                {
                    Principal = principal, Key = request.Key, RequestHash = request.Fingerprint, StatusCode = request.RecordedStatus,
                    ResponseJson = JsonSerializer.Serialize(_outcome.Value!, request.ResponseType), CreatedAt = now,
                });
            await db.SaveChangesAsync(scope.Ct);
            return true;
        }

        public override void Prepare(Exception e) => _error = e;

        public override void Reset()
        {
            _error = null;
            _outcome = default;
        }

        public override void Publish()
        {
            if (_error is not null) Result.TrySetException(_error);
            else Result.TrySetResult(_outcome);
        }

        public override void Fail(Exception e) => Result.TrySetException(e);
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

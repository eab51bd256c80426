using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using CyAgents.Contracts;
using CyAgents.Economy.Ledger;
using CyAgents.Economy.Persistence;
using CyAgents.Economy.Persistence.Records;
using CyAgents.SystemApi.Errors;
using CyAgents.SystemApi.Hosting;
using CyAgents.SystemApi.Identity;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.SystemApi.Idempotency;

/// <summary>The database and the ledger bound to one write transaction.</summary>
/// <param name="Db">The unit of work; its transaction is open.</param>
/// <param name="Ledger">A ledger whose operations join <paramref name="Db"/>'s transaction.</param>
/// <param name="Now">The time of the write.</param>
public sealed record WriteScope(EconomyDbContext Db, ILedger Ledger, DateTimeOffset Now);

/// <summary>What a write produced: a value (fresh or replayed) or a problem that changed nothing.</summary>
public readonly record struct WriteOutcome<T>(T? Value, ProblemHttpResult? Problem, bool Replayed) where T : class
{
    /// <summary>A successful result.</summary>
    public static implicit operator WriteOutcome<T>(T value) => new(value, null, false);
    /// <summary>A refusal.</summary>
    public static implicit operator WriteOutcome<T>(ProblemHttpResult problem) => new(null, problem, false);
}

/// <summary>
/// Runs a POST's effect in one database transaction together with its <c>Idempotency-Key</c> record. A replay with the
/// same key and the same request returns the stored first response and changes nothing; the same key with a different
/// request is a conflict. Refusals roll back and are not stored, so a corrected retry may reuse the key.
/// </summary>
internal sealed class IdempotentWrites(IDbContextFactory<EconomyDbContext> databases, WriteGate gate, LedgerBinding ledgers, TimeProvider clock)
{
    public async Task<WriteOutcome<T>> RunAsync<T>(HttpContext http, Caller caller, ReadOnlyMemory<byte> requestBody,
        JsonTypeInfo<T> responseType, int successStatus, Func<WriteScope, Task<WriteOutcome<T>>> effect) where T : class
    {
        var ct = http.RequestAborted;
        var key = http.Request.Headers[ApiRoutes.IdempotencyKeyHeader].ToString();
        if (key.Length > 0 && (key.Length > 128 || key.Any(c => c < 0x21 || c > 0x7e)))
            return Problems.Validation(ApiRoutes.IdempotencyKeyHeader, "must be 1–128 printable ASCII characters without spaces");
        var requestHash = key.Length == 0 ? "" : Hash(http.Request.Method, http.Request.Path.Value ?? "", requestBody.Span);

        using var _ = await gate.EnterAsync(ct);
        await using var db = await databases.CreateDbContextAsync(ct);
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        if (key.Length > 0)
        {
            var first = await db.Set<IdempotencyRecord>().AsNoTracking()
                .FirstOrDefaultAsync(r => r.Principal == caller.Principal && r.Key == key, ct);
            if (first is not null)
            {
                if (first.RequestHash != requestHash)
                    return Problems.Conflict($"Idempotency-Key '{key}' was used before for a different request");
                http.Response.Headers["Idempotent-Replayed"] = "true";
                return new WriteOutcome<T>(JsonSerializer.Deserialize(first.ResponseJson, responseType), null, true);
            }
        }

        WriteOutcome<T> outcome;
        await using var ledger = ledgers.Bind(db);
        try
        {
            outcome = await effect(new WriteScope(db, ledger.Ledger, clock.GetUtcNow()));
        }
        catch (LedgerException e)
        {
            return Problems.FromLedger(e);
        }
        if (outcome.Problem is not null) return outcome; // disposing the open transaction rolls everything back

        if (key.Length > 0)
            db.Add(new IdempotencyRecord
            {
                Principal = caller.Principal, Key = key, RequestHash = requestHash, StatusCode = successStatus,
                ResponseJson = JsonSerializer.Serialize(outcome.Value!, responseType), CreatedAt = clock.GetUtcNow(),
            });
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return outcome;
    }

    private static string Hash(string method, string path, ReadOnlySpan<byte> body)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(Encoding.UTF8.GetBytes(method + " " + path + "\n"));
        sha.AppendData(body);
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}

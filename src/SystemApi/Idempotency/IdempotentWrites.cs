using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization.Metadata;
using CyAgents.Contracts;
using CyAgents.SystemApi.Errors;
using CyAgents.SystemApi.Identity;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CyAgents.SystemApi.Idempotency;

/// <summary>What a write answers over HTTP: a value (fresh or replayed) or the problem its refusal maps to.</summary>
public readonly record struct ApiWriteOutcome<T>(T? Value, ProblemHttpResult? Problem, bool Replayed) where T : class;

/// <summary>
/// The HTTP side of <see cref="GroupCommitWriter"/>: reads and checks the <c>Idempotency-Key</c> header, fingerprints the
/// request (method, path, body), marks replays with <c>Idempotent-Replayed</c> and maps refusals to problem answers.
/// </summary>
internal sealed class IdempotentWrites(GroupCommitWriter writer)
{
    /// <summary>A write a client may repeat with the same <c>Idempotency-Key</c> (optional) to get the first answer again.</summary>
    public async Task<ApiWriteOutcome<T>> RunAsync<T>(HttpContext http, Caller caller, ReadOnlyMemory<byte> requestBody,
        JsonTypeInfo<T> responseType, int successStatus, Func<WriteScope, Task<WriteOutcome<T>>> effect) where T : class
    {
        var key = http.Request.Headers[ApiRoutes.IdempotencyKeyHeader].ToString();
        if (key.Length > 0 && (key.Length > 128 || key.Any(c => c < 0x21 || c > 0x7e)))
            return new(null, Problems.Validation(ApiRoutes.IdempotencyKeyHeader, "must be 1–128 printable ASCII characters without spaces"), false);
        var request = key.Length == 0
            ? null
            : new IdempotentRequest<T>(key, Fingerprint(http.Request.Method, http.Request.Path.Value ?? "", requestBody.Span), responseType, successStatus);
        var outcome = Answer(await writer.RunAsync(caller.Principal, request, effect));
        if (outcome.Replayed) http.Response.Headers["Idempotent-Replayed"] = "true";
        return outcome;
    }

    /// <summary>A write without an idempotency key (internal bookkeeping such as the LLM token meter).</summary>
    public async Task<ApiWriteOutcome<T>> RunAsync<T>(Caller caller, Func<WriteScope, Task<WriteOutcome<T>>> effect) where T : class =>
        Answer(await writer.RunAsync(caller.Principal, null, effect));

    private static ApiWriteOutcome<T> Answer<T>(WriteOutcome<T> outcome) where T : class =>
        new(outcome.Value, outcome.Refusal is { } refusal ? Problems.From(refusal) : null, outcome.Replayed);

    private static string Fingerprint(string method, string path, ReadOnlySpan<byte> body)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(Encoding.UTF8.GetBytes(method + " " + path + "\n"));
        sha.AppendData(body);
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}

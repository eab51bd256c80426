using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using CyAgents.SystemApi.Identity;

namespace CyAgents.SystemApi.Dashboard;

/// <summary>
/// Short-lived operator sessions for the dashboard's event stream (ADR 0128). A browser's EventSource cannot send an
/// Authorization header, so the page trades the operator token (as a bearer, on loopback TCP) for an HttpOnly cookie that
/// authenticates <c>GET /v1/events</c> and nothing else. Only hashes are kept, in memory: a restart ends every session.
/// </summary>
internal sealed class OperatorSessions(TimeProvider clock)
{
    /// <summary>The cookie's name.</summary>
    public const string CookieName = "cyagents_session";
    /// <summary>How long a session is accepted.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(1);
    // Bounds memory if a client keeps asking: the oldest session is dropped first.
    private const int MaxSessions = 64;
    private readonly ConcurrentDictionary<string, DateTimeOffset> _expiries = new(StringComparer.Ordinal);

    /// <summary>A new session: its secret (the cookie's value, returned once) and when it expires.</summary>
    public (string Secret, DateTimeOffset ExpiresAt) Issue()
    {
        var now = clock.GetUtcNow();
        foreach (var (hash, expiry) in _expiries)
            if (expiry <= now) _expiries.TryRemove(hash, out _);
        while (_expiries.Count >= MaxSessions && _expiries.MinBy(e => e.Value) is { Key: { } oldest }) _expiries.TryRemove(oldest, out _);
        var secret = TokenHash.NewToken();
        var expires = now + Lifetime;
        _expiries[Hash(secret)] = expires;
        return (secret, expires);
    }

    /// <summary>True while <paramref name="secret"/> names a session that has not expired or been ended.</summary>
    public bool Accepts(string secret)
    {
        if (secret.Length is 0 or > 512) return false;
        return _expiries.TryGetValue(Hash(secret), out var expiry) && expiry > clock.GetUtcNow();
    }

    /// <summary>Ends a session; unknown secrets are ignored.</summary>
    public void End(string secret) => _expiries.TryRemove(Hash(secret), out _);

    private static string Hash(string secret) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));
}

using CyAgents.Economy.Persistence;
using Microsoft.Extensions.Options;

namespace CyAgents.SystemApi.Idempotency;

/// <summary>
/// Serializes this process's write transactions on SQLite. SQLite allows one writer; queuing here is far cheaper than
/// letting transactions collide and sleep in SQLite's busy handler. PostgreSQL needs no gate.
/// </summary>
internal sealed class WriteGate(IOptions<DatabaseOptions> database)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly bool _enabled = !database.Value.IsPostgres;

    public async ValueTask<Releaser> EnterAsync(CancellationToken ct)
    {
        if (!_enabled) return default;
        await _gate.WaitAsync(ct);
        return new Releaser(_gate);
    }

    public readonly struct Releaser(SemaphoreSlim? gate) : IDisposable
    {
        public void Dispose() => gate?.Release();
    }
}
